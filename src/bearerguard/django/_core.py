"""What the middleware, the view decorator and DRF share: one request, one outcome.

The token comes out of the request through :func:`bearerguard._http.bearer_token`;
Django's own :func:`~django.contrib.auth.authenticate` turns it into a user
through the configured backends; a refusal becomes an :class:`HttpResponse`
with exactly the bytes :meth:`GuardSettings.render` gives every adapter.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import aauthenticate, authenticate
from django.http import HttpRequest, HttpResponse

from .._errors import BearerGuardError, ConfigurationError, InvalidToken, MissingToken
from .._http import access_token_in_query, bearer_token
from .._settings import ResourceMetadata
from ..claims import StandardClaims
from ._conf import DjangoConfig, get_config

__all__ = [
    "CLAIMS_ATTRIBUTE",
    "aauthenticate_token",
    "authenticate_token",
    "claims_of",
    "error_http_response",
    "metadata_http_response",
    "remember_claims",
    "remember_error",
    "scope_tokens",
    "token_of",
]

#: Where the verified claims go: ``request.auth_claims`` (``None`` without a token).
CLAIMS_ATTRIBUTE = "auth_claims"
# Set by the middleware once it has looked at the request, so the decorator
# and DRF know whether they must authenticate it themselves.
CHECKED_ATTRIBUTE = "_bearerguard_checked"
# The backend's reason for refusing a token; the caller turns it into a response.
_ERROR_ATTRIBUTE = "_bearerguard_error"


def token_of(request: HttpRequest) -> str | None:
    """The request's bearer token, or ``None`` when it sends none.

    Raises :class:`~bearerguard._errors.InvalidRequest` for a malformed header,
    two credentials, or a token in the ``access_token`` query parameter
    (RFC 6750 §2.3; bearerguard accepts the header only), and
    :class:`~bearerguard._errors.TokenTooLarge` for an oversized one.
    """
    try:
        return bearer_token(
            request.META.get("HTTP_AUTHORIZATION"),
            other_credentials=access_token_in_query(request.META.get("QUERY_STRING", "")),
            max_size=get_config().verifier.max_token_size,
        )
    except MissingToken:
        return None


def scope_tokens(scopes: Iterable[str], where: str) -> tuple[str, ...]:
    """*scopes* as a tuple, each checked to be one scope token (a programming error otherwise)."""
    if isinstance(scopes, str):
        scopes = (scopes,)
    result = tuple(scopes)
    for scope in result:
        # RFC 6749 §3.3: a scope token is non-empty and has no spaces.
        if type(scope) is not str or not scope or " " in scope:
            raise ConfigurationError(
                f"{where}: each scope must be one non-empty scope token, got {scope!r}"
            )
    return result


def claims_of(request: HttpRequest) -> StandardClaims | None:
    """The verified claims of *request*, or ``None`` when no token was verified."""
    claims = getattr(request, CLAIMS_ATTRIBUTE, None)
    return claims if isinstance(claims, StandardClaims) else None


def remember_claims(request: HttpRequest | None, claims: StandardClaims | None) -> None:
    """Attach *claims* as ``request.auth_claims``."""
    if request is not None:
        setattr(request, CLAIMS_ATTRIBUTE, claims)


def remember_error(request: HttpRequest | None, error: BearerGuardError) -> None:
    """Keep why the backend refused the token, for the response (the backend returns ``None``)."""
    if request is not None:
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


def http_response(status: int, headers: Iterable[tuple[str, str]], body: bytes) -> HttpResponse:
    """An :class:`HttpResponse` with exactly these status, headers and body bytes."""
    response = HttpResponse(body, status=status)
    for name, value in headers:
        response[name] = value
    return response


def error_http_response(error: BearerGuardError, config: DjangoConfig) -> HttpResponse:
    """The RFC 6750 response for *error*, byte for byte what every adapter sends."""
    rendered = config.guard.render(error)
    return http_response(rendered.status, rendered.headers, rendered.body)


def metadata_http_response(metadata: ResourceMetadata) -> HttpResponse:
    """The RFC 9728 protected-resource metadata document."""
    return http_response(200, metadata.headers, metadata.body)
