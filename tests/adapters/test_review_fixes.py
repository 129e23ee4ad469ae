"""Adapters: token size caps, public paths below a mount, users set by outer middleware."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send
from werkzeug.test import Client

from bearerguard import Issuer, Validator, Verifier
from bearerguard.keyset import RemoteKeySet
from bearerguard.starlette import JWTAuth
from bearerguard.testing import LocalIssuer
from bearerguard.wsgi import CLAIMS_KEY, BearerAuthMiddleware

from .apps import TestClient
from .cases import AUDIENCE


def _big_token_verifier(issuer: LocalIssuer) -> Verifier[Any]:
    keys = RemoteKeySet.from_oidc(issuer.url)
    return Verifier([Issuer(issuer.url, keys, Validator(aud=AUDIENCE), max_token_size=65536)])


def test_adapters_honour_the_issuers_larger_token_size(issuer: LocalIssuer) -> None:
    """A 30 KB token the issuer allows is not cut off by the adapter's header cap."""
    token = issuer.mint(sub="alice", padding="x" * 30_000)
    assert len(token) > 30_000

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [environ[CLAIMS_KEY].sub.encode()]

    wsgi = Client(BearerAuthMiddleware(app, verifier=_big_token_verifier(issuer)))
    response = wsgi.get("/", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.data) == (200, b"alice")

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.user.claims.sub})

    star = Starlette(
        routes=[Route("/", whoami)],
        middleware=[Middleware(JWTAuth, verifier=_big_token_verifier(issuer))],
    )
    with TestClient(star) as client:
        answer = client.get("/", headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.json()) == (200, {"sub": "alice"})


def _open(request: Request) -> JSONResponse:
    return JSONResponse({"user": type(request.user).__name__, "path": request.url.path})


def test_starlette_public_paths_are_relative_to_the_mount(issuer: LocalIssuer) -> None:
    """In a sub-app mounted at /v1, public_paths=["/health"] means /v1/health."""
    inner = Starlette(
        routes=[Route("/health", _open), Route("/orders", _open)],
        middleware=[
            Middleware(JWTAuth, oidc=issuer.url, audience=AUDIENCE, public_paths=["/health"])
        ],
    )
    app = Starlette(routes=[Mount("/v1", app=inner)])
    with TestClient(app) as client:
        assert client.get("/v1/health").status_code == 200
        assert client.get("/v1/orders").status_code == 401


class _SetsUser:
    """An outer middleware that has already set a user (e.g. from a session)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["user"] = _SessionUser()
        await self.app(scope, receive, send)


class _SessionUser:
    is_authenticated = True


def test_starlette_keeps_an_outer_user_on_public_paths(issuer: LocalIssuer) -> None:
    app = Starlette(
        routes=[Route("/health", _open)],
        middleware=[
            Middleware(_SetsUser),
            Middleware(JWTAuth, oidc=issuer.url, audience=AUDIENCE, public_paths=["/health"]),
        ],
    )
    with TestClient(app) as client:
        assert client.get("/health").json()["user"] == "_SessionUser"
