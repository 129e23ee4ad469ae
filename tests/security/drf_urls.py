"""URLconf of the Django REST framework variant (``ROOT_URLCONF = "security.drf_urls"``)."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from bearerguard.django.rest_framework import BearerTokenAuthentication

from .apps import TEXT, ok_body


class Token(APIView):
    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> HttpResponse:
        return HttpResponse(ok_body(request.auth.sub), content_type=TEXT)


urlpatterns = [path("token", Token.as_view())]
