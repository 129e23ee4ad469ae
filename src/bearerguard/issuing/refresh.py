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
"""

from __future__ import annotations

import hashlib
import heapq
import math
import re
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from ..errors import ConfigurationError
from .claims import RefreshTokenClaims, check_scopes
from .clock import Clock
from .errors import InvalidGrant, RefreshTokenReused

__all__ = [
    "InMemoryRefreshStore",
    "RefreshStore",
    "new_refresh_token",
    "refresh_token_family",
    "refresh_token_id",
]

_TOKEN = re.compile(r"([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})")
_FAMILY = re.compile(r"[A-Za-z0-9_-]{22}")

# Messages a client may see; one message for unknown, expired and malformed
# tokens, so the endpoint is no oracle for which tokens exist.
UNKNOWN = "refresh token is invalid or expired"
REVOKED = "refresh token has been revoked"
REUSED = "refresh token was already used; every token of this grant has been revoked"


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
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl):
        raise ConfigurationError("ttl must be a positive number of seconds")
    if ttl <= 0:
        raise ConfigurationError("ttl must be a positive number of seconds")
    return float(ttl)


def parse_for_save(token: str) -> str:
    """The family of a token about to be saved; a malformed one is a programming error."""
    match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        raise ConfigurationError("refresh tokens must be made by new_refresh_token()")
    return match.group(1)


@runtime_checkable
class RefreshStore(Protocol):
    """Where refresh tokens live (save, get, delete), plus rotation.

    Implementations store tokens hashed, expire them after their ``ttl``, and
    make :meth:`redeem` atomic: of two concurrent redeems of one token, one
    wins and the other sees a reused token.
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
        """Forget one token (its family is left alone)."""
        ...

    def redeem(self, token: str) -> RefreshTokenClaims:
        """Mark a live token used and return its claims.

        Raises :class:`InvalidGrant` for an unknown, expired or revoked token,
        and :class:`RefreshTokenReused` (after revoking the family) for a used one.
        """
        ...

    def revoke(self, token: str) -> bool:
        """Revoke the family of a known token (used or not); ``False`` if it is unknown."""
        ...


class _Token:
    __slots__ = ("claims", "used")

    def __init__(self, claims: RefreshTokenClaims) -> None:
        self.claims = claims
        self.used = False


class _Family:
    __slots__ = ("expires_at", "revoked", "tokens")

    def __init__(self, expires_at: float) -> None:
        self.expires_at = expires_at
        self.revoked = False
        self.tokens: set[str] = set()


_TOKEN_ENTRY, _FAMILY_ENTRY = 0, 1


