"""What the middleware, the view decorator and DRF share: one request, one outcome.

What to do with a request is :meth:`bearerguard._decision.RequestGate.decide`'s
answer, as for every adapter; Django's own
:func:`~django.contrib.auth.authenticate` turns a token into a user through the
configured backends; a refusal becomes an :class:`HttpResponse` with exactly
the bytes :meth:`GuardSettings.render` gives every adapter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar, overload

from django.contrib.auth import aauthenticate, authenticate
from django.http import HttpRequest, HttpResponse

from .._decision import Action, Decision
from .._dpop import DPoPRequest
from .._errors import BearerGuardError, InvalidToken
from .._http import PlainResponse
from .._typed_claims import check_claims_type, wrong_claims_type
from ..claims import AccessClaims, StandardClaims
from ._conf import DjangoConfig

if TYPE_CHECKING:
    # For type checkers only: DRF is optional, and claims_of takes its Request too.
    from rest_framework.request import Request

C = TypeVar("C", bound=StandardClaims)

__all__ = [
    "CLAIMS_ATTRIBUTE",
    "aauthenticate_token",
    "authenticate_token",
    "claims_of",
    "credentials_of",
    "decide",
    "dpop_of",
    "error_http_response",
    "http_response",
    "remember_claims",
    "remember_error",
]

#: Where the verified claims go: ``request.auth_claims`` (``None`` without a token).
CLAIMS_ATTRIBUTE = "auth_claims"
# Set by the middleware once it has looked at the request, so the decorator
# and DRF know whether they must authenticate it themselves.
CHECKED_ATTRIBUTE = "_bearerguard_checked"
# The backend's reason for refusing a token; the caller turns it into a response.
_ERROR_ATTRIBUTE = "_bearerguard_error"
# Set when the request's token came with "Authorization: DPoP".
_SCHEME_ATTRIBUTE = "_bearerguard_scheme"


def decide(request: HttpRequest, config: DjangoConfig) -> Decision:
    """The gate's decision for *request* (public paths match ``request.path_info``)."""
    meta = request.META
    decision = config.gate.decide(
        request.method or "GET",
        request.path_info,
        meta.get("HTTP_AUTHORIZATION"),
        meta.get("QUERY_STRING", ""),
    )
    if decision.scheme == "DPoP":
        setattr(request, _SCHEME_ATTRIBUTE, "DPoP")  # for the backend (dpop_of)
    return decision


def credentials_of(request: HttpRequest, config: DjangoConfig, *, required: bool) -> Decision:
    """The gate's decision on *request*'s credentials alone (its path aside).

    ``VERIFY`` its bearer token; ``REFUSE`` a malformed header, two
    credentials or a token in the ``access_token`` query parameter (RFC 6750
    §2.3; bearerguard accepts the header only); without a token, ``REFUSE``
    when *required*, else ``ANONYMOUS``.
    """
    meta = request.META
    decision = config.gate.credentials(
        meta.get("HTTP_AUTHORIZATION"), meta.get("QUERY_STRING", ""), required=required
    )
    if decision.scheme == "DPoP":
        setattr(request, _SCHEME_ATTRIBUTE, "DPoP")  # for the backend (dpop_of)
    return decision


def dpop_of(request: HttpRequest | None, config: DjangoConfig) -> DPoPRequest | None:
    """The DPoP side of *request* when its token came with the DPoP scheme (RFC 9449)."""
    if request is None or getattr(request, _SCHEME_ATTRIBUTE, None) != "DPoP":
        return None
    proof = request.META.get("HTTP_DPOP")
    return config.gate.dpop_request(
        Decision(Action.VERIFY, scheme="DPoP"),
        request.method or "GET",
        # get_host() checks ALLOWED_HOSTS; proxy headers only as Django's settings allow.
        lambda: f"{request.scheme}://{request.get_host()}",
        request.path,
        () if proof is None else (proof,),
    )


@overload
def claims_of(request: HttpRequest | Request) -> AccessClaims | None: ...


@overload
def claims_of(request: HttpRequest | Request, claims_type: type[C]) -> C | None: ...


