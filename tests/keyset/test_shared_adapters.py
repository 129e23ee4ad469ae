"""``redis_url=`` through the adapters: apps in different processes share one JWKS fetch.

Each app below has its own verifier (as each process of a fleet has); they
share a real redis-server, and the local identity provider counts the fetches.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, g
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bearerguard.flask import BearerGuard
from bearerguard.starlette import JWTAuth
from bearerguard.testing import LocalIssuer
from tests.issuing.redis_server import redis_server

pytestmark = pytest.mark.redis

AUD = "api://adapters"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("redis")
    with redis_server(workdir) as url:
        yield url


@pytest.fixture
def idp() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=AUD) as issuer:
        yield issuer


def _starlette_app(idp: LocalIssuer, redis_url: str) -> Starlette:
    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.user.claims.sub)

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(JWTAuth, oidc=idp.url, audience=AUD, redis_url=redis_url)
    return app


def _flask_app(idp: LocalIssuer, redis_url: str) -> Flask:
    app = Flask(__name__)
    app.config.update(
        BEARERGUARD_OIDC=idp.url, BEARERGUARD_AUDIENCE=AUD, BEARERGUARD_REDIS_URL=redis_url
    )
    BearerGuard(app)

    @app.get("/")
    def home() -> str:
        return str(g.claims.sub)

    return app


def test_starlette_apps_share_one_fetch(idp: LocalIssuer, redis_url: str) -> None:
    """Three Starlette apps with JWTAuth(redis_url=...): one JWKS fetch, a discovery each."""
    headers = {"Authorization": f"Bearer {idp.mint()}"}
    for _ in range(3):
        with TestClient(_starlette_app(idp, redis_url)) as client:
            response = client.get("/", headers=headers)
            assert (response.status_code, response.text) == (200, "test-user")
    assert idp.counts == {idp.oidc_path: 3, idp.jwks_path: 1}


def test_flask_apps_share_one_fetch(idp: LocalIssuer, redis_url: str) -> None:
    """Three Flask apps with BEARERGUARD_REDIS_URL: one JWKS fetch, a discovery each."""
    headers = {"Authorization": f"Bearer {idp.mint()}"}
    for _ in range(3):
        response = _flask_app(idp, redis_url).test_client().get("/", headers=headers)
        assert (response.status_code, response.text) == (200, "test-user")
    assert idp.counts == {idp.oidc_path: 3, idp.jwks_path: 1}


def test_a_starlette_and_a_flask_app_share_the_keys(idp: LocalIssuer, redis_url: str) -> None:
    """The key set is shared by URL, whatever framework each process runs."""
    headers = {"Authorization": f"Bearer {idp.mint()}"}
    with TestClient(_starlette_app(idp, redis_url)) as client:
        assert client.get("/", headers=headers).status_code == 200
    assert _flask_app(idp, redis_url).test_client().get("/", headers=headers).status_code == 200
    assert idp.count(idp.jwks_path) == 1


def test_a_bad_redis_url_stops_the_app_at_start_up(idp: LocalIssuer) -> None:
    """BEARERGUARD_REDIS_URL with a wrong scheme fails when the app is set up, not per request."""
    from bearerguard import ConfigurationError

    app = Flask(__name__)
    app.config.update(
        BEARERGUARD_OIDC=idp.url, BEARERGUARD_AUDIENCE=AUD, BEARERGUARD_REDIS_URL="tcp://r:6379"
    )
    with pytest.raises(ConfigurationError, match="redis_url= must start with redis://"):
        BearerGuard(app)
