"""Strict decoding of compact JWS tokens (RFC 7515 §3.1, §7.1; RFC 8725 §3).

:func:`decode` turns a token string into a :class:`DecodedToken` without
verifying it: exactly three segments of canonical base64url, a header and a
payload that are JSON objects without duplicate members and whose strings are
Unicode text (no unpaired surrogate escapes, RFC 7493 §2.1), an ``alg`` from the
asymmetric table, no ``crit`` extension and no unencoded payload (``b64``).
``alg: none`` is refused by name, whatever the token's shape.
Key-carrying headers (``jwk``, ``jku``, ``x5c``, ``x5u``) are never read: keys
come only from the issuer's trusted key set.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ._algorithms import ALGORITHMS
from ._encoding import (
    CANONICAL_LAST,
    URL_TO_STD,
    decode_checked,
    is_b64url,
    json_object,
    object_fast,
    std_segment_decode,
)
from ._errors import AlgorithmNotAllowed, MalformedToken, TokenTooLarge, UnsupportedToken
from ._limits import DEFAULT_MAX_TOKEN_SIZE, MAX_KID_LENGTH

if TYPE_CHECKING:
    from ._jwk import PublicJWK
    from .claims import StandardClaims

__all__ = ["DEFAULT_MAX_TOKEN_SIZE", "JWS", "DecodedToken", "decode", "parse", "verified_jws"]

C = TypeVar("C", bound="StandardClaims")


_COMPACT = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")


@dataclass(frozen=True, slots=True)
class DecodedToken:
    """A parsed, not yet verified token."""

    header: dict[str, Any]
    payload: dict[str, Any]
    signing_input: bytes
    signature: bytes
    alg: str
    kid: str | None


@dataclass(frozen=True, slots=True)
class JWS:
    """A token whose signature has been verified with ``key``.

    ``header`` and ``payload`` are read-only views of the decoded JSON objects.
    """

    header: Mapping[str, Any]
    payload: Mapping[str, Any]
    signature: bytes
    key: PublicJWK

    @property
    def alg(self) -> str:
        """The header's ``alg``."""
        alg: str = self.header["alg"]
        return alg

    @property
    def kid(self) -> str | None:
        """The header's ``kid`` (``None`` when absent)."""
        kid: str | None = self.header.get("kid")
        return kid

    @property
    def typ(self) -> str | None:
        """The header's ``typ`` (``None`` when absent)."""
        typ: str | None = self.header.get("typ")
        return typ

    def claims(self, claims_type: type[C]) -> C:
        """The payload as *claims_type* (type-checked; no claim validation)."""
        return claims_type.from_payload(self.payload)


_MappingProxy = types.MappingProxyType
_new = object.__new__
_SET_HEADER = JWS.__dict__["header"].__set__
_SET_PAYLOAD = JWS.__dict__["payload"].__set__
_SET_SIGNATURE = JWS.__dict__["signature"].__set__
_SET_KEY = JWS.__dict__["key"].__set__


def verified_jws(
    header: Mapping[str, Any], payload: Mapping[str, Any], signature: bytes, key: PublicJWK
) -> JWS:
    """``JWS(read-only header, read-only payload, signature, key)``, built directly.

    The same object the dataclass ``__init__`` makes (JWS has no
    ``__post_init__``), without its four ``object.__setattr__`` calls; this runs
    once per verified token.
    """
    jws: JWS = _new(JWS)
    _SET_HEADER(jws, header if type(header) is _MappingProxy else _MappingProxy(header))
    _SET_PAYLOAD(jws, payload if type(payload) is _MappingProxy else _MappingProxy(payload))
    _SET_SIGNATURE(jws, signature)
    _SET_KEY(jws, key)
    return jws


def _segment_ok(segment: str) -> bool:
    rem = len(segment) & 3
    return rem == 0 or (rem != 1 and segment[-1] in CANONICAL_LAST[rem])


Parts = tuple[dict[str, Any], dict[str, Any], bytes, bytes, str, "str | None"]
"""``(header, payload, signing_input, signature, alg, kid)``, as :func:`parse` returns it."""

# Parsed headers by their segment (as sent). An issuer signs every token with
# a handful of headers ({"alg", "kid", "typ"} per key), so most tokens skip the
# header's base64 and JSON entirely. Only headers of short, scalar members are
# kept: the dicts are shared (read-only views outside this module; decode()
# hands out copies), and the size bound keeps a flood of odd headers cheap.
_HEADERS: dict[bytes, tuple[dict[str, Any], str, str | None]] = {}
MAX_CACHED_HEADERS = 256
_MAX_CACHED_HEADER_LENGTH = 512
_SCALARS = (str, int, float, bool, type(None))


def decode(token: str, *, max_size: int = DEFAULT_MAX_TOKEN_SIZE) -> DecodedToken:
    """Parse *token* strictly; raise an :class:`~bearerguard.InvalidToken`."""
    header, payload, signing_input, signature, alg, kid = parse(token, max_size)
    return DecodedToken(dict(header), payload, signing_input, signature, alg, kid)


def parse(token: str, max_size: int = DEFAULT_MAX_TOKEN_SIZE) -> Parts:
    """:func:`decode` as a tuple, for the verification path (no object to build).

    The header dict may be shared with other tokens: never mutate it.
    """
    if type(token) is not str:
        raise MalformedToken("token must be a string")
    if len(token) > max_size:
        raise TokenTooLarge(f"token is larger than {max_size} bytes")
    return _parse_fast(token) or _parse_strict(token)


