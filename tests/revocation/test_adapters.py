"""Revocation through the adapters: the same 401 and 503 bytes from every framework."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from bearerguard import ConfigurationError, Revocations, TokenRevoked
from bearerguard._settings import GuardSettings
from bearerguard.testing import LocalIssuer
from tests.adapters.apps import ADAPTERS, open_client
from tests.adapters.cases import TOKEN_PATH, Observed
from tests.issuing.redis_server import redis_server
from tests.support.clock import FakeClock

from .conftest import AUDIENCE

pytestmark = pytest.mark.redis

REVOKED = Observed(
    401,
    {
        "content-type": "application/json",
        "content-length": "70",
        "cache-control": "no-store",
        "www-authenticate": 'Bearer error="invalid_token", '
        'error_description="token has been revoked"',
    },
    b'{"error":"invalid_token","error_description":"token has been revoked"}',
)


def _bearer(token: str) -> list[bytes]:
    return [f"Bearer {token}".encode()]


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("kind", ["jti", "sub", "client"])
def test_every_adapter_answers_a_revoked_token_with_the_same_401(
    adapter: str, kind: str, local_issuer: LocalIssuer, redis_url: str, prefix: str
) -> None:
    """Accepted before the revocation; afterwards 401 invalid_token, byte for byte alike."""
    revocations = Revocations.from_url(redis_url, prefix=prefix)
    settings = GuardSettings(
        oidc=local_issuer.url, audience=AUDIENCE, redis_url=redis_url, revocations=revocations
    )
    now = int(time.time())
    token = local_issuer.mint(sub="alice", jti="token-1", client_id="batch", iat=now - 10)
    with open_client(adapter, settings) as send:
        assert send(TOKEN_PATH, "", _bearer(token)).body == b"alice"
        if kind == "jti":
            revocations.revoke_token("token-1", until=now + 3600)
        elif kind == "sub":
            revocations.revoke_subject("alice")
        else:
            revocations.revoke_client("batch")
        assert send(TOKEN_PATH, "", _bearer(token)) == REVOKED
        fresh = local_issuer.mint(sub="alice", client_id="batch", iat=now + 10)
        assert send(TOKEN_PATH, "", _bearer(fresh)).body == b"alice"


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_redis_stopped_mid_test_with_required_answers_503_with_retry_after(
    adapter: str, local_issuer: LocalIssuer, tmp_path: Path
) -> None:
    """required=True: Redis goes away, the copy grows stale, the next request gets 503."""
    clock = FakeClock()
    token = local_issuer.mint(sub="alice")
    with redis_server(tmp_path, dedicated=True) as url:
        revocations = Revocations.from_url(url, required=True, monotonic=clock)
        settings = GuardSettings(
            oidc=local_issuer.url, audience=AUDIENCE, redis_url=url, revocations=revocations
        )
        with open_client(adapter, settings) as send:
            assert send(TOKEN_PATH, "", _bearer(token)).body == b"alice"
    # The server is stopped now.
    with open_client(adapter, settings) as send:
        clock.advance(revocations.staleness + 0.001)
        assert send(TOKEN_PATH, "", _bearer(token)) == Observed(
            503,
            {
                "content-type": "application/json",
                "content-length": "91",
                "cache-control": "no-store",
                "retry-after": "5",
            },
            b'{"error":"temporarily_unavailable",'
            b'"error_description":"token revocation list unavailable"}',
        )


def test_redis_url_alone_checks_the_deny_list_with_the_defaults(
    local_issuer: LocalIssuer, redis_url: str, redis_client: Any
) -> None:
    """redis_url= without revocations=: a Revocations with its defaults on that server."""
    settings = GuardSettings(oidc=local_issuer.url, audience=AUDIENCE, redis_url=redis_url)
    verifier = settings.build_verifier()
    assert verifier.revocations is not None
    assert (verifier.revocations.staleness, verifier.revocations.required) == (5.0, False)
    token = local_issuer.mint(sub="redis-url-only", iat=int(time.time()) - 10)
    assert verifier.verify(token).sub == "redis-url-only"
    try:
        verifier.revocations.revoke_subject("redis-url-only")  # seen at once by its writer
        with pytest.raises(TokenRevoked):
            verifier.verify(token)
    finally:
        redis_client.delete(*redis_client.keys("bearerguard:revoked:*"))


def test_settings_files_give_revocations_as_options_on_redis_url(
    local_issuer: LocalIssuer, redis_url: str, prefix: str
) -> None:
    """REVOCATIONS as a mapping (Django, Flask config): its options, on REDIS_URL's server."""
    settings = GuardSettings.from_mapping(
        {
            "BEARERGUARD_OIDC": local_issuer.url,
            "BEARERGUARD_AUDIENCE": AUDIENCE,
            "BEARERGUARD_REDIS_URL": redis_url,
            "BEARERGUARD_REVOCATIONS": {"REQUIRED": True, "STALENESS": 2, "PREFIX": prefix},
        },
        prefix="BEARERGUARD_",
    )
    revocations = settings.build_verifier().revocations
    assert revocations is not None
    assert (revocations.required, revocations.staleness, revocations.prefix) == (True, 2.0, prefix)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"revocations": {"REQUIRED": True}},
            "revocations= as options needs the Redis URL setting (redis_url= or REDIS_URL) "
            "where the deny list lives",
            id="no-redis-url",
        ),
        pytest.param(
            {"redis_url": "redis://localhost", "revocations": {"STALE": 1}},
            "revocations=: unknown option STALE; known: PREFIX, STALENESS, "
            "MAX_TOKEN_LIFETIME, REQUIRED",
            id="unknown-option",
        ),
        pytest.param(
            {"redis_url": "redis://localhost", "revocations": "yes"},
            "revocations= must be a bearerguard.Revocations or a mapping of its options "
            "(PREFIX, STALENESS, MAX_TOKEN_LIFETIME, REQUIRED)",
            id="not-a-mapping",
        ),
    ],
)
def test_a_wrong_revocations_setting_says_what_to_write(
    options: dict[str, Any], message: str, local_issuer: LocalIssuer
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        GuardSettings(oidc=local_issuer.url, audience=AUDIENCE, **options)
    assert caught.value.description == message


def test_revocations_cannot_go_with_a_ready_verifier(
    local_issuer: LocalIssuer, redis_url: str
) -> None:
    """A ready Verifier already decides its revocations: both at once is refused."""
    verifier = GuardSettings(oidc=local_issuer.url, audience=AUDIENCE).build_verifier()
    with pytest.raises(ConfigurationError) as caught:
        GuardSettings(verifier=verifier, revocations=Revocations.from_url(redis_url))
    assert caught.value.description == (
        "verifier= already holds the issuers and the claim policy; "
        "remove revocations= or configure them on the Verifier"
    )


#: A deny list a settings file names by its dotted path (see the test below).
NAMED = Revocations.from_url("redis://127.0.0.1:9/0", prefix="named:")


def test_a_settings_file_may_name_a_revocations_object_by_dotted_path(
    local_issuer: LocalIssuer,
) -> None:
    settings = GuardSettings.from_mapping(
        {
            "OIDC": local_issuer.url,
            "AUDIENCE": AUDIENCE,
            "REVOCATIONS": "tests.revocation.test_adapters.NAMED",
        }
    )
    assert settings.build_verifier().revocations is NAMED
