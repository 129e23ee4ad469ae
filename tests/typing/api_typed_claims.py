"""Typed claims: what each adapter's dependency or accessor returns to type checkers."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from fastapi import FastAPI
from rest_framework.request import Request
from starlette.requests import HTTPConnection
from starlette.responses import Response
from typing_extensions import assert_type

from bearerguard import AccessClaims, StandardClaims
from bearerguard.django import claims_of
from bearerguard.flask import current_claims
from bearerguard.starlette import ScopeRequirement, require_scopes, require_token


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderClaims(AccessClaims):
    tenant: str = "public"


def requirements_are_generic_in_their_claims() -> None:
    assert_type(require_token, ScopeRequirement[AccessClaims])
    assert_type(require_scopes("orders:read"), ScopeRequirement[AccessClaims])
    assert_type(
        require_scopes("orders:read", claims_type=OrderClaims), ScopeRequirement[OrderClaims]
    )
    assert_type(require_scopes(claims_type=StandardClaims), ScopeRequirement[StandardClaims])


def fastapi_dependencies_are_typed() -> None:
    assert_type(require_token.depends(), AccessClaims)
    assert_type(require_scopes("orders:read").depends(), AccessClaims)
    assert_type(require_scopes("orders:read", claims_type=OrderClaims).depends(), OrderClaims)


def fastapi_routes_declare_the_claims(app: FastAPI) -> None:
    @app.get("/orders")
    def orders(claims: AccessClaims = require_scopes("orders:read").depends()) -> str:
        return str(claims.sub)

    @app.get("/tenant")
    def tenant(claims: OrderClaims = require_scopes(claims_type=OrderClaims).depends()) -> str:
        return claims.tenant


async def starlette_requirements_check_or_decorate(connection: HTTPConnection) -> None:
    async def orders(connection: HTTPConnection) -> Response:
        return Response(b"[]")

    assert_type(require_scopes("orders:read")(connection), AccessClaims)
    assert_type(require_scopes(claims_type=OrderClaims).check(connection), OrderClaims)
    assert_type(await require_scopes("orders:read")(orders)(connection), Response)


def flask_current_claims_is_typed() -> None:
    assert_type(current_claims(), AccessClaims | None)
    assert_type(current_claims(OrderClaims), OrderClaims | None)


def django_claims_of_is_typed(request: HttpRequest, drf_request: Request) -> None:
    assert_type(claims_of(request), AccessClaims | None)
    assert_type(claims_of(request, OrderClaims), OrderClaims | None)
    assert_type(claims_of(drf_request), AccessClaims | None)