class InMemoryRefreshStore:
    """A thread-safe :class:`RefreshStore` in this process (the embedded default).

    No timer per token: expired entries are
    ignored when read and swept, oldest first from a heap, at most every
    *sweep_interval* seconds on a write. Memory is bounded: *max_entries*
    counts tokens and grant families; when full, the entry closest to its
    expiry is dropped first (its holder must log in again — the store fails
    closed, never open). Use :class:`~bearerguard.issuing.RedisRefreshStore`
    when several processes issue tokens.
    """

    def __init__(
        self,
        *,
        max_entries: int = 100_000,
        sweep_interval: float = 60.0,
        clock: Clock = time.time,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 2:
            raise ConfigurationError("max_entries must be an integer of at least 2")
        if isinstance(sweep_interval, bool) or not isinstance(sweep_interval, int | float):
            raise ConfigurationError("sweep_interval must be a number of seconds")
        if not sweep_interval >= 0:
            raise ConfigurationError("sweep_interval must not be negative")
        self._max_entries = max_entries
        self._sweep_interval = float(sweep_interval)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self._families: dict[str, _Family] = {}
        # (expires_at, kind, key); entries go stale when their target changes or goes.
        self._heap: list[tuple[float, int, str]] = []
        self._next_sweep = 0.0

    def __len__(self) -> int:
        """Tokens held, used ones included (they are kept to detect reuse)."""
        with self._lock:
            return len(self._tokens)

    @property
    def entries(self) -> int:
        """Tokens plus families held; never more than *max_entries*."""
        with self._lock:
            return len(self._tokens) + len(self._families)

    # -- RefreshStore ------------------------------------------------------------

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
        """Store *token* (hashed) for *ttl* seconds."""
        family = parse_for_save(token)
        ttl = check_ttl(ttl)
        now = self._clock()
        digest = refresh_token_id(token)
        claims = RefreshTokenClaims(
            sub=user_id,
            client_id=client_id,
            family=family,
            jti=digest,
            iat=now,
            exp=now + ttl,
            scopes=check_scopes(tuple(scopes)),
            auth_time=auth_time,
        )
        with self._lock:
            self._maybe_sweep(now)
            fam = self._families.get(family)
            if fam is not None and fam.expires_at <= now:
                self._drop_family(family)
                fam = None
            if fam is not None and fam.revoked:
                raise InvalidGrant(REVOKED)
            if digest in self._tokens:
                raise ConfigurationError("this refresh token was saved already")
            # Room for the token and possibly its family; making room may evict
            # this very family (it was closest to expiry), so look it up again.
            self._make_room(now, 2)
            fam = self._families.get(family)
            if fam is None:
                fam = self._families[family] = _Family(claims.exp)
                heapq.heappush(self._heap, (claims.exp, _FAMILY_ENTRY, family))
            elif claims.exp > fam.expires_at:
                fam.expires_at = claims.exp
                heapq.heappush(self._heap, (claims.exp, _FAMILY_ENTRY, family))
            fam.tokens.add(digest)
            self._tokens[digest] = _Token(claims)
            heapq.heappush(self._heap, (claims.exp, _TOKEN_ENTRY, digest))
        return claims

    def get(self, token: str) -> RefreshTokenClaims | None:
        """The claims of a live token, else ``None``."""
        digest = _digest_or_none(token)
        if digest is None:
            return None
        now = self._clock()
        with self._lock:
            entry = self._live_entry(digest, now)
            if entry is None or entry.used:
                return None
            fam = self._families.get(entry.claims.family)
            if fam is None or fam.revoked:
                return None
            return entry.claims

    def delete(self, token: str) -> None:
        """Forget *token*."""
        digest = _digest_or_none(token)
        if digest is None:
            return
        with self._lock:
            self._drop_token(digest)

    def redeem(self, token: str) -> RefreshTokenClaims:
        """Mark *token* used and return its claims (see :class:`RefreshStore`)."""
        digest = _digest_or_none(token)
        if digest is None:
            raise InvalidGrant(UNKNOWN)
        now = self._clock()
        with self._lock:
            entry = self._live_entry(digest, now)
            if entry is None:
                raise InvalidGrant(UNKNOWN)
            if entry.used:
                self._revoke_family(entry.claims, now)
                raise RefreshTokenReused(REUSED)
            fam = self._families.get(entry.claims.family)
            if fam is None or fam.revoked or fam.expires_at <= now:
                raise InvalidGrant(REVOKED)
            entry.used = True
            return entry.claims

    def revoke(self, token: str) -> bool:
        """Revoke the family of a known *token*."""
        digest = _digest_or_none(token)
        if digest is None:
            return False
        now = self._clock()
        with self._lock:
            entry = self._live_entry(digest, now)
            if entry is None:
                return False
            self._revoke_family(entry.claims, now)
            return True

    # -- internals (called with the lock held) ------------------------------------

    def _live_entry(self, digest: str, now: float) -> _Token | None:
        entry = self._tokens.get(digest)
        if entry is not None and entry.claims.exp <= now:
            self._drop_token(digest)  # lazy expiry
            return None
        return entry

    def _revoke_family(self, claims: RefreshTokenClaims, now: float) -> None:
        fam = self._families.get(claims.family)
        if fam is None:
            self._make_room(now, 1)
            fam = self._families[claims.family] = _Family(claims.exp)
            fam.tokens.add(claims.jti)
            heapq.heappush(self._heap, (claims.exp, _FAMILY_ENTRY, claims.family))
        # The family outlives every token in it, so its revoked mark does too.
        fam.revoked = True

    def _drop_token(self, digest: str) -> None:
        entry = self._tokens.pop(digest, None)
        if entry is not None:
            fam = self._families.get(entry.claims.family)
            if fam is not None:
                fam.tokens.discard(digest)

    def _drop_family(self, family: str) -> None:
        fam = self._families.pop(family, None)
        if fam is not None:
            for digest in fam.tokens:
                self._tokens.pop(digest, None)

    def _maybe_sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_interval
        heap = self._heap
        while heap and heap[0][0] <= now:
            self._evict(heapq.heappop(heap))
        if len(heap) > 2 * (len(self._tokens) + len(self._families)) + 64:
            self._rebuild_heap()

    def _make_room(self, now: float, needed: int) -> None:
        if len(self._tokens) + len(self._families) + needed <= self._max_entries:
            return
        self._next_sweep = 0.0
        self._maybe_sweep(now)
        heap = self._heap
        while heap and len(self._tokens) + len(self._families) + needed > self._max_entries:
            self._evict(heapq.heappop(heap))

    def _evict(self, item: tuple[float, int, str]) -> None:
        expires_at, kind, key = item
        if kind == _TOKEN_ENTRY:
            entry = self._tokens.get(key)
            if entry is not None and entry.claims.exp == expires_at:
                self._drop_token(key)
        else:
            fam = self._families.get(key)
            if fam is not None and fam.expires_at == expires_at:
                self._drop_family(key)

    def _rebuild_heap(self) -> None:
        heap = [(e.claims.exp, _TOKEN_ENTRY, d) for d, e in self._tokens.items()]
        heap.extend((f.expires_at, _FAMILY_ENTRY, k) for k, f in self._families.items())
        heapq.heapify(heap)
        self._heap = heap


def _digest_or_none(token: str) -> str | None:
    if not isinstance(token, str) or _TOKEN.fullmatch(token) is None:
        return None
    return refresh_token_id(token)
