"""require_auth (RFC 9470 step-up) in all seven ways in: the same answer, byte for byte.

Starlette (decorators), FastAPI (dependencies), Flask, WSGI, Django views under
WSGI and, async, under ASGI, and DRF's ``RequireAuth`` serve the API of
:mod:`adapters.step_up_apps` with the table's settings; a token from too weak
or too old an authentication gets 401 ``insufficient_user_authentication``
with the route's ``acr_values`` and/or ``max_age`` (RFC 9470 §3).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from bearerguard import ConfigurationError
from bearerguard import django as bg_django
from bearerguard import flask as bg_flask
from bearerguard import starlette as bg_starlette
from bearerguard import wsgi as bg_wsgi
from bearerguard.testing import LocalIssuer

from .apps import FastAPITestClient, asgi_client, wsgi_client
from .cases import REALM, RESOURCE_METADATA, SCOPE, SUB, TEXT, Observed, table_mapping
from .step_up_apps import (
    ACR_PATH,
    MAX_AGE,
    RECENT_PATH,
    TRANSFER_PATH,
    fastapi_app,
    flask_app,
    starlette_app,
    wsgi_app,
)

STEP_UP_ADAPTERS = ("starlette", "fastapi", "flask", "wsgi", "django", "django-asgi", "drf")
CODE = "insufficient_user_authentication"

Send = Callable[[str, list[bytes]], Observed]


def _refusal(status: int, code: str, description: str, *params: str) -> Observed:
    challenge = ", ".join(
        [
            f'Bearer realm="{REALM}"',
            f'error="{code}"',
            f'error_description="{description}"',
            *params,
            f'resource_metadata="{RESOURCE_METADATA}"',
        ]
    )
    body = json.dumps({"error": code, "error_description": description}, separators=(",", ":"))
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "cache-control": "no-store",
        "www-authenticate": challenge,
    }
    return Observed(status, headers, body.encode())


def _ok() -> Observed:
    return Observed(200, {"content-type": TEXT, "content-length": str(len(SUB))}, SUB.encode())


NO_TOKEN = Observed(
    401,
    {
        "content-type": "application/json",
        "content-length": "68",
        "cache-control": "no-store",
        "www-authenticate": f'Bearer realm="{REALM}", resource_metadata="{RESOURCE_METADATA}"',
    },
    b'{"error":"unauthorized","error_description":"bearer token required"}',
)

ACR_PARAM = 'acr_values="mfa hwk"'
AGE_PARAM = f'max_age="{MAX_AGE}"'
TRANSFER_PARAMS = ('acr_values="mfa"', AGE_PARAM)


# -- the clients -----------------------------------------------------------------------------


@contextmanager
def _django_client(variant: str, bearerguard: Mapping[str, Any]) -> Iterator[Send]:
    from django.test import AsyncClient, Client
    from django.test.utils import override_settings

    from ..security.apps import ensure_django

    ensure_django()
    urlconf = {
        "django": "tests.adapters.step_up_django_urls",
        "django-asgi": "tests.adapters.step_up_async_urls",
        "drf": "tests.adapters.step_up_drf_urls",
    }[variant]
    overrides: dict[str, Any] = {
        "ROOT_URLCONF": urlconf,
        "MIDDLEWARE": [] if variant == "drf" else ["bearerguard.django.BearerTokenMiddleware"],
        "AUTHENTICATION_BACKENDS": ["bearerguard.django.BearerTokenBackend"],
        "BEARERGUARD": dict(bearerguard),
        # The same as tests/django's and tests/security's: APIView keeps the defaults it
        # was first imported under, so every suite must agree on them.
        "REST_FRAMEWORK": {
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "bearerguard.django.rest_framework.BearerTokenAuthentication"
            ],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "EXCEPTION_HANDLER": "bearerguard.django.rest_framework.exception_handler",
        },
    }

    def send(path: str, authorization: list[bytes]) -> Observed:
        headers = {"authorization": value.decode("latin-1") for value in authorization}
        response: Any
        with override_settings(**overrides):
            if variant == "django-asgi":
                response = async_to_sync(AsyncClient().get)(path, headers=headers)
            else:
                response = Client().get(path, headers=headers)
        return Observed.of(response.status_code, dict(response.items()), response.content)

    yield send


@contextmanager
def open_step_up_client(adapter: str, bearerguard: Mapping[str, Any]) -> Iterator[Send]:
    """A ``send(path, authorization)`` for *adapter*'s copy of the step-up API."""
    from bearerguard._settings import GuardSettings

    settings = GuardSettings.from_mapping(dict(bearerguard))
    builders: dict[str, Callable[[], Any]] = {
        "starlette": lambda: asgi_client(starlette_app(settings)),
        "fastapi": lambda: asgi_client(fastapi_app(settings), FastAPITestClient),
        "flask": lambda: wsgi_client(flask_app(settings)),
        "wsgi": lambda: wsgi_client(wsgi_app(settings)),
    }
    if adapter in builders:
        with builders[adapter]() as send:
            yield lambda path, authorization: send(path, "", authorization)
    else:
        with _django_client(adapter, bearerguard) as send:
            yield send


