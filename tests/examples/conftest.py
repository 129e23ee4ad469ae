"""The examples are imported from the repository root (``examples.starlette_app``, ...).

The root is on ``sys.path`` through ``pythonpath = ["."]`` in pyproject.toml.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from bearerguard.testing import LocalIssuer

with warnings.catch_warnings():
    # Starlette asks for the httpx2 package; its test client works the same on httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import starlette.testclient  # noqa: F401


@pytest.fixture(scope="module")
def local_issuer() -> Iterator[LocalIssuer]:
    """One running local issuer per module, minting tokens for ``api://orders``."""
    with LocalIssuer(audience="api://orders") as running:
        yield running
