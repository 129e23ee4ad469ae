"""Revocations in the core verifier: what is refused, what is not, and when it is seen."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from bearerguard import (
    ConfigurationError,
    InvalidToken,
    Revocations,
    RevocationUnavailable,
    TokenRevoked,
)
from bearerguard._revocation import DEFAULT_STALENESS, EXPIRY_MARGIN
from bearerguard.testing import LocalIssuer
from tests.issuing.redis_server import redis_server
from tests.support.clock import FakeClock

from .conftest import MakeVerifier

pytestmark = pytest.mark.redis


def _revoke(revocations: Revocations, kind: str, claims: Any, before: float) -> None:
    if kind == "jti":
        revocations.revoke_token(claims.jti, until=claims.exp)
    elif kind == "sub":
        revocations.revoke_subject(claims.sub, before=before)
    else:
        revocations.revoke_client(claims.client_id, before=before)


KINDS = [
    pytest.param("jti", id="by-jti"),
    pytest.param("sub", id="by-subject"),
    pytest.param("client", id="by-client"),
]


@pytest.mark.parametrize("kind", KINDS)
def test_a_revoked_token_is_refused_with_token_has_been_revoked(
    kind: str, revocations: Revocations, make_verifier: MakeVerifier, local_issuer: LocalIssuer
) -> None:
    """A covered token: TokenRevoked (an InvalidToken, 401), "token has been revoked"."""
    verifier = make_verifier(revocations, cache_size=0)
    token = local_issuer.mint(sub="alice")
    claims = verifier.verify(token)
    _revoke(revocations, kind, claims, before=claims.iat + 1)
    with pytest.raises(TokenRevoked) as caught:
        verifier.verify(token)
    assert isinstance(caught.value, InvalidToken)
    assert (caught.value.status, caught.value.code) == (401, "invalid_token")
    assert caught.value.description == "token has been revoked"


@pytest.mark.parametrize("kind", KINDS)
def test_a_revoked_token_is_refused_by_averify(
    kind: str, revocations: Revocations, make_verifier: MakeVerifier, local_issuer: LocalIssuer
) -> None:
    """The async path checks the deny list as the sync one does."""
    verifier = make_verifier(revocations, cache_size=0)
    token = local_issuer.mint(sub="alice")
    claims = asyncio.run(verifier.averify(token))
    _revoke(revocations, kind, claims, before=claims.iat + 1)
    with pytest.raises(TokenRevoked):
        asyncio.run(verifier.averify(token))


@pytest.mark.parametrize("kind", KINDS)
def test_a_cache_hit_is_refused_after_revocation(
    kind: str, revocations: Revocations, make_verifier: MakeVerifier, local_issuer: LocalIssuer
) -> None:
    """A token already in the verified-token cache is refused on its next (cached) use."""
    verifier = make_verifier(revocations)
    token = local_issuer.mint(sub="alice")
    claims = verifier.verify(token)
    verifier.verify(token)
    assert verifier.cache_info().hits == 1
    _revoke(revocations, kind, claims, before=claims.iat + 1)
    with pytest.raises(TokenRevoked):
        verifier.verify(token)
    with pytest.raises(TokenRevoked):
        asyncio.run(verifier.averify(token))
    assert verifier.cache_info().hits == 3  # refused as hits, not verified again


@pytest.mark.parametrize(
    ("kind", "other"),
    [
        pytest.param("jti", {"jti": "another-token"}, id="another-jti"),
        pytest.param("sub", {"sub": "bob"}, id="another-subject"),
        pytest.param("client", {"client_id": "another-client"}, id="another-client"),
    ],
)
def test_tokens_the_revocation_does_not_cover_are_accepted(
    kind: str,
    other: dict[str, str],
    revocations: Revocations,
    make_verifier: MakeVerifier,
    local_issuer: LocalIssuer,
) -> None:
    """Revoking one jti, subject or client leaves every other token alone."""
    verifier = make_verifier(revocations, cache_size=0)
    claims = verifier.verify(local_issuer.mint(sub="alice"))
    _revoke(revocations, kind, claims, before=claims.iat + 1)
    claims_of_fresh: dict[str, Any] = {"sub": "alice", **other}
    fresh = local_issuer.mint(**claims_of_fresh)
    assert verifier.verify(fresh).sub == other.get("sub", "alice")


@pytest.mark.parametrize(
    "kind", [pytest.param("sub", id="subject"), pytest.param("client", id="client")]
)
def test_tokens_issued_at_or_after_before_are_accepted(
    kind: str, revocations: Revocations, make_verifier: MakeVerifier, local_issuer: LocalIssuer
) -> None:
    """Only tokens with iat < before are covered: the user's (or client's) new tokens work."""
    verifier = make_verifier(revocations, cache_size=0)
    claims = verifier.verify(local_issuer.mint(sub="alice"))
    _revoke(revocations, kind, claims, before=claims.iat)
    assert verifier.verify(local_issuer.mint(sub="alice", iat=claims.iat)).sub == "alice"
    with pytest.raises(TokenRevoked):
        verifier.verify(local_issuer.mint(sub="alice", iat=claims.iat - 1))


def test_a_token_without_iat_of_a_revoked_subject_is_refused(
    revocations: Revocations, make_verifier: MakeVerifier, local_issuer: LocalIssuer
) -> None:
    """Without iat a token's age cannot be told, so a subject revocation covers it."""
    verifier = make_verifier(revocations, cache_size=0)
    revocations.revoke_subject("alice")
    with pytest.raises(TokenRevoked):
        verifier.verify(local_issuer.mint(sub="alice", iat=None))


