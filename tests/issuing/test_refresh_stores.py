"""The RefreshStore contract, run against the in-memory store and a real Redis."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from bearerguard import ConfigurationError
from bearerguard.issuing import (
    InMemoryRefreshStore,
    InvalidGrant,
    RedisRefreshStore,
    RefreshStore,
    RefreshTokenReused,
    new_refresh_token,
    refresh_token_family,
    refresh_token_id,
)
from bearerguard.issuing.refresh import REUSED, REVOKED, UNKNOWN
from support.clock import FakeClock

from .conftest import T0

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
    secret = token.split(".")[1]
    assert list(store._tokens) == [refresh_token_id(token)]
    assert all(secret not in key for key in [*store._tokens, *store._families])


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
            {"sweep_interval": -1}, "sweep_interval must not be negative", id="negative-sweep"
        ),
    ],
)
def test_memory_store_options_are_validated(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        InMemoryRefreshStore(**options)
    assert info.value.description == message


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
