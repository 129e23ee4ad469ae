"""Redirects: refused by default; followed (checked, bounded) when the policy allows."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bearerguard import KeySetUnavailable
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from bearerguard.keyset._policy import MAX_REDIRECTS
from tests.support.jwks_server import JWKSServer, Reply
from tests.support.keys import jwks

from .conftest import JWKS_PATH

FOLLOW = KeySetPolicy(follow_redirects=True)


def test_redirect_is_not_followed_by_default(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set(JWKS_PATH, Reply(status=301, headers={"Location": "/v2/jwks.json"}))
    server.set_json("/v2/jwks.json", jwks("k1"))
    with pytest.raises(KeySetUnavailable, match="redirects are not followed"):
        make_keyset().get_keys("k1")
    assert [r.path for r in server.requests] == [JWKS_PATH]


def test_redirect_is_followed_when_allowed(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set(JWKS_PATH, Reply(status=307, headers={"Location": "/v2/jwks.json"}))
    server.set_json("/v2/jwks.json", jwks("k1"))
    assert [k.kid for k in make_keyset(FOLLOW).get_keys("k1")] == ["k1"]
    assert [r.path for r in server.requests] == [JWKS_PATH, "/v2/jwks.json"]


def test_redirect_chain_is_bounded(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set(JWKS_PATH, Reply(status=302, headers={"Location": JWKS_PATH}))
    with pytest.raises(KeySetUnavailable, match="more than 3 redirects"):
        make_keyset(FOLLOW).get_keys("k1")
    assert server.count() == MAX_REDIRECTS + 1


def test_redirect_to_plain_http_off_loopback_is_refused(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set(JWKS_PATH, Reply(status=302, headers={"Location": "http://keys.example.com/j"}))
    with pytest.raises(KeySetUnavailable, match="must use https"):
        make_keyset(FOLLOW).get_keys("k1")
    assert server.count() == 1


def test_redirect_without_location_is_a_failed_fetch(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    """A followed-redirects policy cannot follow a 3xx that names no Location."""
    server.set(JWKS_PATH, Reply(status=302))
    with pytest.raises(KeySetUnavailable, match=r"redirected \(HTTP 302\)"):
        make_keyset(FOLLOW).get_keys("k1")
    assert server.count() == 1