@pytest.fixture(scope="module")
def clients(local_issuer: LocalIssuer) -> Iterator[dict[str, Send]]:
    mapping = table_mapping(local_issuer.url)
    with ExitStack() as stack:
        yield {
            name: stack.enter_context(open_step_up_client(name, mapping))
            for name in STEP_UP_ADAPTERS
        }


@pytest.fixture(scope="module")
def step_up_tokens(local_issuer: LocalIssuer) -> dict[str, str]:
    now = int(time.time())
    mint = local_issuer.mint
    return {
        "mfa": mint(sub=SUB, acr="mfa"),
        "hwk": mint(sub=SUB, acr="hwk"),
        "pwd": mint(sub=SUB, acr="pwd"),
        "no-acr": mint(sub=SUB, auth_time=now),
        "recent": mint(sub=SUB, auth_time=now - 10),
        # Past max_age, within the 60 s leeway the route allows by default.
        "in-leeway": mint(sub=SUB, auth_time=now - MAX_AGE - 30),
        "old": mint(sub=SUB, auth_time=now - MAX_AGE - 120),
        "no-auth-time": mint(sub=SUB, acr="mfa"),
        "writer-stepped-up": mint(sub=SUB, scopes=[SCOPE], acr="mfa", auth_time=now),
        "writer-weak-old": mint(sub=SUB, scopes=[SCOPE], acr="pwd", auth_time=now - 3600),
        "writer-old": mint(sub=SUB, scopes=[SCOPE], acr="mfa", auth_time=now - 3600),
        "reader-weak": mint(sub=SUB, scopes=["read"], acr="pwd"),
    }


WRONG_ACR = "acr: authentication context is not one of acr_values"
NO_ACR = "acr: required claim is missing (acr_values is set)"
OLD = "auth_time: authentication is older than max_age"
NO_AUTH_TIME = "auth_time: required claim is missing (max_age is set)"

STEP_UP_CASES = [
    pytest.param(ACR_PATH, "mfa", _ok(), id="acr-first-choice"),
    pytest.param(ACR_PATH, "hwk", _ok(), id="acr-second-choice"),
    pytest.param(ACR_PATH, "pwd", _refusal(401, CODE, WRONG_ACR, ACR_PARAM), id="acr-other"),
    pytest.param(ACR_PATH, "no-acr", _refusal(401, CODE, NO_ACR, ACR_PARAM), id="acr-missing"),
    pytest.param(RECENT_PATH, "recent", _ok(), id="recent-enough"),
    pytest.param(RECENT_PATH, "in-leeway", _ok(), id="older-within-leeway"),
    pytest.param(RECENT_PATH, "old", _refusal(401, CODE, OLD, AGE_PARAM), id="too-old"),
    pytest.param(
        RECENT_PATH,
        "no-auth-time",
        _refusal(401, CODE, NO_AUTH_TIME, AGE_PARAM),
        id="auth-time-missing",
    ),
    pytest.param(TRANSFER_PATH, "writer-stepped-up", _ok(), id="composed-all-met"),
    pytest.param(
        TRANSFER_PATH,
        "writer-old",
        _refusal(401, CODE, OLD, *TRANSFER_PARAMS),
        id="composed-too-old-names-both-parameters",
    ),
    pytest.param(
        TRANSFER_PATH,
        "writer-weak-old",
        _refusal(401, CODE, f"{WRONG_ACR}; {OLD}", *TRANSFER_PARAMS),
        id="composed-both-failures-described",
    ),
    pytest.param(
        TRANSFER_PATH,
        "reader-weak",
        _refusal(403, "insufficient_scope", f"missing scope: {SCOPE}", f'scope="{SCOPE}"'),
        id="composed-missing-scope-answered-first",
    ),
    pytest.param(ACR_PATH, None, NO_TOKEN, id="no-token"),
]


@pytest.mark.parametrize("adapter", STEP_UP_ADAPTERS)
@pytest.mark.parametrize(("path", "token", "expected"), STEP_UP_CASES)
def test_require_auth_answers_exactly(
    adapter: str,
    path: str,
    token: str | None,
    expected: Observed,
    clients: dict[str, Send],
    step_up_tokens: dict[str, str],
) -> None:
    """401 insufficient_user_authentication with the route's acr_values/max_age, or the view."""
    authorization = [] if token is None else [f"Bearer {step_up_tokens[token]}".encode()]
    assert clients[adapter](path, authorization) == expected


