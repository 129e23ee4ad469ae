"""pytest plugin: a real local issuer for your tests (registered by the ``pytest11`` entry point).

Fixtures, available in any test suite once bearerguard is installed:

``bearerguard_issuer``
    A fresh, running :class:`~bearerguard.testing.LocalIssuer` per test.
    Configure it with ``@pytest.mark.bearerguard_issuer(audience="api://orders")``
    (any ``LocalIssuer`` keyword argument).
``bearerguard_issuer_factory``
    Call it to start more issuers in one test (several trusted issuers);
    all are stopped when the test ends.
``bearerguard_session_issuer``
    One issuer for the whole session, for suites that only mint tokens. Do
    not inject faults or rotate keys on it: other tests share it.

This module is imported by every pytest run in an environment where
bearerguard is installed, so it imports nothing heavy: the issuer and its
dependencies load when a fixture is first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._local_issuer import LocalIssuer

__all__ = [
    "bearerguard_issuer",
    "bearerguard_issuer_factory",
    "bearerguard_session_issuer",
]


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker so ``--strict-markers`` suites can use it."""
    config.addinivalue_line(
        "markers",
        "bearerguard_issuer(**options): LocalIssuer options for the bearerguard_issuer fixture",
    )


@pytest.fixture
def bearerguard_issuer_factory() -> Iterator[Callable[..., LocalIssuer]]:
    """Start issuers on demand: ``bearerguard_issuer_factory(audience=..., path=...)``."""
    from ._local_issuer import LocalIssuer

    started: list[LocalIssuer] = []

    def make(**options: Any) -> LocalIssuer:
        issuer = LocalIssuer(**options).start()
        started.append(issuer)
        return issuer

    try:
        yield make
    finally:
        for issuer in reversed(started):
            issuer.stop()


@pytest.fixture
def bearerguard_issuer(
    request: pytest.FixtureRequest, bearerguard_issuer_factory: Callable[..., LocalIssuer]
) -> LocalIssuer:
    """A fresh running local issuer for this test (options from the marker, if any)."""
    marker = request.node.get_closest_marker("bearerguard_issuer")
    options = dict(marker.kwargs) if marker is not None else {}
    return bearerguard_issuer_factory(**options)


@pytest.fixture(scope="session")
def bearerguard_session_issuer() -> Iterator[LocalIssuer]:
    """One local issuer shared by the whole session (mint tokens only)."""
    from ._local_issuer import LocalIssuer

    with LocalIssuer() as issuer:
        yield issuer
