"""Issuing access and refresh tokens: ``TokenIssuer``.

::

    issuer = TokenIssuer(
        signer=KeyPairSigner(load_key_pair("signing.pem", "kid-2025-01")),
        issuer="https://login.example.com",
        audience="api://orders",
    )
    token, expires_at = issuer.generate_access_token("user-42", "web-app", ["orders:read"])
    refresh = issuer.generate_refresh_token("user-42", "web-app", ["orders:read"])
    response = issuer.refresh(refresh, client_id="web-app")   # rotates the refresh token

Access tokens follow RFC 9068: header ``typ: at+jwt`` and ``kid``; claims
``iss``, ``sub``, ``aud``, ``exp``, ``iat``, ``jti``, ``client_id``, ``scope``.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from .._clock import WallClock
from .._errors import ConfigurationError
from .._rules import scope_tokens, seconds, strings
from .._urls import check_url
from ._claims import AccessTokenClaims
from ._errors import InvalidGrant, InvalidScope
from ._memory_store import InMemoryRefreshStore
from ._refresh import RefreshStore, new_refresh_token, refresh_token_family
from ._signer import TokenSigner

__all__ = ["AccessToken", "TokenIssuer", "TokenResponse"]

DAY = 86400.0


class AccessToken(NamedTuple):
    """A signed access token and when it expires."""

    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenResponse:
    """What a token endpoint returns; :meth:`to_dict` is the RFC 6749 §5.1 JSON body."""

    access_token: str
    expires_at: datetime
    expires_in: int
    scopes: tuple[str, ...]
    refresh_token: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The successful token response body (``token_type`` is ``Bearer``)."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.scopes:
            body["scope"] = " ".join(self.scopes)
        return body


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenIssuer:
    """Mints access tokens and rotating refresh tokens.

    *issuer* and *audience* become ``iss`` and ``aud``. *refresh_store*
    defaults to an :class:`~bearerguard.issuing.InMemoryRefreshStore` on the
    same clock. A refresh token lives *refresh_token_ttl* seconds from its
    issue (each refresh starts a new one), and no grant outlives
    *refresh_token_max_lifetime* after the login (``None``: no limit).
    """

    signer: TokenSigner
    issuer: str
    audience: str | tuple[str, ...]
    refresh_store: RefreshStore | None = None
    access_token_ttl: float = 900.0
    refresh_token_ttl: float = 14 * DAY
    refresh_token_max_lifetime: float | None = 90 * DAY
    include_nbf: bool = False
    clock: WallClock = time.time
    _store: RefreshStore = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.signer, TokenSigner):
            raise ConfigurationError("signer must be a TokenSigner (e.g. KeyPairSigner)")
        check_url(self.issuer, "issuer")
        audiences = strings(self.audience, "audience", required=True)
        if not isinstance(self.audience, str):
            object.__setattr__(self, "audience", audiences)
        seconds(self.access_token_ttl, "access_token_ttl", positive=True)
        seconds(self.refresh_token_ttl, "refresh_token_ttl", positive=True)
        if self.refresh_token_max_lifetime is not None:
            seconds(self.refresh_token_max_lifetime, "refresh_token_max_lifetime", positive=True)
        if not callable(self.clock):
            raise ConfigurationError("clock must be a callable returning POSIX seconds")
        store = self.refresh_store
        if store is None:
            store = InMemoryRefreshStore(clock=self.clock)
        elif not isinstance(store, RefreshStore):
            raise ConfigurationError("refresh_store must implement the RefreshStore protocol")
        object.__setattr__(self, "_store", store)

    @property
    def store(self) -> RefreshStore:
        """The refresh store in use."""
        return self._store

    # -- access tokens -------------------------------------------------------------

    def access_claims(
        self,
        user_id: str,
        client_id: str,
        scopes: Iterable[str],
        *,
        audience: str | Iterable[str] | None = None,
        auth_time: float | None = None,
        roles: Iterable[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> AccessTokenClaims:
        """The claims :meth:`generate_access_token` signs, for inspection or tests."""
        now = int(self.clock())
        aud = self.audience if audience is None else audience
        return AccessTokenClaims(
            iss=self.issuer,
            sub=user_id,
            aud=aud if isinstance(aud, str) else tuple(aud),
            iat=now,
            nbf=now if self.include_nbf else None,
            exp=now + math.ceil(self.access_token_ttl),
            jti=secrets.token_urlsafe(16),
            client_id=client_id,
            scopes=tuple(scopes),
            auth_time=None if auth_time is None else int(auth_time),
            roles=tuple(roles),
            extra=extra or {},
        )

    def generate_access_token(
        self,
        user_id: str,
        client_id: str,
        scopes: Iterable[str],
        *,
        audience: str | Iterable[str] | None = None,
        auth_time: float | None = None,
        roles: Iterable[str] = (),
        extra: Mapping[str, Any] | None = None,
    ) -> AccessToken:
        """Sign an access token for *user_id*; returns ``(token, expires_at)``."""
        claims = self.access_claims(
            user_id,
            client_id,
            scopes,
            audience=audience,
            auth_time=auth_time,
            roles=roles,
            extra=extra,
        )
        token = self.signer.sign(claims.to_payload())
        return AccessToken(token, datetime.fromtimestamp(claims.exp, tz=timezone.utc))

    # -- refresh tokens ------------------------------------------------------------

    def generate_refresh_token(
        self,
        user_id: str,
        client_id: str,
        scopes: Iterable[str] = (),
        *,
        auth_time: float | None = None,
    ) -> str:
        """Start a new grant: a refresh token in a new family, saved hashed in the store.

        *auth_time* is when the user logged in (default: now); it bounds the
        grant's lifetime (*refresh_token_max_lifetime*).
        """
        token = new_refresh_token()
        self._store.save(
            token,
            user_id,
            self.refresh_token_ttl,
            client_id=client_id,
            scopes=scope_tokens(scopes, "scopes", distinct=True),
            auth_time=self.clock() if auth_time is None else auth_time,
        )
        return token

    def issue(
        self,
        user_id: str,
        client_id: str,
        scopes: Iterable[str],
        *,
        refresh: bool = True,
        auth_time: float | None = None,
    ) -> TokenResponse:
        """An access token and (if *refresh*) a refresh token, as a token endpoint returns them."""
        granted = scope_tokens(scopes, "scopes", distinct=True)
        when = self.clock() if auth_time is None else auth_time
        access = self.generate_access_token(user_id, client_id, granted, auth_time=when)
        refresh_token = (
            self.generate_refresh_token(user_id, client_id, granted, auth_time=when)
            if refresh
            else None
        )
        return self._response(access, granted, refresh_token)

    def refresh(
        self, refresh_token: str, *, client_id: str, scopes: Iterable[str] | None = None
    ) -> TokenResponse:
        """Redeem *refresh_token*: a new access token and a new refresh token.

        The old refresh token stops working. Presenting a used one again
        raises :class:`~bearerguard.issuing.RefreshTokenReused` and revokes the
        grant. A token issued to another client revokes the grant too
        (RFC 6749 §6: it is bound to its client). *scopes* may narrow the new
        access token's scopes, never widen them (:class:`InvalidScope`).
        """
        store = self._store
        claims = store.get(refresh_token)
        if claims is None:
            # Unknown, expired, revoked or used: redeem raises the right error
            # (and revokes the grant on reuse).
            claims = store.redeem(refresh_token)
            consumed = True
        else:
            consumed = False
        if claims.client_id != client_id:
            store.revoke(refresh_token)
            raise InvalidGrant("refresh token was issued to another client")
        granted = claims.scopes
        requested = granted if scopes is None else scope_tokens(scopes, "scopes", distinct=True)
        extra = sorted(set(requested) - set(granted))
        if extra:
            raise InvalidScope(f"scope not granted to this refresh token: {' '.join(extra)}")
        now = self.clock()
        ttl = self.refresh_token_ttl
        if self.refresh_token_max_lifetime is not None:
            started = claims.auth_time if claims.auth_time is not None else claims.iat
            ttl = min(ttl, started + self.refresh_token_max_lifetime - now)
            if ttl <= 0:
                store.revoke(refresh_token)
                raise InvalidGrant("the grant has reached its maximum lifetime; log in again")
        if not consumed:
            claims = store.redeem(refresh_token)
        family = refresh_token_family(refresh_token)
        new_token = new_refresh_token(family)
        store.save(
            new_token,
            claims.sub,
            ttl,
            client_id=claims.client_id,
            scopes=granted,
            auth_time=claims.auth_time,
        )
        access = self.generate_access_token(
            claims.sub,
            claims.client_id,
            requested,
            auth_time=claims.auth_time,
        )
        return self._response(access, requested, new_token)

    def revoke_refresh_token(self, refresh_token: str) -> bool:
        """Revoke the grant *refresh_token* belongs to (RFC 7009); ``False`` if unknown."""
        return self._store.revoke(refresh_token)

    def _response(
        self, access: AccessToken, scopes: tuple[str, ...], refresh_token: str | None
    ) -> TokenResponse:
        expires_in = max(0, round(access.expires_at.timestamp() - self.clock()))
        return TokenResponse(
            access_token=access.token,
            expires_at=access.expires_at,
            expires_in=expires_in,
            scopes=scopes,
            refresh_token=refresh_token,
        )
