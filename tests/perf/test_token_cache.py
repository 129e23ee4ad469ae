"""The Verifier's verified-token cache: what a hit skips, and what it never skips.

A hit skips parsing, the signature check and the claim checks that cannot
change. It never skips the clock (``exp``, ``nbf``, ``iat``, ``max_age``, with
the validator's leeway) nor the question whether the key that verified the
token is still published. Signature checks are counted at
``Issuer.find_key``; no test here measures time.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone
from typing import Any

import pytest

from bearerguard import (
    AccessClaims,
    ConfigurationError,
    ExpiredToken,
    InvalidClaims,
    InvalidSignature,
    Issuer,
    MalformedToken,
    UnknownKey,
    Validator,
)
from bearerguard._errors import BearerGuardError
from bearerguard.keyset import RemoteKeySet
from bearerguard.verifier import DEFAULT_CACHE_SIZE, CacheInfo, Verifier
from tests.support.clock import FakeClock
from tests.support.jwks_server import JWKSServer
from tests.support.keys import jwks
from tests.support.keys import mint as mint_rs256

from .conftest import AUD, ISS, T0, EditableKeys, Mint, issuer_with, jwk_of

NOW = T0 + 10


def verifier_for(
    source: EditableKeys, *, validator: Validator | None = None, **options: Any
) -> Verifier[AccessClaims]:
    return Verifier([issuer_with(source, validator)], **options)


@pytest.fixture
def source(signing_keys: Any) -> EditableKeys:
    return EditableKeys(jwk_of(signing_keys, "k1"), jwk_of(signing_keys, "k2"))


# -- hits --------------------------------------------------------------------------------


def test_a_repeated_token_is_verified_once(
    source: EditableKeys, mint: Mint, signature_checks: list[str | None]
) -> None:
    """The second use of a token returns the same claims without a signature check."""
    verifier = verifier_for(source)
    token = mint()
    first = verifier.verify(token, now=NOW)
    second = verifier.verify(token, now=NOW)
    assert second is first
    assert signature_checks == ["k1"]
    assert verifier.cache_info() == CacheInfo(hits=1, misses=1, size=1, maxsize=10_000)


def test_sync_and_async_share_one_cache(
    source: EditableKeys, mint: Mint, signature_checks: list[str | None]
) -> None:
    """A token verified by verify() is a hit for averify(), and the other way round."""
    verifier = verifier_for(source)
    a, b = mint(), mint()
    claims_a = verifier.verify(a, now=NOW)
    assert asyncio.run(verifier.averify(a, now=NOW)) is claims_a
    claims_b = asyncio.run(verifier.averify(b, now=NOW))
    assert verifier.verify(b, now=NOW) is claims_b
    assert len(signature_checks) == 2
    assert verifier.cache_info().hits == 2


def test_cache_size_zero_verifies_every_time(
    source: EditableKeys, mint: Mint, signature_checks: list[str | None]
) -> None:
    """cache_size=0 turns the cache off: every use is a full verification."""
    verifier = verifier_for(source, cache_size=0)
    token = mint()
    for _ in range(3):
        verifier.verify(token, now=NOW)
    assert asyncio.run(verifier.averify(token, now=NOW)).jti == verifier.verify(token, now=NOW).jti
    assert len(signature_checks) == 5
    assert verifier.cache_info() == CacheInfo(hits=0, misses=0, size=0, maxsize=0)


def test_default_size_is_ten_thousand(source: EditableKeys) -> None:
    """The documented default."""
    assert DEFAULT_CACHE_SIZE == 10_000
    assert verifier_for(source).cache_size == 10_000


@pytest.mark.parametrize("size", [-1, True, 1.5, "10", None])
def test_bad_cache_size_is_refused(source: EditableKeys, size: Any) -> None:
    """A cache size is a non-negative int; anything else is a configuration error."""
    with pytest.raises(ConfigurationError, match="cache_size"):
        verifier_for(source, cache_size=size)


@pytest.mark.parametrize("token", [None, b"a.b.c", 42, ["a.b.c"]])
def test_a_token_that_is_not_a_str_is_malformed_not_a_crash(
    source: EditableKeys, token: Any
) -> None:
    """The cache lookup never turns a caller error into a TypeError."""
    with pytest.raises(MalformedToken):
        verifier_for(source).verify(token)


def test_a_refused_token_is_not_remembered(
    source: EditableKeys, mint: Mint, signature_checks: list[str | None]
) -> None:
    """Failures are verified again each time: only valid tokens are cached."""
    verifier = verifier_for(source)
    forged = mint(kid="k1", signer="k3")
    for _ in range(2):
        with pytest.raises(InvalidSignature):
            verifier.verify(forged, now=NOW)
    assert signature_checks == ["k1", "k1"]
    assert verifier.cache_info().size == 0


# -- the clock is always checked ---------------------------------------------------------


@pytest.mark.parametrize("leeway", [0, 60])
def test_a_hit_never_outlives_exp_plus_leeway(
    source: EditableKeys, mint: Mint, signature_checks: list[str | None], leeway: int
) -> None:
    """Valid up to (not at) exp + leeway, as without the cache; then ExpiredToken."""
    verifier = verifier_for(source, validator=Validator(aud=AUD, leeway=leeway))
    exp = T0 + 3600
    token = mint(exp=exp)
    verifier.verify(token, now=NOW)
    verifier.verify(token, now=exp + leeway - 0.001)
    assert len(signature_checks) == 1
    with pytest.raises(ExpiredToken):
        verifier.verify(token, now=exp + leeway)
    assert verifier.cache_info().size == 0  # the expired entry is gone


def test_a_hit_rechecks_nbf_with_leeway(
    source: EditableKeys, mint: Mint, signature_checks: list[str | None]
) -> None:
    """A cached token is still refused before nbf - leeway (a clock may go back)."""
    verifier = verifier_for(source)
    nbf = T0 + 1000
    token = mint(nbf=nbf)
    verifier.verify(token, now=nbf)
    verifier.verify(token, now=nbf - 60)
    assert len(signature_checks) == 1
    with pytest.raises(InvalidClaims, match="nbf"):
        verifier.verify(token, now=nbf - 60.5)


def test_a_hit_rechecks_iat_in_the_future(source: EditableKeys, mint: Mint) -> None:
    """iat beyond now + leeway is refused on a hit as on the full path."""
    verifier = verifier_for(source)
    token = mint(iat=T0 + 500)
    verifier.verify(token, now=T0 + 500)
    with pytest.raises(InvalidClaims, match="iat"):
        verifier.verify(token, now=T0 + 500 - 61)


def test_a_hit_rechecks_max_age(
    source: EditableKeys, mint: Mint, signature_checks: list[str | None]
) -> None:
    """auth_time + max_age + leeway is the last accepted instant, cached or not."""
    validator = Validator(aud=AUD, max_age=300)
    verifier = verifier_for(source, validator=validator)
    token = mint(auth_time=T0)
    verifier.verify(token, now=T0 + 1)
    verifier.verify(token, now=T0 + 360)
    assert len(signature_checks) == 1
    with pytest.raises(InvalidClaims, match="auth_time"):
        verifier.verify(token, now=T0 + 360.001)


def test_ignore_exp_keeps_the_hit_valid_past_exp(source: EditableKeys, mint: Mint) -> None:
    """With ignore_exp the full path accepts an old token, and so does a hit."""
    verifier = verifier_for(source, validator=Validator(aud=AUD, ignore_exp=True))
    token = mint(exp=T0 + 5)
    verifier.verify(token, now=NOW)
    assert verifier.verify(token, now=T0 + 10**6).exp == T0 + 5
    assert verifier.cache_info().hits == 1


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(T0 + 3600 + 60, id="expired"),
        pytest.param(T0 - 61, id="issued-in-the-future"),
    ],
)
def test_a_refused_hit_raises_exactly_the_full_paths_error(
    source: EditableKeys, mint: Mint, when: int
) -> None:
    """The same exception type and failure list as a verifier without a cache."""
    cached, uncached = verifier_for(source), verifier_for(source, cache_size=0)
    token = mint()
    cached.verify(token, now=NOW)
    errors: list[BearerGuardError] = []
    for verifier in (cached, uncached):
        with pytest.raises(BearerGuardError) as caught:
            verifier.verify(token, now=when)
        errors.append(caught.value)
    assert type(errors[0]) is type(errors[1])
    assert errors[0].description == errors[1].description


def test_now_may_be_a_datetime(source: EditableKeys, mint: Mint) -> None:
    """An aware datetime is the same instant as its POSIX seconds, on a hit too."""
    verifier = verifier_for(source)
    token = mint()
    verifier.verify(token, now=NOW)
    late = datetime.fromtimestamp(T0 + 3600 + 60, tz=timezone.utc)
    with pytest.raises(ExpiredToken):
        verifier.verify(token, now=late)


# -- keys that leave the set -------------------------------------------------------------


def test_entries_of_a_removed_key_are_dropped(
    source: EditableKeys, mint: Mint, signature_checks: list[str | None]
) -> None:
    """Once its key is unpublished, a cached token is refused like an unknown one."""
    verifier = verifier_for(source)
    token = mint(kid="k1")
    verifier.verify(token, now=NOW)
    source.keys = [k for k in source.keys if k.kid != "k1"]
    with pytest.raises(UnknownKey):
        verifier.verify(token, now=NOW)
    assert verifier.cache_info().size == 0
    with pytest.raises(UnknownKey):
        asyncio.run(verifier.averify(token, now=NOW))


@pytest.mark.parametrize(
    "verify",
    [
        pytest.param(lambda v, token: v.verify(token, now=NOW), id="verify"),
        pytest.param(lambda v, token: asyncio.run(v.averify(token, now=NOW)), id="averify"),
    ],
)
def test_a_hit_whose_key_left_the_set_counts_as_a_miss(
    source: EditableKeys, mint: Mint, verify: Any
) -> None:
    """verify and averify alike: the entry is dropped and counted as a miss, never a hit."""
    verifier = verifier_for(source)
    token = mint(kid="k1")
    verifier.verify(token, now=NOW)
    source.keys = [k for k in source.keys if k.kid != "k1"]
    with pytest.raises(UnknownKey):
        verify(verifier, token)
    assert verifier.cache_info() == CacheInfo(hits=0, misses=2, size=0, maxsize=DEFAULT_CACHE_SIZE)


def test_a_kid_reused_for_another_key_drops_the_entry(
    source: EditableKeys, mint: Mint, signing_keys: Any
) -> None:
    """Same kid, new key material: the old key's tokens fail the signature check."""
    verifier = verifier_for(source)
    token = mint(kid="k1")
    verifier.verify(token, now=NOW)
    source.keys = [
        jwk_of(signing_keys, "k2"),
        type(source.keys[0]).from_key(signing_keys["k3"].public_key(), kid="k1"),
    ]
    with pytest.raises(InvalidSignature):
        verifier.verify(token, now=NOW)