def claims_of(
    request: HttpRequest | Request, claims_type: type[StandardClaims] | None = None
) -> StandardClaims | None:
    """The verified claims of *request*, typed; ``None`` when no token was verified.

    ``request.auth_claims`` holds the same object, which type checkers do not
    know about; this says what it is: an :class:`~bearerguard.AccessClaims`,
    or the *claims_type* given (the class ``BEARERGUARD["CLAIMS_TYPE"]``
    names). A Django REST framework ``Request`` works too (its
    ``request.auth`` is typed ``Any``). Claims of another type than the one
    asked for are a :class:`~bearerguard.ConfigurationError` naming both.
    """
    wanted = check_claims_type(AccessClaims if claims_type is None else claims_type, "claims_of")
    claims = getattr(request, CLAIMS_ATTRIBUTE, None)
    if not isinstance(claims, StandardClaims):
        return None
    if isinstance(claims, wanted):
        return claims
    asked_by = (
        "claims_of(request)"
        if claims_type is None
        else f"claims_of(request, {wanted.__qualname__})"
    )
    raise wrong_claims_type(claims, wanted, asked_by=asked_by, setting='BEARERGUARD["CLAIMS_TYPE"]')


def remember_claims(request: HttpRequest | None, claims: StandardClaims | None) -> None:
    """Attach *claims* as ``request.auth_claims``."""
    if request is not None:
        setattr(request, CLAIMS_ATTRIBUTE, claims)


def remember_error(request: HttpRequest | None, error: BearerGuardError) -> None:
    """Keep why the backend refused the token, for the response (the backend returns ``None``)."""
    if request is not None:
        if isinstance(error, InvalidToken) and getattr(request, _SCHEME_ATTRIBUTE, None) == "DPoP":
            error.scheme = "DPoP"  # RFC 9449 §7.1: answered with a DPoP challenge
        setattr(request, _ERROR_ATTRIBUTE, error)


def _take_error(request: HttpRequest) -> BearerGuardError:
    error = vars(request).pop(_ERROR_ATTRIBUTE, None)
    if isinstance(error, BearerGuardError):
        return error
    # Another backend raised PermissionDenied, or none accepted the credential.
    return InvalidToken("bearer token was not accepted")


def authenticate_token(request: HttpRequest, token: str) -> BearerGuardError | None:
    """Authenticate *request* by *token* through Django's backends.

    On success ``request.user`` is the backend's user and ``request.auth_claims``
    the verified claims; otherwise the error to answer with is returned.
    """
    remember_claims(request, None)
    user = authenticate(request, bearer_token=token)
    if user is None:
        return _take_error(request)
    vars(request).pop(_ERROR_ATTRIBUTE, None)
    _accept(request, user)
    return None


async def aauthenticate_token(request: HttpRequest, token: str) -> BearerGuardError | None:
    """Async twin of :func:`authenticate_token` (the backends' ``aauthenticate``)."""
    remember_claims(request, None)
    user = await aauthenticate(request, bearer_token=token)
    if user is None:
        return _take_error(request)
    vars(request).pop(_ERROR_ATTRIBUTE, None)
    _accept(request, user)
    return None


def _accept(request: HttpRequest, user: Any) -> None:
    async def auser() -> Any:
        return user

    request.user = user
    request.auser = auser
    # A browser never attaches an Authorization header on its own, so a request
    # authenticated by a bearer token cannot be a cross-site request forgery;
    # CsrfViewMiddleware skips requests marked this way.
    request._dont_enforce_csrf_checks = True  # type: ignore[attr-defined]


def set_anonymous(request: HttpRequest) -> None:
    """Give *request* an ``AnonymousUser`` unless a middleware already set a user."""
    if hasattr(request, "user"):
        return
    from django.apps import apps

    if apps.is_installed("django.contrib.auth"):
        from django.contrib.auth.models import AnonymousUser

        request.user = AnonymousUser()


def http_response(response: PlainResponse) -> HttpResponse:
    """An :class:`HttpResponse` with exactly *response*'s status, headers and body bytes."""
    result = HttpResponse(response.body, status=response.status)
    for name, value in response.headers:
        result[name] = value
    return result


def error_http_response(
    error: BearerGuardError, config: DjangoConfig, token: str | None = None
) -> HttpResponse:
    """The RFC 6750 response for *error*, byte for byte what every adapter sends.

    *token* is the refused token, when there was one (for the refusal report).
    """
    return http_response(config.guard.render(error, token))
