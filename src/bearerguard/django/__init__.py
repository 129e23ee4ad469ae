"""Django adapter: bearer access tokens for views, the auth system and DRF.

``settings.py``::

    AUTHENTICATION_BACKENDS = ["bearerguard.django.BearerTokenBackend"]
    MIDDLEWARE = [..., "bearerguard.django.BearerTokenMiddleware"]
    BEARERGUARD = {"OIDC": "https://login.example.com", "AUDIENCE": "api://orders"}

``views.py``::

    from bearerguard.django import require_scopes

    @require_scopes("orders:read")
    def orders(request):
        return JsonResponse({"sub": request.auth_claims.sub})

Django REST framework classes live in :mod:`bearerguard.django.rest_framework`.
Importing :mod:`bearerguard` alone never imports Django.
"""

from __future__ import annotations

from .backend import BearerTokenBackend
from .conf import USER_MODES, DjangoConfig, get_config, reset_config
from .core import claims_of
from .decorators import require_scopes
from .middleware import BearerTokenMiddleware
from .users import TokenUser

__all__ = [
    "USER_MODES",
    "BearerTokenBackend",
    "BearerTokenMiddleware",
    "DjangoConfig",
    "TokenUser",
    "claims_of",
    "get_config",
    "require_scopes",
    "reset_config",
]