def _parse_fast(token: str) -> Parts | None:
    """The common case: a well-formed token. ``None`` defers to :func:`_parse_strict`.

    Accepts exactly what :func:`_parse_strict` accepts and returns the same
    values: any doubt (a stray character, padding, whitespace in the JSON, a
    duplicate member, ...) returns ``None`` and the strict path decides, with
    its precise error. Header errors are raised here only after every segment
    has been found canonical, which is the order the strict path checks in.
    """
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        return None
    # bytes.find is a memchr; bytes.split walks the token byte by byte.
    dot1 = raw.find(b".")
    dot2 = raw.find(b".", dot1 + 1)
    if (
        dot1 < 1  # no dot, or an empty header
        or dot2 <= dot1 + 1  # one dot only, or an empty payload
        or dot2 == len(raw) - 1  # an empty signature
        or raw.find(b".", dot2 + 1) != -1  # more than three segments
    ):
        return None
    std = raw.translate(URL_TO_STD)
    payload_bytes = std_segment_decode(std[dot1 + 1 : dot2])
    signature = std_segment_decode(std[dot2 + 1 :])
    if payload_bytes is None or signature is None:
        return None
    h64 = raw[:dot1]
    cached = _HEADERS.get(h64)
    if cached is None:
        header_bytes = std_segment_decode(std[:dot1])
        if header_bytes is None:
            return None
        header = object_fast(header_bytes)
        if header is None:
            return None
        alg, kid = _check_header(header)
        if dot1 <= _MAX_CACHED_HEADER_LENGTH and all(
            type(value) in _SCALARS for value in header.values()
        ):
            if len(_HEADERS) >= MAX_CACHED_HEADERS:
                _HEADERS.clear()
            _HEADERS[h64] = (header, alg, kid)
    else:
        header, alg, kid = cached
    payload = object_fast(payload_bytes)
    if payload is None:
        return None
    return header, payload, raw[:dot2], signature, alg, kid


def _parse_strict(token: str) -> Parts:
    """Parse with a precise error for every way a token can be malformed."""
    match = _COMPACT.fullmatch(token)
    if match is None:
        dots = token.count(".")
        if dots == 4:
            raise UnsupportedToken("encrypted tokens (JWE) are not supported")
        # An unsecured JWS ("alg": "none") comes with an empty signature: say what
        # it is rather than which segment is missing.
        _refuse_unsecured(token.partition(".")[0])
        if dots != 2:
            raise MalformedToken("token is not a compact JWS (three dot-separated segments)")
        if "" in token.split("."):
            raise MalformedToken("token has an empty segment")
        raise MalformedToken("token contains characters outside base64url")
    h64, p64, s64 = match.groups()
    if not (_segment_ok(h64) and _segment_ok(p64) and _segment_ok(s64)):
        raise MalformedToken("token segment is not canonical base64url")

    header = json_object(decode_checked(h64), "token header")
    alg, kid = _check_header(header)
    payload = json_object(decode_checked(p64), "token payload")
    signing_input = token[: len(h64) + 1 + len(p64)].encode("ascii")
    return header, payload, signing_input, decode_checked(s64), alg, kid


def _check_header(header: dict[str, Any]) -> tuple[str, str | None]:
    """The header's ``alg`` and ``kid`` once its members pass; raise otherwise."""
    alg = header.get("alg")
    if type(alg) is not str or alg not in ALGORITHMS:
        # Covers "none" in every casing, HS*, and anything unknown (RFC 8725 §3.1).
        if type(alg) is str and alg.lower() == "none":
            raise AlgorithmNotAllowed(_UNSECURED.format(alg))
        raise AlgorithmNotAllowed(f"algorithm {str(alg)[:20]!r} is not allowed")
    if "crit" in header:
        # RFC 7515 §4.1.11: bearerguard understands no extension header, so a
        # token that declares one critical must be rejected.
        raise UnsupportedToken("token declares critical header extensions")
    if "b64" in header and header["b64"] is not True:
        raise UnsupportedToken("unencoded payloads (b64) are not supported")
    kid = header.get("kid")
    if kid is not None and (type(kid) is not str or len(kid) > MAX_KID_LENGTH):
        raise MalformedToken("token header kid is not a short string")
    typ = header.get("typ")
    if typ is not None and type(typ) is not str:
        raise MalformedToken("token header typ is not a string")
    return alg, kid


_UNSECURED = "alg {!r} is the 'none' algorithm (an unsecured JWS), never accepted"


def _refuse_unsecured(h64: str) -> None:
    """Raise :class:`AlgorithmNotAllowed` when *h64* is a header whose ``alg`` is ``none``.

    For tokens that fail the compact form: an unsecured JWS (RFC 7515 §A.5)
    is refused for its algorithm (RFC 8725 §3.1), whatever its shape. Any
    other header, or none that parses, leaves the shape error to the caller.
    """
    if not is_b64url(h64):
        return
    try:
        header = json_object(decode_checked(h64), "token header")
    except MalformedToken:
        return
    alg = header.get("alg")
    if type(alg) is str and alg.lower() == "none":
        raise AlgorithmNotAllowed(_UNSECURED.format(alg))
