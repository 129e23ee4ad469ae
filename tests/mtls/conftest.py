from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bearerguard.testing import LocalIssuer

from .certs import Pki, make_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA with server and client certificates, generated for this test session."""
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIssuer]:
    """A local issuer on 127.0.0.1 (tokens for the audience api://orders)."""
    with LocalIssuer(audience="api://orders") as issuer:
        yield issuer
