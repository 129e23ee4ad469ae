"""The examples are imported from the repository root (``examples.starlette_app``, ...)."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from bearerguard.testing import LocalIssuer

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # plain `pytest` (not `python -m pytest`) leaves the root out
    sys.path.insert(0, str(ROOT))

with warnings.catch_warnings():
    # Starlette asks for the httpx2 package; its test client works the same on httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import starlette.testclient  # noqa: F401


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    """One running local issuer per module, minting tokens for ``api://orders``."""
    with LocalIssuer(audience="api://orders") as running:
        yield running
