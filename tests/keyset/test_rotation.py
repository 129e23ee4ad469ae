"""Key rotation and unknown kids: refetch at most once per cooldown, remember absent kids."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable

import pytest

from bearerguard import Issuer, UnknownKey
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from bearerguard.keyset._policy import MAX_ABSENT_KIDS
from tests.support.clock import FakeClock
from tests.support.events import EventLog
from tests.support.jwks_server import JWKSServer, Reply, Request
from tests.support.keys import bogus_token, jwks, mint

from .conftest import JWKS_PATH

COOLDOWN = 30  # KeySetPolicy().cooldown


@pytest.fixture
def warm(
    server: JWKSServer,
    make_keyset: Callable[..., RemoteKeySet],
    issuer_for: Callable[[RemoteKeySet], Issuer],
) -> Issuer:
    """An issuer whose key set has fetched {k1} once (1 request so far)."""
    server.set_json(JWKS_PATH, jwks("k1"))
    issuer = issuer_for(make_keyset())
    issuer.verify_and_validate(mint("k1", iss=server.base_url))
    assert server.count() == 1
    return issuer


def test_key_published_before_use_needs_no_extra_fetch(
    server: JWKSServer, clock: FakeClock, events: EventLog, warm: Issuer
) -> None:
    """The IdP publishes k2 first; the scheduled refresh picks it up; k2 tokens cost 0 fetches."""
    server.set_json(JWKS_PATH, jwks("k1", "k2"))
    clock.advance(0.8 * 900)  # past the refresh-ahead point
    warm.verify_and_validate(mint("k1", iss=server.base_url))
    events.wait_for("keys-changed", 2)
    before = server.count()
    warm.verify_and_validate(mint("k2", iss=server.base_url))
    assert (before, server.count()) == (2, 2)


def test_key_used_at_once_costs_exactly_one_fetch(
    server: JWKSServer, clock: FakeClock, warm: Issuer
) -> None:
    server.set_json(JWKS_PATH, jwks("k2"))
    clock.advance(COOLDOWN)
    _, claims = warm.verify_and_validate(mint("k2", iss=server.base_url))
    assert claims.sub == "user-1"
    assert server.count() == 2


def test_unknown_kid_within_cooldown_of_last_attempt_is_not_fetched(
    server: JWKSServer, clock: FakeClock, events: EventLog, warm: Issuer
) -> None:
    server.set_json(JWKS_PATH, jwks("k1", "k2"))
    clock.advance(COOLDOWN - 1)
    with pytest.raises(UnknownKey):
        warm.verify_and_validate(mint("k2", iss=server.base_url))
    assert server.count() == 1
    assert [e.reason for e in events.of("refetch-suppressed")] == ["cooldown"]


def test_unknown_kid_refetches_once_the_cooldown_has_passed(
    server: JWKSServer, clock: FakeClock, warm: Issuer
) -> None:
    server.set_json(JWKS_PATH, jwks("k1", "k2"))
    clock.advance(COOLDOWN - 1)
    with pytest.raises(UnknownKey):
        warm.verify_and_validate(mint("k2", iss=server.base_url))
    clock.advance(1)
    warm.verify_and_validate(mint("k2", iss=server.base_url))
    assert server.count() == 2


def test_10000_bogus_kids_in_one_cooldown_cause_one_fetch(
    server: JWKSServer, clock: FakeClock, events: EventLog, warm: Issuer
) -> None:
    clock.advance(COOLDOWN)
    for i in range(10_000):
        with pytest.raises(UnknownKey):
            warm.unsafe_verify(bogus_token(f"bogus-{i}", iss=server.base_url))
    assert server.count() == 2  # the warm-up fetch + 1
    assert isinstance(warm.keys, RemoteKeySet)
    assert warm.keys.status().suppressed_refetches == 9_999
    assert len(events.of("refetch-suppressed")) == 1  # reported once, not 9,999 times


def test_bogus_kid_seen_again_causes_no_fetch(
    server: JWKSServer, clock: FakeClock, events: EventLog, warm: Issuer
) -> None:
    clock.advance(COOLDOWN)
    with pytest.raises(UnknownKey):
        warm.unsafe_verify(bogus_token("bogus", iss=server.base_url))
    clock.advance(COOLDOWN * 5)  # long past the cooldown, within absent_ttl and the lifetime
    with pytest.raises(UnknownKey):
        warm.unsafe_verify(bogus_token("bogus", iss=server.base_url))
    assert server.count() == 2
    assert [e.reason for e in events.of("refetch-suppressed")] == ["known-absent"]


def test_kid_probed_before_it_is_published_is_not_locked_out(
    server: JWKSServer, clock: FakeClock, warm: Issuer
) -> None:
    """An attacker (or a lagging CDN) can mark the next kid absent only for absent_ttl."""
    clock.advance(COOLDOWN)
    with pytest.raises(UnknownKey):
        warm.unsafe_verify(bogus_token("k2", iss=server.base_url))  # k2 not published yet
    assert server.count() == 2
    server.set_json(JWKS_PATH, jwks("k1", "k2"))  # the IdP publishes k2 and signs with it
    with pytest.raises(UnknownKey):
        warm.verify_and_validate(mint("k2", iss=server.base_url))  # still known-absent
    assert server.count() == 2
    clock.advance(KeySetPolicy().absent_ttl)
    warm.verify_and_validate(mint("k2", iss=server.base_url))
    assert server.count() == 3


def test_kid_suppressed_by_cooldown_is_not_taken_for_absent(
    server: JWKSServer, clock: FakeClock, warm: Issuer
) -> None:
    """Only a fetch proves a kid absent: a kid merely suppressed is fetched for later."""
    with pytest.raises(UnknownKey):
        warm.unsafe_verify(bogus_token("k2", iss=server.base_url))
    server.set_json(JWKS_PATH, jwks("k1", "k2"))
    clock.advance(COOLDOWN)
    warm.verify_and_validate(mint("k2", iss=server.base_url))
    assert server.count() == 2


def test_absent_kids_are_forgotten_when_the_keys_change(
    server: JWKSServer, clock: FakeClock, warm: Issuer
) -> None:
    clock.advance(COOLDOWN)
    with pytest.raises(UnknownKey):
        warm.unsafe_verify(bogus_token("k9", iss=server.base_url))  # fetch 2: k9 absent
    server.set_json(JWKS_PATH, jwks("k1", "k3"))
    clock.advance(COOLDOWN)
    warm.verify_and_validate(mint("k3", iss=server.base_url))  # fetch 3: keys changed
    server.set_json(JWKS_PATH, jwks("k1", "k3", "k9"))
    clock.advance(COOLDOWN)
    warm.verify_and_validate(mint("k9", iss=server.base_url))  # fetch 4: k9 asked for again
    assert server.count() == 4


def test_absent_kid_cache_is_bounded(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    """2,000 distinct unknown kids wait for one cold fetch; only the newest 1,024 are kept."""
    gate = threading.Event()
    body = json.dumps(jwks("k1")).encode()

    def answer_when_everyone_waits(request: Request) -> Reply:
        gate.wait(5)
        return Reply(body=body)

    server.set(JWKS_PATH, answer_when_everyone_waits)
    keyset = make_keyset()

    async def main() -> None:
        tasks = [asyncio.create_task(keyset.aget_keys(f"bogus-{i}")) for i in range(2000)]
        await asyncio.sleep(0)  # every task has run up to its wait for the one fetch
        gate.set()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert server.count() == 1
    assert keyset.status().absent_kids == MAX_ABSENT_KIDS == 1024


def test_kid_reused_for_new_key_material_counts_as_changed(
    server: JWKSServer, clock: FakeClock, events: EventLog, warm: Issuer
) -> None:
    """k1 now names another key: generation moves on, k1 is both removed and added."""
    doc = jwks("k2")
    doc["keys"][0]["kid"] = "k1"
    server.set_json(JWKS_PATH, doc)
    clock.advance(901)
    warm.verify_and_validate(mint("k2", kid="k1", iss=server.base_url))
    change = events.of("keys-changed")[-1]
    assert (change.added, change.removed, change.generation) == (("k1",), ("k1",), 2)
    assert server.count() == 2
