"""Strict decoding of compact JWS tokens (RFC 7515 §3.1, §7.1; RFC 8725 §3).

:func:`decode` turns a token string into a :class:`DecodedToken` without
verifying it: exactly three segments of canonical base64url, a header and a
payload that are JSON objects without duplicate members, an ``alg`` from the
asymmetric table, no ``crit`` extension and no unencoded payload (``b64``).
Key-carrying headers (``jwk``, ``jku``, ``x5c``, ``x5u``) are never read: keys
come only from the issuer's trusted key set.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from .algorithms import ALGORITHMS
from .encoding import _CANONICAL_LAST, _decode_checked, json_object
from .errors import AlgorithmNotAllowed, MalformedToken, TokenTooLarge, UnsupportedToken

if TYPE_CHECKING:
    from .claims import StandardClaims
    from .jwk import PublicJWK

__all__ = ["DEFAULT_MAX_TOKEN_SIZE", "JWS", "DecodedToken", "decode"]

C = TypeVar("C", bound="StandardClaims")

DEFAULT_MAX_TOKEN_SIZE = 16 * 1024
MAX_KID_LENGTH = 256

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


def _segment_ok(segment: str) -> bool:
    rem = len(segment) & 3
    return rem == 0 or (rem != 1 and segment[-1] in _CANONICAL_LAST[rem])


def decode(token: str, *, max_size: int = DEFAULT_MAX_TOKEN_SIZE) -> DecodedToken:
    """Parse *token* strictly; raise an :class:`~bearerguard.errors.InvalidToken`."""
    if type(token) is not str:
        raise MalformedToken("token must be a string")
    if len(token) > max_size:
        raise TokenTooLarge(f"token is larger than {max_size} bytes")
    match = _COMPACT.fullmatch(token)
    if match is None:
        dots = token.count(".")
        if dots == 4:
            raise UnsupportedToken("encrypted tokens (JWE) are not supported")
        if dots != 2:
            raise MalformedToken("token is not a compact JWS (three dot-separated segments)")
        if "" in token.split("."):
            # e.g. an unsecured JWS ("alg": "none") with its empty signature.
            raise MalformedToken("token has an empty segment")
        raise MalformedToken("token contains characters outside base64url")
    h64, p64, s64 = match.groups()
    if not (_segment_ok(h64) and _segment_ok(p64) and _segment_ok(s64)):
        raise MalformedToken("token segment is not canonical base64url")

    header = json_object(_decode_checked(h64), "token header")
    alg = header.get("alg")
    if type(alg) is not str or alg not in ALGORITHMS:
        # Covers "none" in every casing, HS*, and anything unknown (RFC 8725 §3.1).
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

    payload = json_object(_decode_checked(p64), "token payload")
    signing_input = token[: len(h64) + 1 + len(p64)].encode("ascii")
    return DecodedToken(header, payload, signing_input, _decode_checked(s64), alg, kid)


def peek_claim(token: str, name: str, *, max_size: int = DEFAULT_MAX_TOKEN_SIZE) -> Any:
    """An *unverified* claim of *token*, for routing only (e.g. which issuer's keys to use)."""
    return decode(token, max_size=max_size).payload.get(name)


def reject_unknown_alg(alg: str, allowed: frozenset[str] | None) -> None:
    """Raise when *alg* is outside an issuer's allow-list."""
    if allowed is not None and alg not in allowed:
        raise AlgorithmNotAllowed(f"algorithm {alg!r} is not allowed for this issuer")
