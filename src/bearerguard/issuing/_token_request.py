"""Reading a token request (RFC 6749 §3.2) strictly, without I/O; and its errors.

A token request is a ``POST`` whose body is ``application/x-www-form-urlencoded``
UTF-8. :func:`parse_token_request` turns the content type, the body and the
``Authorization`` header into a :class:`TokenRequest`, or raises one of the
RFC 6749 §5.2 errors below. Nothing a client sends can make it raise anything
else: hostile input is a 400, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from .._errors import BearerGuardError

__all__ = [
    "InvalidClient",
    "InvalidTokenRequest",
    "TokenRequest",
    "TokenRequestError",
    "UnauthorizedClient",
    "UnsupportedGrantType",
    "parse_token_request",
]

FORM = "application/x-www-form-urlencoded"
# The parameters this endpoint reads. RFC 6749 §3.2: they must not be sent more
# than once. Other parameters are ignored (and may repeat: RFC 8707 `resource`).
READ_PARAMETERS = frozenset({"grant_type", "client_id", "client_secret", "scope", "refresh_token"})
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


class TokenRequestError(BearerGuardError):
    """A token request refused with an RFC 6749 §5.2 error response (HTTP 400 by default)."""

    code = "invalid_request"
    status = 400


class InvalidTokenRequest(TokenRequestError):
    """Malformed: wrong content type, a repeated or missing parameter, two client credentials."""

    code = "invalid_request"


class InvalidClient(TokenRequestError):
    """Client authentication failed: unknown client, wrong secret, none or an unsupported method.

    RFC 6749 §5.2: answered with 401 and a ``WWW-Authenticate: Basic`` challenge.
    """

    code = "invalid_client"
    status = 401


class UnauthorizedClient(TokenRequestError):
    """The authenticated client may not use this grant type."""

    code = "unauthorized_client"


class UnsupportedGrantType(TokenRequestError):
    """The server does not support the requested grant type."""

    code = "unsupported_grant_type"


@dataclass(frozen=True, slots=True)
class TokenRequest:
    """A parsed token request.

    *params* holds each parameter read here at most once, without empty ones
    (RFC 6749 §3.2: a parameter without a value is treated as omitted).
    *basic* holds the ``(client_id, client_secret)`` readings of an
    ``Authorization: Basic`` header (see :func:`parse_basic`).
    """

    params: Mapping[str, str]
    basic: tuple[tuple[str, str], ...] | None = None


def _form_decode(text: str, what: str) -> str:
    """One form-urlencoded name or value: ``+`` is a space, ``%XX`` a byte of UTF-8."""
    if _PERCENT.search(text):
        raise InvalidTokenRequest(f"{what} has a '%' not followed by two hex digits")
    try:
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidTokenRequest(f"{what} is not percent-encoded UTF-8") from None


def _check_content_type(value: str | None) -> None:
    if value is None:
        raise InvalidTokenRequest(f"Content-Type must be {FORM}")
    media_type, *parameters = value.split(";")
    if media_type.strip().lower() != FORM:
        raise InvalidTokenRequest(f"Content-Type must be {FORM}")
    for parameter in parameters:
        name, _, charset = parameter.partition("=")
        if name.strip().lower() == "charset" and charset.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            raise InvalidTokenRequest("the request body must be UTF-8")


def parse_form(body: bytes) -> dict[str, str]:
    """The parameters this endpoint reads from a form body (see :class:`TokenRequest`)."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidTokenRequest(
            "the body must be form-urlencoded: ASCII, with UTF-8 percent-encoded"
        ) from None
    params: dict[str, str] = {}
    seen: set[str] = set()
    for part in text.split("&"):
        if not part:
            continue
        raw_name, _, raw_value = part.partition("=")
        name = _form_decode(raw_name, "a parameter name")
        if name not in READ_PARAMETERS:
            continue
        if name in seen:
            raise InvalidTokenRequest(f"{name} is included more than once (RFC 6749 section 3.2)")
        seen.add(name)
        value = _form_decode(raw_value, name)
        if value:
            params[name] = value
    return params


def parse_basic(value: str) -> tuple[tuple[str, str], ...]:
    """The ``(client_id, client_secret)`` readings of ``Authorization: Basic ...``.

    RFC 6749 §2.3.1 has the id and the secret form-urlencoded before they are
    joined with ``:`` and base64-encoded: that reading comes first. Many
    clients (requests' ``HTTPBasicAuth``, Authlib's client) send them as they
    are, so the text as sent is the second reading when it differs. Either
    way the caller must know the secret; only the spelling differs.
    """
    if "," in value:  # two Authorization headers, joined (base64 has no ',')
        raise InvalidTokenRequest("send one Authorization header: the request has two")
    scheme, _, credentials = value.strip().partition(" ")
    if scheme.lower() != "basic":
        raise InvalidClient(
            "unsupported client authentication scheme; use Basic (client_secret_basic) "
            "or client_id and client_secret in the body (client_secret_post)"
        )
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidClient("malformed Basic credentials") from None
    raw_id, colon, raw_secret = decoded.partition(":")
    if not colon or not raw_id or not raw_secret:
        raise InvalidClient("malformed Basic credentials: expected client_id:client_secret")
    readings = [(raw_id, raw_secret)]
    try:
        form = (_form_decode(raw_id, "client_id"), _form_decode(raw_secret, "client_secret"))
    except InvalidTokenRequest:
        return tuple(readings)
    if form != readings[0]:
        readings.insert(0, form)
    return tuple(readings)


def parse_token_request(headers: Mapping[str, str], body: bytes) -> TokenRequest:
    """Parse a ``POST`` to the token endpoint; *headers* has lower-case names.

    A header sent twice should arrive joined with ``", "`` (RFC 9110 §5.3),
    which makes a second ``Authorization`` header malformed, as it should be.
    """
    _check_content_type(headers.get("content-type"))
    params = parse_form(body)
    authorization = headers.get("authorization")
    basic = None if authorization is None else parse_basic(authorization)
    return TokenRequest(params, basic)
