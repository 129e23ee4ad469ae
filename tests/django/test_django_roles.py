"""require_roles (views) and RequireRoles/HasRoles (Django REST framework).

The views are in :mod:`tests.django.testapp_roles`. A missing role is 403
``insufficient_scope`` without a ``scope`` attribute, the missing roles
described: the bytes every adapter sends (see tests/adapters/test_roles.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client

from bearerguard import ConfigurationError
from bearerguard.django import require_roles
from bearerguard.django.rest_framework import RequireRoles
from bearerguard.testing import LocalIssuer

from .testapp_settings import COMMON_MIDDLEWARE, guard_settings

ROLES_URLCONF = "tests.django.testapp_roles"
WITHOUT_MIDDLEWARE = [COMMON_MIDDLEWARE, "django.middleware.csrf.CsrfViewMiddleware"]
NO_TOKEN_BODY = b'{"error":"unauthorized","error_description":"bearer token required"}'


def role_refusal(description: str) -> tuple[str, bytes]:
    """The challenge and body of a 403 for missing roles."""
    challenge = f'Bearer error="insufficient_scope", error_description="{description}"'
    body = json.dumps(
        {"error": "insufficient_scope", "error_description": description}, separators=(",", ":")
    )
    return challenge, body.encode()


def get(client: str, path: str, token: str | None) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    if client == "asgi":
        return async_to_sync(AsyncClient().get)(path, headers=headers)
    return Client().get(path, headers=headers)


@pytest.fixture(autouse=True)
def roles_urls(local_issuer: LocalIssuer, configure: Callable[..., None]) -> None:
    configure(ROOT_URLCONF=ROLES_URLCONF, BEARERGUARD=guard_settings(local_issuer))


CASES = [
    pytest.param("/admin", ["admin"], 200, None, id="has-the-role"),
    pytest.param("/admin", ["user"], 403, "missing role: admin", id="missing-role"),
    pytest.param("/admin", [], 403, "missing role: admin", id="no-roles-claim"),
    pytest.param("/admin", None, 401, None, id="no-token"),
    pytest.param("/auditor-admin", ["admin", "auditor"], 200, None, id="both-roles"),
    pytest.param("/auditor-admin", ["admin"], 403, "missing role: auditor", id="one-missing"),
    pytest.param(
        "/auditor-admin", ["x"], 403, "missing role: admin, auditor", id="both-missing-sorted"
    ),
    pytest.param("/async-admin", ["admin"], 200, None, id="async-has-the-role"),
    pytest.param("/async-admin", ["user"], 403, "missing role: admin", id="async-missing-role"),
]


@pytest.mark.parametrize("client", ["wsgi", "asgi"])
@pytest.mark.parametrize("middleware", [True, False], ids=["middleware", "alone"])
@pytest.mark.parametrize(("path", "roles", "status", "description"), CASES)
def test_require_roles_view_decorator(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    client: str,
    middleware: bool,
    path: str,
    roles: list[str] | None,
    status: int,
    description: str | None,
) -> None:
    """The view runs with every role; 403 naming the missing roles; 401 without a token."""
    if not middleware:
        configure(MIDDLEWARE=WITHOUT_MIDDLEWARE)
    token = None if roles is None else local_issuer.mint(sub="ann", roles=roles)
    response = get(client, path, token)
    assert response.status_code == status
    if status == 200:
        assert response.content == b"ann"
    elif status == 401:
        assert (response["WWW-Authenticate"], response.content) == ("Bearer", NO_TOKEN_BODY)
    else:
        assert description is not None
        challenge, body = role_refusal(description)
        assert (response["WWW-Authenticate"], response.content) == (challenge, body)


@pytest.mark.parametrize(
    ("path", "roles", "status", "description"),
    [
        pytest.param("/drf/admin", ["admin"], 200, None, id="require-roles"),
        pytest.param(
            "/drf/admin", ["user"], 403, "missing role: admin", id="require-roles-missing"
        ),
        pytest.param("/drf/admin", None, 401, None, id="require-roles-no-token"),
        pytest.param("/drf/auditor-admin", ["auditor", "admin"], 200, None, id="two-roles"),
        pytest.param(
            "/drf/auditor-admin", ["admin"], 403, "missing role: auditor", id="two-roles-missing"
        ),
        pytest.param("/drf/view-roles", ["admin"], 200, None, id="has-roles"),
        pytest.param("/drf/view-roles", [], 403, "missing role: admin", id="has-roles-missing"),
        pytest.param("/drf/staff-or-support", ["support"], 200, None, id="composed"),
        pytest.param(
            "/drf/staff-or-support", [], 403, "missing role: support", id="composed-missing"
        ),
    ],
)
def test_role_permissions_in_drf(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    path: str,
    roles: list[str] | None,
    status: int,
    description: str | None,
) -> None:
    """RequireRoles and HasRoles: the view with every role, else bearerguard's exact 403."""
    configure(MIDDLEWARE=[])
    token = None if roles is None else local_issuer.mint(sub="ann", roles=roles)
    response = get("wsgi", path, token)
    assert response.status_code == status
    if status == 200:
        assert response.content == b"ann"
    elif status == 401:
        assert (response["WWW-Authenticate"], response.content) == ("Bearer", NO_TOKEN_BODY)
    else:
        assert description is not None
        assert (response["WWW-Authenticate"], response.content) == role_refusal(description)


def test_has_roles_needs_required_roles(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """HasRoles on a view without required_roles is a configuration error, not a 403."""
    configure(MIDDLEWARE=[])
    with pytest.raises(ImproperlyConfigured) as caught:
        get("wsgi", "/drf/no-view-roles", local_issuer.mint(roles=["admin"]))
    assert str(caught.value) == (
        "HasRoles: set required_roles = [...] on DrfNoViewRoles, "
        "or use RequireRoles('role', ...) in permission_classes"
    )


@pytest.mark.parametrize(
    "factory",
    [pytest.param(require_roles, id="view-decorator"), pytest.param(RequireRoles, id="drf")],
)
@pytest.mark.parametrize("roles", [pytest.param((), id="none"), pytest.param(("",), id="empty")])
def test_requiring_no_role_is_a_configuration_error(
    factory: Callable[..., Any], roles: tuple[str, ...]
) -> None:
    """An empty role list must not let every token through: refused at import time."""
    with pytest.raises(ConfigurationError, match=r"needs at least one role|non-empty string"):
        factory(*roles)


def test_require_roles_permission_has_a_readable_name() -> None:
    """The generated class names its roles (for DRF's error pages and the shell)."""
    assert RequireRoles("admin", "support").__name__ == "RequireRoles('admin', 'support')"


def test_claim_sources_setting_decides_where_roles_come_from(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """BEARERGUARD["CLAIM_SOURCES"]: Keycloak's realm roles, not the top-level roles claim."""
    configure(
        BEARERGUARD=guard_settings(local_issuer, CLAIM_SOURCES={"ROLES": "/realm_access/roles"})
    )
    realm = local_issuer.mint(sub="ann", realm_access={"roles": ["admin"]})
    top_level = local_issuer.mint(sub="ann", roles=["admin"])
    assert get("wsgi", "/admin", realm).status_code == 200
    assert get("wsgi", "/drf/admin", realm).status_code == 200
    assert get("wsgi", "/admin", top_level).status_code == 403
