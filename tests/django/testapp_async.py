"""Async twins of the table views (``ROOT_URLCONF = "tests.django.testapp_async"``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from bearerguard.django import require_scopes
from tests.adapters.cases import TEXT

from .testapp import SCOPE, describe


async def token(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.auth_claims.sub, content_type=TEXT)  # type: ignore[attr-defined]  # set by bearerguard


@require_scopes(SCOPE)
async def scoped(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.auth_claims.sub, content_type=TEXT)  # type: ignore[attr-defined]  # set by bearerguard


async def public(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"public", content_type=TEXT)


async def whoami(request: HttpRequest) -> JsonResponse:
    user = await request.auser()
    return JsonResponse({**describe(request), "auser": type(user).__name__})


urlpatterns = [
    path("token", token),
    path("scoped", scoped),
    path("public", public),
    path("whoami", whoami),
    path("open/whoami", whoami),
]
