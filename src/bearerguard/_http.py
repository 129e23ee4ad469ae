"""HTTP without I/O: the ``Authorization`` header in, RFC 6750 responses out.

Every framework adapter uses these two functions, so every adapter answers
with the same bytes:

* :func:`bearer_token` pulls the token out of the request's ``Authorization``
  header values (RFC 6750 §2.1), raising :class:`~bearerguard.MissingToken`
  when there are no bearer credentials and
  :class:`~bearerguard.InvalidRequest` when the header is malformed or
  credentials are sent twice.
* :func:`error_response` renders any :class:`~bearerguard.BearerGuardError`
  as status, headers and a small JSON body (RFC 6750 §3, RFC 9728 §5.1).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from ._errors import (
    BearerGuardError,
    InsufficientRole,
    InsufficientScope,
    InsufficientUserAuthentication,
    InvalidRequest,
    InvalidToken,
    KeySetUnavailable,
    MissingToken,
    TokenTooLarge,
    UseDPoPNonce,
)
from ._jws import DEFAULT_MAX_TOKEN_SIZE
from ._rules import NOT_NQSCHAR

__all__ = [
    "REFUSALS",
    "PlainResponse",
    "access_token_in_query",
    "authorization_credentials",
    "bearer_token",
    "error_response",
    "is_cors_preflight",
    "quote",
]

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
# Checked by deleting these bytes (one table pass in C): a regular expression over a
# whole token costs three to four times as much, on every request.
_B64TOKEN = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/"
MAX_DESCRIPTION = 200

#: The errors an adapter answers with :func:`error_response` (400/401/403/503).
#: Anything else (a ConfigurationError, a bug) propagates: it is the server's
#: fault and belongs in its logs, not in a quiet 500 body.
REFUSALS: tuple[type[BearerGuardError], ...] = (
    MissingToken,
    InvalidRequest,
    InvalidToken,
    InsufficientScope,
    InsufficientRole,
    InsufficientUserAuthentication,
    KeySetUnavailable,
)


def bearer_token(
    authorization: str | bytes | Sequence[str | bytes] | None,
    *,
    other_credentials: bool = False,
    max_size: int = DEFAULT_MAX_TOKEN_SIZE,
) -> str:
    """The bearer token from the ``Authorization`` header value(s).

    *authorization* is the header's value, or every value when the request
    had several. *other_credentials* says the request also carried a token
    another way (e.g. an ``access_token`` query or form parameter), which
    RFC 6750 §2 forbids. The scheme is matched case-insensitively.
    """
    return authorization_credentials(
        authorization, other_credentials=other_credentials, max_size=max_size
    )[1]


def authorization_credentials(
    authorization: str | bytes | Sequence[str | bytes] | None,
    *,
    other_credentials: bool = False,
    max_size: int = DEFAULT_MAX_TOKEN_SIZE,
    dpop: bool = False,
) -> tuple[str, str]:
    """``(scheme, token)`` from the ``Authorization`` header value(s), as :func:`bearer_token`.

    With *dpop*, the ``DPoP`` scheme (RFC 9449 §7.1) is taken as well; the
    scheme comes back as ``"Bearer"`` or ``"DPoP"`` whatever its case.
    """
    if authorization is None or isinstance(authorization, str | bytes):
        values: Sequence[str | bytes] = () if authorization is None else (authorization,)
    else:
        values = authorization
    if len(values) > 1:
        raise InvalidRequest("more than one Authorization header")
    if not values:
        if other_credentials:
            raise InvalidRequest("token must be sent in the Authorization header")
        raise MissingToken("no bearer token")
    raw = values[0]
    if len(raw) > max_size + 64:
        raise TokenTooLarge(f"token is larger than {max_size} bytes")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidRequest("Authorization header is not ASCII") from None
    elif not raw.isascii():
        # WSGI servers hand header bytes over as latin-1 text: same answer as for bytes.
        raise InvalidRequest("Authorization header is not ASCII")
    value = raw.strip(" \t")
    if "," in value and _has_scheme(_schemes(value), dpop):
        # RFC 9110 §5.3: repeated header lines reach WSGI apps joined by commas.
        raise InvalidRequest("more than one Authorization header")
    scheme, _, rest = value.partition(" ")
    lowered = scheme.lower()
    if lowered != "bearer" and (not dpop or lowered != "dpop"):
        if other_credentials:
            raise InvalidRequest("token must be sent in the Authorization header")
        # RFC 6750 §3.1: another authentication scheme is "no bearer credentials".
        raise MissingToken("no bearer token")
    # The scheme is letters only (checked above), then 1*SP, then the b64token.
    token = rest.lstrip(" ")
    body = token.rstrip("=")
    if not body or body.encode("ascii").translate(None, _B64TOKEN):
        if not rest.strip(" "):
            named = "DPoP" if lowered == "dpop" else "Bearer"
            raise InvalidRequest(f"Authorization header has no token after {named}")
        raise InvalidRequest("Authorization header is malformed")
    if other_credentials:
        raise InvalidRequest("credentials sent in more than one way")
    return ("DPoP" if lowered == "dpop" else "Bearer"), token


def _schemes(value: str) -> list[str]:
    return [part.strip(" \t").partition(" ")[0].lower() for part in value.split(",")]


def _has_scheme(schemes: list[str], dpop: bool) -> bool:
    return "bearer" in schemes or (dpop and "dpop" in schemes)


def is_cors_preflight(method: str, origin: object, request_method: object) -> bool:
    """Whether a request is a CORS preflight (Fetch standard, "CORS-preflight request").

    Browsers never attach credentials to a preflight, so the CORS layer must
    answer it before authentication. Being a preflight is never a reason to
    skip authentication on its own, since anyone can send these headers: the
    Flask adapter uses this only to answer, itself, a preflight that Flask
    would answer with its built-in ``OPTIONS`` response (no view would run).
    *origin* and *request_method* are the ``Origin`` and
    ``Access-Control-Request-Method`` header values (``None`` when absent).
    """
    return method == "OPTIONS" and bool(origin) and bool(request_method)


def access_token_in_query(query: str | bytes) -> bool:
    """Whether the query string carries an ``access_token`` parameter (RFC 6750 §2.3).

    Adapters pass the answer to :func:`bearer_token` as *other_credentials*:
    bearerguard takes tokens from the header only, and a token in the URL as
    well (or instead) is refused with 400 rather than silently ignored.
    """
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    if "access_token" not in query and "%" not in query:
        return False
    return any(name == "access_token" for name, _ in parse_qsl(query, keep_blank_values=True))


@dataclass(frozen=True, slots=True)
class PlainResponse:
    """A rendered response: status, header pairs and body bytes, ready for any framework."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def quote(value: str) -> str:
    """A safe quoted-string for a challenge parameter.

    RFC 6750 §3: ``error_description`` and ``scope`` use NQSCHAR only
    (%x20-21 / %x23-5B / %x5D-7E); anything else becomes ``?``.
    """
    return '"' + NOT_NQSCHAR.sub("?", value)[:MAX_DESCRIPTION] + '"'


