"""Revocation under attack: a revoked token must stay refused however it is presented.

A real redis-server holds the deny list. The cases: a revoked token served
from the verified-token cache, presented to a freshly started process, with
its ``jti`` or ``sub`` spelled another JSON way, and a deny list in Redis that
was replaced by something else, where ``required=True`` must fail closed.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bearerguard import (
    InvalidClaims,
    Issuer,
    Revocations,
    RevocationUnavailable,
    TokenRevoked,
    Validator,
)
from bearerguard.testing import LocalIssuer
from bearerguard.verifier import Verifier
from tests.issuing.redis_server import redis_server
from tests.support.clock import FakeClock

pytestmark = pytest.mark.redis

AUDIENCE = "api://revocation-attacks"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=AUDIENCE) as issuer:
        yield issuer


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    import redis

    prefix = f"bgattack:{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def _verifier(idp: LocalIssuer, revocations: Revocations) -> Verifier[Any]:
    issuer = Issuer.from_oidc(idp.url, validator=Validator(aud=AUDIENCE), lazy=True)
    return Verifier([issuer], revocations=revocations)


def test_a_revoked_token_stays_refused_after_a_restart(
    idp: LocalIssuer, redis_url: str, prefix: str
) -> None:
    """The deny list lives in Redis: a new process (new verifier, new copy) refuses the token."""
    token = idp.mint(sub="mallory")
    first = _verifier(idp, Revocations.from_url(redis_url, prefix=prefix))
    claims = first.verify(token)
    Revocations.from_url(redis_url, prefix=prefix).revoke_token(claims.jti, until=claims.exp)
    restarted = _verifier(idp, Revocations.from_url(redis_url, prefix=prefix))
    with pytest.raises(TokenRevoked) as caught:
        restarted.verify(token)
    assert caught.value.description == "token has been revoked"


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"jti": 42}, id="jti-as-a-number"),
        pytest.param({"jti": ["42"]}, id="jti-as-an-array"),
        pytest.param({"sub": 42}, id="sub-as-a-number"),
    ],
)
def test_a_revoked_value_spelled_as_another_json_type_is_no_way_around(
    idp: LocalIssuer, redis_url: str, prefix: str, claims: dict[str, Any]
) -> None:
    """jti "42" and sub "42" are revoked: the same value as a number or array is refused too."""
    revocations = Revocations.from_url(redis_url, prefix=prefix)
    revocations.revoke_token("42", until=time.time() + 3600)
    revocations.revoke_subject("42")
    with pytest.raises(InvalidClaims):
        _verifier(idp, revocations).verify(idp.mint(**claims))


def _replace_deny_list_with_a_string(redis_url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete(f"{prefix}{{deny}}:e")
    client.set(f"{prefix}{{deny}}:e", "not a hash")
    client.hincrby(f"{prefix}{{deny}}:v", "n", 1)  # the version: a hash (epoch, n)
    client.close()


def test_a_replaced_deny_list_fails_closed_when_required(
    idp: LocalIssuer, redis_url: str, prefix: str
) -> None:
    """required=True: an unreadable deny list (WRONGTYPE) is 503, never an accepted token."""
    clock = FakeClock()
    revocations = Revocations.from_url(redis_url, prefix=prefix, required=True, monotonic=clock)
    revocations.revoke_subject("somebody-else")
    verifier = _verifier(idp, revocations)
    token = idp.mint(sub="mallory")
    assert verifier.verify(token).sub == "mallory"
    _replace_deny_list_with_a_string(redis_url, prefix)
    clock.advance(revocations.staleness + 1)
    with pytest.raises(RevocationUnavailable) as caught:
        verifier.verify(token)  # a verified-token cache hit: checked all the same
    assert (caught.value.status, caught.value.retry_after) == (503, 5)


def test_a_replaced_deny_list_is_logged_when_not_required(
    idp: LocalIssuer, redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    """required=False (the default) is fail-open by design: the token passes, with a warning."""
    clock = FakeClock()
    revocations = Revocations.from_url(redis_url, prefix=prefix, monotonic=clock)
    revocations.revoke_subject("somebody-else")
    verifier = _verifier(idp, revocations)
    token = idp.mint(sub="mallory")
    verifier.verify(token)
    _replace_deny_list_with_a_string(redis_url, prefix)
    clock.advance(revocations.staleness + 1)
    with caplog.at_level(logging.WARNING, logger="bearerguard.revocation"):
        assert verifier.verify(token).sub == "mallory"
    assert [r.getMessage() for r in caplog.records if r.name == "bearerguard.revocation"] == [
        "the revocation deny list in Redis is unavailable: tokens are checked against a copy "
        "that is out of date and accepted (required=False)"
    ]


def test_revocations_written_while_redis_is_down_are_not_reported_as_written(
    tmp_path: Path,
) -> None:
    """An operator revoking during an outage gets an error, never a silent no-op."""
    with redis_server(tmp_path, dedicated=True) as url:
        revocations = Revocations.from_url(url)
    with pytest.raises(RevocationUnavailable):
        revocations.revoke_subject("mallory")
