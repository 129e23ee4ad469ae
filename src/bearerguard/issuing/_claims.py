"""What an access token says, and what the server remembers about a refresh token.

:class:`AccessTokenClaims` is an access token's claims shaped by RFC 9068
§2.2 (``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``jti``, ``client_id``,
``scope``, optional ``nbf``, ``auth_time``, ``roles`` and your own claims).
The name differs from the verifier's :class:`bearerguard.AccessClaims`, which
is what a resource server reads back out of a verified token.

:class:`RefreshTokenClaims` is a refresh token's record: refresh tokens here
are opaque random strings (see :mod:`bearerguard.issuing._refresh`), so their
claims live on the server, in the :class:`~bearerguard.issuing._refresh.RefreshStore`.
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigurationError

__all__ = ["RESERVED_CLAIMS", "AccessTokenClaims", "RefreshTokenClaims", "check_scopes"]

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")

RESERVED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "auth_time", "roles"}
)


def check_scopes(scopes: Iterable[str] | str, what: str = "scopes") -> tuple[str, ...]:
    """Validate scope tokens (RFC 6749 §3.3) and return them as a tuple, order kept.

    A string is one scope, not a space-separated list: ``"read write"`` is
    refused, so a caller's mistake cannot silently grant two scopes.
    """
    items = (scopes,) if isinstance(scopes, str) else tuple(scopes)
    seen: set[str] = set()
    for scope in items:
        if not isinstance(scope, str) or _SCOPE_TOKEN.fullmatch(scope) is None:
            raise ConfigurationError(
                f"{what}: each scope must be a non-empty string of printable ASCII without "
                f"spaces, quotes or backslashes (RFC 6749 §3.3), got {str(scope)[:40]!r}"
            )
        if scope in seen:
            raise ConfigurationError(f"{what}: scope {scope!r} is listed twice")
        seen.add(scope)
    return items


def _text(value: object, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string")


def _time(value: object, name: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"{name} must be a finite number of seconds since the epoch")
    if value < 0:
        raise ConfigurationError(f"{name} must not be negative")


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessTokenClaims:
    """The claims of one access token (RFC 9068 §2.2).

    ``scopes`` becomes the space-separated ``scope`` claim; ``aud`` is one
    audience or several; ``extra`` holds your own claims and may not reuse a
    name from :data:`RESERVED_CLAIMS`. Times are NumericDates (whole seconds).
    """

    iss: str
    sub: str
    aud: str | tuple[str, ...]
    exp: int
    iat: int
    jti: str
    client_id: str
    scopes: tuple[str, ...] = ()
    nbf: int | None = None
    auth_time: int | None = None
    roles: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("iss", "sub", "jti", "client_id"):
            _text(getattr(self, name), name)
        audiences = (self.aud,) if isinstance(self.aud, str) else tuple(self.aud)
        if not audiences or not all(isinstance(a, str) and a for a in audiences):
            raise ConfigurationError("aud must be a non-empty string or strings")
        if not isinstance(self.aud, str):
            object.__setattr__(self, "aud", audiences)
        for name in ("exp", "iat"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"{name} must be a non-negative integer NumericDate")
        for name in ("nbf", "auth_time"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ConfigurationError(f"{name} must be a non-negative integer NumericDate")
        if self.exp <= self.iat:
            raise ConfigurationError("exp must be later than iat")
        object.__setattr__(self, "scopes", check_scopes(self.scopes))
        given: object = self.roles  # a single string would otherwise become its letters
        roles = (given,) if isinstance(given, str) else tuple(self.roles)
        if not all(isinstance(r, str) and r for r in roles):
            raise ConfigurationError("roles must be non-empty strings")
        object.__setattr__(self, "roles", roles)
        if not isinstance(self.extra, Mapping):
            raise ConfigurationError("extra must be a mapping of claim names to JSON values")
        clash = sorted(RESERVED_CLAIMS.intersection(self.extra))
        if clash:
            raise ConfigurationError(
                f"extra claims may not set {', '.join(clash)}; use the fields instead"
            )
        if not all(isinstance(k, str) and k for k in self.extra):
            raise ConfigurationError("extra claim names must be non-empty strings")
        object.__setattr__(self, "extra", types.MappingProxyType(dict(self.extra)))

    @property
    def scope(self) -> str:
        """The ``scope`` claim: the scopes separated by single spaces."""
        return " ".join(self.scopes)

    def to_payload(self) -> dict[str, Any]:
        """The JWT payload: registered claims first, then ``extra``; unset ones left out."""
        payload: dict[str, Any] = {
            "iss": self.iss,
            "sub": self.sub,
            "aud": self.aud if isinstance(self.aud, str) else list(self.aud),
            "exp": self.exp,
            "iat": self.iat,
        }
        if self.nbf is not None:
            payload["nbf"] = self.nbf
        payload["jti"] = self.jti
        payload["client_id"] = self.client_id
        if self.scopes:
            payload["scope"] = self.scope
        if self.auth_time is not None:
            payload["auth_time"] = self.auth_time
        if self.roles:
            payload["roles"] = list(self.roles)
        payload.update(self.extra)
        return payload


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshTokenClaims:
    """What the server keeps about one refresh token.

    ``jti`` is the SHA-256 hex digest of the token, the key it is stored under
    — the token itself is never stored. ``family`` names the grant: every
    token rotated from the same login shares it, and reuse of any of them
    revokes them all. ``auth_time`` is when that login happened.
    """

    sub: str
    client_id: str
    family: str
    jti: str
    iat: float
    exp: float
    scopes: tuple[str, ...] = ()
    auth_time: float | None = None

    def __post_init__(self) -> None:
        for name in ("sub", "family", "jti"):
            _text(getattr(self, name), name)
        if not isinstance(self.client_id, str):
            raise ConfigurationError("client_id must be a string")
        _time(self.iat, "iat")
        _time(self.exp, "exp")
        _time(self.auth_time, "auth_time", optional=True)
        if self.exp <= self.iat:
            raise ConfigurationError("exp must be later than iat")
        object.__setattr__(self, "scopes", check_scopes(self.scopes))
