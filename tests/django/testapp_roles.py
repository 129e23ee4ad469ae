"""Views that require roles (``ROOT_URLCONF = "tests.django.testapp_roles"``).

Each answers ``text/plain`` with the token's ``sub``, as ``adapters.cases``'
views do: ``/admin`` needs role ``admin``, ``/auditor-admin`` roles
``auditor`` and ``admin``; the ``async-`` views are async, the ``drf/``
views Django REST framework views.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.views import APIView

from bearerguard.django import claims_of, require_roles
from bearerguard.django.rest_framework import (
    BearerTokenAuthentication,
    HasRoles,
    RequireRoles,
)
from tests.adapters.cases import TEXT


def _sub(request: HttpRequest | Request) -> HttpResponse:
    claims = claims_of(request)
    assert claims is not None
    return HttpResponse(claims.sub, content_type=TEXT)


@require_roles("admin")
def admin(request: HttpRequest) -> HttpResponse:
    return _sub(request)


@require_roles("auditor", "admin")
def auditor_admin(request: HttpRequest) -> HttpResponse:
    return _sub(request)


@require_roles("admin")
async def async_admin(request: HttpRequest) -> HttpResponse:
    return _sub(request)


class DrfAdmin(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [RequireRoles("admin")]

    def get(self, request: Request) -> HttpResponse:
        return _sub(request)


class DrfAuditorAdmin(DrfAdmin):
    permission_classes = [RequireRoles("auditor", "admin")]


class DrfViewRoles(DrfAdmin):
    permission_classes = [HasRoles]
    required_roles = ["admin"]


class DrfNoViewRoles(DrfAdmin):
    permission_classes = [HasRoles]


class DrfStaffOrSupport(DrfAdmin):
    permission_classes: Any = [IsAdminUser | RequireRoles("support")]


urlpatterns = [
    path("admin", admin),
    path("auditor-admin", auditor_admin),
    path("async-admin", async_admin),
    path("drf/admin", DrfAdmin.as_view()),
    path("drf/auditor-admin", DrfAuditorAdmin.as_view()),
    path("drf/view-roles", DrfViewRoles.as_view()),
    path("drf/no-view-roles", DrfNoViewRoles.as_view()),
    path("drf/staff-or-support", DrfStaffOrSupport.as_view()),
]
