"""The example API: a public route, a token route, a scoped route and a DRF route."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bearerguard.django import require_scopes
from bearerguard.django.rest_framework import RequireScopes

ORDERS = [{"id": 1, "item": "coffee beans"}, {"id": 2, "item": "grinder"}]


def health(request: HttpRequest) -> JsonResponse:
    """Public (``PUBLIC_PATHS``): no token needed."""
    return JsonResponse({"status": "ok"})


@require_scopes()
async def me(request: HttpRequest) -> JsonResponse:
    """Any valid token; an async view, verified without blocking the event loop."""
    claims = request.auth_claims  # type: ignore[attr-defined]
    return JsonResponse({"sub": claims.sub, "scopes": sorted(claims.scopes)})


@require_scopes("orders:read")
def orders(request: HttpRequest) -> JsonResponse:
    """Only for tokens granting ``orders:read``; request.user is a TokenUser."""
    return JsonResponse({"owner": request.user.get_username(), "orders": ORDERS})


class OrderList(APIView):
    """The same, with Django REST framework: request.auth holds the claims."""

    permission_classes = [RequireScopes("orders:read")]

    def get(self, request: Request) -> Response:
        return Response({"owner": request.auth.sub, "orders": ORDERS})
