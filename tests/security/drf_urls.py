"""URLconf of the Django REST framework variant (``ROOT_URLCONF = "tests.security.drf_urls"``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from bearerguard.django.rest_framework import BearerTokenAuthentication, RequireRoles

from .apps import ROLE, TEXT, ok_body, probe_ran


class Token(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> HttpResponse:
        claims: Any = request.auth  # the verified claims (BearerTokenAuthentication)
        return HttpResponse(ok_body(claims.sub), content_type=TEXT)


class Roles(Token):
    permission_classes = [RequireRoles(ROLE)]


class Probe(APIView):
    """Handles OPTIONS itself (in place of DRF's metadata answer) and POST; records each run."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]

    def options(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return self._answer(request)

    def post(self, request: Request) -> HttpResponse:
        return self._answer(request)

    def _answer(self, request: Request) -> HttpResponse:
        probe_ran(request.method or "", request.body)
        claims: Any = request.auth
        return HttpResponse(ok_body(claims.sub), content_type=TEXT)


urlpatterns = [
    path("token", Token.as_view()),
    path("roles", Roles.as_view()),
    path("probe", Probe.as_view()),
]