def test_entries_of_keys_still_published_survive_a_rotation(
    source: EditableKeys, mint: Mint, signing_keys: Any, signature_checks: list[str | None]
) -> None:
    """Adding a key (and removing another) leaves tokens of the kept key cached."""
    verifier = verifier_for(source)
    token = mint(kid="k2")
    verifier.verify(token, now=NOW)
    source.keys = [jwk_of(signing_keys, "k2"), jwk_of(signing_keys, "k3")]
    verifier.verify(token, now=NOW)
    assert signature_checks == ["k2"]


def test_every_hit_asks_the_key_source(source: EditableKeys, mint: Mint) -> None:
    """A hit looks its kid up (so a key set past max_stale still answers 503)."""
    verifier = verifier_for(source)
    token = mint()
    verifier.verify(token, now=NOW)
    before = source.lookups
    verifier.verify(token, now=NOW)
    asyncio.run(verifier.averify(token, now=NOW))
    assert source.lookups == before + 2


def test_a_remote_key_set_rotation_drops_the_old_keys_tokens(
    server: JWKSServer, clock: FakeClock, fetcher: Any
) -> None:
    """End to end over HTTP: after the refresh that removes k1, its cached token fails."""
    server.set_json("/jwks", jwks("old"))
    keys = RemoteKeySet(server.url("/jwks"), fetcher=fetcher, clock=clock)
    verifier = Verifier([Issuer(server.base_url, keys, Validator(aud=AUD))])
    token = mint_rs256("old", iss=server.base_url)
    verifier.verify(token)
    verifier.verify(token)
    assert verifier.cache_info().hits == 1
    server.set_json("/jwks", jwks("new"))
    clock.advance(24 * 3600)  # past the keys' lifetime: the next lookup refetches
    with pytest.raises(UnknownKey):
        verifier.verify(token)
    assert verifier.cache_info().size == 0
    assert verifier.verify(mint_rs256("new", iss=server.base_url)).iss == server.base_url


