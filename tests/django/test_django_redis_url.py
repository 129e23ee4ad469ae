"""settings.BEARERGUARD["REDIS_URL"]: Django processes share one JWKS fetch through Redis."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import Client

from bearerguard.django._conf import get_config
from bearerguard.testing import LocalIssuer
from tests.issuing.redis_server import redis_server

from .testapp_settings import guard_settings


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as url:
        yield url


@pytest.mark.redis
def test_redis_url_setting_shares_the_fetch_between_configurations(
    redis_url: str, configure: Callable[..., None]
) -> None:
    """Two Django configurations (two processes' verifiers) with REDIS_URL: one JWKS fetch."""
    with LocalIssuer(audience="api://test") as idp:
        token = idp.mint()
        for attempt in range(2):
            configure(BEARERGUARD=guard_settings(idp, REDIS_URL=redis_url, REALM=f"r{attempt}"))
            assert get_config().verifier.redis_url == redis_url
            response = Client().get("/whoami", HTTP_AUTHORIZATION=f"Bearer {token}")
            assert response.status_code == 200
        assert idp.count(idp.jwks_path) == 1
