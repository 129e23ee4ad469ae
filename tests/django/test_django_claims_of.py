"""claims_of(request): the verified claims, of the type the caller names, for views and DRF."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.http import HttpRequest, JsonResponse
from django.test import Client
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bearerguard import AccessClaims, ConfigurationError, claim
from bearerguard.django import claims_of
from bearerguard.testing import LocalIssuer

from .testapp_settings import guard_settings


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantClaims(AccessClaims):
    tenant: str = claim("tenant", default="public")


def subject(request: HttpRequest) -> JsonResponse:
    claims = claims_of(request)
    return JsonResponse({"sub": None if claims is None else claims.sub})


def tenant(request: HttpRequest) -> JsonResponse:
    claims = claims_of(request, TenantClaims)
    return JsonResponse({"tenant": None if claims is None else claims.tenant})


class DrfSubject(APIView):
    def get(self, request: Request) -> Response:
        claims = claims_of(request)
        return Response({"sub": None if claims is None else claims.sub})


urlpatterns = [
    path("subject", subject),
    path("tenant", tenant),
    path("drf", DrfSubject.as_view()),
]


@pytest.fixture(autouse=True)
def these_views(configure: Callable[..., None]) -> None:
    configure(ROOT_URLCONF=__name__)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("view", ["/subject", "/drf"], ids=["django-view", "drf-view"])
def test_claims_of_returns_the_verified_claims(local_issuer: LocalIssuer, view: str) -> None:
    """A Django request and a DRF Request both give the claims the middleware verified."""
    response = Client().get(view, headers=bearer(local_issuer.mint(sub="erin")))
    assert response.json() == {"sub": "erin"}


def test_claims_of_without_a_token_is_none(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """With REQUIRED False an anonymous request reaches the view, and claims_of gives None."""
    configure(BEARERGUARD=guard_settings(local_issuer, REQUIRED=False))
    assert Client().get("/subject").json() == {"sub": None}


def test_claims_of_with_the_configured_claims_type(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """claims_of(request, TenantClaims) returns the claims CLAIMS_TYPE built."""
    configure(BEARERGUARD=guard_settings(local_issuer, CLAIMS_TYPE=f"{__name__}.TenantClaims"))
    response = Client().get("/tenant", headers=bearer(local_issuer.mint(tenant="acme")))
    assert response.json() == {"tenant": "acme"}


def test_claims_of_another_type_names_the_setting(local_issuer: LocalIssuer) -> None:
    """Asking for a claims type CLAIMS_TYPE does not build is a configuration error."""
    with pytest.raises(ConfigurationError) as raised:
        Client().get("/tenant", headers=bearer(local_issuer.mint()))
    assert str(raised.value) == (
        "claims_of(request, TenantClaims) returns TenantClaims but the verified claims are "
        'AccessClaims: set BEARERGUARD["CLAIMS_TYPE"] to TenantClaims, or pass '
        "claims_type=AccessClaims"
    )
