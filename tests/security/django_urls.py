"""URLconf of the Django middleware variants (``ROOT_URLCONF = "tests.security.django_urls"``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from bearerguard.django import require_roles

from .apps import ROLE, TEXT, ok_body, probe_ran


def token(request: HttpRequest) -> HttpResponse:
    claims = request.auth_claims  # type: ignore[attr-defined]  # set by bearerguard
    return HttpResponse(ok_body(claims.sub), content_type=TEXT)


def probe(request: HttpRequest) -> HttpResponse:
    """Any method (OPTIONS included): records the run first, then answers ``ok:<sub>``."""
    probe_ran(request.method or "", request.body)
    claims = request.auth_claims  # type: ignore[attr-defined]  # set by bearerguard
    return HttpResponse(ok_body(claims.sub), content_type=TEXT)


urlpatterns = [
    path("token", token),
    path("roles", require_roles(ROLE)(token)),
    path("probe", probe),
]
