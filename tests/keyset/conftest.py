from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bearerguard import Issuer, RequestsFetcher, Validator
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from tests.support.clock import FakeClock
from tests.support.events import EventLog
from tests.support.fixtures import clock, events, fetcher, server
from tests.support.jwks_server import JWKSServer
from tests.support.keys import AUDIENCE

__all__ = ["clock", "events", "fetcher", "issuer_for", "make_keyset", "server"]

JWKS_PATH = "/jwks.json"


@pytest.fixture
def make_keyset(
    server: JWKSServer, fetcher: RequestsFetcher, clock: FakeClock, events: EventLog
) -> Callable[..., RemoteKeySet]:
    """Build a RemoteKeySet for the test server's /jwks.json with the fake clock."""

    def make(policy: KeySetPolicy | None = None, **kwargs: Any) -> RemoteKeySet:
        return RemoteKeySet(
            server.url(JWKS_PATH),
            policy=policy or KeySetPolicy(),
            fetcher=fetcher,
            clock=clock,
            on_event=events,
            **kwargs,
        )

    return make


@pytest.fixture
def issuer_for(server: JWKSServer) -> Callable[[RemoteKeySet], Issuer]:
    """An Issuer named after the test server, using the given key set."""

    def make(keys: RemoteKeySet) -> Issuer:
        return Issuer(server.base_url, keys, Validator(aud=AUDIENCE))

    return make
