"""Django REST framework: bearer-token authentication; scope, role and step-up permissions.

::

    REST_FRAMEWORK = {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "bearerguard.django.rest_framework.BearerTokenAuthentication",
        ],
        # optional: bearerguard's refusals byte for byte, Cache-Control included
        "EXCEPTION_HANDLER": "bearerguard.django.rest_framework.exception_handler",
    }

    class Orders(APIView):
        permission_classes = [RequireScopes("orders:read")]

        def get(self, request):
            return Response({"sub": request.auth.sub})     # request.auth: the claims

    class Refunds(APIView):
        permission_classes = [RequireRoles("support")]     # the token's roles

    class Transfers(APIView):                              # step-up (RFC 9470)
        permission_classes = [RequireScopes("pay"), RequireAuth(acr_values="mfa", max_age=300)]

Tokens are mapped to users by the same backends (``AUTHENTICATION_BACKENDS``)
and ``settings.BEARERGUARD`` as the middleware; a request the middleware has
already authenticated is not verified twice.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponseBase

try:
    import rest_framework  # noqa: F401  (only to say what to install)
except ModuleNotFoundError as exc:
    raise ModuleNotFoundError(
        "bearerguard.django.rest_framework needs Django REST framework: "
        "pip install 'bearerguard[drf]'",
        name=exc.name,
    ) from exc

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException, NotAuthenticated
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from .._decision import Action, access_refusal
from .._errors import BearerGuardError, MissingToken
from .._http import REFUSALS
from .._rules import role_names, scope_tokens
from .._step_up import DEFAULT_LEEWAY, AuthRequirement
from ..claims import StandardClaims
from ._conf import get_config
from ._core import (
    CHECKED_ATTRIBUTE,
    authenticate_token,
    claims_of,
    credentials_of,
    error_http_response,
    http_response,
)

if TYPE_CHECKING:
    # Not at run time: rest_framework.views reads DEFAULT_AUTHENTICATION_CLASSES
    # on import, which may name this very module.
    from rest_framework.views import APIView

__all__ = [
    "BearerTokenAuthentication",
    "BearerTokenError",
    "HasRoles",
    "HasScopes",
    "RequireAuth",
    "RequireRoles",
    "RequireScopes",
    "exception_handler",
]


class BearerTokenError(APIException):
    """A bearerguard refusal raised inside DRF.

    DRF's own exception handler answers it with bearerguard's status, the
    ``WWW-Authenticate`` challenge, ``Retry-After`` (503) and the same JSON
    body; :func:`exception_handler` sends its ``response`` (the rendered
    refusal) byte for byte.
    """

    def __init__(
        self, error: BearerGuardError, token: str | None = None, *, reported: bool = False
    ) -> None:
        self.error = error
        # Reported (logged, on_refusal) once: here unless the gate's decision did already.
        self.response = get_config().guard.render(error, token, report=not reported)
        headers = dict(self.response.headers)
        self.status_code = self.response.status
        # Read by DRF's exception handler.
        self.auth_header = headers.get("www-authenticate")
        retry_after = headers.get("retry-after")
        self.wait = int(retry_after) if retry_after is not None else None
        super().__init__(detail=json.loads(self.response.body), code=error.code)


class BearerTokenAuthentication(BaseAuthentication):
    """Authenticate DRF requests by ``Authorization: Bearer`` token.

    ``request.user`` is the backend's user (a ``TokenUser`` by default) and
    ``request.auth`` the verified claims. No bearer token → ``None`` (the next
    authentication class may try); a bad one → :class:`BearerTokenError`.
    :meth:`authenticate_header` gives DRF the ``Bearer`` challenge, so an
    unauthenticated request gets 401, not 403.
    """

    def authenticate(self, request: Request) -> tuple[Any, StandardClaims] | None:
        """``(user, claims)`` for a verified bearer token; ``None`` when there is none.

        A token :class:`~bearerguard.django.BearerTokenMiddleware` already
        checked is not verified again; a refused one raises
        :class:`BearerTokenError`.
        """
        django_request = request._request
        if getattr(django_request, CHECKED_ATTRIBUTE, False):
            # BearerTokenMiddleware has been here: verified, or no token at all.
            claims = claims_of(django_request, StandardClaims)
            return None if claims is None else (django_request.user, claims)
        decision = credentials_of(django_request, get_config(), required=False)
        if decision.action is Action.ANONYMOUS:
            return None  # no bearer token: the next class may try, the permissions decide
        if decision.error is not None:
            raise BearerTokenError(decision.error, reported=True)
        error = authenticate_token(django_request, decision.token)
        if error is not None:
            raise BearerTokenError(error, decision.token)
        claims = claims_of(django_request, StandardClaims)
        if claims is None:
            return None  # another bearer backend accepted the token, without claims
        return (django_request.user, claims)

    def authenticate_header(self, request: Request) -> str:
        """The challenge for a request without credentials (RFC 6750 §3.1)."""
        return _bare_challenge()


class HasScopes(BasePermission):
    """Allow requests whose bearer token grants every scope in ``required_scopes``.

    The scopes come from the view's ``required_scopes`` (or, with
    :func:`RequireScopes`, from the permission itself). Without verified
    claims the request is refused the DRF way (401 with the ``Bearer``
    challenge when no authentication succeeded); missing scopes → 403
    ``insufficient_scope`` naming the required scopes.
    """

    required_scopes: ClassVar[tuple[str, ...] | None] = None
    message = "a bearer token is required"

    def has_permission(self, request: Request, view: APIView) -> bool:
        """``True`` when the verified claims grant every required scope.

        ``False`` without verified claims (DRF then answers 401 with the
        ``Bearer`` challenge); missing scopes raise :class:`BearerTokenError`
        (403 ``insufficient_scope``).
        """
        scopes = self._scopes(view)
        claims = request.auth
        if not isinstance(claims, StandardClaims):
            return False  # DRF answers: 401 with the Bearer challenge
        refusal = access_refusal(claims, scopes)
        if refusal is not None:
            raise BearerTokenError(refusal)
        return True

    def _scopes(self, view: APIView) -> tuple[str, ...]:
        scopes = self.required_scopes
        if scopes is not None:
            return scopes
        wanted = getattr(view, "required_scopes", None)
        if wanted is None:
            raise ImproperlyConfigured(
                f"HasScopes: set required_scopes = [...] on {type(view).__name__}, "
                "or use RequireScopes('scope', ...) in permission_classes"
            )
        return scope_tokens(wanted, f"{type(view).__name__}.required_scopes")


def RequireScopes(*scopes: str) -> type[HasScopes]:
    """A permission class requiring these scopes: ``permission_classes = [RequireScopes("read")]``.

    It combines with DRF's operators like any permission class
    (``IsAdminUser | RequireScopes("admin")``).
    """
    required = scope_tokens(scopes, "RequireScopes")

    class _RequireScopes(HasScopes):
        required_scopes = required

    name = f"RequireScopes({', '.join(map(repr, required))})"
    _RequireScopes.__name__ = _RequireScopes.__qualname__ = name
    return _RequireScopes


class HasRoles(BasePermission):
    """Allow requests whose bearer token holds every role in ``required_roles``.

    The roles come from the view's ``required_roles`` (or, with
    :func:`RequireRoles`, from the permission itself) and are checked against
    the claims' ``roles`` (where they come from: ``BEARERGUARD["CLAIM_SOURCES"]``).
    Without verified claims the request is refused the DRF way (401 with the
    ``Bearer`` challenge when no authentication succeeded); missing roles →
    403 ``insufficient_scope`` without a ``scope`` attribute, the roles
    described, as every adapter answers.
    """

    required_roles: ClassVar[tuple[str, ...] | None] = None
    message = "a bearer token is required"

    def has_permission(self, request: Request, view: APIView) -> bool:
        """``True`` when the verified claims hold every required role.

        ``False`` without verified claims (DRF then answers 401 with the
        ``Bearer`` challenge); missing roles raise :class:`BearerTokenError`
        (403 ``insufficient_scope``).
        """
        roles = self._roles(view)
        claims = request.auth
        if not isinstance(claims, StandardClaims):
            return False  # DRF answers: 401 with the Bearer challenge
        refusal = access_refusal(claims, (), roles)
        if refusal is not None:
            raise BearerTokenError(refusal)
        return True

    def _roles(self, view: APIView) -> tuple[str, ...]:
        roles = self.required_roles
        if roles is not None:
            return roles
        wanted = getattr(view, "required_roles", None)
        if wanted is None:
            raise ImproperlyConfigured(
                f"HasRoles: set required_roles = [...] on {type(view).__name__}, "
                "or use RequireRoles('role', ...) in permission_classes"
            )
        return role_names(wanted, f"{type(view).__name__}.required_roles")


def RequireRoles(*roles: str) -> type[HasRoles]:
    """A permission class requiring these roles: ``permission_classes = [RequireRoles("admin")]``.

    At least one role. It combines with DRF's operators like any permission
    class (``IsAdminUser | RequireRoles("support")``); a missing role answers
    403 at once, so put it last in an ``|`` chain.
    """
    required = role_names(roles, "RequireRoles")

    class _RequireRoles(HasRoles):
        required_roles = required

    name = f"RequireRoles({', '.join(map(repr, required))})"
    _RequireRoles.__name__ = _RequireRoles.__qualname__ = name
    return _RequireRoles


def RequireAuth(
    *,
    acr_values: str | Iterable[str] | None = None,
    max_age: int | None = None,
    leeway: float = DEFAULT_LEEWAY,
) -> type[BasePermission]:
    """A permission class requiring a strong and recent enough authentication (RFC 9470).

    ``permission_classes = [RequireAuth(acr_values="mfa", max_age=300)]``:
    the token's ``acr`` must be one of *acr_values* and/or its ``auth_time``
    at most *max_age* seconds old (give or take *leeway*, see
    :func:`bearerguard.require_auth`). Without verified claims the request
    is refused the DRF way (401 with the ``Bearer`` challenge); otherwise a
    shortfall is 401 ``insufficient_user_authentication`` with the required
    ``acr_values`` and ``max_age``, as every adapter answers. List it after
    :func:`RequireScopes` to have a missing scope answered first.
    """
    requirement = AuthRequirement.of(acr_values, max_age, leeway, "RequireAuth")

    class _RequireAuth(BasePermission):
        message = "a bearer token is required"

        def has_permission(self, request: Request, view: APIView) -> bool:
            claims = request.auth
            if not isinstance(claims, StandardClaims):
                return False  # DRF answers: 401 with the Bearer challenge
            refusal = access_refusal(claims, (), (), requirement)
            if refusal is not None:
                raise BearerTokenError(refusal)
            return True

    arguments = []
    if requirement.acr_values:
        arguments.append(f"acr_values={requirement.acr_values!r}")
    if requirement.max_age is not None:
        arguments.append(f"max_age={requirement.max_age}")
    name = f"RequireAuth({', '.join(arguments)})"
    _RequireAuth.__name__ = _RequireAuth.__qualname__ = name
    return _RequireAuth


def exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponseBase | None:
    """DRF's exception handler, but bearerguard's refusals go out byte for byte.

    A :class:`BearerTokenError`, a bearerguard refusal the view raised itself
    (:class:`~bearerguard.InsufficientScope`, :class:`~bearerguard.InvalidClaims`,
    ...) and DRF's ``NotAuthenticated`` under a Bearer challenge get exactly the
    response every bearerguard adapter sends;
    anything else goes to DRF's default handler.
    """
    from rest_framework.views import exception_handler as drf_exception_handler
    from rest_framework.views import set_rollback

    if isinstance(exc, BearerTokenError):
        set_rollback()
        return http_response(exc.response)
    if isinstance(exc, REFUSALS):
        # Raised by the view's own code (InsufficientScope, InvalidClaims, ...).
        set_rollback()
        return error_http_response(exc, get_config())
    if isinstance(exc, NotAuthenticated) and getattr(exc, "auth_header", None) == _bare_challenge():
        set_rollback()
        return error_http_response(MissingToken("no bearer token"), get_config())
    return drf_exception_handler(exc, context)


def _bare_challenge() -> str:
    rendered = get_config().guard.render(MissingToken("no bearer token"), report=False)
    return dict(rendered.headers)["www-authenticate"]
