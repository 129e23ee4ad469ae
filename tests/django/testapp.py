"""The test project's URLconf and synchronous views (``ROOT_URLCONF = "tests.django.testapp"``).

The table views (``/token``, ``/scoped``, ``/public``) answer as
``adapters.cases`` describes: ``text/plain`` with the token's ``sub``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View

from bearerguard import StandardClaims
from bearerguard.django import require_scopes, require_token
from tests.adapters.cases import TEXT

from .testapp_drf import drf_patterns

SCOPE = "write"


def describe(request: HttpRequest) -> dict[str, Any]:
    """What the view sees of the user and the claims."""
    user: Any = request.user
    claims = getattr(request, "auth_claims", "unset")
    return {
        "user": type(user).__name__,
        "username": user.get_username(),
        "authenticated": user.is_authenticated,
        "backend": getattr(user, "backend", None),
        "scopes": sorted(getattr(user, "scopes", ())),
        "claims_sub": claims.sub if isinstance(claims, StandardClaims) else claims,
    }


def token(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.auth_claims.sub, content_type=TEXT)  # type: ignore[attr-defined]  # set by bearerguard


@require_scopes(SCOPE)
def scoped(request: HttpRequest) -> HttpResponse:
    return HttpResponse(request.auth_claims.sub, content_type=TEXT)  # type: ignore[attr-defined]  # set by bearerguard


def public(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"public", content_type=TEXT)


def whoami(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request))


def post(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"posted", content_type=TEXT)


@require_scopes()
def any_token(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request))


@require_token
def token_only(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request))


@require_token
async def async_token_only(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request))


@require_scopes("read", SCOPE)
def two_scopes(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request))


@require_scopes(SCOPE)
async def async_scoped(request: HttpRequest) -> JsonResponse:
    return JsonResponse(describe(request))


@method_decorator(require_scopes(SCOPE), name="dispatch")
class ScopedView(View):
    def get(self, request: HttpRequest) -> JsonResponse:
        return JsonResponse(describe(request))


urlpatterns = [
    path("token", token),
    path("scoped", scoped),
    path("public", public),
    path("open/whoami", whoami),
    path("whoami", whoami),
    path("post", post),
    path("decorated/any", any_token),
    path("decorated/token", token_only),
    path("decorated/async-token", async_token_only),
    path("decorated/two", two_scopes),
    path("decorated/async", async_scoped),
    path("decorated/class", ScopedView.as_view()),
    *drf_patterns,
]