# -- bounded ---------------------------------------------------------------------------------


def test_least_recently_used_entry_is_evicted_first(
    source: EditableKeys, mint: Mint, signature_checks: list[str | None]
) -> None:
    """With room for two, using a keeps it and c pushes b out."""
    verifier = verifier_for(source, cache_size=2)
    a, b, c = mint(), mint(), mint()
    verifier.verify(a, now=NOW)
    verifier.verify(b, now=NOW)
    verifier.verify(a, now=NOW)  # hit: a is now the most recent
    verifier.verify(c, now=NOW)  # evicts b
    assert len(signature_checks) == 3
    verifier.verify(a, now=NOW)
    verifier.verify(c, now=NOW)
    assert len(signature_checks) == 3
    verifier.verify(b, now=NOW)
    assert len(signature_checks) == 4
    assert verifier.cache_info().size == 2


def test_a_stream_of_distinct_tokens_never_exceeds_the_entry_bound(
    source: EditableKeys, mint: Mint
) -> None:
    """1,000 distinct tokens through a 50-entry cache: never more than 50 entries."""
    verifier = verifier_for(source, cache_size=50)
    sizes = []
    for _ in range(1_000):
        verifier.verify(mint(), now=NOW)
        sizes.append(verifier.cache_info().size)
    assert max(sizes) == 50
    assert sizes[-1] == 50
    assert verifier.cache_info().misses == 1_000


