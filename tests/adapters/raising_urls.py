"""URLconf of views that raise a bearerguard refusal (``test_raised_refusals.py``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .raised import RAISED


def sync_view(request: HttpRequest) -> HttpResponse:
    raise RAISED[0]


async def async_view(request: HttpRequest) -> HttpResponse:
    raise RAISED[0]


class DRFView(APIView):
    authentication_classes = ()
    permission_classes = ()

    def get(self, request: Request) -> Response:
        raise RAISED[0]


urlpatterns = [
    path("sync", sync_view),
    path("async", async_view),
    path("drf", DRFView.as_view()),
]
