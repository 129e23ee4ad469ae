"""Fixtures for the key set, discovery and verifier tests (imported by their conftest)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bearerguard import RequestsFetcher

from .clock import FakeClock
from .events import EventLog
from .jwks_server import JWKSServer


@pytest.fixture
def server() -> Iterator[JWKSServer]:
    """A fresh HTTP server on 127.0.0.1, stopped after the test."""
    with JWKSServer() as srv:
        yield srv


@pytest.fixture
def fetcher() -> Iterator[RequestsFetcher]:
    """The real requests-based fetcher, its connections closed after the test."""
    f = RequestsFetcher()
    yield f
    f.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def events() -> EventLog:
    return EventLog()
