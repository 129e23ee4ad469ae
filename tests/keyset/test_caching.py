"""Lifetimes, refresh-ahead, ETag/304, generations, status."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bearerguard import KeySource
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from tests.support.clock import FakeClock
from tests.support.events import EventLog
from tests.support.jwks_server import JWKSServer, Reply
from tests.support.keys import jwks

from .conftest import JWKS_PATH

TTL = 900


def test_remote_key_set_is_a_key_source(make_keyset: Callable[..., RemoteKeySet]) -> None:
    assert isinstance(make_keyset(), KeySource)


def test_constructor_makes_no_request(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    make_keyset()
    assert server.count() == 0


def test_keys_within_max_age_are_not_refetched(
    server: JWKSServer, clock: FakeClock, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"), headers={"Cache-Control": "max-age=120"})
    keyset = make_keyset()
    keyset.get_keys("k1")
    clock.advance(0.6 * 120)
    keyset.get_keys("k1")
    assert server.count() == 1


def test_keys_past_max_age_are_refetched_before_use(
    server: JWKSServer, clock: FakeClock, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"), headers={"Cache-Control": "max-age=120"})
    keyset = make_keyset()
    keyset.get_keys("k1")
    clock.advance(120)
    keyset.get_keys("k1")
    assert server.count() == 2


@pytest.mark.parametrize(
    ("cache_control", "expires_in"),
    [
        pytest.param(None, 900.0, id="default"),
        pytest.param("max-age=3600", 3600.0, id="max-age"),
        pytest.param("max-age=5", 60.0, id="min-ttl"),
        pytest.param("max-age=999999", 86400.0, id="max-ttl"),
    ],
)
def test_lifetime_comes_from_cache_control(
    server: JWKSServer,
    make_keyset: Callable[..., RemoteKeySet],
    cache_control: str | None,
    expires_in: float,
) -> None:
    headers = {"Cache-Control": cache_control} if cache_control else {}
    server.set_json(JWKS_PATH, jwks("k1"), headers=headers)
    keyset = make_keyset()
    keyset.get_keys("k1")
    assert keyset.status().expires_in == expires_in


def test_age_header_shortens_the_lifetime(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"), headers={"Cache-Control": "max-age=600", "Age": "200"})
    keyset = make_keyset()
    keyset.get_keys("k1")
    assert keyset.status().expires_in == 400.0


def test_refresh_ahead_is_scheduled_with_jitter_before_three_quarters(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"))
    keyset = make_keyset()
    keyset.get_keys("k1")
    next_refresh = keyset.status().next_refresh_in
    assert next_refresh is not None
    assert 0.9 * 0.75 * TTL <= next_refresh <= 0.75 * TTL


def test_refresh_ahead_runs_in_background_without_delaying_the_request(
    server: JWKSServer,
    clock: FakeClock,
    events: EventLog,
    make_keyset: Callable[..., RemoteKeySet],
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"))
    keyset = make_keyset()
    keyset.get_keys("k1")
    server.set_json(JWKS_PATH, jwks("k1", "k2"), delay=0.5)
    clock.advance(0.75 * TTL)
    started = time.monotonic()
    assert [k.kid for k in keyset.get_keys("k1")] == ["k1"]
    assert time.monotonic() - started < 0.25  # the refresh itself takes 0.5 s
    events.wait_for("keys-changed", 2)
    assert (keyset.status().kids, server.count()) == (("k1", "k2"), 2)


def test_refresh_ahead_starts_once_for_many_requests(
    server: JWKSServer,
    clock: FakeClock,
    events: EventLog,
    make_keyset: Callable[..., RemoteKeySet],
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"))
    keyset = make_keyset()
    keyset.get_keys("k1")
    server.set_json(JWKS_PATH, jwks("k1"), delay=0.2)
    clock.advance(0.75 * TTL)
    for _ in range(1000):
        keyset.get_keys("k1")
    events.wait_for("fetched", 2)
    assert server.count() == 2


def test_etag_is_sent_as_if_none_match(
    server: JWKSServer, clock: FakeClock, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"), etag='"v1"')
    keyset = make_keyset()
    keyset.get_keys("k1")
    clock.advance(TTL)
    keyset.get_keys("k1")
    assert [r.headers.get("if-none-match") for r in server.requests] == [None, '"v1"']


def test_304_renews_the_lifetime_without_reparsing(
    server: JWKSServer,
    clock: FakeClock,
    events: EventLog,
    make_keyset: Callable[..., RemoteKeySet],
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"), etag='"v1"', headers={"Cache-Control": "max-age=300"})
    keyset = make_keyset()
    before = keyset.get_keys("k1")
    clock.advance(300)
    after = keyset.get_keys("k1")
    assert after is before  # the very same parsed key objects
    assert (server.count(), keyset.status().expires_in, keyset.generation) == (2, 300.0, 1)
    assert events.kinds() == ["fetched", "keys-changed", "not-modified"]


def test_304_without_cache_control_keeps_the_stored_max_age(
    server: JWKSServer, clock: FakeClock, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    """RFC 9111 §4.3.4: headers a 304 leaves out keep their stored values."""
    server.set_json(JWKS_PATH, jwks("k1"), etag='"v1"', headers={"Cache-Control": "max-age=300"})
    keyset = make_keyset()
    keyset.get_keys("k1")
    server.set(JWKS_PATH, Reply(status=304, headers={"ETag": '"v1"'}))
    clock.advance(300)
    keyset.get_keys("k1")
    assert (server.count(), keyset.status().expires_in) == (2, 300.0)


def test_identical_body_keeps_keys_and_generation(
    server: JWKSServer,
    clock: FakeClock,
    events: EventLog,
    make_keyset: Callable[..., RemoteKeySet],
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"))
    keyset = make_keyset()
    before = keyset.get_keys("k1")
    clock.advance(TTL)
    assert keyset.get_keys("k1") is before
    assert (server.count(), keyset.generation) == (2, 1)
    assert events.kinds() == ["fetched", "keys-changed", "fetched"]


def test_generation_moves_only_when_the_content_changes(
    server: JWKSServer, clock: FakeClock, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    keyset = make_keyset()
    generations = [keyset.generation]
    for document in (jwks("k1"), jwks("k1"), jwks("k1", "k2"), jwks("k2", "k1"), jwks("k2")):
        server.set_json(JWKS_PATH, document)
        keyset.get_keys("k1")
        generations.append(keyset.generation)
        clock.advance(TTL)
    assert generations == [0, 1, 1, 2, 2, 3]


def test_keys_changed_event_lists_added_and_removed_kids(
    server: JWKSServer,
    clock: FakeClock,
    events: EventLog,
    make_keyset: Callable[..., RemoteKeySet],
) -> None:
    server.set_json(JWKS_PATH, jwks("k1", "k2"))
    keyset = make_keyset()
    keyset.get_keys(None)
    server.set_json(JWKS_PATH, jwks("k2", "k3"))
    clock.advance(TTL)
    keyset.get_keys(None)
    assert [(e.added, e.removed, e.generation) for e in events.of("keys-changed")] == [
        (("k1", "k2"), (), 1),
        (("k3",), ("k1",), 2),
    ]


def test_unchanged_keys_keep_their_objects_across_a_rotation(
    server: JWKSServer, clock: FakeClock, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    """Keys that stay are the same objects, so their prepared verifiers are kept."""
    server.set_json(JWKS_PATH, jwks("k1"))
    keyset = make_keyset()
    (k1,) = keyset.get_keys("k1")
    server.set_json(JWKS_PATH, jwks("k1", "k2"))
    clock.advance(TTL)
    assert keyset.get_keys("k1")[0] is k1


def test_status_of_a_fresh_set(
    server: JWKSServer, clock: FakeClock, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set_json(JWKS_PATH, jwks("k1", "k2"), etag='"v7"')
    keyset = make_keyset()
    keyset.get_keys(None)
    clock.advance(10)
    status = keyset.status()
    assert status.next_refresh_in is not None
    assert {
        "jwks_uri": status.jwks_uri,
        "state": status.state,
        "generation": status.generation,
        "kids": status.kids,
        "age": status.age,
        "expires_in": status.expires_in,
        "cooldown_remaining": status.cooldown_remaining,
        "fetching": status.fetching,
        "last_error": status.last_error,
        "etag": status.etag,
        "fetches": status.fetches,
        "failures": status.failures,
    } == {
        "jwks_uri": server.url(JWKS_PATH),
        "state": "fresh",
        "generation": 1,
        "kids": ("k1", "k2"),
        "age": 10.0,
        "expires_in": 890.0,
        "cooldown_remaining": 20.0,
        "fetching": False,
        "last_error": None,
        "etag": '"v7"',
        "fetches": 1,
        "failures": 0,
    }


@pytest.mark.parametrize(
    ("advance", "state"),
    [
        pytest.param(0, "fresh", id="fresh"),
        pytest.param(TTL, "stale", id="stale"),
        pytest.param(TTL + 86400, "expired", id="expired"),
    ],
)
def test_status_state_follows_the_clock_while_the_idp_is_down(
    server: JWKSServer,
    clock: FakeClock,
    make_keyset: Callable[..., RemoteKeySet],
    advance: float,
    state: str,
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"))
    keyset = make_keyset()
    keyset.get_keys("k1")
    server.set_json(JWKS_PATH, {}, status=500)
    clock.advance(advance)
    assert keyset.status().state == state
    assert server.count() == 1  # status() never fetches


def test_status_of_a_never_fetched_set(make_keyset: Callable[..., RemoteKeySet]) -> None:
    status = make_keyset().status()
    assert (status.state, status.kids, status.age, status.generation) == ("empty", (), None, 0)


def test_last_error_is_reported_and_cleared_by_success(
    server: JWKSServer, clock: FakeClock, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"))
    keyset = make_keyset(KeySetPolicy())
    keyset.get_keys("k1")
    server.set_json(JWKS_PATH, {}, status=500)
    clock.advance(TTL)
    keyset.get_keys("k1")
    failed = keyset.status()
    server.set_json(JWKS_PATH, jwks("k1"))
    clock.advance(30)
    keyset.get_keys("k1")
    assert (failed.last_error, failed.failures, failed.state) == (
        f"JWKS at {server.url(JWKS_PATH)} answered HTTP 500",
        1,
        "stale",
    )
    assert keyset.status().last_error is None
