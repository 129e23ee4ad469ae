"""Adapters: decorators keep the decorated view's type, middleware wraps an app."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse
from flask import Flask
from typing_extensions import assert_type

from bearerguard import django as bg_django
from bearerguard import flask as bg_flask
from bearerguard.wsgi import BearerAuthMiddleware

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


def flask_decorators_keep_the_view(app: Flask) -> None:
    bg_flask.BearerGuard(app, oidc="https://login.example.com", audience="api://orders")

    def orders() -> dict[str, list[str]]:
        return {"orders": []}

    assert_type(bg_flask.require_scopes("orders:read")(orders)(), dict[str, list[str]])
    assert_type(bg_flask.require_token(orders)(), dict[str, list[str]])


def django_decorators_keep_the_view(request: HttpRequest) -> None:
    def orders(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"[]")

    assert_type(bg_django.require_scopes("orders:read")(orders)(request), HttpResponse)
    assert_type(bg_django.require_token(orders)(request), HttpResponse)


def wsgi_middleware_is_a_wsgi_app(environ: WSGIEnvironment, start: StartResponse) -> None:
    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    guarded = BearerAuthMiddleware(app, oidc="https://login.example.com", audience="api://orders")
    assert_type(guarded(environ, start), Iterable[bytes])
