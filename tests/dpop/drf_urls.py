"""The DPoP tests' API as a DRF view (``ROOT_URLCONF = "tests.dpop.drf_urls"``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from bearerguard.django.rest_framework import BearerTokenAuthentication, RequireScopes

from ..adapters.cases import SCOPE, TEXT


class Token(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> HttpResponse:
        claims: Any = request.auth  # the verified claims (BearerTokenAuthentication)
        body = claims.sub.encode()
        return HttpResponse(body, content_type=TEXT, headers={"Content-Length": str(len(body))})

    post = get


class Scoped(Token):
    permission_classes = [RequireScopes(SCOPE)]


urlpatterns = [path("token", Token.as_view()), path("scoped", Scoped.as_view())]
