"""The DPoP tests' API as Django views (``ROOT_URLCONF = "tests.dpop.django_urls"``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from bearerguard.django import require_scopes

from ..adapters.cases import SCOPE, TEXT


def token(request: HttpRequest) -> HttpResponse:
    body = request.auth_claims.sub.encode()  # type: ignore[attr-defined]  # set by bearerguard
    return HttpResponse(body, content_type=TEXT, headers={"Content-Length": str(len(body))})


urlpatterns = [path("token", token), path("scoped", require_scopes(SCOPE)(token))]
