"""Django REST framework: BearerTokenAuthentication, HasScopes, RequireScopes, the handler."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import IsAdminUser
from rest_framework.test import APIClient

from bearerguard import ConfigurationError
from bearerguard.django.rest_framework import BearerTokenAuthentication, HasScopes, RequireScopes
from bearerguard.testing import LocalIssuer

from .testapp_backends import RecordingBackend
from .testapp_settings import COMMON_MIDDLEWARE, guard_settings

NO_MIDDLEWARE = [COMMON_MIDDLEWARE]
DEFAULT_HANDLER = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}


def client_with(token: str | None) -> APIClient:
    client = APIClient()
    if token is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.mark.parametrize("middleware", [True, False], ids=["middleware", "alone"])
def test_claims_and_user_reach_the_view_verified_once(
    local_issuer: LocalIssuer, configure: Callable[..., None], middleware: bool
) -> None:
    """request.auth is the claims, request.user the TokenUser; the token is verified once."""
    configure(AUTHENTICATION_BACKENDS=["tests.django.testapp_backends.RecordingBackend"])
    if not middleware:
        configure(MIDDLEWARE=NO_MIDDLEWARE)
    RecordingBackend.calls.clear()
    response = client_with(local_issuer.mint(sub="ann", scopes=["b", "a"])).get("/drf/claims")
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "user": "TokenUser",
        "username": "ann",
        "sub": "ann",
        "scopes": ["a", "b"],
    }
    assert RecordingBackend.calls == ["authenticate"]


@pytest.mark.parametrize("middleware", [True, False], ids=["middleware", "alone"])
def test_no_token_is_401_with_the_bearer_challenge(
    local_issuer: LocalIssuer, configure: Callable[..., None], middleware: bool
) -> None:
    """authenticate_header gives DRF the challenge, so a missing token is 401, not 403."""
    configure(BEARERGUARD=guard_settings(local_issuer, REQUIRED=False, REALM="api"))
    if not middleware:
        configure(MIDDLEWARE=NO_MIDDLEWARE)
    response = APIClient().get("/drf/claims")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response["Cache-Control"] == "no-store"
    assert (
        response.content == b'{"error":"unauthorized","error_description":"bearer token required"}'
    )


@pytest.mark.parametrize(
    ("path", "scopes", "status", "challenge"),
    [
        pytest.param("/drf/scoped", ["write"], 200, None, id="require-scopes"),
        pytest.param(
            "/drf/scoped",
            ["read"],
            403,
            'Bearer error="insufficient_scope", error_description="missing scope: write", '
            'scope="write"',
            id="require-scopes-missing",
        ),
        pytest.param("/drf/view-scopes", ["read", "write"], 200, None, id="has-scopes"),
        pytest.param(
            "/drf/view-scopes",
            ["read"],
            403,
            'Bearer error="insufficient_scope", error_description="missing scope: write", '
            'scope="read write"',
            id="has-scopes-missing",
        ),
        pytest.param("/drf/admin-or-writer", ["write"], 200, None, id="composed"),
        pytest.param(
            "/drf/admin-or-writer",
            [],
            403,
            'Bearer error="insufficient_scope", error_description="missing scope: write", '
            'scope="write"',
            id="composed-missing",
        ),
    ],
)
def test_scope_permissions(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    path: str,
    scopes: list[str],
    status: int,
    challenge: str | None,
) -> None:
    """HasScopes and RequireScopes allow the scopes they name and answer 403 otherwise."""
    configure(MIDDLEWARE=NO_MIDDLEWARE)
    response = client_with(local_issuer.mint(scopes=scopes)).get(path)
    assert response.status_code == status
    assert response.get("WWW-Authenticate") == challenge


@pytest.mark.parametrize(
    ("path", "how", "status", "body"),
    [
        pytest.param("/drf/any-token", "token", 200, b"ann", id="require-scopes-none-token"),
        pytest.param("/drf/any-token", "user", 403, None, id="require-scopes-none-other-auth"),
        pytest.param("/drf/any-token", None, 401, None, id="require-scopes-none-nothing"),
        pytest.param("/drf/any-user", "user", 200, b"bob", id="is-authenticated-other-auth"),
        pytest.param("/drf/any-user", None, 401, None, id="is-authenticated-nothing"),
    ],
)
def test_requiring_a_token_in_drf(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    path: str,
    how: str | None,
    status: int,
    body: bytes | None,
) -> None:
    """RequireScopes() admits verified bearer claims only, IsAuthenticated any signed-in user."""
    configure(MIDDLEWARE=NO_MIDDLEWARE)
    client = client_with(local_issuer.mint(sub="ann") if how == "token" else None)
    if how == "user":
        client.force_authenticate(user=User(username="bob"))  # not saved: no database
    response = client.get(path)
    assert response.status_code == status
    if body is not None:
        assert response.content == body


def test_has_scopes_needs_required_scopes(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """HasScopes on a view without required_scopes is a configuration error, not a 403."""
    configure(MIDDLEWARE=NO_MIDDLEWARE)
    with pytest.raises(ImproperlyConfigured) as caught:
        client_with(local_issuer.mint()).get("/drf/no-view-scopes")
    assert str(caught.value) == (
        "HasScopes: set required_scopes = [...] on NoViewScopes, "
        "or use RequireScopes('scope', ...) in permission_classes"
    )


@pytest.mark.parametrize(
    ("token", "status", "challenge", "body", "headers"),
    [
        pytest.param(
            None,
            401,
            "Bearer",
            {"detail": "Authentication credentials were not provided."},
            {},
            id="no-token",
        ),
        pytest.param(
            "expired",
            401,
            'Bearer error="invalid_token", error_description="exp: token has expired"',
            {"error": "invalid_token", "error_description": "exp: token has expired"},
            {},
            id="expired",
        ),
        pytest.param(
            "read",
            403,
            'Bearer error="insufficient_scope", error_description="missing scope: write", '
            'scope="write"',
            {"error": "insufficient_scope", "error_description": "missing scope: write"},
            {},
            id="missing-scope",
        ),
        pytest.param(
            "down",
            503,
            None,
            {"error": "temporarily_unavailable", "error_description": "signing keys unavailable"},
            {"Retry-After": "30"},
            id="keys-unavailable",
        ),
    ],
)
def test_drf_default_exception_handler(
    local_issuer: LocalIssuer,
    bearerguard_issuer_factory: Callable[..., LocalIssuer],
    configure: Callable[..., None],
    token: str | None,
    status: int,
    challenge: str | None,
    body: dict[str, str],
    headers: dict[str, str],
) -> None:
    """Without bearerguard's handler DRF still answers the status and the exact challenge."""
    configure(MIDDLEWARE=NO_MIDDLEWARE, REST_FRAMEWORK=DEFAULT_HANDLER)
    minted: str | None = None
    if token == "expired":
        minted = local_issuer.mint(expires_in=-3600)
    elif token == "read":
        minted = local_issuer.mint(scopes=["read"])
    elif token == "down":
        down = bearerguard_issuer_factory()
        down.force_status(503)
        configure(BEARERGUARD=guard_settings(down))
        minted = down.mint()
    response = client_with(minted).get("/drf/scoped")
    assert response.status_code == status
    assert response.get("WWW-Authenticate") == challenge
    assert json.loads(response.content) == body
    for name, value in headers.items():
        assert response[name] == value


