"""The RefreshStore contract, run against the in-memory store and a real Redis."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bearerguard import ConfigurationError
from bearerguard.issuing import (
    InMemoryRefreshStore,
    InvalidGrant,
    RedisRefreshStore,
    RefreshStore,
    RefreshTokenReused,
)
from bearerguard.issuing._errors import RefreshStoreFull
from bearerguard.issuing._refresh import (
    DROPPED,
    REUSED,
    REVOKED,
    UNKNOWN,
    new_refresh_token,
    refresh_token_family,
    refresh_token_id,
)
from tests.support.clock import FakeClock

from .conftest import T0
from .redis_server import redis_server

DAY = 86400.0


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request: pytest.FixtureRequest, clock: FakeClock) -> RefreshStore:
    if request.param == "memory":
        return InMemoryRefreshStore(clock=clock)
    client = request.getfixturevalue("redis_client")
    prefix = request.getfixturevalue("redis_prefix")
    return RedisRefreshStore(client, prefix=prefix, clock=clock)


def _save(store: RefreshStore, token: str | None = None, ttl: float = DAY) -> str:
    token = token or new_refresh_token()
    store.save(token, "user-42", ttl, client_id="web-app", scopes=["orders:read"], auth_time=T0)
    return token


# -- the token format -----------------------------------------------------------------------


def test_refresh_tokens_are_family_dot_secret() -> None:
    token = new_refresh_token()
    family, secret = token.split(".")
    assert (len(family), len(secret)) == (22, 43)
    assert refresh_token_family(token) == family
    assert new_refresh_token(family).startswith(family + ".")
    assert new_refresh_token(family) != new_refresh_token(family)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("", id="empty"),
        pytest.param("a.b.c", id="jwt-shaped"),
        pytest.param("x" * 22 + "." + "y" * 42, id="short-secret"),
        pytest.param("x" * 22 + "." + "y" * 42 + "+", id="not-base64url"),
    ],
)
def test_malformed_refresh_token_is_an_invalid_grant(token: str) -> None:
    with pytest.raises(InvalidGrant) as info:
        refresh_token_family(token)
    assert info.value.description == UNKNOWN


# -- the contract ---------------------------------------------------------------------------


def test_saved_token_reads_back_its_claims(store: RefreshStore) -> None:
    token = _save(store)
    claims = store.get(token)
    assert claims is not None
    assert (claims.sub, claims.client_id, claims.scopes) == ("user-42", "web-app", ("orders:read",))
    assert (claims.family, claims.jti) == (refresh_token_family(token), refresh_token_id(token))
    assert (claims.iat, claims.exp, claims.auth_time) == (T0, T0 + DAY, T0)


def test_unknown_and_malformed_tokens_read_as_none(store: RefreshStore) -> None:
    assert store.get(new_refresh_token()) is None
    assert store.get("not-a-token") is None


def test_redeem_returns_the_claims_once(store: RefreshStore) -> None:
    token = _save(store)
    assert store.redeem(token).sub == "user-42"
    assert store.get(token) is None


def test_redeeming_a_used_token_revokes_its_family(store: RefreshStore) -> None:
    """RFC 9700 §4.14.2: reuse means theft; the rotated successor dies too."""
    old = _save(store)
    store.redeem(old)
    successor = _save(store, new_refresh_token(refresh_token_family(old)))
    with pytest.raises(RefreshTokenReused) as info:
        store.redeem(old)
    assert info.value.description == REUSED
    assert store.get(successor) is None
    with pytest.raises(InvalidGrant) as revoked:
        store.redeem(successor)
    assert revoked.value.description == REVOKED


def test_reuse_leaves_other_families_alone(store: RefreshStore) -> None:
    stolen, other = _save(store), _save(store)
    store.redeem(stolen)
    with pytest.raises(RefreshTokenReused):
        store.redeem(stolen)
    assert store.redeem(other).sub == "user-42"


def test_saving_into_a_revoked_family_fails(store: RefreshStore) -> None:
    token = _save(store)
    assert store.revoke(token) is True
    with pytest.raises(InvalidGrant) as info:
        _save(store, new_refresh_token(refresh_token_family(token)))
    assert info.value.description == REVOKED


def test_expired_token_is_unknown(store: RefreshStore, clock: FakeClock) -> None:
    token = _save(store, ttl=60)
    clock.advance(60)
    assert store.get(token) is None
    with pytest.raises(InvalidGrant) as info:
        store.redeem(token)
    assert info.value.description == UNKNOWN


def test_token_is_live_until_its_expiry(store: RefreshStore, clock: FakeClock) -> None:
    token = _save(store, ttl=60)
    clock.advance(59.5)
    assert store.redeem(token).exp == T0 + 60


def test_deleted_token_is_unknown(store: RefreshStore) -> None:
    token = _save(store)
    store.delete(token)
    store.delete("not-a-token")  # no error
    with pytest.raises(InvalidGrant) as info:
        store.redeem(token)
    assert info.value.description == UNKNOWN


def test_revoke_kills_every_token_of_the_family(store: RefreshStore) -> None:
    first = _save(store)
    store.redeem(first)
    second = _save(store, new_refresh_token(refresh_token_family(first)))
    assert store.revoke(first) is True
    assert store.get(second) is None


def test_revoke_of_an_unknown_token_does_nothing(store: RefreshStore) -> None:
    token = _save(store)
    forged = new_refresh_token(refresh_token_family(token))  # right family, wrong secret
    assert store.revoke(forged) is False
    assert store.revoke("garbage") is False
    assert store.get(token) is not None


# -- reuse markers live as long as their family ---------------------------------------------


def _rotate(store: RefreshStore, token: str, ttl: float = DAY) -> str:
    """Redeem *token* and save its successor, as TokenIssuer.refresh does."""
    store.redeem(token)
    return _save(store, new_refresh_token(refresh_token_family(token)), ttl=ttl)


def test_used_token_is_detected_after_its_own_expiry_while_its_family_lives(
    store: RefreshStore, clock: FakeClock
) -> None:
    """RFC 9700 §4.14.2: a stolen token replayed after its own expiry still revokes the grant."""
    stolen = _save(store, ttl=60)
    successor = _rotate(store, stolen)  # the thief redeemed it first
    clock.advance(120)
    _save(store)  # a write after the sweep interval: the in-memory store sweeps here
    with pytest.raises(RefreshTokenReused) as info:
        store.redeem(stolen)  # the victim's replay
    assert info.value.description == REUSED
    assert store.get(successor) is None


def test_reuse_markers_go_when_their_family_expires(store: RefreshStore, clock: FakeClock) -> None:
    first = _save(store, ttl=60)
    successor = _rotate(store, first, ttl=120)
    clock.advance(120)
    with pytest.raises(InvalidGrant) as info:
        store.redeem(first)
    assert info.value.description == UNKNOWN
    assert store.revoke(successor) is False


def test_deleting_a_used_token_keeps_its_reuse_marker(store: RefreshStore) -> None:
    """delete() forgets unused tokens; it never erases the evidence of a redeem."""
    stolen = _save(store)
    successor = _rotate(store, stolen)
    store.delete(stolen)
    with pytest.raises(RefreshTokenReused):
        store.redeem(stolen)
    assert store.get(successor) is None


def test_revoke_knows_a_used_token_while_its_family_lives(
    store: RefreshStore, clock: FakeClock
) -> None:
    """RFC 7009 revocation with an old, used token still ends the grant."""
    first = _save(store, ttl=60)
    successor = _rotate(store, first)
    clock.advance(120)
    assert store.revoke(first) is True
    assert store.get(successor) is None


def test_a_used_token_cannot_be_saved_again(store: RefreshStore) -> None:
    token = _save(store)
    _rotate(store, token)
    with pytest.raises(ConfigurationError) as info:
        _save(store, token)
    assert info.value.description == "this refresh token was saved already"


@pytest.mark.parametrize(
    ("token", "ttl", "message"),
    [
        pytest.param("a.b", DAY, "refresh tokens must be made by new_refresh_token()", id="bad"),
        pytest.param(None, 0, "ttl must be a positive number of seconds", id="zero-ttl"),
        pytest.param(None, float("inf"), "ttl must be a positive number of seconds", id="inf"),
    ],
)
def test_save_refuses_bad_input(
    store: RefreshStore, token: str | None, ttl: float, message: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        store.save(token or new_refresh_token(), "user-42", ttl)
    assert info.value.description == message


def test_saving_a_token_twice_fails(store: RefreshStore) -> None:
    token = _save(store)
    with pytest.raises(ConfigurationError) as info:
        _save(store, token)
    assert info.value.description == "this refresh token was saved already"


def test_concurrent_redeems_let_exactly_one_win(store: RefreshStore) -> None:
    token = _save(store)
    barrier = threading.Barrier(12)
    outcomes: list[str] = []
    lock = threading.Lock()

    def redeem() -> None:
        barrier.wait()
        try:
            store.redeem(token)
            result = "ok"
        except RefreshTokenReused:
            result = "reused"
        except InvalidGrant:
            result = "invalid"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=redeem) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1
    assert outcomes.count("reused") == 11


def test_stores_implement_the_protocol(store: RefreshStore) -> None:
    assert isinstance(store, RefreshStore)


# -- in memory ------------------------------------------------------------------------------


def test_memory_store_keeps_only_hashes(clock: FakeClock) -> None:
    store = InMemoryRefreshStore(clock=clock)
    token = _save(store)
    store.redeem(token)
    successor = _save(store, new_refresh_token(refresh_token_family(token)))
    family = store._families[refresh_token_family(token)]
    assert (family.used, list(family.tokens)) == (
        {refresh_token_id(token)},
        [refresh_token_id(successor)],
    )
    secrets = {t.split(".")[1] for t in (token, successor)}
    held = [*store._families, *family.used, *family.tokens]
    assert not [key for key in held for secret in secrets if secret in key]


def test_memory_store_memory_is_bounded(clock: FakeClock) -> None:
    """Each new grant is a token and a family: 10 entries hold 5 grants at most."""
    store = InMemoryRefreshStore(max_entries=10, clock=clock)
    tokens = []
    for i in range(20):
        clock.advance(1)
        tokens.append(_save(store, ttl=DAY + i))
    assert store.entries == 10
    assert [store.get(t) is not None for t in tokens] == [False] * 15 + [True] * 5


def test_memory_store_sweeps_expired_tokens_on_write(clock: FakeClock) -> None:
    store = InMemoryRefreshStore(sweep_interval=60, clock=clock)
    _save(store, ttl=10)
    clock.advance(11)
    _save(store, ttl=DAY)  # within the sweep interval: nothing swept yet
    assert len(store) == 2
    clock.advance(60)
    _save(store, ttl=DAY)
    assert len(store) == 2
    assert store.entries == 4


def test_memory_store_starts_no_timers(clock: FakeClock) -> None:
    """The store starts no timer per token."""
    before = threading.active_count()
    store = InMemoryRefreshStore(clock=clock)
    for _ in range(200):
        _save(store, ttl=1)
    assert threading.active_count() == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"max_entries": 1}, "max_entries must be an integer of at least 2", id="one"),
        pytest.param(
            {"sweep_interval": -1},
            "sweep_interval must be a non-negative number of seconds",
            id="negative-sweep",
        ),
    ],
)
def test_memory_store_options_are_validated(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        InMemoryRefreshStore(**options)
    assert info.value.description == message


# -- in memory, at capacity -----------------------------------------------------------------


def _fill(store: InMemoryRefreshStore, grants: int, ttl: float) -> list[str]:
    return [_save(store, ttl=ttl) for _ in range(grants)]


def test_full_memory_store_drops_a_live_grant_whole(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """At capacity the thief's rotated token goes with the stolen token's reuse marker."""
    store = InMemoryRefreshStore(max_entries=8, clock=clock)
    stolen = _save(store)
    clock.advance(1)
    thiefs = _rotate(store, stolen)  # the family: itself, a used marker, an unused token
    clock.advance(120)
    _fill(store, 3, ttl=2 * DAY)  # the third grant finds the store full
    with pytest.raises(InvalidGrant) as replay:
        store.redeem(stolen)
    assert replay.value.description == UNKNOWN
    assert store.get(thiefs) is None
    with pytest.raises(InvalidGrant) as thief:
        store.redeem(thiefs)
    assert thief.value.description == UNKNOWN
    assert (store.entries, store.evicted_grants) == (6, 1)
    assert [r.getMessage() for r in caplog.records] == [
        "refresh store full (max_entries=8): dropped a live grant, whose user must log in "
        "again (1 so far); raise max_entries or use RedisRefreshStore"
    ]


def test_full_memory_store_drops_idle_grants_before_live_ones(clock: FakeClock) -> None:
    """Grants with nothing left to redeem make room first; the live family keeps its markers."""
    store = InMemoryRefreshStore(max_entries=8, clock=clock)
    stolen = _save(store)
    thiefs = _rotate(store, stolen)
    for token in _fill(store, 2, ttl=2 * DAY):
        store.redeem(token)  # redeemed, no successor: idle once no longer rotating
    clock.advance(120)
    _save(store, ttl=2 * DAY)
    with pytest.raises(RefreshTokenReused):
        store.redeem(stolen)
    with pytest.raises(InvalidGrant) as thief:
        store.redeem(thiefs)
    assert thief.value.description == REVOKED
    assert (store.entries, store.evicted_grants) == (7, 0)


def test_full_memory_store_keeps_a_family_between_redeem_and_save(clock: FakeClock) -> None:
    """A grant whose successor is being saved is not idle: an idle one makes room instead."""
    store = InMemoryRefreshStore(max_entries=6, clock=clock)
    idle = _save(store, ttl=3 * DAY)
    store.redeem(idle)
    clock.advance(120)
    stolen = _save(store, ttl=60)  # closest to expiry of all
    store.redeem(stolen)  # a refresh in progress
    _save(store, ttl=3 * DAY)  # another login fills the store meanwhile
    thiefs = _save(store, new_refresh_token(refresh_token_family(stolen)))
    with pytest.raises(RefreshTokenReused):
        store.redeem(stolen)
    assert store.get(thiefs) is None
    assert store.evicted_grants == 0


def test_full_memory_store_never_drops_the_grant_it_is_refreshing(clock: FakeClock) -> None:
    """A refresh at capacity drops another live grant, not the one being refreshed."""
    store = InMemoryRefreshStore(max_entries=6, clock=clock)
    refreshing = _save(store, ttl=60)  # closest to expiry of all
    other = _save(store, ttl=2 * DAY)
    third = _save(store, ttl=3 * DAY)  # the store is full: three grants of two entries
    successor = _rotate(store, refreshing)
    assert store.get(successor) is not None
    assert store.get(other) is None  # the next closest to expiry went instead
    assert store.get(third) is not None
    with pytest.raises(RefreshTokenReused):
        store.redeem(refreshing)
    assert store.evicted_grants == 1


def test_memory_store_never_recreates_a_family_dropped_during_a_rotation(
    clock: FakeClock,
) -> None:
    """A family dropped after a redeem would come back without its markers: the save fails."""
    store = InMemoryRefreshStore(max_entries=4, clock=clock)
    stolen = _save(store, ttl=60)
    store.redeem(stolen)
    _save(store, ttl=DAY)
    _save(store, ttl=DAY)  # full: the rotating family is the live one closest to expiry
    with pytest.raises(InvalidGrant) as info:
        _save(store, new_refresh_token(refresh_token_family(stolen)))
    assert info.value.description == DROPPED
    assert store.evicted_grants == 1


# -- Redis ----------------------------------------------------------------------------------


@pytest.fixture
def redis_store(
    redis_client: Any, redis_prefix: str, clock: FakeClock
) -> Callable[..., RedisRefreshStore]:
    def make(**options: Any) -> RedisRefreshStore:
        return RedisRefreshStore(redis_client, prefix=redis_prefix, clock=clock, **options)

    return make


@pytest.mark.redis
def test_redis_keys_share_a_cluster_slot(
    redis_store: Callable[..., RedisRefreshStore], redis_prefix: str
) -> None:
    from redis.crc import key_slot

    token = new_refresh_token()
    token_key, family_key = redis_store().keys_for(token)
    family = refresh_token_family(token)
    assert token_key == f"{redis_prefix}{{{family}}}:t:{refresh_token_id(token)}"
    assert family_key == f"{redis_prefix}{{{family}}}:f"
    assert key_slot(token_key.encode()) == key_slot(family_key.encode())


@pytest.mark.redis
def test_redis_keys_expire_in_redis(
    redis_store: Callable[..., RedisRefreshStore], redis_client: Any
) -> None:
    store = redis_store()
    token = _save(store, ttl=600)
    token_key, family_key = store.keys_for(token)
    assert 590_000 < redis_client.pttl(token_key) <= 600_000
    assert 590_000 < redis_client.pttl(family_key) <= 600_000


@pytest.mark.redis
def test_redis_family_lives_as_long_as_its_longest_token(
    redis_store: Callable[..., RedisRefreshStore], redis_client: Any
) -> None:
    store = redis_store()
    first = _save(store, ttl=600)
    _save(store, new_refresh_token(refresh_token_family(first)), ttl=6000)
    _save(store, new_refresh_token(refresh_token_family(first)), ttl=60)
    _, family_key = store.keys_for(first)
    assert 5_990_000 < redis_client.pttl(family_key) <= 6_000_000


@pytest.mark.redis
def test_redis_store_keeps_only_hashes(
    redis_store: Callable[..., RedisRefreshStore], redis_client: Any, redis_prefix: str
) -> None:
    token = _save(redis_store())
    secret = token.split(".")[1].encode()
    keys = list(redis_client.scan_iter(match=redis_prefix + "*"))
    assert len(keys) == 2
    values = [redis_client.hgetall(k) if redis_client.type(k) == b"hash" else redis_client.get(k)
              for k in keys]  # fmt: skip
    assert all(secret not in key for key in keys)
    assert secret not in repr(values).encode()


@pytest.mark.redis
def test_redis_store_works_with_decoded_responses(
    redis_url: str, redis_prefix: str, clock: FakeClock
) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        store = RedisRefreshStore(client, prefix=redis_prefix, clock=clock)
        token = _save(store)
        assert store.redeem(token).scopes == ("orders:read",)
    finally:
        client.close()


@pytest.mark.redis
def test_redis_store_from_url(redis_url: str, redis_prefix: str, clock: FakeClock) -> None:
    store = RedisRefreshStore.from_url(redis_url, prefix=redis_prefix, clock=clock)
    token = _save(store)
    assert store.get(token) is not None
    assert store.prefix == redis_prefix


@pytest.mark.redis
def test_redis_prefix_cannot_break_the_hash_tag(redis_client: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        RedisRefreshStore(redis_client, prefix="app:{x}:")
    assert info.value.description == "prefix must be a string without '{' or '}'"


@pytest.mark.redis
def test_redis_used_token_is_detected_after_redis_expires_its_own_key(
    redis_store: Callable[..., RedisRefreshStore], redis_client: Any
) -> None:
    """The reuse marker is not tied to the token's key, which Redis expires with the token."""
    store = redis_store()
    stolen = _save(store, ttl=600)
    thiefs = _rotate(store, stolen, ttl=6000)
    token_key, _ = store.keys_for(stolen)
    redis_client.delete(token_key)  # what Redis does when the token's own TTL runs out
    with pytest.raises(RefreshTokenReused):
        store.redeem(stolen)
    assert store.get(thiefs) is None


