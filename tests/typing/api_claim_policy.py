"""The claim policy: ClaimSources, required_claims, checks, require_roles in every adapter."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from typing_extensions import assert_type

from bearerguard import (
    AccessClaims,
    ClaimSources,
    InsufficientRole,
    Validator,
    require_roles,
)
from bearerguard.claims import ClaimSources as ClaimsModuleSources
from bearerguard.django import require_roles as django_require_roles
from bearerguard.django.rest_framework import HasRoles, RequireRoles
from bearerguard.flask import require_roles as flask_require_roles
from bearerguard.starlette import ScopeRequirement
from bearerguard.starlette import require_roles as starlette_require_roles
from bearerguard.wsgi import require_roles as wsgi_require_roles


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantClaims(AccessClaims):
    tid: str | None = None


def sources_are_one_class(payload: Mapping[str, Any]) -> None:
    assert ClaimSources is ClaimsModuleSources
    keycloak = ClaimSources(roles=["/realm_access/roles"], client_id="azp")
    assert_type(AccessClaims.from_payload(payload, keycloak), AccessClaims)
    assert_type(AccessClaims.from_payload(payload).roles, frozenset[str])
    assert_type(AccessClaims.from_payload(payload).client_id, str | None)


def tenant_allowed(claims: TenantClaims) -> str | None:
    return None if claims.tid == "t1" else "tid: tenant not allowed"


def failures_of(claims: AccessClaims) -> Iterator[str]:
    if "admin" in claims.roles:
        yield "roles: admin tokens are not accepted here"


def validators_take_the_policy() -> Validator:
    return Validator(
        ignore_aud=True,
        required_claims={"token_use": "access", "client_id": {"web", "mobile"}},
        checks=[tenant_allowed, failures_of, lambda claims: ["a: b"]],
        claim_sources=ClaimSources(roles="cognito:groups"),
    )


def roles_in_the_core(claims: AccessClaims) -> None:
    assert_type(require_roles(claims, "admin"), None)
    error = InsufficientRole(["admin"], ["admin"])
    assert_type(error.missing, tuple[str, ...])


def view(request: Any) -> str:
    return "ok"


def roles_in_every_adapter() -> None:
    # The decorators keep the view's own type.
    flask_view: Callable[[Any], str] = flask_require_roles("admin")(view)
    django_view: Callable[[Any], str] = django_require_roles("admin")(view)
    assert flask_view is not django_view
    wsgi_require_roles("admin")
    assert_type(starlette_require_roles("admin"), ScopeRequirement[AccessClaims])
    assert_type(
        starlette_require_roles("admin", claims_type=TenantClaims), ScopeRequirement[TenantClaims]
    )
    assert_type(starlette_require_roles("admin").depends(), AccessClaims)
    assert_type(RequireRoles("admin"), type[HasRoles])