def test_authenticate_header_is_the_bare_challenge(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """RFC 6750 §3.1: the challenge for a request without credentials has no error code."""
    configure(BEARERGUARD=guard_settings(local_issuer, REALM="orders"))
    # No request at all: the challenge does not depend on one.
    assert BearerTokenAuthentication().authenticate_header(None) == 'Bearer realm="orders"'  # type: ignore[arg-type]


def test_require_scopes_makes_a_named_permission_class() -> None:
    """RequireScopes(...) is a HasScopes subclass that composes with DRF's operators."""
    permission = RequireScopes("orders:read", "orders:write")
    assert issubclass(permission, HasScopes)
    assert permission.__name__ == "RequireScopes('orders:read', 'orders:write')"
    assert permission.required_scopes == ("orders:read", "orders:write")
    assert (IsAdminUser | permission) is not None


def test_require_scopes_checks_its_scopes() -> None:
    """A scope with a space is refused when the class is made."""
    with pytest.raises(ConfigurationError) as caught:
        RequireScopes("orders:read orders:write")
    assert str(caught.value) == (
        "RequireScopes: each scope must be one non-empty scope token, "
        "got 'orders:read orders:write'"
    )


def test_request_without_claims_is_not_permitted() -> None:
    """Authenticated some other way (no token claims in request.auth): permission refused."""

    class Request:
        auth: Any = None

    permission = RequireScopes("write")()
    # A stand-in request and a view that is no APIView, on purpose.
    assert permission.has_permission(Request(), object()) is False  # type: ignore[arg-type]


# Run in a fresh interpreter: DRF's APIView copies DEFAULT_AUTHENTICATION_CLASSES and
# DEFAULT_PERMISSION_CLASSES into its class body when rest_framework.views is first
# imported, so only a new process shows which settings that first import saw.
_FIRST_IMPORT = """
import json, sys
from django.test.utils import override_settings
if sys.argv[1] == "tests/django":
    import tests.django.conftest
else:
    from tests.security.apps import ensure_django
    ensure_django()
with override_settings(REST_FRAMEWORK={}):  # a test's own REST_FRAMEWORK, DRF's defaults
    from rest_framework.views import APIView
names = [f"{c.__module__}.{c.__qualname__}" for c in APIView.authentication_classes]
names += [f"{c.__module__}.{c.__qualname__}" for c in APIView.permission_classes]
print(json.dumps(names))
"""


@pytest.mark.parametrize(
    "configured_by",
    [
        pytest.param("tests/django", id="tests-django-conftest"),
        pytest.param("tests/security", id="ensure-django"),
    ],
)
def test_apiview_defaults_are_fixed_when_the_tests_configure_django(configured_by: str) -> None:
    """A test overriding REST_FRAMEWORK before any DRF view loads cannot change APIView's
    defaults for the views that rely on them (tests.django.testapp_drf's Claims)."""
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_IMPORT, configured_by],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(done.stdout) == [
        "bearerguard.django.rest_framework.BearerTokenAuthentication",
        "rest_framework.permissions.IsAuthenticated",
    ]
