"""django-cors-headers in front of bearerguard: preflights, cross-origin requests, the order.

The project is set up as django-cors-headers documents it: ``corsheaders`` in
``INSTALLED_APPS`` and ``CorsMiddleware`` at the top of ``MIDDLEWARE``, above
``CommonMiddleware`` and ``BearerTokenMiddleware``. ``CorsMiddleware`` answers
preflights itself and adds CORS headers to every response; bearerguard makes
no exception for ``OPTIONS``, so no view runs for a request without a token.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client

from bearerguard.testing import LocalIssuer

from .testapp_cors import RUNS, SCOPE
from .testapp_settings import BEARER_MIDDLEWARE, COMMON_MIDDLEWARE, guard_settings

CORS_MIDDLEWARE = "corsheaders.middleware.CorsMiddleware"
CSRF_MIDDLEWARE = "django.middleware.csrf.CsrfViewMiddleware"
ORIGIN = "https://app.example"
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "GET",
    "Access-Control-Request-Headers": "authorization",
}
MISSING = "Bearer"
INVALID = 'Bearer error="invalid_token", error_description='
SCOPED_VIEWS = ["/api/scoped", "/api/scoped-async", "/api/class", "/api/drf"]

# The middleware stacks a project may run, as django-cors-headers asks: CorsMiddleware first.
STACKS = {
    "middleware": [CORS_MIDDLEWARE, COMMON_MIDDLEWARE, CSRF_MIDDLEWARE, BEARER_MIDDLEWARE],
    "views-only": [CORS_MIDDLEWARE, COMMON_MIDDLEWARE, CSRF_MIDDLEWARE],
}


@pytest.fixture(autouse=True)
def cors_project(configure: Callable[..., None]) -> None:
    """The CORS test project: testapp_cors's views, one allowed origin, the challenge exposed."""
    configure(
        ROOT_URLCONF="tests.django.testapp_cors",
        MIDDLEWARE=STACKS["middleware"],
        CORS_ALLOWED_ORIGINS=[ORIGIN],
        CORS_EXPOSE_HEADERS=["WWW-Authenticate"],
    )
    RUNS.clear()


def send(client: str, method: str, path: str, headers: dict[str, str]) -> Any:
    if client == "wsgi":
        return getattr(Client(), method)(path, headers=headers)
    return async_to_sync(getattr(AsyncClient(), method))(path, headers=headers)


def bearer(token: str) -> dict[str, str]:
    return {"Origin": ORIGIN, "Authorization": f"Bearer {token}"}


# -- preflights -----------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["wsgi", "asgi"])
@pytest.mark.parametrize("stack", list(STACKS))
@pytest.mark.parametrize("path", ["/api/plain", *SCOPED_VIEWS])
def test_preflight_is_answered_by_cors_middleware_and_runs_no_view(
    client: str, stack: str, path: str, configure: Callable[..., None]
) -> None:
    """A preflight gets 200 and the CORS headers from CorsMiddleware; no view runs."""
    configure(MIDDLEWARE=STACKS[stack])
    response = send(client, "options", path, PREFLIGHT)
    assert response.status_code == 200
    assert response.content == b""
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "authorization" in response["Access-Control-Allow-Headers"].split(", ")
    assert "GET" in response["Access-Control-Allow-Methods"].split(", ")
    assert "WWW-Authenticate" not in response
    assert RUNS == []