@pytest.mark.parametrize(("path", "token", "expected"), STEP_UP_CASES)
def test_every_adapter_answers_require_auth_alike(
    path: str,
    token: str | None,
    expected: Observed,
    clients: dict[str, Send],
    step_up_tokens: dict[str, str],
) -> None:
    """One request, seven adapters: identical answers."""
    authorization = [] if token is None else [f"Bearer {step_up_tokens[token]}".encode()]
    answers = {name: send(path, authorization) for name, send in clients.items()}
    assert all(answer == expected for answer in answers.values()), answers


# -- configuration ---------------------------------------------------------------------------


def _drf_require_auth(**arguments: Any) -> Any:
    from ..security.apps import ensure_django

    ensure_django()
    from bearerguard.django.rest_framework import RequireAuth

    return RequireAuth(**arguments)


DECORATORS = [
    pytest.param(bg_starlette.require_auth, "require_auth", id="starlette"),
    pytest.param(bg_flask.require_auth, "require_auth", id="flask"),
    pytest.param(bg_wsgi.require_auth, "require_auth", id="wsgi"),
    pytest.param(bg_django.require_auth, "require_auth", id="django"),
    pytest.param(_drf_require_auth, "RequireAuth", id="drf"),
]

BAD_ARGUMENTS = [
    pytest.param({}, "needs acr_values=, max_age= or both", id="nothing-required"),
    pytest.param({"acr_values": []}, "acr_values is empty", id="empty-acr-list"),
    pytest.param({"acr_values": ""}, "each acr value must be", id="empty-acr-string"),
    pytest.param({"acr_values": "mfa hwk"}, "each acr value must be", id="two-values-one-string"),
    pytest.param({"acr_values": ['say "hi"']}, "each acr value must be", id="quote-in-value"),
    pytest.param({"acr_values": ["mfa", "mfa"]}, "lists a value twice", id="value-twice"),
    pytest.param({"acr_values": 7}, "acr_values must be a string or strings", id="acr-number"),
    pytest.param({"max_age": -1}, "max_age must be a non-negative whole", id="negative-max-age"),
    pytest.param({"max_age": 1.5}, "max_age must be a non-negative whole", id="float-max-age"),
    pytest.param({"max_age": True}, "max_age must be a non-negative whole", id="bool-max-age"),
    pytest.param({"max_age": "300"}, "max_age must be a non-negative whole", id="text-max-age"),
    pytest.param({"max_age": 60, "leeway": -1}, "leeway must be", id="negative-leeway"),
    pytest.param({"max_age": 60, "leeway": 301}, "leeway must be at most 300", id="huge-leeway"),
]


@pytest.mark.parametrize(("decorator", "name"), DECORATORS)
@pytest.mark.parametrize(("arguments", "message"), BAD_ARGUMENTS)
def test_require_auth_with_wrong_arguments_is_refused_when_decorating(
    decorator: Callable[..., Any], name: str, arguments: dict[str, Any], message: str
) -> None:
    """A requirement that cannot be met or checked is a ConfigurationError naming it, at once."""
    with pytest.raises(ConfigurationError, match=f"^{name}.*{message}"):
        decorator(**arguments)


def test_starlette_requirement_says_what_it_requires() -> None:
    """The requirement's repr names its acr_values and max_age (it names a failing endpoint)."""
    requirement = bg_starlette.require_auth(acr_values=["mfa", "hwk"], max_age=300)
    assert repr(requirement) == "require_auth(acr_values=('mfa', 'hwk'), max_age=300)"


def test_drf_permission_class_says_what_it_requires() -> None:
    """RequireAuth's class name shows its requirement, as RequireScopes' does."""
    assert _drf_require_auth(acr_values="mfa").__name__ == "RequireAuth(acr_values=('mfa',))"
    assert _drf_require_auth(max_age=0).__name__ == "RequireAuth(max_age=0)"


def test_fastapi_lists_the_scheme_without_scopes_for_require_auth(
    local_issuer: LocalIssuer,
) -> None:
    """OpenAPI: a step-up requirement documents the bearer scheme with no scopes."""
    from bearerguard._settings import GuardSettings

    app = fastapi_app(GuardSettings.from_mapping(table_mapping(local_issuer.url)))
    app.openapi_url = "/openapi.json"
    operation = app.openapi()["paths"][ACR_PATH]["get"]
    assert operation["security"] == [{"bearerAuth": []}]
