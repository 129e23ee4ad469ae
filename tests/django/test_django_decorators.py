"""@require_scopes on sync, async and class-based views, with and without the middleware."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient, Client

from bearerguard import ConfigurationError
from bearerguard.django import require_scopes
from bearerguard.testing import LocalIssuer

from .testapp_backends import RecordingBackend
from .testapp_settings import COMMON_MIDDLEWARE, guard_settings

NO_TOKEN = "Bearer"
NO_TOKEN_BODY = b'{"error":"unauthorized","error_description":"bearer token required"}'
WITHOUT_MIDDLEWARE = [COMMON_MIDDLEWARE, "django.middleware.csrf.CsrfViewMiddleware"]


def scope_challenge(required: str, missing: str) -> str:
    return (
        f'Bearer error="insufficient_scope", error_description="missing scope: {missing}", '
        f'scope="{required}"'
    )


def get(client: str, path: str, token: str | None) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    if client == "asgi":
        return async_to_sync(AsyncClient().get)(path, headers=headers)
    return Client().get(path, headers=headers)


@pytest.mark.parametrize("client", ["wsgi", "asgi"])
@pytest.mark.parametrize("middleware", [True, False], ids=["middleware", "alone"])
@pytest.mark.parametrize(
    ("path", "scopes", "status", "challenge"),
    [
        pytest.param("/decorated/two", None, 401, NO_TOKEN, id="no-token"),
        pytest.param(
            "/decorated/two", ["read"], 403, scope_challenge("read write", "write"), id="one-of-two"
        ),
        pytest.param(
            "/decorated/two", [], 403, scope_challenge("read write", "read write"), id="none"
        ),
        pytest.param("/decorated/two", ["write", "read", "x"], 200, None, id="both"),
        pytest.param("/decorated/any", None, 401, NO_TOKEN, id="any-no-token"),
        pytest.param("/decorated/any", [], 200, None, id="any-token"),
        pytest.param(
            "/decorated/async", ["read"], 403, scope_challenge("write", "write"), id="async"
        ),
        pytest.param("/decorated/async", ["write"], 200, None, id="async-ok"),
        pytest.param(
            "/decorated/class", ["read"], 403, scope_challenge("write", "write"), id="cbv"
        ),
        pytest.param("/decorated/class", ["write"], 200, None, id="cbv-ok"),
        pytest.param("/decorated/token", None, 401, NO_TOKEN, id="require-token-no-token"),
        pytest.param("/decorated/token", [], 200, None, id="require-token"),
        pytest.param(
            "/decorated/async-token", None, 401, NO_TOKEN, id="async-require-token-no-token"
        ),
        pytest.param("/decorated/async-token", [], 200, None, id="async-require-token"),
    ],
)
def test_require_scopes(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    client: str,
    middleware: bool,
    path: str,
    scopes: list[str] | None,
    status: int,
    challenge: str | None,
) -> None:
    """401 without a token, 403 naming the required scopes without them, else the view.

    ``@require_token`` is ``@require_scopes()``: any verified token.
    """
    configure(BEARERGUARD=guard_settings(local_issuer, REQUIRED=False))
    if not middleware:
        configure(MIDDLEWARE=WITHOUT_MIDDLEWARE)
    token = None if scopes is None else local_issuer.mint(sub="ann", scopes=scopes)
    response = get(client, path, token)
    assert response.status_code == status
    assert response.get("WWW-Authenticate") == challenge
    if status == 200:
        assert json.loads(response.content)["claims_sub"] == "ann"
    if status == 401:
        assert response.content == NO_TOKEN_BODY


@pytest.mark.parametrize(
    ("header", "status"),
    [
        pytest.param("Bearer abc", 401, id="bad-token"),
        pytest.param("Bearer a b", 400, id="malformed"),
        pytest.param("Basic dXNlcjpwYXNz", 401, id="other-scheme"),
    ],
)
def test_decorator_alone_answers_as_the_middleware(
    configure: Callable[..., None], header: str, status: int
) -> None:
    """Without the middleware the decorator itself refuses, with the same bytes."""
    headers = {"Authorization": header}
    with_middleware = Client().get("/decorated/any", headers=headers)
    configure(MIDDLEWARE=WITHOUT_MIDDLEWARE)
    alone = Client().get("/decorated/any", headers=headers)
    assert alone.status_code == with_middleware.status_code == status
    assert alone["WWW-Authenticate"] == with_middleware["WWW-Authenticate"]
    assert alone.content == with_middleware.content


@pytest.mark.parametrize("client", ["wsgi", "asgi"])
def test_async_view_is_verified_the_async_way(
    local_issuer: LocalIssuer, configure: Callable[..., None], client: str
) -> None:
    """An async view decorated alone is authenticated with aauthenticate, under WSGI too."""
    configure(
        MIDDLEWARE=WITHOUT_MIDDLEWARE,
        AUTHENTICATION_BACKENDS=["tests.django.testapp_backends.RecordingBackend"],
    )
    RecordingBackend.calls.clear()
    response = get(client, "/decorated/async", local_issuer.mint(scopes=["write"]))
    assert response.status_code == 200
    assert RecordingBackend.calls == ["aauthenticate"]


def test_sync_view_is_verified_the_sync_way(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """A sync view decorated alone is authenticated with authenticate."""
    configure(
        MIDDLEWARE=WITHOUT_MIDDLEWARE,
        AUTHENTICATION_BACKENDS=["tests.django.testapp_backends.RecordingBackend"],
    )
    RecordingBackend.calls.clear()
    response = get("wsgi", "/decorated/any", local_issuer.mint())
    assert response.status_code == 200
    assert RecordingBackend.calls == ["authenticate"]


def test_decorated_views_are_csrf_exempt(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """A decorated view runs only with a bearer token, so CSRF checks do not apply."""
    configure(MIDDLEWARE=WITHOUT_MIDDLEWARE)
    response = Client(enforce_csrf_checks=True).post(
        "/decorated/any", headers={"Authorization": f"Bearer {local_issuer.mint()}"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("scopes", "message"),
    [
        pytest.param(("",), "require_scopes: each scope must be one non-empty scope token, got ''"),
        pytest.param(
            ("a b",), "require_scopes: each scope must be one non-empty scope token, got 'a b'"
        ),
        pytest.param(
            ("a", 1), "require_scopes: each scope must be one non-empty scope token, got 1"
        ),
    ],
)
def test_bad_scopes_fail_at_decoration(scopes: tuple[Any, ...], message: str) -> None:
    """A scope that is not one scope token is a programming error, raised at import time."""
    with pytest.raises(ConfigurationError) as caught:
        require_scopes(*scopes)
    assert str(caught.value) == message


def test_decorator_keeps_the_view_name() -> None:
    """functools.wraps: the decorated view keeps its name and docstring."""

    @require_scopes("read")
    def orders(request: Any) -> None:
        """List orders."""

    assert (orders.__name__, orders.__doc__) == ("orders", "List orders.")
