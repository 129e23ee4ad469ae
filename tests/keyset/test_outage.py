"""Outages and bad answers: the last good keys stay, observably, up to max_stale."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from bearerguard import FetchResponse, Issuer, KeySetUnavailable, RequestsFetcher
from bearerguard.keyset import KeySetEvent, KeySetPolicy, RemoteKeySet
from tests.support.clock import FakeClock
from tests.support.events import EventLog
from tests.support.jwks_server import JWKSServer, Reply
from tests.support.keys import jwks, mint, public_jwk

from .conftest import JWKS_PATH

TTL = 900  # KeySetPolicy().default_ttl
MAX_STALE = 86400
COOLDOWN = 30
POLICY = KeySetPolicy(timeout=1.0)  # short enough to test a hang, long enough under load
DOWN = Reply(status=503, body=b"maintenance")


@pytest.fixture
def keyset(server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]) -> RemoteKeySet:
    """A key set that has fetched {k1} once (1 request so far)."""
    server.set_json(JWKS_PATH, jwks("k1"))
    keys = make_keyset(POLICY)
    keys.get_keys("k1")
    return keys


@pytest.fixture
def issuer(keyset: RemoteKeySet, issuer_for: Callable[[RemoteKeySet], Issuer]) -> Issuer:
    return issuer_for(keyset)


def test_idp_down_while_keys_are_fresh_has_no_effect(
    server: JWKSServer, clock: FakeClock, issuer: Issuer
) -> None:
    server.set(JWKS_PATH, DOWN)
    clock.advance(0.6 * TTL)  # before the refresh-ahead point
    issuer.verify_and_validate(mint("k1", iss=server.base_url))
    assert server.count() == 1


def test_idp_down_at_refresh_ahead_fails_in_background_and_keys_still_verify(
    server: JWKSServer, clock: FakeClock, events: EventLog, issuer: Issuer
) -> None:
    server.set(JWKS_PATH, DOWN)
    clock.advance(0.76 * TTL)
    issuer.verify_and_validate(mint("k1", iss=server.base_url))
    events.wait_for("failed")
    issuer.verify_and_validate(mint("k1", iss=server.base_url))
    assert server.count() == 2
    assert events.of("stale-served") == []


def test_idp_down_past_expiry_serves_last_good_keys_and_reports_stale(
    server: JWKSServer, clock: FakeClock, events: EventLog, issuer: Issuer
) -> None:
    server.set(JWKS_PATH, DOWN)
    clock.advance(TTL + 1)
    issuer.verify_and_validate(mint("k1", iss=server.base_url))
    assert server.count() == 2
    assert [e.kind for e in events.events[-2:]] == ["failed", "stale-served"]
    assert events.of("stale-served")[0].age == TTL + 1


def test_after_a_failure_the_idp_is_asked_again_only_after_the_cooldown(
    server: JWKSServer, clock: FakeClock, issuer: Issuer
) -> None:
    server.set(JWKS_PATH, DOWN)
    clock.advance(TTL + 1)
    for _ in range(100):
        issuer.verify_and_validate(mint("k1", iss=server.base_url))
        clock.advance(0.25)  # 25 s in all: still inside the cooldown
    assert server.count() == 2
    clock.advance(COOLDOWN)
    issuer.verify_and_validate(mint("k1", iss=server.base_url))
    assert server.count() == 3


def test_idp_down_past_max_stale_raises_key_set_unavailable(
    server: JWKSServer, clock: FakeClock, issuer: Issuer
) -> None:
    server.set(JWKS_PATH, DOWN)
    clock.advance(TTL + MAX_STALE)
    with pytest.raises(KeySetUnavailable) as caught:
        issuer.verify_and_validate(mint("k1", iss=server.base_url))
    assert (caught.value.status, caught.value.retry_after) == (503, COOLDOWN)
    assert server.count() == 2


def test_stale_keys_are_refreshed_when_the_idp_comes_back(
    server: JWKSServer, clock: FakeClock, keyset: RemoteKeySet
) -> None:
    server.set(JWKS_PATH, DOWN)
    clock.advance(TTL + 1)
    keyset.get_keys("k1")
    server.set_json(JWKS_PATH, jwks("k1"))
    clock.advance(COOLDOWN)
    keyset.get_keys("k1")
    assert (keyset.status().state, server.count()) == ("fresh", 3)


def _body(size: int) -> bytes:
    return json.dumps({"keys": [], "pad": "x" * size}).encode()


FAULTS = [
    pytest.param(Reply(body=b"<html>oops</html>"), id="garbage"),
    pytest.param(Reply(body=b'{"keys": 5}'), id="not-a-jwks"),
    pytest.param(Reply(status=500, body=b"{}"), id="http-500"),
    pytest.param(Reply(body=_body(2_000_000)), id="2-MB-body"),
    pytest.param(Reply(body=_body(2_000_000), content_length=False), id="2-MB-body-no-length"),
    pytest.param(Reply(status=302, headers={"Location": "/elsewhere.json"}), id="redirect"),
    pytest.param(Reply(hang=True), id="hang", marks=pytest.mark.slow),  # waits out the timeout
    pytest.param(Reply(body=b'{"keys": []}'), id="zero-keys"),
    pytest.param(
        Reply(body=json.dumps({"keys": [public_jwk("k1", d="private")]}).encode()),
        id="zero-usable-keys",
    ),
    pytest.param(
        # RFC 7493 §2.1: a usable key, but a string that is not Unicode text beside it.
        Reply(body=json.dumps({"keys": [public_jwk("k2")], "note": "\ud800"}).encode()),
        id="unpaired-surrogate",
    ),
]


@pytest.mark.parametrize("fault", FAULTS)
def test_bad_answer_keeps_previous_keys_within_timeout(
    server: JWKSServer, clock: FakeClock, events: EventLog, issuer: Issuer, fault: Reply
) -> None:
    server.set(JWKS_PATH, fault)
    server.set_json("/elsewhere.json", jwks("k2"))
    clock.advance(TTL + 1)
    started = time.monotonic()
    issuer.verify_and_validate(mint("k1", iss=server.base_url))
    assert time.monotonic() - started < POLICY.timeout + 0.5
    assert (server.count(JWKS_PATH), server.count("/elsewhere.json")) == (2, 0)
    events.wait_for("failed")
    assert [k.kid for k in issuer.keys.get_keys(None)] == ["k1"]


@pytest.mark.parametrize("fault", FAULTS)
def test_bad_answer_at_cold_start_is_key_set_unavailable(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet], fault: Reply
) -> None:
    server.set(JWKS_PATH, fault)
    keyset = make_keyset(POLICY)
    with pytest.raises(KeySetUnavailable) as caught:
        keyset.get_keys("k1")
    assert caught.value.status == 503
    assert server.count() == 1


def test_cold_start_failure_is_not_retried_within_the_cooldown(
    server: JWKSServer, clock: FakeClock, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set(JWKS_PATH, DOWN)
    keyset = make_keyset(POLICY)
    with pytest.raises(KeySetUnavailable):
        keyset.get_keys("k1")
    clock.advance(10)
    with pytest.raises(KeySetUnavailable) as caught:
        keyset.get_keys("k1")
    assert (caught.value.retry_after, server.count()) == (20, 1)


def test_error_description_names_the_cause_not_the_body(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set(JWKS_PATH, Reply(status=500, body=b"secret-internal-detail"))
    keyset = make_keyset(POLICY)
    with pytest.raises(KeySetUnavailable) as caught:
        keyset.get_keys("k1")
    assert caught.value.description == (
        f"no usable keys from {server.url(JWKS_PATH)}: "
        f"JWKS at {server.url(JWKS_PATH)} answered HTTP 500"
    )


def test_one_bad_jwk_among_good_ones_is_skipped(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    bad = {"kty": "RSA", "kid": "bad", "n": "AQAB", "e": "AQAB"}  # 17-bit modulus
    server.set_json(JWKS_PATH, {"keys": [bad, public_jwk("k1")]})
    keyset = make_keyset(POLICY)
    assert ([k.kid for k in keyset.get_keys(None)], server.count()) == (["k1"], 1)


def test_failed_fetch_is_logged_as_a_warning(
    server: JWKSServer, clock: FakeClock, keyset: RemoteKeySet, caplog: pytest.LogCaptureFixture
) -> None:
    server.set(JWKS_PATH, DOWN)
    clock.advance(TTL + 1)
    with caplog.at_level(logging.WARNING, logger="bearerguard.keyset"):
        keyset.get_keys("k1")
    assert [r.getMessage() for r in caplog.records] == [
        f"JWKS {server.url(JWKS_PATH)}: fetch failed, keeping previous keys: "
        f"JWKS at {server.url(JWKS_PATH)} answered HTTP 503",
        f"JWKS {server.url(JWKS_PATH)}: serving keys 901s past their last fetch",
    ]


def test_callback_that_raises_does_not_break_verification(
    server: JWKSServer,
    fetcher: RequestsFetcher,
    clock: FakeClock,
    issuer_for: Callable[[RemoteKeySet], Issuer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(event: KeySetEvent) -> None:
        raise RuntimeError("observer bug")

    server.set_json(JWKS_PATH, jwks("k1"))
    keyset = RemoteKeySet(
        server.url(JWKS_PATH),
        fetcher=fetcher,
        clock=clock,
        on_event=broken,
    )
    with caplog.at_level(logging.ERROR, logger="bearerguard.keyset"):
        issuer_for(keyset).verify_and_validate(mint("k1", iss=server.base_url))
    assert [r.getMessage() for r in caplog.records] == [
        "on_event callback raised; ignoring it",
        "on_event callback raised; ignoring it",
    ]


class _StuckOnce:
    """A fetcher (the injection seam) whose second call never returns until released.

    It stands for what a timeout cannot catch: a fetcher that ignores its
    deadline, or a server trickling bytes just fast enough to beat each read timeout.
    """

    def __init__(self, real: RequestsFetcher) -> None:
        self.real = real
        self.calls = 0
        self.release = threading.Event()

    def __call__(self, url: str, **kwargs: Any) -> FetchResponse:
        self.calls += 1
        if self.calls == 2:
            self.release.wait(30)
        return self.real(url, **kwargs)


@pytest.mark.slow
def test_hung_fetch_is_abandoned_so_a_new_one_can_start(
    server: JWKSServer, clock: FakeClock, events: EventLog, fetcher: RequestsFetcher
) -> None:
    stuck = _StuckOnce(fetcher)
    keyset = RemoteKeySet(
        server.url(JWKS_PATH), policy=POLICY, fetcher=stuck, clock=clock, on_event=events
    )
    server.set_json(JWKS_PATH, jwks("k1"))
    try:
        assert [k.kid for k in keyset.get_keys("k1")] == ["k1"]
        clock.advance(TTL + 1)
        # The refresh hangs: this caller waits at most `timeout`, then gets the stale keys.
        assert [k.kid for k in keyset.get_keys("k1")] == ["k1"]
        assert keyset.status().fetching
        clock.advance(2 * POLICY.timeout + 1)
        # The hung fetch is given up on and a new one starts (and succeeds).
        assert [k.kid for k in keyset.get_keys("k1")] == ["k1"]
        assert stuck.calls == 3
        assert keyset.status().state == "fresh"
        assert any("did not finish" in (e.error or "") for e in events.of("failed"))
    finally:
        stuck.release.set()