@pytest.mark.redis
def test_redis_reuse_markers_are_fields_of_the_family_key(
    redis_store: Callable[..., RedisRefreshStore], redis_client: Any, redis_prefix: str
) -> None:
    """A marker shares its family's key and TTL: it can neither expire nor be evicted alone."""
    store = redis_store()
    first = _save(store, ttl=600)
    second = _rotate(store, first, ttl=6000)
    _, family_key = store.keys_for(first)
    assert sorted(redis_client.scan_iter(match=redis_prefix + "*")) == sorted(
        [store.keys_for(second)[0].encode(), family_key.encode()]
    )
    assert redis_client.hget(family_key, f"u:{refresh_token_id(first)}") == b"1"
    assert 5_990_000 < redis_client.pttl(family_key) <= 6_000_000


@pytest.mark.redis
def test_redis_never_recreates_a_family_dropped_during_a_rotation(
    redis_store: Callable[..., RedisRefreshStore], redis_client: Any
) -> None:
    """Redis evicted the family between a redeem and its successor's save: the save fails."""
    store = redis_store()
    stolen = _save(store)
    store.redeem(stolen)
    redis_client.delete(store.keys_for(stolen)[1])  # as a maxmemory eviction would
    with pytest.raises(InvalidGrant) as info:
        _save(store, new_refresh_token(refresh_token_family(stolen)))
    assert info.value.description == DROPPED
    assert store.get(_save(store)) is not None  # a new grant is still welcome


