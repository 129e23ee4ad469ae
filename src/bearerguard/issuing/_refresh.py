"""Refresh tokens: opaque strings, stored hashed, rotated on use (``RefreshStore``).

A refresh token is ``<family>.<secret>``: 128 random bits naming the grant and
256 random bits of secret, both base64url. Not a JWT, on purpose: only the
issuer ever reads a refresh token, the server must keep state anyway to rotate
tokens and detect reuse, and a signed token would invite resource servers to
accept it as a credential and would show its claims to anyone holding it.

Stores key each token by its SHA-256 digest (its ``jti``), never the token:
whoever reads the store cannot use what they read. A plain hash suffices
because the secret has 256 bits of entropy; there is nothing to brute-force.

Rotation and reuse detection (RFC 9700 §4.14.2): :meth:`RefreshStore.redeem`
atomically marks a token used and returns its claims; the issuer then saves a
new token in the same family. Presenting a used token again revokes the whole
family, so a stolen token and the legitimate one stop working together.

That only works while the store remembers which tokens were used. Every store
here keeps a used token's *marker* exactly as long as its family (until the
family's last token expires) and drops markers only together with their
family: whatever a store drops to bound its memory (expiry, eviction, Redis'
``maxmemory`` policy), a family never lives on without its markers, so a
thief's rotated token can never outlive the evidence that would revoke it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from .._errors import ConfigurationError
from .._rules import scope_tokens, seconds
from ._claims import RefreshTokenClaims
from ._errors import InvalidGrant

__all__ = [
    "DROPPED",
    "REUSED",
    "REVOKED",
    "ROTATION_WINDOW",
    "UNKNOWN",
    "RefreshStore",
    "check_ttl",
    "mark_rotating",
    "new_claims",
    "new_refresh_token",
    "refresh_token_family",
    "refresh_token_id",
    "token_key",
]

_TOKEN = re.compile(r"([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})")
_FAMILY = re.compile(r"[A-Za-z0-9_-]{22}")

# Messages a client may see; one message for unknown, expired and malformed
# tokens, so the endpoint is no oracle for which tokens exist.
UNKNOWN = "refresh token is invalid or expired"
REVOKED = "refresh token has been revoked"
REUSED = "refresh token was already used; every token of this grant has been revoked"
DROPPED = "this grant is no longer stored (the refresh store dropped it); log in again"

# How long after a redeem the family counts as "rotating" (its successor not yet
# saved). TokenIssuer saves the successor right after the redeem; a minute is
# far more than that takes, and stale entries are dropped after it.
ROTATION_WINDOW = 60.0


def new_refresh_token(family: str | None = None) -> str:
    """A new refresh token in *family* (``None``: a new family, i.e. a new grant)."""
    if family is None:
        family = secrets.token_urlsafe(16)
    elif not isinstance(family, str) or _FAMILY.fullmatch(family) is None:
        raise ConfigurationError("family must come from an existing refresh token")
    return f"{family}.{secrets.token_urlsafe(32)}"


def refresh_token_family(token: str) -> str:
    """The family (grant id) of *token*; :class:`InvalidGrant` if it is malformed."""
    match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        raise InvalidGrant(UNKNOWN)
    return match.group(1)


def refresh_token_id(token: str) -> str:
    """The SHA-256 hex digest a store keys *token* by (its ``jti``)."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def check_ttl(ttl: float) -> float:
    """A positive, finite lifetime in seconds."""
    return seconds(ttl, "ttl", positive=True)


def parse_for_save(token: str) -> str:
    """The family of a token about to be saved; a malformed one is a programming error."""
    match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        raise ConfigurationError("refresh tokens must be made by new_refresh_token()")
    return match.group(1)


def new_claims(
    token: str,
    user_id: str,
    ttl: float,
    now: float,
    *,
    client_id: str,
    scopes: Iterable[str],
    auth_time: float | None,
) -> RefreshTokenClaims:
    """The claims a store saves for a new *token*: issued at *now*, expiring *ttl* seconds later.

    What :meth:`RefreshStore.save` checks before it stores anything: a token
    made by :func:`new_refresh_token`, a positive *ttl*, scope tokens.
    """
    family = parse_for_save(token)
    ttl = check_ttl(ttl)
    return RefreshTokenClaims(
        sub=user_id,
        client_id=client_id,
        family=family,
        jti=refresh_token_id(token),
        iat=now,
        exp=now + ttl,
        scopes=scope_tokens(scopes, "scopes", distinct=True),
        auth_time=auth_time,
    )


def mark_rotating(rotating: dict[str, float], family: str, now: float, limit: int) -> None:
    """Note in *rotating* that *family* had a token redeemed at *now*, its successor not saved yet.

    Entries are kept oldest first; those whose successor never came (a failed
    refresh, after :data:`ROTATION_WINDOW`) and those beyond *limit* are dropped.
    """
    rotating.pop(family, None)
    rotating[family] = now
    while rotating:
        oldest, since = next(iter(rotating.items()))
        if since + ROTATION_WINDOW > now and len(rotating) <= limit:
            break
        del rotating[oldest]


@runtime_checkable
class RefreshStore(Protocol):
    """Where refresh tokens live (save, get, delete), plus rotation.

    Implementations store tokens hashed, expire them after their ``ttl``, and
    make :meth:`redeem` atomic: of two concurrent redeems of one token, one
    wins and the other sees a reused token. A redeemed token's reuse marker
    lives as long as its family, and is only ever dropped with it.
    """

    def save(
        self,
        token: str,
        user_id: str,
        ttl: float,
        *,
        client_id: str = "",
        scopes: Iterable[str] = (),
        auth_time: float | None = None,
    ) -> RefreshTokenClaims:
        """Store a new token for *ttl* seconds; :class:`InvalidGrant` if its family is revoked."""
        ...

    def get(self, token: str) -> RefreshTokenClaims | None:
        """The claims of a live token (unused, unexpired, family not revoked), else ``None``."""
        ...

    def delete(self, token: str) -> None:
        """Forget one unused token (its family, and any reuse marker, are left alone)."""
        ...

    def redeem(self, token: str) -> RefreshTokenClaims:
        """Mark a live token used and return its claims.

        Raises :class:`InvalidGrant` for an unknown, expired or revoked token,
        and :class:`RefreshTokenReused` (after revoking the family) for a used one.
        """
        ...

    def revoke(self, token: str) -> bool:
        """Revoke the family of a known token (used or not); ``False`` if it is unknown.

        A used token is known as long as its family lives.
        """
        ...


def token_key(token: str) -> tuple[str, str] | None:
    """``(family, digest)`` of a well-formed token (its grant and its ``jti``), else ``None``."""
    match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        return None
    return match.group(1), refresh_token_id(token)