def test_threads_share_the_cache_and_keep_it_bounded(source: EditableKeys, mint: Mint) -> None:
    """Eight threads, a pool of 40 tokens, room for 16: right claims, bound kept."""
    verifier = verifier_for(source, cache_size=16)
    tokens = [mint() for _ in range(40)]
    expected = {token: verifier.verify(token, now=NOW).jti for token in tokens}
    verifier.cache_clear()
    failures: list[BaseException] = []
    sizes: list[int] = []

    def work(offset: int) -> None:
        try:
            for i in range(300):
                token = tokens[(offset * 7 + i * 3) % len(tokens)]
                assert verifier.verify(token, now=NOW).jti == expected[token]
                sizes.append(verifier.cache_info().size)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert max(sizes) <= 16
    info = verifier.cache_info()
    assert info.size <= 16
    assert info.hits > 0


def test_cache_clear_forgets_every_token(
    source: EditableKeys, mint: Mint, signature_checks: list[str | None]
) -> None:
    """After cache_clear the next use is verified in full."""
    verifier = verifier_for(source)
    token = mint()
    verifier.verify(token, now=NOW)
    verifier.cache_clear()
    assert verifier.cache_info().size == 0
    verifier.verify(token, now=NOW)
    assert len(signature_checks) == 2


def test_each_verifier_has_its_own_cache(
    source: EditableKeys, mint: Mint, signature_checks: list[str | None]
) -> None:
    """Two verifiers (say, two validators) never answer from each other's entries."""
    lenient = verifier_for(source)
    strict = verifier_for(source, validator=Validator(aud=AUD, iss=ISS, sub="someone-else"))
    token = mint()
    lenient.verify(token, now=NOW)
    with pytest.raises(InvalidClaims, match="sub"):
        strict.verify(token, now=NOW)
    assert len(signature_checks) == 2
