"""URLconf of the Django middleware variants (``ROOT_URLCONF = "security.django_urls"``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from .apps import TEXT, ok_body


def token(request: HttpRequest) -> HttpResponse:
    claims = request.auth_claims  # type: ignore[attr-defined]
    return HttpResponse(ok_body(claims.sub), content_type=TEXT)


urlpatterns = [path("token", token)]
