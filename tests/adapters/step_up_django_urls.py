"""The step-up API as Django views (``ROOT_URLCONF = "tests.adapters.step_up_django_urls"``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from bearerguard import django as bg_django

from .cases import TEXT
from .step_up_apps import requirements


def sub(request: HttpRequest) -> HttpResponse:
    body = request.auth_claims.sub.encode()  # type: ignore[attr-defined]  # set by bearerguard
    return HttpResponse(body, content_type=TEXT, headers={"Content-Length": str(len(body))})


urlpatterns = [
    path(route.lstrip("/"), decorator(sub)) for route, decorator in requirements(bg_django).items()
]
