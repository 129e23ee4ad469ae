"""The step-up API (RFC 9470) on every adapter: the same three routes, the same requirements.

* ``ACR_PATH``: ``require_auth(acr_values=ACR_VALUES)``, any of two contexts;
* ``RECENT_PATH``: ``require_auth(max_age=MAX_AGE)``;
* ``TRANSFER_PATH``: scope ``write`` (checked first), then ``acr_values="mfa"``
  and ``max_age=MAX_AGE`` together: the requirements composed.

Each answers the token's ``sub`` as ``text/plain; charset=utf-8`` with a
``Content-Length``. Django's views are in :mod:`adapters.step_up_django_urls`
(sync), :mod:`adapters.step_up_async_urls` (async) and
:mod:`adapters.step_up_drf_urls` (DRF permissions).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import FastAPI
from flask import Flask, g
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bearerguard import AccessClaims
from bearerguard import flask as bg_flask
from bearerguard import starlette as bg_starlette
from bearerguard import wsgi as bg_wsgi
from bearerguard._settings import GuardSettings

from .cases import SCOPE, TEXT

ACR_PATH = "/acr"
RECENT_PATH = "/recent"
TRANSFER_PATH = "/transfer"
ACR_VALUES = ("mfa", "hwk")
TRANSFER_ACR = "mfa"
MAX_AGE = 300
PATHS = (ACR_PATH, RECENT_PATH, TRANSFER_PATH)


def _stack(*decorators: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Decorators applied as if written one above the other (the first one outermost)."""

    def apply(target: Any) -> Any:
        for decorator in reversed(decorators):
            target = decorator(target)
        return target

    return apply


def requirements(adapter: Any) -> dict[str, Callable[[Any], Any]]:
    """Each path's decorator, made of *adapter*'s ``require_auth`` and ``require_scopes``."""
    return {
        ACR_PATH: adapter.require_auth(acr_values=ACR_VALUES),
        RECENT_PATH: adapter.require_auth(max_age=MAX_AGE),
        TRANSFER_PATH: _stack(
            adapter.require_scopes(SCOPE),
            adapter.require_auth(acr_values=TRANSFER_ACR, max_age=MAX_AGE),
        ),
    }


async def _starlette_sub(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.user.claims.sub)


def starlette_app(settings: GuardSettings) -> Starlette:
    """Decorated endpoints behind JWTAuth."""
    guarded = requirements(bg_starlette)
    app = Starlette(routes=[Route(path, guarded[path](_starlette_sub)) for path in PATHS])
    app.add_middleware(bg_starlette.JWTAuth, settings=settings)
    return app


_FASTAPI_ACR = bg_starlette.require_auth(acr_values=ACR_VALUES).depends()
_FASTAPI_RECENT = bg_starlette.require_auth(max_age=MAX_AGE).depends()
_FASTAPI_WRITER = bg_starlette.require_scopes(SCOPE).depends()
_FASTAPI_STEP_UP = bg_starlette.require_auth(acr_values=TRANSFER_ACR, max_age=MAX_AGE).depends()


def fastapi_app(settings: GuardSettings) -> FastAPI:
    """The requirements as dependencies (the scope one first, so it is checked first)."""
    app = FastAPI(openapi_url=None)

    @app.get(ACR_PATH)
    async def acr(claims: AccessClaims = _FASTAPI_ACR) -> PlainTextResponse:
        return PlainTextResponse(claims.sub)

    @app.get(RECENT_PATH)
    async def recent(claims: AccessClaims = _FASTAPI_RECENT) -> PlainTextResponse:
        return PlainTextResponse(claims.sub)

    @app.get(TRANSFER_PATH)
    async def transfer(
        claims: AccessClaims = _FASTAPI_WRITER, stepped_up: AccessClaims = _FASTAPI_STEP_UP
    ) -> PlainTextResponse:
        return PlainTextResponse(stepped_up.sub)

    app.add_middleware(bg_starlette.JWTAuth, settings=settings)
    return app


def flask_app(settings: GuardSettings) -> Flask:
    """Decorated views behind BearerGuard."""
    app = Flask(__name__)
    bg_flask.BearerGuard(app, settings=settings)

    def sub() -> tuple[str, int, dict[str, str]]:
        return g.claims.sub, 200, {"content-type": TEXT}

    for path, decorator in requirements(bg_flask).items():
        app.add_url_rule(path, path, decorator(sub))
    return app


def _wsgi_sub(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = environ[bg_wsgi.CLAIMS_KEY].sub.encode()
    start_response("200 OK", [("Content-Type", TEXT), ("Content-Length", str(len(body)))])
    return [body]


def wsgi_app(settings: GuardSettings) -> bg_wsgi.BearerAuthMiddleware:
    """Decorated WSGI callables behind BearerAuthMiddleware."""
    routes = {path: decorator(_wsgi_sub) for path, decorator in requirements(bg_wsgi).items()}

    def dispatch(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        body: Iterable[bytes] = routes[environ["PATH_INFO"]](environ, start_response)
        return body

    return bg_wsgi.BearerAuthMiddleware(dispatch, settings=settings)
