"""Views for the CORS tests (``ROOT_URLCONF = "tests.django.testapp_cors"``); each records it ran.

Every one of them would answer an ``OPTIONS`` request itself: a function view
takes any method, ``View.options`` answers with ``Allow``, DRF's
``APIView.options`` with metadata.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.urls import path
from django.utils.decorators import method_decorator
from django.views import View
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bearerguard.django import require_scopes
from bearerguard.django.rest_framework import RequireScopes

from .testapp_drf import claims_in

SCOPE = "orders:read"
#: The names of the views that ran, in order; tests clear it.
RUNS: list[str] = []


def plain(request: HttpRequest) -> HttpResponse:
    RUNS.append(f"plain {request.method}")
    return HttpResponse(b"plain")


@require_scopes(SCOPE)
def scoped(request: HttpRequest) -> HttpResponse:
    RUNS.append(f"scoped {request.method}")
    return HttpResponse(b"scoped")


@require_scopes(SCOPE)
async def scoped_async(request: HttpRequest) -> HttpResponse:
    RUNS.append(f"scoped-async {request.method}")
    return HttpResponse(b"scoped-async")


@method_decorator(require_scopes(SCOPE), name="dispatch")
class ScopedView(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        RUNS.append("class GET")
        return HttpResponse(b"class")

    def options(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        RUNS.append("class OPTIONS")
        return super().options(request, *args, **kwargs)


class ScopedApi(APIView):
    permission_classes = [RequireScopes(SCOPE)]

    def get(self, request: Request) -> Response:
        RUNS.append("drf GET")
        return Response({"sub": claims_in(request).sub})

    # DRF's APIView.options takes DRF's Request, narrower than View.options' HttpRequest;
    # its own stubs ignore the same override.
    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        RUNS.append("drf OPTIONS")
        return super().options(request, *args, **kwargs)


urlpatterns = [
    path("api/plain", plain),
    path("api/scoped", scoped),
    path("api/scoped-async", scoped_async),
    path("api/class", ScopedView.as_view()),
    path("api/drf", ScopedApi.as_view()),
]
