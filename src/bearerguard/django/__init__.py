"""Django adapter: bearer access tokens for views, the auth system and DRF.

``settings.py``::

    AUTHENTICATION_BACKENDS = ["bearerguard.django.BearerTokenBackend"]
    MIDDLEWARE = [..., "bearerguard.django.BearerTokenMiddleware"]
    BEARERGUARD = {"OIDC": "https://login.example.com", "AUDIENCE": "api://orders"}

``views.py``::

    from bearerguard.django import require_auth, require_roles, require_scopes, require_token

    @require_scopes("orders:read")
    def orders(request):
        return JsonResponse({"sub": request.auth_claims.sub})

    @require_roles("admin")             # the token's roles (CLAIM_SOURCES)
    def admin(request): ...

    @require_auth(acr_values="mfa")     # step-up (RFC 9470): how the user signed in
    def transfer(request): ...

    @require_token                      # any verified token
    async def me(request): ...

Django REST framework classes live in :mod:`bearerguard.django.rest_framework`.
Importing :mod:`bearerguard` alone never imports Django.
"""

from __future__ import annotations

try:
    import django  # noqa: F401  (only to say what to install)
except ModuleNotFoundError as exc:
    raise ModuleNotFoundError(
        "bearerguard.django needs Django: pip install 'bearerguard[django]'", name=exc.name
    ) from exc

from .._users import TokenUser
from ._backend import BearerTokenBackend
from ._core import claims_of
from ._decorators import require_auth, require_roles, require_scopes, require_token
from ._middleware import BearerTokenMiddleware

__all__ = [
    "BearerTokenBackend",
    "BearerTokenMiddleware",
    "TokenUser",
    "claims_of",
    "require_auth",
    "require_roles",
    "require_scopes",
    "require_token",
]
