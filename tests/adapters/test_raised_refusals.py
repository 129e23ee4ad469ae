"""A bearerguard refusal raised by the app's own code is answered as the adapter's own refusal.

``InsufficientScope``, ``InsufficientRole``, ``InvalidClaims``, ``MissingToken``,
``KeySetUnavailable``, ... raised from a Starlette endpoint, a FastAPI dependency,
a Flask view, a Django view (sync and async) or a DRF view: the response is
exactly what :meth:`GuardSettings.render` makes of the error (status,
bearerguard's headers, body), never a 500; the refusal is reported once.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, StreamingResponse
from starlette.routing import Route

from bearerguard import (
    BearerGuardError,
    GuardSettings,
    InsufficientRole,
    InsufficientScope,
    InvalidClaims,
    Issuer,
    KeySetUnavailable,
    MissingToken,
    Validator,
    Verifier,
)
from bearerguard import flask as bg_flask
from bearerguard import starlette as bg_starlette
from bearerguard.testing import LocalIssuer

from ..security.apps import BEARER_BACKEND, BEARER_MIDDLEWARE, Answer, ensure_django
from .cases import AUDIENCE
from .raised import RAISED

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

ERRORS = [
    pytest.param(InsufficientScope(["orders:write"], ["orders:write"]), id="insufficient-scope"),
    pytest.param(InsufficientRole(["admin"], ["admin"]), id="insufficient-role"),
    pytest.param(InvalidClaims(["tenant: not this API's tenant"]), id="invalid-claims"),
    pytest.param(MissingToken("bearer token required"), id="missing-token"),
    pytest.param(KeySetUnavailable("signing keys unavailable", retry_after=7), id="keyset-down"),
]
ADAPTERS = ["starlette", "fastapi", "flask", "django", "django-async", "drf"]

Send = Callable[[str], Answer]


@pytest.fixture(scope="module")
def settings(local_issuer: LocalIssuer) -> GuardSettings:
    issuer = Issuer.from_oidc(local_issuer.url, validator=Validator(aud=AUDIENCE), lazy=True)
    return GuardSettings(verifier=Verifier([issuer]), realm="orders")


def _raise() -> None:
    raise RAISED[0]


async def _endpoint(request: Request) -> PlainTextResponse:
    _raise()
    return PlainTextResponse("not reached")


@contextmanager
def _asgi(app: Any, token: str) -> Iterator[Send]:
    with TestClient(app, raise_server_exceptions=False) as client:

        def send(path: str) -> Answer:
            response = client.get(path, headers={"Authorization": f"Bearer {token}"})
            return Answer.of(response.status_code, response.headers.items(), response.content)

        yield send


@pytest.fixture(scope="module")
def clients(settings: GuardSettings, local_issuer: LocalIssuer) -> Iterator[dict[str, Send]]:
    token = local_issuer.mint()
    starlette = Starlette(routes=[Route("/raise", _endpoint)])
    starlette.add_middleware(bg_starlette.JWTAuth, settings=settings)

    fastapi = FastAPI()

    @fastapi.get("/raise")
    def raising(value: None = Depends(_raise)) -> str:
        return "not reached"

    fastapi.add_middleware(bg_starlette.JWTAuth, settings=settings)

    flask = Flask(__name__)
    bg_flask.BearerGuard(flask, settings=settings)

    @flask.get("/raise")
    def flask_view() -> str:
        _raise()
        return "not reached"

    flask_client = flask.test_client()

    def flask_send(path: str) -> Answer:
        response = flask_client.get(path, headers={"Authorization": f"Bearer {token}"})
        return Answer.of(response.status_code, response.headers.items(), response.data)

    ensure_django()
    from django.test import Client
    from django.test.utils import override_settings

    django_settings = {
        "ROOT_URLCONF": "tests.adapters.raising_urls",
        "MIDDLEWARE": [BEARER_MIDDLEWARE],
        "AUTHENTICATION_BACKENDS": [BEARER_BACKEND],
        "BEARERGUARD": {"VERIFIER": settings.verifier, "REALM": "orders"},
        "REST_FRAMEWORK": {
            "EXCEPTION_HANDLER": "bearerguard.django.rest_framework.exception_handler",
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        },
    }

    def django_send(path: str) -> Answer:
        with override_settings(**django_settings):
            response = Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")
        return Answer.of(response.status_code, response.items(), response.content)

    def sends(asgi_starlette: Send, asgi_fastapi: Send) -> dict[str, Send]:
        return {
            "starlette": asgi_starlette,
            "fastapi": asgi_fastapi,
            "flask": flask_send,
            "django": lambda path: django_send("/sync"),
            "django-async": lambda path: django_send("/async"),
            "drf": lambda path: django_send("/drf"),
        }

    with ExitStack() as stack:
        yield sends(
            stack.enter_context(_asgi(starlette, token)),
            stack.enter_context(_asgi(fastapi, token)),
        )


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("error", ERRORS)
def test_a_refusal_raised_by_user_code_is_answered_as_the_adapters_own(
    clients: dict[str, Send],
    settings: GuardSettings,
    error: BearerGuardError,
    adapter: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Exactly the rendered refusal (status, headers, body), reported once; never a 500."""
    RAISED[:] = [error]
    caplog.set_level(logging.DEBUG, logger="bearerguard.refusals")
    answer = clients[adapter]("/raise")
    rendered = settings.render(error, report=False)
    assert answer == Answer.of(rendered.status, rendered.headers, rendered.body)
    assert len([r for r in caplog.records if r.name == "bearerguard.refusals"]) == 1


def test_a_refusal_raised_after_the_response_started_is_not_rewritten(
    settings: GuardSettings, local_issuer: LocalIssuer
) -> None:
    """Starlette: once the response has begun, the error propagates (the server's 500)."""

    async def chunks() -> Any:
        yield b"first"
        raise InsufficientScope(["orders:write"], ["orders:write"])

    async def streaming(request: Request) -> StreamingResponse:
        return StreamingResponse(chunks())

    app = Starlette(routes=[Route("/raise", streaming)])
    app.add_middleware(bg_starlette.JWTAuth, settings=settings)
    with TestClient(app) as client, pytest.raises(InsufficientScope):
        client.get("/raise", headers={"Authorization": f"Bearer {local_issuer.mint()}"})