def test_before_defaults_to_now_and_takes_datetimes(
    revocations: Revocations, redis_client: Any, prefix: str
) -> None:
    """revoke_subject(sub) revokes up to now; a timezone-aware datetime means the same instant."""
    started = time.time()
    revocations.revoke_subject("alice")
    revocations.revoke_client("batch", before=datetime(2030, 1, 1, tzinfo=timezone.utc))
    entries = redis_client.hgetall(f"{prefix}{{deny}}:e")
    before_alice = int(entries[b"s:alice"].split()[0]) / 1000
    assert started <= before_alice <= time.time() + 0.001
    assert entries[b"c:batch"].split()[0] == b"1893456000000"


def test_a_revocation_in_another_process_is_seen_once_the_copy_is_older_than_staleness(
    redis_url: str,
    prefix: str,
    revocations: Revocations,
    monotonic: FakeClock,
    make_verifier: MakeVerifier,
    local_issuer: LocalIssuer,
) -> None:
    """The local copy is used for `staleness` seconds, then reloaded: the revocation applies."""
    verifier = make_verifier(revocations)
    token = local_issuer.mint(sub="alice")
    verifier.verify(token)  # loads the (empty) deny list at monotonic 1000
    elsewhere = Revocations.from_url(redis_url, prefix=prefix)
    elsewhere.revoke_subject("alice")
    monotonic.advance(DEFAULT_STALENESS)
    assert verifier.verify(token).sub == "alice"  # the copy is exactly 5 s old: still used
    monotonic.advance(0.001)
    with pytest.raises(TokenRevoked):
        verifier.verify(token)


def test_a_revocation_written_by_this_process_applies_at_once(
    revocations: Revocations, make_verifier: MakeVerifier, local_issuer: LocalIssuer
) -> None:
    """The object that wrote a revocation reloads on its next check, without waiting."""
    verifier = make_verifier(revocations)
    token = local_issuer.mint(sub="alice")
    verifier.verify(token)
    revocations.revoke_subject("alice")
    with pytest.raises(TokenRevoked):
        verifier.verify(token)


def test_checks_within_staleness_send_no_redis_command(
    tmp_path: Path, make_verifier: MakeVerifier, local_issuer: LocalIssuer
) -> None:
    """10,000 checks within the staleness send no Redis command; a stale copy costs one."""
    import redis

    with redis_server(tmp_path, dedicated=True) as url:
        stats = redis.Redis.from_url(url)

        def commands() -> int:
            return int(stats.info("stats")["total_commands_processed"])

        clock = FakeClock()
        revocations = Revocations.from_url(url, monotonic=clock)
        revocations.revoke_subject("bob")
        verifier = make_verifier(revocations)
        token = local_issuer.mint(sub="alice")
        verifier.verify(token)  # loads the copy
        before = commands()
        for _ in range(10_000):
            verifier.verify(token)
        assert commands() - before == 1  # the INFO of `before` itself
        clock.advance(DEFAULT_STALENESS + 1)
        before = commands()
        verifier.verify(token)
        assert commands() - before == 2  # that INFO, and one HMGET of the version
        stats.close()


