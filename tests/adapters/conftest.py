"""Issuers shared by the adapter tests: one that works and one that is down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bearerguard.testing import LocalIssuer

from .cases import AUDIENCE, mint_tokens


@pytest.fixture(scope="package")
def local_issuer() -> Iterator[LocalIssuer]:
    """A running local issuer for the whole package (mint only; no faults, no rotation)."""
    with LocalIssuer(audience=AUDIENCE) as running:
        yield running


@pytest.fixture(scope="package")
def down_issuer() -> Iterator[LocalIssuer]:
    """An issuer whose every endpoint answers 503 (it still mints tokens)."""
    with LocalIssuer(audience=AUDIENCE) as running:
        running.force_status(503)
        yield running


@pytest.fixture(scope="package")
def tokens(local_issuer: LocalIssuer, down_issuer: LocalIssuer) -> dict[str, str]:
    """The table's tokens by name."""
    return mint_tokens(local_issuer, down_issuer)