# -- Redis at maxmemory ---------------------------------------------------------------------

FULL = (
    "Redis is out of memory (maxmemory reached under maxmemory-policy noeviction) and "
    "refused the refresh token; nothing was changed: raise maxmemory or free memory"
)


@pytest.fixture
def limited_redis(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A Redis of this test's own, with the ``maxmemory-policy`` the test is parametrized with."""
    import redis

    options = ["--maxmemory-policy", request.param, "--maxmemory-samples", "64"]
    with redis_server(tmp_path, options, dedicated=True) as url:
        client = redis.Redis.from_url(url)
        yield client
        client.close()


def _fill_to_maxmemory(client: Any, reached: Callable[[], bool]) -> None:
    """Cap memory a little above its use, then add keys without a TTL until *reached*.

    If Redis refuses a key first (noeviction), the cap is lowered a little
    more, so that the server stays full whatever else it allocates meanwhile.
    """
    import redis

    client.config_set("maxmemory", client.info("memory")["used_memory"] + 64 * 1024)
    for n in range(50_000):
        try:
            client.set(f"filler:{n}", b"x" * 64)
        except redis.exceptions.OutOfMemoryError:
            client.config_set("maxmemory", client.info("memory")["used_memory"] - 32 * 1024)
            return
        if reached():
            return
    raise AssertionError("Redis never reached maxmemory")


@pytest.mark.redis
@pytest.mark.parametrize("limited_redis", ["volatile-ttl"], indirect=True)
def test_redis_eviction_never_keeps_the_thiefs_token_without_the_markers(
    limited_redis: Any, clock: FakeClock
) -> None:
    """volatile-ttl evicts the shortest TTL first: the used token's, under the old key layout."""
    store = RedisRefreshStore(limited_redis, prefix="rt:", clock=clock)
    stolen = _save(store, ttl=600)
    thiefs = _rotate(store, stolen)
    _fill_to_maxmemory(limited_redis, lambda: limited_redis.info("stats")["evicted_keys"] > 0)
    family_alive = limited_redis.exists(store.keys_for(stolen)[1]) == 1
    with pytest.raises(InvalidGrant) as replay:
        store.redeem(stolen)
    with pytest.raises(InvalidGrant):
        store.redeem(thiefs)
    # The family and its markers stay together, or go together with the thief's token.
    assert type(replay.value) is (RefreshTokenReused if family_alive else InvalidGrant)


@pytest.mark.redis
@pytest.mark.parametrize("limited_redis", ["noeviction"], indirect=True)
def test_full_redis_refuses_new_tokens_and_still_revokes_on_reuse(
    limited_redis: Any, clock: FakeClock
) -> None:
    """noeviction: nothing is lost; new grants and redeems wait, a replay still revokes."""
    store = RedisRefreshStore(limited_redis, prefix="rt:", clock=clock)
    stolen = _save(store)
    thiefs = _rotate(store, stolen)
    waiting = _save(store)
    _fill_to_maxmemory(limited_redis, lambda: False)
    with pytest.raises(RefreshStoreFull) as full:
        _save(store)
    assert (full.value.description, full.value.status) == (FULL, 503)
    with pytest.raises(RefreshStoreFull):
        store.redeem(waiting)
    assert store.get(waiting) is not None  # not consumed: the client may retry
    with pytest.raises(RefreshTokenReused):
        store.redeem(stolen)
    with pytest.raises(InvalidGrant) as thief:
        store.redeem(thiefs)
    assert thief.value.description == REVOKED
