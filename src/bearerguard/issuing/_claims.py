"""What an access token says, and what the server remembers about a refresh token.

:class:`AccessTokenClaims` is an access token's claims shaped by RFC 9068
§2.2 (``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``jti``, ``client_id``,
``scope``, optional ``nbf``, ``auth_time``, ``roles`` and your own claims).
The name differs from the verifier's :class:`bearerguard.AccessClaims`, which
is what a resource server reads back out of a verified token.

:class:`RefreshTokenClaims` is a refresh token's record: refresh tokens here
are opaque random strings (see :mod:`bearerguard.issuing._refresh`), so their
claims live on the server, in the :class:`~bearerguard.issuing.RefreshStore`.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigurationError
from .._rules import scope_tokens, seconds, strings

__all__ = ["RESERVED_CLAIMS", "AccessTokenClaims", "RefreshTokenClaims"]

RESERVED_CLAIMS = frozenset(
    {"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "scope", "auth_time", "roles"}
)


def _text(value: object, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string")


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessTokenClaims:
    """The claims of one access token (RFC 9068 §2.2).

    ``scopes`` becomes the space-separated ``scope`` claim; ``aud`` is one
    audience or several; ``extra`` holds your own claims and may not reuse the
    name of a claim set here (``iss``, ``sub``, ``aud``, ``exp``, ``iat``,
    ``nbf``, ``jti``, ``client_id``, ``scope``, ``auth_time``, ``roles``).
    Times are NumericDates (whole seconds).
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
        audiences = strings(self.aud, "aud", required=True)
        if not isinstance(self.aud, str):
            object.__setattr__(self, "aud", audiences)
        # RFC 7519 §2: a NumericDate; RFC 9068 tokens carry whole seconds.
        for name in ("exp", "iat", "nbf", "auth_time"):
            value = getattr(self, name)
            if value is not None or name in ("exp", "iat"):
                seconds(value, name, whole=True, unit="seconds since the epoch")
        if self.exp <= self.iat:
            raise ConfigurationError("exp must be later than iat")
        object.__setattr__(self, "scopes", scope_tokens(self.scopes, "scopes", distinct=True))
        object.__setattr__(self, "roles", strings(self.roles, "roles"))
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
        for name in ("iat", "exp", "auth_time"):
            value = getattr(self, name)
            if value is not None or name != "auth_time":
                seconds(value, name, unit="seconds since the epoch")
        if self.exp <= self.iat:
            raise ConfigurationError("exp must be later than iat")
        object.__setattr__(self, "scopes", scope_tokens(self.scopes, "scopes", distinct=True))