@pytest.mark.parametrize("client", ["wsgi", "asgi"])
@pytest.mark.parametrize(
    ("stack", "required", "path"),
    [
        *[pytest.param("middleware", True, path, id=f"required-{path}")
          for path in ["/api/plain", *SCOPED_VIEWS]],
        *[pytest.param("middleware", False, path, id=f"optional-{path}") for path in SCOPED_VIEWS],
        *[pytest.param("views-only", True, path, id=f"views-only-{path}") for path in SCOPED_VIEWS],
    ],
)  # fmt: skip
def test_preflight_cors_middleware_does_not_answer_runs_no_view(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    client: str,
    stack: str,
    required: bool,
    path: str,
) -> None:
    """An OPTIONS preflight outside CORS_URLS_REGEX is authenticated: 401, and no view runs.

    Views that handle OPTIONS themselves (View.options, APIView.options) stay
    behind @require_scopes on dispatch and DRF's permission check.
    """
    configure(
        MIDDLEWARE=STACKS[stack],
        CORS_URLS_REGEX=r"^/elsewhere/",
        BEARERGUARD=guard_settings(local_issuer, REQUIRED=required),
    )
    response = send(client, "options", path, PREFLIGHT)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == MISSING
    assert "Access-Control-Allow-Origin" not in response
    assert RUNS == []


# -- the cross-origin request itself ---------------------------------------------------------


@pytest.mark.parametrize("client", ["wsgi", "asgi"])
@pytest.mark.parametrize("stack", list(STACKS))
@pytest.mark.parametrize("path", SCOPED_VIEWS)
@pytest.mark.parametrize(
    ("token", "status", "challenge"),
    [
        pytest.param(None, 401, MISSING, id="no-token"),
        pytest.param("not-a-jwt", 401, INVALID, id="bad-token"),
        pytest.param(
            "no-scope",
            403,
            f'Bearer error="insufficient_scope", error_description="missing scope: {SCOPE}", '
            f'scope="{SCOPE}"',
            id="without-the-scope",
        ),
    ],
)
def test_refusal_of_a_cross_origin_request_carries_cors_headers(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    client: str,
    stack: str,
    path: str,
    token: str | None,
    status: int,
    challenge: str,
) -> None:
    """No token, a bad one or too few scopes: the refusal is readable by the page (ACAO set)."""
    configure(MIDDLEWARE=STACKS[stack])
    if token is None:
        headers = {"Origin": ORIGIN}
    else:
        headers = bearer(local_issuer.mint(scopes=["profile"]) if token == "no-scope" else token)
    response = send(client, "get", path, headers)
    assert response.status_code == status
    if challenge == INVALID:  # the parser's own wording is not this file's concern
        assert response["WWW-Authenticate"].startswith(INVALID)
    else:
        assert response["WWW-Authenticate"] == challenge
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert response["Access-Control-Expose-Headers"] == "WWW-Authenticate"
    assert "origin" in response["Vary"].lower().split(", ")
    assert RUNS == []


@pytest.mark.parametrize("client", ["wsgi", "asgi"])
@pytest.mark.parametrize("stack", list(STACKS))
@pytest.mark.parametrize("path", SCOPED_VIEWS)
def test_cross_origin_request_with_a_token_reaches_the_view(
    local_issuer: LocalIssuer, configure: Callable[..., None], client: str, stack: str, path: str
) -> None:
    """With a valid token the view runs once and the response carries the CORS headers."""
    configure(MIDDLEWARE=STACKS[stack])
    response = send(client, "get", path, bearer(local_issuer.mint(sub="ann", scopes=[SCOPE])))
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert len(RUNS) == 1
    assert RUNS[0].endswith("GET")
    if path == "/api/drf":
        assert json.loads(response.content) == {"sub": "ann"}


# -- where CorsMiddleware goes ----------------------------------------------------------------


def test_cors_middleware_after_bearer_middleware_stops_the_server(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """CorsMiddleware below BearerTokenMiddleware: ImproperlyConfigured, not broken preflights."""
    configure(MIDDLEWARE=[COMMON_MIDDLEWARE, CSRF_MIDDLEWARE, BEARER_MIDDLEWARE, CORS_MIDDLEWARE])
    with pytest.raises(ImproperlyConfigured) as caught:
        Client().options("/api/scoped", headers=PREFLIGHT)
    assert str(caught.value) == (
        f"settings.MIDDLEWARE: put {BEARER_MIDDLEWARE!r} after {CORS_MIDDLEWARE!r}: placed "
        "before it, CORS preflights would be refused with 401 and refusals would carry no CORS "
        "headers, so browsers could read neither"
    )
    assert RUNS == []