def test_entries_expire_when_the_tokens_they_cover_would_have(
    revocations: Revocations, redis_client: Any, prefix: str
) -> None:
    """A jti entry lives until exp + margin, a subject or client one until before + max lifetime."""
    now = time.time()
    revocations.revoke_token("t-1", until=now + 60)
    entries, by_expiry = f"{prefix}{{deny}}:e", f"{prefix}{{deny}}:x"
    ttl = redis_client.pttl(entries) / 1000
    assert 60 + EXPIRY_MARGIN - 2 < ttl <= 60 + EXPIRY_MARGIN + 0.002  # whole ms, rounded up
    revocations.revoke_subject("alice", before=now)
    ttl = redis_client.pttl(entries) / 1000
    expected = revocations.max_token_lifetime + EXPIRY_MARGIN
    assert expected - 2 < ttl <= expected + 0.002
    assert redis_client.pttl(by_expiry) == pytest.approx(redis_client.pttl(entries), abs=5)


def test_an_entry_past_its_expiry_is_dropped_by_the_next_write(
    redis_url: str, prefix: str, redis_client: Any
) -> None:
    """Expired entries leave Redis: each write first removes those whose time has passed."""
    wall = FakeClock(start=time.time())
    revocations = Revocations.from_url(redis_url, prefix=prefix, clock=wall)
    revocations.revoke_token("t-1", until=wall() + 10)
    revocations.revoke_token("t-2", until=wall() + 100)
    wall.advance(10 + EXPIRY_MARGIN + 1)
    revocations.revoke_subject("alice")
    assert sorted(redis_client.hkeys(f"{prefix}{{deny}}:e")) == [b"j:t-2", b"s:alice"]
    assert redis_client.zcard(f"{prefix}{{deny}}:x") == 2


def test_a_later_revocation_never_narrows_an_earlier_one(
    revocations: Revocations, make_verifier: MakeVerifier, local_issuer: LocalIssuer
) -> None:
    """Revoking a subject again with an earlier `before` keeps the later one."""
    verifier = make_verifier(revocations, cache_size=0)
    claims = verifier.verify(local_issuer.mint(sub="alice"))
    revocations.revoke_subject("alice", before=claims.iat + 1)
    revocations.revoke_subject("alice", before=claims.iat - 1000)
    with pytest.raises(TokenRevoked):
        verifier.verify(local_issuer.mint(sub="alice", iat=claims.iat))


