"""Test your protected API against a real issuer on 127.0.0.1.

::

    from bearerguard.testing import LocalIssuer

    with LocalIssuer(audience="api://orders") as issuer:
        token = issuer.mint(sub="user-42", scopes=["orders:read"])

With pytest, the :func:`~bearerguard.testing.plugin.bearerguard_issuer` fixture
(registered by installing bearerguard) gives every test a fresh running issuer.
Names here are loaded on first use, so the pytest plugin that imports this
package stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._dpop_key import DPoPKey
    from ._faults import Fault, RecordedRequest
    from ._keypool import KeyPool
    from ._local_issuer import LocalIssuer
    from ._providers import FakeProvider

__all__ = ["DPoPKey", "FakeProvider", "Fault", "KeyPool", "LocalIssuer", "RecordedRequest"]

_WHERE = {
    "DPoPKey": "._dpop_key",
    "Fault": "._faults",
    "RecordedRequest": "._faults",
    "KeyPool": "._keypool",
    "LocalIssuer": "._local_issuer",
    "FakeProvider": "._providers",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
