"""The table's small API on each adapter, driven through each framework's own test client.

``open_client(adapter, settings)`` yields a function ``send(path, query,
authorization) -> Observed``; the app behind it serves ``/token``, ``/scoped``
(scope ``write``) and ``/public`` as :mod:`adapters.cases` describes.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Depends, FastAPI
from flask import Flask, g
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from werkzeug.test import Client

from bearerguard import flask as bg_flask
from bearerguard import starlette as bg_starlette
from bearerguard import wsgi as bg_wsgi
from bearerguard._settings import GuardSettings

from .cases import PUBLIC_PATH, SCOPE, SCOPED_PATH, TOKEN_PATH, Observed

with warnings.catch_warnings():
    # Starlette asks for the httpx2 package; the client works the same on httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient as FastAPITestClient
    from starlette.testclient import TestClient

__all__ = ["ADAPTERS", "FastAPITestClient", "TestClient", "open_client"]

Send = Callable[[str, str, list[bytes]], Observed]

ADAPTERS = ("starlette", "fastapi", "flask", "wsgi")


# -- Starlette -------------------------------------------------------------------------


async def _sub(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.user.claims.sub)


async def _public(request: Request) -> PlainTextResponse:
    return PlainTextResponse("public")


def starlette_app(settings: GuardSettings) -> Starlette:
    """The table's API on Starlette, behind JWTAuth."""
    app = Starlette(
        routes=[
            Route(TOKEN_PATH, _sub),
            Route(SCOPED_PATH, bg_starlette.require_scopes(SCOPE)(_sub)),
            Route(PUBLIC_PATH, _public),
        ]
    )
    app.add_middleware(bg_starlette.JWTAuth, settings=settings)
    return app


def fastapi_app(settings: GuardSettings) -> FastAPI:
    """The table's API on FastAPI, scopes checked by the dependency form."""
    app = FastAPI(openapi_url=None)

    @app.get(TOKEN_PATH)
    async def token(claims: Any = Depends(bg_starlette.require_token)) -> PlainTextResponse:
        return PlainTextResponse(claims.sub)

    @app.get(SCOPED_PATH)
    async def scoped(
        claims: Any = Depends(bg_starlette.require_scopes(SCOPE)),
    ) -> PlainTextResponse:
        return PlainTextResponse(claims.sub)

    @app.get(PUBLIC_PATH)
    async def public() -> PlainTextResponse:
        return PlainTextResponse("public")

    app.add_middleware(bg_starlette.JWTAuth, settings=settings)
    return app


@contextmanager
def asgi_client(app: Any, client_class: type[TestClient] = TestClient) -> Iterator[Send]:
    with client_class(app, base_url="http://api.test") as client:

        def send(path: str, query: str, authorization: list[bytes]) -> Observed:
            url = f"{path}?{query}" if query else path
            headers = [(b"authorization", value) for value in authorization]
            response = client.get(url, headers=headers)
            return Observed.of(response.status_code, response.headers, response.content)

        yield send


# -- Flask -----------------------------------------------------------------------------


def flask_app(settings: GuardSettings) -> Flask:
    """The table's API on Flask, behind BearerGuard."""
    app = Flask(__name__)
    bg_flask.BearerGuard(app, settings=settings)

    @app.get(TOKEN_PATH)
    def token() -> tuple[str, int, dict[str, str]]:
        return g.claims.sub, 200, {"content-type": "text/plain; charset=utf-8"}

    @app.get(SCOPED_PATH)
    @bg_flask.require_scopes(SCOPE)
    def scoped() -> tuple[str, int, dict[str, str]]:
        return g.claims.sub, 200, {"content-type": "text/plain; charset=utf-8"}

    @app.get(PUBLIC_PATH)
    def public() -> tuple[str, int, dict[str, str]]:
        return "public", 200, {"content-type": "text/plain; charset=utf-8"}

    return app


# -- plain WSGI --------------------------------------------------------------------------


def _text(start_response: Any, text: str) -> Iterable[bytes]:
    body = text.encode()
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    start_response("200 OK", headers)
    return [body]


def _wsgi_sub(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    return _text(start_response, environ[bg_wsgi.CLAIMS_KEY].sub)


def _wsgi_public(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    return _text(start_response, "public")


def wsgi_app(settings: GuardSettings) -> bg_wsgi.BearerAuthMiddleware:
    """The table's API as a bare WSGI callable, behind BearerAuthMiddleware."""
    routes = {
        TOKEN_PATH: _wsgi_sub,
        SCOPED_PATH: bg_wsgi.require_scopes(SCOPE)(_wsgi_sub),
        PUBLIC_PATH: _wsgi_public,
    }

    def dispatch(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        route = routes.get(environ["PATH_INFO"])
        if route is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        return route(environ, start_response)

    return bg_wsgi.BearerAuthMiddleware(dispatch, settings=settings)


@contextmanager
def wsgi_client(app: Any) -> Iterator[Send]:
    client = Client(app)

    def send(path: str, query: str, authorization: list[bytes]) -> Observed:
        # WSGI carries header values as latin-1 text (PEP 3333).
        headers = [("Authorization", value.decode("latin-1")) for value in authorization]
        response = client.get(path, query_string=query, headers=headers)
        try:
            return Observed.of(response.status_code, dict(response.headers), response.get_data())
        finally:
            response.close()

    yield send


@contextmanager
def open_client(adapter: str, settings: GuardSettings) -> Iterator[Send]:
    """A ``send`` function for *adapter*'s copy of the table's API."""
    if adapter == "starlette":
        with asgi_client(starlette_app(settings)) as send:
            yield send
    elif adapter == "fastapi":
        with asgi_client(fastapi_app(settings), FastAPITestClient) as send:
            yield send
    elif adapter == "flask":
        with wsgi_client(flask_app(settings)) as send:
            yield send
    elif adapter == "wsgi":
        with wsgi_client(wsgi_app(settings)) as send:
            yield send
    else:  # pragma: no cover - a typo in a test
        raise ValueError(adapter)
