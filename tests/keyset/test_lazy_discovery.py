"""RemoteKeySet.from_oidc / from_oauth2: no network until first use, then exact issuer checks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bearerguard import (
    ConfigurationError,
    DiscoveryError,
    FetchError,
    Issuer,
    KeySetUnavailable,
    RequestsFetcher,
)
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from tests.support.clock import FakeClock
from tests.support.jwks_server import JWKSServer, Reply
from tests.support.keys import jwks

OIDC = "/.well-known/openid-configuration"
JWKS = "/keys"


@pytest.fixture
def oidc(server: JWKSServer) -> JWKSServer:
    server.set_json(OIDC, {"issuer": server.base_url, "jwks_uri": server.url(JWKS)})
    server.set_json(JWKS, jwks("k1"))
    return server


@pytest.fixture
def lazy(
    server: JWKSServer, fetcher: RequestsFetcher, clock: FakeClock
) -> Callable[..., RemoteKeySet]:
    def make(issuer: str | None = None, **kwargs: Any) -> RemoteKeySet:
        return RemoteKeySet.from_oidc(
            issuer or server.base_url, fetcher=fetcher, clock=clock, **kwargs
        )

    return make


def test_constructor_makes_no_request(oidc: JWKSServer, lazy: Callable[..., RemoteKeySet]) -> None:
    keyset = lazy()
    assert (oidc.count(), keyset.jwks_uri, keyset.issuer) == (0, None, oidc.base_url)


def test_first_use_discovers_then_fetches(
    oidc: JWKSServer, lazy: Callable[..., RemoteKeySet]
) -> None:
    keyset = lazy()
    assert [k.kid for k in keyset.get_keys("k1")] == ["k1"]
    assert [r.path for r in oidc.requests] == [OIDC, JWKS]
    assert keyset.jwks_uri == oidc.url(JWKS)


def test_refresh_refetches_only_the_jwks(
    oidc: JWKSServer, clock: FakeClock, lazy: Callable[..., RemoteKeySet]
) -> None:
    keyset = lazy()
    keyset.get_keys("k1")
    clock.advance(900)
    keyset.get_keys("k1")
    assert [r.path for r in oidc.requests] == [OIDC, JWKS, JWKS]


def test_cold_start_500_tasks_discover_once(
    oidc: JWKSServer, lazy: Callable[..., RemoteKeySet]
) -> None:
    oidc.set_json(JWKS, jwks("k1"), delay=0.2)
    keyset = lazy()

    async def main() -> None:
        await asyncio.gather(*(keyset.aget_keys("k1") for _ in range(500)))

    asyncio.run(main())
    assert [r.path for r in oidc.requests] == [OIDC, JWKS]


@pytest.mark.parametrize(
    "found",
    [
        pytest.param("{base}/", id="trailing-slash"),
        pytest.param("{base}/tenant", id="longer"),
        pytest.param("HTTP://127.0.0.1:{port}", id="different-case"),
        pytest.param(None, id="missing"),
    ],
)
def test_metadata_issuer_must_match_exactly(
    oidc: JWKSServer, lazy: Callable[..., RemoteKeySet], found: str | None
) -> None:
    port = oidc.base_url.rsplit(":", 1)[1]
    document = {"jwks_uri": oidc.url(JWKS)}
    if found is not None:
        document["issuer"] = found.format(base=oidc.base_url, port=port)
    oidc.set_json(OIDC, document)
    keyset = lazy()
    with pytest.raises(KeySetUnavailable, match="names issuer"):
        keyset.get_keys("k1")
    assert [r.path for r in oidc.requests] == [OIDC]


def test_discovered_http_jwks_uri_off_loopback_is_refused(
    oidc: JWKSServer, lazy: Callable[..., RemoteKeySet]
) -> None:
    oidc.set_json(OIDC, {"issuer": oidc.base_url, "jwks_uri": "http://keys.example.com/jwks"})
    keyset = lazy()
    with pytest.raises(KeySetUnavailable, match="must use https"):
        keyset.get_keys("k1")
    assert oidc.count() == 1


def test_refresh_raises_the_discovery_error(
    oidc: JWKSServer, lazy: Callable[..., RemoteKeySet]
) -> None:
    oidc.set_json(OIDC, {"issuer": oidc.base_url + "/", "jwks_uri": oidc.url(JWKS)})
    with pytest.raises(DiscoveryError):
        lazy().refresh()


def test_arefresh_loads_the_keys(oidc: JWKSServer, lazy: Callable[..., RemoteKeySet]) -> None:
    keyset = lazy()
    asyncio.run(keyset.arefresh())
    assert (keyset.status().kids, oidc.count()) == (("k1",), 2)


def test_refresh_raises_fetch_error_when_the_jwks_fails(
    oidc: JWKSServer, lazy: Callable[..., RemoteKeySet]
) -> None:
    oidc.set(JWKS, Reply(status=404))
    with pytest.raises(FetchError, match="HTTP 404"):
        lazy().refresh()


def test_oauth2_metadata_uses_path_insertion(
    server: JWKSServer, fetcher: RequestsFetcher, clock: FakeClock
) -> None:
    issuer = server.url("/tenant-a")
    server.set_json(
        "/.well-known/oauth-authorization-server/tenant-a",
        {"issuer": issuer, "jwks_uri": server.url("/tenant-a/jwks")},
    )
    server.set_json("/tenant-a/jwks", jwks("k1"))
    keyset = RemoteKeySet.from_oauth2(issuer, fetcher=fetcher, clock=clock)
    keyset.get_keys("k1")
    assert [r.path for r in server.requests] == [
        "/.well-known/oauth-authorization-server/tenant-a",
        "/tenant-a/jwks",
    ]


@pytest.mark.parametrize(
    "issuer",
    [
        pytest.param("http://login.example.com", id="http-off-loopback"),
        pytest.param("login.example.com", id="not-a-url"),
        pytest.param("https://user:pw@login.example.com", id="credentials"),
    ],
)
def test_bad_issuer_is_a_configuration_error_at_construction(issuer: str) -> None:
    with pytest.raises(ConfigurationError):
        RemoteKeySet.from_oidc(issuer)


def test_issuer_refuses_a_key_set_discovered_for_another_issuer(oidc: JWKSServer) -> None:
    keyset = RemoteKeySet.from_oidc(oidc.base_url)
    with pytest.raises(ConfigurationError, match="discovered for issuer"):
        Issuer("https://other.example.com", keyset)


def test_http_allowed_off_loopback_only_when_policy_says_so() -> None:
    keyset = RemoteKeySet("http://keys.example.com/jwks", policy=KeySetPolicy(require_https=False))
    assert keyset.jwks_uri == "http://keys.example.com/jwks"