def test_a_malformed_entry_in_redis_is_ignored_and_logged(
    revocations: Revocations,
    redis_client: Any,
    prefix: str,
    make_verifier: MakeVerifier,
    local_issuer: LocalIssuer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A field or value bearerguard did not write is skipped; the others still apply."""
    revocations.revoke_subject("bob")
    redis_client.hset(
        f"{prefix}{{deny}}:e",
        mapping={"x:odd": "1 2", "s:alice": "soon", "s:carol": "\u00b2 1", b"s:\xff": b"\xfe 1"},
    )
    redis_client.hincrby(f"{prefix}{{deny}}:v", "n", 1)
    verifier = make_verifier(revocations, cache_size=0)
    with caplog.at_level(logging.WARNING, logger="bearerguard.revocation"):
        assert verifier.verify(local_issuer.mint(sub="alice")).sub == "alice"
        with pytest.raises(TokenRevoked):
            verifier.verify(local_issuer.mint(sub="bob", iat=int(time.time()) - 10))
    assert [r.getMessage() for r in caplog.records] == [
        "ignoring a malformed deny-list entry in Redis"
    ] * 4


# -- Redis unreachable ------------------------------------------------------------------


def test_redis_stopped_with_required_refuses_with_503_once_the_copy_is_stale(
    tmp_path: Path, make_verifier: MakeVerifier, local_issuer: LocalIssuer
) -> None:
    """required=True: while Redis is down and the copy is older than staleness, 503."""
    clock = FakeClock()
    token = local_issuer.mint(sub="alice")
    with redis_server(tmp_path, dedicated=True) as url:
        revocations = Revocations.from_url(url, monotonic=clock, required=True)
        verifier = make_verifier(revocations)
        assert verifier.verify(token).sub == "alice"
    # The server is stopped now.
    assert verifier.verify(token).sub == "alice"  # the copy is fresh
    clock.advance(DEFAULT_STALENESS + 0.001)
    with pytest.raises(RevocationUnavailable) as caught:
        verifier.verify(token)
    assert (caught.value.status, caught.value.retry_after) == (503, 5)
    assert caught.value.description == "the revocation deny list is unavailable"


def test_redis_stopped_without_required_accepts_and_warns_once_a_minute(
    tmp_path: Path,
    make_verifier: MakeVerifier,
    local_issuer: LocalIssuer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """required=False: tokens are checked against the last copy and accepted, with a warning."""
    clock = FakeClock()
    with redis_server(tmp_path, dedicated=True) as url:
        revocations = Revocations.from_url(url, monotonic=clock)
        revocations.revoke_subject("bob")
        verifier = make_verifier(revocations, cache_size=0)
        assert verifier.verify(local_issuer.mint(sub="alice")).sub == "alice"
    clock.advance(DEFAULT_STALENESS + 1)
    with caplog.at_level(logging.WARNING, logger="bearerguard.revocation"):
        for _ in range(3):
            clock.advance(1.5)  # past the retry interval: each check tries Redis again
            assert verifier.verify(local_issuer.mint(sub="alice")).sub == "alice"
        with pytest.raises(TokenRevoked):  # the last copy still applies
            verifier.verify(local_issuer.mint(sub="bob", iat=int(time.time()) - 10))
    assert [r.getMessage() for r in caplog.records if r.name == "bearerguard.revocation"] == [
        "the revocation deny list in Redis is unavailable: tokens are checked against "
        "a copy that is out of date and accepted (required=False)"
    ]


def test_writing_while_redis_is_down_raises_revocation_unavailable_without_the_url(
    tmp_path: Path,
) -> None:
    """A failed write says what failed and never repeats the URL (it may hold a password)."""
    with redis_server(tmp_path, dedicated=True) as url:
        secret_url = url.replace("redis://", "redis://:hunter2@")
    revocations = Revocations.from_url(secret_url)
    with pytest.raises(RevocationUnavailable) as caught:
        revocations.revoke_subject("alice")
    assert caught.value.description == (
        f"cannot write the deny list to Redis (Redis at {url}: ConnectionError)"
    )
    assert "hunter2" not in str(caught.value)


# -- configuration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda r: r.revoke_token("", until=1),
            "jti must be a non-empty string of at most 1024 chars",
            id="empty-jti",
        ),
        pytest.param(
            lambda r: r.revoke_token("t", until="tomorrow"),
            "until must be POSIX seconds or a timezone-aware datetime",
            id="until-text",
        ),
        pytest.param(
            lambda r: r.revoke_subject("alice", before=datetime(2030, 1, 1)),
            "before must be timezone-aware (e.g. datetime.now(UTC))",
            id="naive-before",
        ),
        pytest.param(
            lambda r: r.revoke_client("x" * 1025),
            "client_id must be a non-empty string of at most 1024 chars",
            id="long-client",
        ),
    ],
)
def test_bad_arguments_raise_configuration_error(
    call: Callable[[Revocations], None], message: str, revocations: Revocations
) -> None:
    """Each bad argument is refused before anything is written, saying what to fix."""
    with pytest.raises(ConfigurationError) as caught:
        call(revocations)
    assert caught.value.description == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"staleness": 0}, "staleness must be a positive number of seconds", id="s0"),
        pytest.param(
            {"max_token_lifetime": -1},
            "max_token_lifetime must be a positive number of seconds",
            id="negative-lifetime",
        ),
        pytest.param({"required": "yes"}, "required must be True or False", id="required"),
        pytest.param({"prefix": "a{b}"}, "prefix must be a string without '{' or '}'", id="tag"),
    ],
)
def test_bad_options_raise_configuration_error(
    options: dict[str, Any], message: str, redis_url: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Revocations.from_url(redis_url, **options)
    assert caught.value.description == message


def test_verifier_refuses_a_revocations_that_is_not_one(make_verifier: MakeVerifier) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_verifier("redis://localhost")
    assert caught.value.description == "revocations must be a bearerguard.Revocations"


@pytest.mark.parametrize(
    ("call", "stored"),
    [
        pytest.param(lambda r, now: r.revoke_token("t-1", until=now + 60), True, id="jti-live"),
        pytest.param(
            lambda r, now: r.revoke_token("t-1", until=now - EXPIRY_MARGIN - 1),
            False,
            id="jti-expired",
        ),
        pytest.param(lambda r, now: r.revoke_subject("alice"), True, id="subject-now"),
        pytest.param(
            lambda r, now: r.revoke_client(
                "batch", before=now - r.max_token_lifetime - EXPIRY_MARGIN - 1
            ),
            False,
            id="client-before-every-live-token",
        ),
    ],
)
def test_a_revocation_that_covers_no_live_token_writes_nothing_and_says_so(
    call: Callable[[Revocations, float], bool],
    stored: bool,
    revocations: Revocations,
    redis_client: Any,
    prefix: str,
) -> None:
    """revoke_* return whether an entry was written; an already expired one is not."""
    assert call(revocations, time.time()) is stored
    assert redis_client.hlen(f"{prefix}{{deny}}:e") == int(stored)


def test_refresh_loads_the_deny_list_now(
    redis_url: str,
    prefix: str,
    revocations: Revocations,
    make_verifier: MakeVerifier,
    local_issuer: LocalIssuer,
) -> None:
    """refresh() reloads at once, without waiting for the staleness."""
    verifier = make_verifier(revocations)
    token = local_issuer.mint(sub="alice", iat=int(time.time()) - 10)
    verifier.verify(token)
    Revocations.from_url(redis_url, prefix=prefix).revoke_subject("alice")
    revocations.refresh()
    with pytest.raises(TokenRevoked):
        verifier.verify(token)


def test_refresh_raises_when_redis_is_down_whatever_required_says(tmp_path: Path) -> None:
    with redis_server(tmp_path, dedicated=True) as url:
        revocations = Revocations.from_url(url)
        revocations.refresh()
    with pytest.raises(RevocationUnavailable):
        revocations.refresh()


def test_a_redis_client_of_your_own_works_as_well(
    redis_client: Any, prefix: str, make_verifier: MakeVerifier, local_issuer: LocalIssuer
) -> None:
    """Revocations(redis.Redis(...)) shares your connection pool: same writes, same checks."""
    revocations = Revocations(redis_client, prefix=prefix)
    verifier = make_verifier(revocations, cache_size=0)
    token = local_issuer.mint(sub="alice", iat=int(time.time()) - 10)
    assert verifier.verify(token).sub == "alice"
    assert revocations.revoke_subject("alice") is True
    with pytest.raises(TokenRevoked):
        verifier.verify(token)


def test_something_else_than_a_redis_client_is_refused() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Revocations("redis://localhost:6379/0")
    assert caught.value.description == (
        "client must be a redis.Redis (sync) client; for a URL write Revocations.from_url(url)"
    )


def test_a_deny_list_gone_from_redis_is_gone_from_every_copy_at_its_next_reload(
    revocations: Revocations,
    monotonic: FakeClock,
    redis_client: Any,
    prefix: str,
    make_verifier: MakeVerifier,
    local_issuer: LocalIssuer,
) -> None:
    """A Redis that restarts empty forgets revocations (the guide says: run it persistent)."""
    verifier = make_verifier(revocations, cache_size=0)
    token = local_issuer.mint(sub="alice", iat=int(time.time()) - 10)
    revocations.revoke_subject("alice")
    with pytest.raises(TokenRevoked):
        verifier.verify(token)
    redis_client.delete(*redis_client.keys(f"{prefix}*"))  # as a restart without persistence
    monotonic.advance(DEFAULT_STALENESS + 0.001)
    assert verifier.verify(token).sub == "alice"


def test_a_revocation_after_redis_restarted_empty_is_seen_even_if_the_count_repeats(
    redis_url: str,
    prefix: str,
    revocations: Revocations,
    monotonic: FakeClock,
    redis_client: Any,
    make_verifier: MakeVerifier,
    local_issuer: LocalIssuer,
) -> None:
    """The version is the list's own (a random epoch and a count), not a bare count from 1."""
    verifier = make_verifier(revocations, cache_size=0)
    revocations.revoke_subject("alice")
    with pytest.raises(TokenRevoked):
        verifier.verify(local_issuer.mint(sub="alice", iat=int(time.time()) - 10))
    redis_client.delete(*redis_client.keys(f"{prefix}*"))  # as a restart without persistence
    Revocations.from_url(redis_url, prefix=prefix).revoke_subject("bob")  # the first write again
    monotonic.advance(DEFAULT_STALENESS + 0.001)
    with pytest.raises(TokenRevoked):
        verifier.verify(local_issuer.mint(sub="bob", iat=int(time.time()) - 10))


def test_a_write_prunes_at_most_a_thousand_expired_entries_and_never_fails_on_many(
    redis_url: str, prefix: str, redis_client: Any
) -> None:
    """9,000 expired entries: each write drops 1,000 of them (a bounded script), and succeeds."""
    wall = FakeClock(start=time.time())
    entries, by_expiry = f"{prefix}{{deny}}:e", f"{prefix}{{deny}}:x"
    with redis_client.pipeline(transaction=False) as pipe:
        for n in range(9000):
            pipe.hset(entries, f"j:old-{n}", "1 2")
            pipe.zadd(by_expiry, {f"j:old-{n}": 2})
        pipe.execute()
    revocations = Revocations.from_url(redis_url, prefix=prefix, clock=wall)
    assert revocations.revoke_subject("alice") is True
    assert (redis_client.hlen(entries), redis_client.zcard(by_expiry)) == (8001, 8001)
    assert revocations.revoke_subject("bob") is True
    assert (redis_client.hlen(entries), redis_client.zcard(by_expiry)) == (7002, 7002)
