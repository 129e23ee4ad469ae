"""A local issuer and the DPoP keys and tokens the DPoP tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bearerguard.testing import DPoPKey, LocalIssuer

from ..adapters.cases import AUDIENCE


@pytest.fixture(scope="package")
def local_issuer() -> Iterator[LocalIssuer]:
    """A running local issuer for the whole package."""
    with LocalIssuer(audience=AUDIENCE) as running:
        yield running


@pytest.fixture(scope="package")
def client_key() -> DPoPKey:
    """The client's DPoP key (ES256)."""
    return DPoPKey()


@pytest.fixture(scope="package")
def other_key() -> DPoPKey:
    """Another client's key (a thief's)."""
    return DPoPKey()
