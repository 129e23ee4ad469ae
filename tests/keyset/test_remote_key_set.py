"""RemoteKeySet, the shell around the state machine: arguments, repr, a fetcher that fails."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bearerguard import (
    ConfigurationError,
    FetchError,
    FetchResponse,
    InvalidKey,
    KeySetUnavailable,
    RequestsFetcher,
)
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from tests.support.events import EventLog
from tests.support.jwks_server import JWKSServer
from tests.support.keys import jwks

from .conftest import JWKS_PATH

ISSUER = "https://login.example.com"
URL = "https://login.example.com/jwks.json"


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda: RemoteKeySet(URL, policy={"timeout": 1}),  # type: ignore[arg-type]
            "policy must be a KeySetPolicy",
            id="policy-not-a-KeySetPolicy",
        ),
        pytest.param(
            lambda: RemoteKeySet.from_oidc(ISSUER, policy=None),  # type: ignore[arg-type]
            "policy must be a KeySetPolicy",
            id="from-oidc-policy-not-a-KeySetPolicy",
        ),
        pytest.param(
            lambda: RemoteKeySet.from_oauth2(ISSUER, policy=30),  # type: ignore[arg-type]
            "policy must be a KeySetPolicy",
            id="from-oauth2-policy-not-a-KeySetPolicy",
        ),
        pytest.param(
            lambda: RemoteKeySet(URL, fetcher="requests"),  # type: ignore[arg-type]
            "fetcher must be callable",
            id="fetcher-not-callable",
        ),
        pytest.param(
            lambda: RemoteKeySet(URL, on_event=[]),  # type: ignore[arg-type]
            "on_event must be callable",
            id="on-event-not-callable",
        ),
    ],
)
def test_bad_arguments_are_refused_at_construction(
    build: Callable[[], RemoteKeySet], message: str
) -> None:
    """Each wrong argument is a ConfigurationError naming it."""
    with pytest.raises(ConfigurationError, match=message):
        build()


def test_repr_names_the_jwks_uri_and_the_generation(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    """repr shows where the keys come from and which generation is loaded."""
    server.set_json(JWKS_PATH, jwks("k1"))
    keys = make_keyset()
    assert repr(keys) == f"RemoteKeySet({server.url(JWKS_PATH)!r}, generation=0)"
    keys.refresh()
    assert repr(keys) == f"RemoteKeySet({server.url(JWKS_PATH)!r}, generation=1)"


def test_repr_of_a_lazy_set_names_the_issuer_until_discovery(
    server: JWKSServer, fetcher: RequestsFetcher
) -> None:
    """Before discovery repr names the issuer; after it, the JWKS URL it found."""
    server.set_json(
        "/.well-known/openid-configuration",
        {"issuer": server.base_url, "jwks_uri": server.url("/keys")},
    )
    server.set_json("/keys", jwks("k1"))
    keys = RemoteKeySet.from_oidc(server.base_url, fetcher=fetcher)
    assert repr(keys) == f"RemoteKeySet(\"discovery of '{server.base_url}'\", generation=0)"
    keys.refresh()
    assert repr(keys) == f"RemoteKeySet({server.url('/keys')!r}, generation=1)"


# -- a fetcher that fails or hangs ------------------------------------------------------


class _Gate:
    """A fetcher (the injection seam) that blocks until released, ignoring its timeout."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, url: str, **kwargs: Any) -> FetchResponse:
        self.release.wait(30)
        raise FetchError("released")


@pytest.fixture
def gate() -> Iterator[_Gate]:
    gate = _Gate()
    yield gate
    gate.release.set()


@pytest.mark.parametrize(
    "refresh",
    [
        pytest.param(lambda keys: keys.refresh(), id="refresh"),
        pytest.param(lambda keys: asyncio.run(keys.arefresh()), id="arefresh"),
    ],
)
def test_a_refresh_that_outlasts_twice_the_timeout_raises_fetch_error(
    gate: _Gate, refresh: Callable[[RemoteKeySet], None]
) -> None:
    """refresh() waits 2 x timeout for a hung fetch, then says it took too long."""
    keys = RemoteKeySet(URL, policy=KeySetPolicy(timeout=0.1), fetcher=gate)
    with pytest.raises(FetchError, match=r"^fetching keys from .* took longer than expected$"):
        refresh(keys)
    assert keys.status().fetching


@pytest.mark.parametrize(
    ("raised", "reported"),
    [
        pytest.param(InvalidKey("JWK is unusable"), "JWK is unusable", id="library-error"),
        pytest.param(RuntimeError("secret detail"), "fetch failed: RuntimeError", id="any-error"),
    ],
)
def test_an_error_a_custom_fetcher_raises_becomes_a_failed_fetch(
    events: EventLog, raised: Exception, reported: str
) -> None:
    """Whatever a fetcher raises is a failed fetch (503), described without its details."""

    def fetcher(url: str, **kwargs: Any) -> FetchResponse:
        raise raised

    keys = RemoteKeySet(URL, fetcher=fetcher, on_event=events)
    with pytest.raises(KeySetUnavailable) as caught:
        keys.get_keys("k1")
    assert caught.value.description.endswith(f": {reported}")
    assert [e.error for e in events.of("failed")] == [reported]
