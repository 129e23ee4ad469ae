"""The step-up API on Django REST framework (``RequireAuth`` after ``RequireScopes``)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from bearerguard.django.rest_framework import (
    BearerTokenAuthentication,
    RequireAuth,
    RequireScopes,
)

from .cases import SCOPE, TEXT
from .step_up_apps import ACR_VALUES, MAX_AGE, TRANSFER_ACR


class Sub(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes: list[type[BasePermission]] = []

    def get(self, request: Request) -> HttpResponse:
        claims: Any = request.auth  # the verified claims (BearerTokenAuthentication)
        body = claims.sub.encode()
        return HttpResponse(body, content_type=TEXT, headers={"Content-Length": str(len(body))})


class Acr(Sub):
    permission_classes = [RequireAuth(acr_values=ACR_VALUES)]


class Recent(Sub):
    permission_classes = [RequireAuth(max_age=MAX_AGE)]


class Transfer(Sub):
    permission_classes = [
        RequireScopes(SCOPE),
        RequireAuth(acr_values=TRANSFER_ACR, max_age=MAX_AGE),
    ]


urlpatterns = [
    path("acr", Acr.as_view()),
    path("recent", Recent.as_view()),
    path("transfer", Transfer.as_view()),
]
