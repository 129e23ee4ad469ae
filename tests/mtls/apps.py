"""One app per adapter with a ``/token`` endpoint answering the token's ``sub``.

Each factory takes :class:`~bearerguard.GuardSettings` keyword settings
(Django gets them as its upper-case ``BEARERGUARD`` keys).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.test.utils import override_settings
from fastapi import Depends, FastAPI
from flask import Flask, g
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import tests.django.conftest  # noqa: F401  (configures Django once for the whole run)
from bearerguard import flask as bg_flask
from bearerguard import starlette as bg_starlette
from bearerguard import wsgi as bg_wsgi

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ASGI_ADAPTERS", "WSGI_ADAPTERS", "asgi_app", "served_asgi_app", "wsgi_app"]

WSGI_ADAPTERS = ("flask", "wsgi", "django")
ASGI_ADAPTERS = ("starlette", "fastapi", "django-asgi")


async def _sub(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.user.claims.sub)


def asgi_app(adapter: str, settings: dict[str, Any]) -> Any:
    """The Starlette or FastAPI app of *adapter*, guarded with *settings*."""
    if adapter == "starlette":
        app = Starlette(routes=[Route("/token", _sub)])
        app.add_middleware(bg_starlette.JWTAuth, **settings)
        return app
    api = FastAPI()
    api.add_middleware(bg_starlette.JWTAuth, **settings)

    @api.get("/token")
    async def token(claims: Any = Depends(bg_starlette.require_token)) -> PlainTextResponse:
        return PlainTextResponse(claims.sub)

    return api


@contextmanager
def served_asgi_app(adapter: str, settings: dict[str, Any]) -> Iterator[Any]:
    """:func:`asgi_app`, or Django's ASGI handler with *settings* for ``django-asgi``."""
    if adapter == "django-asgi":
        with _django_settings(settings):
            yield ASGIHandler()
    else:
        yield asgi_app(adapter, settings)


@contextmanager
def _django_settings(settings: dict[str, Any]) -> Iterator[None]:
    keys = {name.upper(): value for name, value in settings.items()}
    with override_settings(BEARERGUARD=keys, ROOT_URLCONF="tests.django.testapp"):
        yield


def _flask(settings: dict[str, Any]) -> WSGIApplication:
    app = Flask("mtls")
    bg_flask.BearerGuard(app, **settings)

    @app.get("/token")
    def token() -> tuple[str, int, dict[str, str]]:
        return g.claims.sub, 200, {"content-type": "text/plain; charset=utf-8"}

    return app


def _plain(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("content-type", "text/plain; charset=utf-8")])
    return [environ[bg_wsgi.CLAIMS_KEY].sub.encode()]


@contextmanager
def wsgi_app(adapter: str, settings: dict[str, Any]) -> Iterator[WSGIApplication]:
    """The Flask, plain WSGI or Django app of *adapter*, guarded with *settings*."""
    if adapter == "flask":
        yield _flask(settings)
    elif adapter == "wsgi":
        yield bg_wsgi.BearerAuthMiddleware(_plain, **settings)
    else:
        with _django_settings(settings):
            yield WSGIHandler()


Factory = Callable[[dict[str, Any]], Any]
