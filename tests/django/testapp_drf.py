"""Django REST framework views: the table's API and more.

``ROOT_URLCONF = "tests.django.testapp_drf"``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import AllowAny, IsAdminUser, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bearerguard import AccessClaims, StandardClaims
from bearerguard.django.rest_framework import (
    BearerTokenAuthentication,
    HasScopes,
    RequireScopes,
)
from tests.adapters.cases import TEXT

SCOPE = "write"


def claims_in(request: Request) -> StandardClaims:
    """``request.auth``: the claims BearerTokenAuthentication verified."""
    claims = request.auth
    assert isinstance(claims, StandardClaims), f"request.auth is a {type(claims).__name__}"
    return claims


def access_claims_in(request: Request) -> AccessClaims:
    """``request.auth`` as access-token claims (the default claims type, with scopes)."""
    claims = claims_in(request)
    assert isinstance(claims, AccessClaims), f"request.auth is a {type(claims).__name__}"
    return claims


class Token(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(claims_in(request).sub, content_type=TEXT)


class Scoped(Token):
    permission_classes = [RequireScopes(SCOPE)]


class Public(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(b"public", content_type=TEXT)


class Claims(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response(
            {
                "user": type(request.user).__name__,
                "username": request.user.get_username(),
                "sub": access_claims_in(request).sub,
                "scopes": sorted(access_claims_in(request).scopes),
            }
        )


class ViewScopes(Claims):
    permission_classes = [HasScopes]
    required_scopes = ["read", SCOPE]


class NoViewScopes(Claims):
    permission_classes = [HasScopes]


class AnyToken(APIView):
    """Requires verified bearer claims, whatever authenticated the user."""

    permission_classes = [RequireScopes()]

    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(claims_in(request).sub, content_type=TEXT)


class AnyUser(AnyToken):
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(request.user.get_username(), content_type=TEXT)


class AdminOrWriter(Claims):
    permission_classes = [IsAdminUser | RequireScopes(SCOPE)]


urlpatterns = [
    path("token", Token.as_view()),
    path("scoped", Scoped.as_view()),
    path("public", Public.as_view()),
]

drf_patterns = [
    path("drf/claims", Claims.as_view()),
    path("drf/scoped", Scoped.as_view()),
    path("drf/view-scopes", ViewScopes.as_view()),
    path("drf/no-view-scopes", NoViewScopes.as_view()),
    path("drf/admin-or-writer", AdminOrWriter.as_view()),
    path("drf/any-token", AnyToken.as_view()),
    path("drf/any-user", AnyUser.as_view()),
]
