"""Introspection answers shared through a real redis-server (``redis_url=``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bearerguard import Revocations, TokenRevoked
from tests.issuing.redis_server import redis_server
from tests.support.clock import FakeClock

from .authserver import AuthServer
from .conftest import MakeVerifier


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


def _answers(url: str, server: AuthServer) -> dict[str, bytes]:
    """The introspection entries in Redis (name → value)."""
    client = redis.Redis.from_url(url)
    try:
        names = [n.decode() for n in client.scan_iter("bearerguard:introspection:*")]
        found: dict[str, bytes] = {}
        for name in names:
            value = client.get(name)
            if isinstance(value, bytes):
                found[name] = value
        return found
    finally:
        client.close()


def test_second_verifier_reads_the_answer_from_redis(
    auth_server: AuthServer, make_verifier: MakeVerifier, redis_url: str
) -> None:
    """Two processes' verifiers, one token: one request to the endpoint."""
    token = auth_server.issue(scope="orders:read")
    first = make_verifier(redis_url=redis_url).verify(token)
    second = make_verifier(redis_url=redis_url).verify(token)
    assert second == first
    assert auth_server.counts["introspect"] == 1


def test_redis_holds_a_hash_of_the_token_never_the_token(
    auth_server: AuthServer, make_verifier: MakeVerifier, redis_url: str
) -> None:
    token = auth_server.issue()
    make_verifier(redis_url=redis_url).verify(token)
    entries = {name: value for name, value in _answers(redis_url, auth_server).items() if value}
    assert len(entries) == 1
    [(name, value)] = entries.items()
    assert token not in name
    assert token.encode() not in value
    assert b'"active":true' in value


def test_inactive_answer_is_shared_too(
    auth_server: AuthServer, make_verifier: MakeVerifier, redis_url: str
) -> None:
    from bearerguard import InvalidToken

    for _ in range(2):
        with pytest.raises(InvalidToken, match="not active"):
            make_verifier(redis_url=redis_url).verify("never-issued")
    assert auth_server.counts["introspect"] == 1


def test_garbage_in_redis_is_ignored_and_the_endpoint_asked(
    auth_server: AuthServer,
    make_verifier: MakeVerifier,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Redis is trusted no more than the endpoint: an unusable entry is logged and skipped."""
    token = auth_server.issue()
    make_verifier(redis_url=redis_url).verify(token)
    [name] = _answers(redis_url, auth_server)
    client = redis.Redis.from_url(redis_url)
    client.set(name, b'{"until": 1e300, "answer": {"active": "yes", "scope": 7}}', px=60_000)
    client.close()
    caplog.set_level(logging.WARNING, logger="bearerguard.introspection")
    claims = make_verifier(redis_url=redis_url).verify(token)
    assert claims.scopes == frozenset({"orders:read"})
    assert auth_server.counts["introspect"] == 2
    assert any("unusable introspection answer in Redis" in r.getMessage() for r in caplog.records)


def test_redis_down_falls_back_to_the_endpoint(
    auth_server: AuthServer, make_verifier: MakeVerifier, tmp_path: Path
) -> None:
    """A stopped Redis is worked around: the token is still accepted, asking the endpoint."""
    with redis_server(tmp_path, dedicated=True) as url:
        verifier = make_verifier(redis_url=url)
        token = auth_server.issue()
        verifier.verify(token)
    # Redis is gone: a new process (empty memory cache) asks the endpoint itself.
    claims = make_verifier(redis_url=url).verify(token)
    assert claims.client_id == "app"
    assert auth_server.counts["introspect"] == 2


@pytest.mark.parametrize("kind", ["client", "subject"])
def test_deny_list_covers_introspected_tokens(
    auth_server: AuthServer, make_verifier: MakeVerifier, redis_url: str, kind: str
) -> None:
    """A client or subject revoked on the deny list: its opaque token is refused (401),
    even while the introspection answer is still cached as active."""
    token = auth_server.issue()
    monotonic = FakeClock()
    revocations = Revocations.from_url(
        redis_url, prefix=f"introspection-{kind}:", staleness=5, monotonic=monotonic
    )
    verifier = make_verifier(redis_url=redis_url, revocations=revocations)
    assert verifier.verify(token).client_id == "app"
    later = auth_server.tokens[token].issued_at + 1
    if kind == "client":
        revocations.revoke_client("app", before=later)
    else:
        revocations.revoke_subject("app", before=later)
    monotonic.advance(6)  # past the staleness: the next check reloads the deny list
    with pytest.raises(TokenRevoked):
        verifier.verify(token)
    assert auth_server.counts["introspect"] == 1