def error_response(
    error: BearerGuardError,
    *,
    realm: str | None = None,
    resource_metadata: str | None = None,
    dpop_algs: str | None = None,
    dpop_required: bool = False,
) -> PlainResponse:
    """Render *error* as the RFC 6750 response every adapter sends.

    No credentials → 401 with a bare ``Bearer realm=…`` challenge; malformed
    request → 400 ``invalid_request``; bad token → 401 ``invalid_token``;
    missing scope → 403 ``insufficient_scope`` with ``scope``; missing role →
    403 ``insufficient_scope`` without ``scope``, the roles described; weak or
    old user authentication → 401 ``insufficient_user_authentication`` with
    ``acr_values`` and/or ``max_age`` (RFC 9470 §3); keys unavailable → 503
    with ``Retry-After``. *resource_metadata* adds the RFC
    9728 ``resource_metadata`` parameter to the challenge.

    *dpop_algs* (DPoP accepted, RFC 9449 §7.1) gives a ``DPoP`` challenge
    with ``algs`` to a token presented with the DPoP scheme
    (:attr:`~bearerguard.BearerGuardError.scheme`), and to every refusal when
    *dpop_required*; a request without credentials is offered both schemes
    when DPoP is only allowed; ``use_dpop_nonce`` adds a ``DPoP-Nonce`` header.
    """
    status = error.status
    params: list[str] = []
    if realm is not None:
        params.append(f"realm={quote(realm)}")
    body: dict[str, str]
    headers: list[tuple[str, str]] = [
        ("content-type", "application/json"),
        ("cache-control", "no-store"),
    ]
    if isinstance(error, KeySetUnavailable):
        retry = max(1, int(error.retry_after))
        headers.append(("retry-after", str(retry)))
        body = {"error": "temporarily_unavailable", "error_description": error.unavailable}
        return _finish(status, headers, body)
    if isinstance(error, MissingToken) or error.code is None:
        body = {"error": "unauthorized", "error_description": "bearer token required"}
    elif error.status in (400, 401, 403):
        code = error.code
        description = NOT_NQSCHAR.sub("?", error.description)[:MAX_DESCRIPTION]
        params.append(f'error="{code}"')
        params.append(f"error_description={quote(description)}")
        if isinstance(error, InsufficientScope):
            params.append(f"scope={quote(' '.join(error.required))}")
        elif isinstance(error, InsufficientUserAuthentication):
            # RFC 9470 §3: the parameters the endpoint's requirement has, no others.
            if error.acr_values:
                # Not cut at MAX_DESCRIPTION like the texts: a cut value would name another acr.
                acr_values = NOT_NQSCHAR.sub("?", " ".join(error.acr_values))
                params.append(f'acr_values="{acr_values}"')
            if error.max_age is not None:
                params.append(f'max_age="{int(error.max_age)}"')
        body = {"error": code, "error_description": description}
    else:
        # Configuration and other server-side errors: no challenge, no details.
        return _finish(500, headers, {"error": "server_error"})
    if resource_metadata is not None:
        params.append(f"resource_metadata={quote(resource_metadata)}")
    if dpop_algs is not None:
        challenge = _dpop_challenge(error, params, dpop_algs, dpop_required)
        if isinstance(error, UseDPoPNonce):
            headers.append(("dpop-nonce", error.nonce))
    else:
        challenge = "Bearer " + ", ".join(params) if params else "Bearer"
    headers.append(("www-authenticate", challenge))
    return _finish(status, headers, body)


def _dpop_challenge(error: BearerGuardError, params: list[str], algs: str, required: bool) -> str:
    """The challenge(s) when DPoP is accepted (RFC 9449 §7.1, RFC 9110 §11.6.1)."""
    if required or error.scheme == "DPoP":
        return "DPoP " + ", ".join([*params, f'algs="{algs}"'])
    bearer = "Bearer " + ", ".join(params) if params else "Bearer"
    if isinstance(error, MissingToken) or error.code is None:
        return f'{bearer}, DPoP algs="{algs}"'  # no credentials: either scheme will do
    return bearer


def _finish(status: int, headers: list[tuple[str, str]], body: dict[str, str]) -> PlainResponse:
    payload = json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8")
    headers.append(("content-length", str(len(payload))))
    return PlainResponse(status, tuple(headers), payload)
