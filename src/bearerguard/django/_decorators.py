"""``@require_scopes``, ``@require_roles``, ``@require_auth``, ``@require_token``: views.

::

    from bearerguard.django import require_roles, require_scopes, require_token

    @require_scopes("orders:read")
    def orders(request):
        return JsonResponse({"sub": request.auth_claims.sub})

    @require_scopes("orders:write")
    async def create_order(request): ...

    @require_roles("admin")
    def admin(request): ...

    @require_auth(acr_values="mfa", max_age=300)   # RFC 9470 step-up
    def transfer(request): ...

    @require_token
    def me(request): ...

No token → 401 with a bare ``Bearer`` challenge; a token without the scopes →
403 ``insufficient_scope`` naming them; a token without the roles → 403
``insufficient_scope`` without a ``scope`` attribute, the roles described; a
token from too weak or too old an authentication → 401
``insufficient_user_authentication`` with ``acr_values`` and/or ``max_age``.
With ``BearerTokenMiddleware`` installed the decorator uses what it found;
without it (or on a ``PUBLIC_PATHS`` path) the decorator authenticates the
request itself, asynchronously for async views.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.views.decorators.csrf import csrf_exempt

from .._decision import Action, access_refusal
from .._rules import role_names, scope_tokens
from .._step_up import DEFAULT_LEEWAY, AuthRequirement
from ..claims import StandardClaims
from ._conf import get_config
from ._core import (
    CHECKED_ATTRIBUTE,
    aauthenticate_token,
    authenticate_token,
    claims_of,
    credentials_of,
    error_http_response,
    http_response,
)

__all__ = ["require_auth", "require_roles", "require_scopes", "require_token"]

V = TypeVar("V", bound=Callable[..., Any])


def require_scopes(*scopes: str) -> Callable[[V], V]:
    """Decorate a view (sync or async) to require a bearer token granting every scope.

    With no scopes, any valid token will do. The view is exempt from CSRF
    checks: it never runs without a bearer token, which a browser does not
    send on its own. For class-based views use Django's ``method_decorator``.
    """
    return _requirement(scope_tokens(scopes, "require_scopes"), ())


def require_roles(*roles: str) -> Callable[[V], V]:
    """Decorate a view (sync or async) to require a bearer token holding every role.

    The roles are the claims' ``roles`` (where they come from:
    ``BEARERGUARD["CLAIM_SOURCES"]``); at least one is required. Like
    :func:`require_scopes`, it authenticates the request itself when the
    middleware has not, and exempts the view from CSRF checks.
    """
    return _requirement((), role_names(roles, "require_roles"))


def require_auth(
    *,
    acr_values: str | Iterable[str] | None = None,
    max_age: int | None = None,
    leeway: float = DEFAULT_LEEWAY,
) -> Callable[[V], V]:
    """Decorate a view (sync or async) to require a strong and recent enough authentication.

    RFC 9470: the token's ``acr`` must be one of *acr_values* and/or its
    ``auth_time`` at most *max_age* seconds old (give or take *leeway*, see
    :func:`bearerguard.require_auth`). It stacks with :func:`require_scopes`
    and :func:`require_roles` and, like them, authenticates the request
    itself when the middleware has not. Otherwise 401
    ``insufficient_user_authentication`` with the required ``acr_values``
    and ``max_age`` in the challenge.
    """
    return _requirement((), (), AuthRequirement.of(acr_values, max_age, leeway, "require_auth"))


def _requirement(
    scopes: tuple[str, ...], roles: tuple[str, ...], auth: AuthRequirement | None = None
) -> Callable[[V], V]:
    def decorator(view: V) -> V:
        if iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                if not getattr(request, CHECKED_ATTRIBUTE, False):
                    refusal = await _aauthenticate(request)
                    if refusal is not None:
                        return refusal
                refusal = _check(request, scopes, roles, auth)
                if refusal is not None:
                    return refusal
                return await view(request, *args, **kwargs)

            return cast(V, csrf_exempt(async_view))

        @functools.wraps(view)
        def sync_view(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not getattr(request, CHECKED_ATTRIBUTE, False):
                refusal = _authenticate(request)
                if refusal is not None:
                    return refusal
            refusal = _check(request, scopes, roles, auth)
            if refusal is not None:
                return refusal
            return view(request, *args, **kwargs)

        return cast(V, csrf_exempt(sync_view))

    return decorator


def require_token(view: V) -> V:
    """Decorate a view (sync or async) to require a verified bearer token, any scopes.

    ``@require_token`` is ``@require_scopes()``: 401 without a token, useful
    with ``REQUIRED: False`` or without the middleware.
    """
    return require_scopes()(view)


def _token(request: HttpRequest) -> HttpResponseBase | str:
    setattr(request, CHECKED_ATTRIBUTE, True)
    decision = credentials_of(request, get_config(), required=True)
    if decision.action is Action.VERIFY:
        return decision.token
    assert decision.response is not None  # REFUSE: a token is required here
    return http_response(decision.response)


def _authenticate(request: HttpRequest) -> HttpResponseBase | None:
    token = _token(request)
    if isinstance(token, HttpResponseBase):
        return token
    error = authenticate_token(request, token)
    return None if error is None else error_http_response(error, get_config(), token)


async def _aauthenticate(request: HttpRequest) -> HttpResponseBase | None:
    token = _token(request)
    if isinstance(token, HttpResponseBase):
        return token
    error = await aauthenticate_token(request, token)
    return None if error is None else error_http_response(error, get_config(), token)


def _check(
    request: HttpRequest,
    scopes: tuple[str, ...],
    roles: tuple[str, ...],
    auth: AuthRequirement | None,
) -> HttpResponseBase | None:
    # No claims: the middleware let a request without a token through (REQUIRED false).
    refusal = access_refusal(claims_of(request, StandardClaims), scopes, roles, auth)
    return None if refusal is None else error_http_response(refusal, get_config())
