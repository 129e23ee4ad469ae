"""Revocation in Django: BEARERGUARD["REDIS_URL"] and "REVOCATIONS" as settings."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bearerguard.testing import LocalIssuer
from tests.django.conftest import configure
from tests.django.testapp_settings import guard_settings

__all__ = ["configure"]  # the fixture, for the tests below

pytestmark = pytest.mark.redis


def test_django_refuses_a_revoked_token_with_the_same_401(
    redis_url: str, prefix: str, configure: Callable[..., None], local_issuer: LocalIssuer
) -> None:
    """REVOCATIONS (a mapping of options) on REDIS_URL's server: 401 "token has been revoked"."""
    from django.test import Client

    from bearerguard.django._conf import get_config

    settings = guard_settings(
        local_issuer,
        REDIS_URL=redis_url,
        REVOCATIONS={"PREFIX": prefix, "MAX_TOKEN_LIFETIME": 3600},
    )
    configure(BEARERGUARD=settings)
    token = local_issuer.mint(sub="alice", iat=int(time.time()) - 10)
    client = Client()
    assert client.get("/whoami", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    revocations = get_config().verifier.revocations
    assert revocations is not None
    assert (revocations.prefix, revocations.max_token_lifetime) == (prefix, 3600.0)
    revocations.revoke_subject("alice")
    refused = client.get("/whoami", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="token has been revoked"'
    )
    assert refused.content == (
        b'{"error":"invalid_token","error_description":"token has been revoked"}'
    )
