"""The in-process refresh store: bounded memory, reuse markers kept as long as their grant.

:class:`InMemoryRefreshStore` is the :class:`~bearerguard.issuing.RefreshStore`
a :class:`~bearerguard.issuing.TokenIssuer` uses unless given another. What a
store must do (rotation, reuse detection, markers that live with their family)
is described in :mod:`bearerguard.issuing._refresh`.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Iterable

from .._clock import WallClock
from .._errors import ConfigurationError
from .._rules import seconds
from ._claims import RefreshTokenClaims
from ._errors import InvalidGrant, RefreshTokenReused
from ._refresh import (
    DROPPED,
    REUSED,
    REVOKED,
    ROTATION_WINDOW,
    UNKNOWN,
    mark_rotating,
    new_claims,
    token_key,
)

__all__ = ["InMemoryRefreshStore"]

log = logging.getLogger("bearerguard.issuing")


class _Family:
    """One grant: its unused tokens, the markers of its used ones, and whether it is revoked."""

    __slots__ = ("expires_at", "revoked", "tokens", "used")

    def __init__(self, expires_at: float) -> None:
        self.expires_at = expires_at  # the latest expiry of any token saved in it
        self.revoked = False
        self.tokens: dict[str, RefreshTokenClaims] = {}  # unused tokens, by digest
        self.used: set[str] = set()  # digests of redeemed tokens: the reuse markers

    @property
    def idle(self) -> bool:
        """No token of this grant can be redeemed any more (revoked, or none unused)."""
        return self.revoked or not self.tokens

    @property
    def size(self) -> int:
        """Entries this family holds: itself, its unused tokens and its used markers."""
        return 1 + len(self.tokens) + len(self.used)


class InMemoryRefreshStore:
    """A thread-safe :class:`~bearerguard.issuing.RefreshStore` in this process (the default).

    Memory is bounded: *max_entries* counts grant families, unused tokens and
    the markers of used tokens. A used token's marker lives exactly as long
    as its family (until the family's last token expires), so presenting a
    stolen, already redeemed token is always detected while the thief's
    rotated successor lives. When the store is full it makes room in this
    order, and never takes a marker away from a family that stays:

    1. expired entries: whole families past their expiry, unused tokens past theirs;
    2. idle families, longest idle first: revoked ones and ones with no unused
       token left (nothing of them can be redeemed, only replayed);
    3. live families as a whole, the one closest to expiry first: its holder
       must log in again, and a thief holding a rotated token of it loses it
       too. This is logged as a warning (at most once a minute) and counted in
       :attr:`evicted_grants`; size *max_entries* so it never happens.

    The store never refuses a new login for lack of room: refusing would lock
    every new user out while idle grants hold the memory. A family is never
    recreated without its markers: if it is dropped between the redeem of a
    token and the save of its successor (a rotation), the save raises
    :class:`~bearerguard.issuing.InvalidGrant` and the client logs in again.

    No timer per token: expired entries are ignored when read and swept,
    oldest first from a heap, at most every *sweep_interval* seconds on a
    write. Use :class:`~bearerguard.issuing.RedisRefreshStore` when several
    processes issue tokens.
    """

    def __init__(
        self,
        *,
        max_entries: int = 100_000,
        sweep_interval: float = 60.0,
        clock: WallClock = time.time,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 2:
            raise ConfigurationError("max_entries must be an integer of at least 2")
        self._max_entries = max_entries
        self._sweep_interval = seconds(sweep_interval, "sweep_interval")
        self._clock = clock
        self._lock = threading.Lock()
        self._families: dict[str, _Family] = {}
        self._count = 0  # sum of the families' sizes
        # Expiry schedules; items go stale when their target changes or goes.
        self._family_heap: list[tuple[float, str]] = []  # (expires_at, family)
        self._token_heap: list[tuple[float, str, str]] = []  # (exp, family, digest)
        # Families that may be idle, in the order they became so (checked when used).
        self._idle: dict[str, None] = {}
        # Families with a token redeemed and its successor not saved yet -> when.
        self._rotating: dict[str, float] = {}
        self._next_sweep = 0.0
        self._evicted = 0
        self._next_warning = 0.0

    def __len__(self) -> int:
        """Tokens held, used ones included (their markers detect reuse)."""
        with self._lock:
            return self._count - len(self._families)

    @property
    def entries(self) -> int:
        """Families, unused tokens and used-token markers held; never more than *max_entries*."""
        with self._lock:
            return self._count

    @property
    def evicted_grants(self) -> int:
        """Live grants dropped so far to make room (step 3 above); should stay 0."""
        with self._lock:
            return self._evicted

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
        now = self._clock()
        claims = new_claims(
            token, user_id, ttl, now, client_id=client_id, scopes=scopes, auth_time=auth_time
        )
        family, digest = claims.family, claims.jti
        with self._lock:
            self._maybe_sweep(now)
            rotation = self._rotating.pop(family, None) is not None
            fam = self._families.get(family)
            if fam is not None and fam.expires_at <= now:
                self._drop_family(family)
                fam = None
            if fam is None and rotation:
                # Dropped (for room, or expired) after one of its tokens was
                # redeemed: recreating it would lose its reuse markers.
                raise InvalidGrant(DROPPED)
            if fam is not None and fam.revoked:
                raise InvalidGrant(REVOKED)
            if fam is not None and (digest in fam.tokens or digest in fam.used):
                raise ConfigurationError("this refresh token was saved already")
            self._make_room(now, 1 if fam is not None else 2, keep=family)
            if fam is not None and self._families.get(family) is not fam:
                raise InvalidGrant(DROPPED)  # it had to go to make room
            if fam is None:
                fam = self._families[family] = _Family(claims.exp)
                self._count += 1
                heapq.heappush(self._family_heap, (claims.exp, family))
            elif claims.exp > fam.expires_at:
                fam.expires_at = claims.exp
                heapq.heappush(self._family_heap, (claims.exp, family))
            fam.tokens[digest] = claims
            self._count += 1
            heapq.heappush(self._token_heap, (claims.exp, family, digest))
            self._idle.pop(family, None)
        return claims

    def get(self, token: str) -> RefreshTokenClaims | None:
        """The claims of a live token, else ``None``."""
        key = token_key(token)
        if key is None:
            return None
        family, digest = key
        now = self._clock()
        with self._lock:
            fam = self._live_family(family, now)
            if fam is None or fam.revoked:
                return None
            return self._unused(fam, family, digest, now)

    def delete(self, token: str) -> None:
        """Forget an unused *token*; a used token's reuse marker stays with its family."""
        key = token_key(token)
        if key is None:
            return
        family, digest = key
        with self._lock:
            fam = self._families.get(family)
            if fam is not None and digest in fam.tokens:
                self._drop_token(fam, family, digest)

    def redeem(self, token: str) -> RefreshTokenClaims:
        """Mark *token* used and return its claims (see :class:`RefreshStore`)."""
        key = token_key(token)
        if key is None:
            raise InvalidGrant(UNKNOWN)
        family, digest = key
        now = self._clock()
        with self._lock:
            fam = self._live_family(family, now)
            if fam is None:
                raise InvalidGrant(UNKNOWN)
            if digest in fam.used:
                # RFC 9700 §4.14.2: a redeemed token came back; whichever party
                # this is, the grant is compromised.
                self._revoke(fam, family)
                raise RefreshTokenReused(REUSED)
            claims = self._unused(fam, family, digest, now)
            if claims is None:
                raise InvalidGrant(UNKNOWN)
            if fam.revoked:
                raise InvalidGrant(REVOKED)
            del fam.tokens[digest]
            fam.used.add(digest)  # same count: the token becomes its marker
            if not fam.tokens:
                self._mark_idle(family)
            self._mark_rotating(family, now)
            return claims

    def revoke(self, token: str) -> bool:
        """Revoke the family of a known *token* (unused, or used while its family lives)."""
        key = token_key(token)
        if key is None:
            return False
        family, digest = key
        now = self._clock()
        with self._lock:
            fam = self._live_family(family, now)
            if fam is None:
                return False
            if digest not in fam.used and self._unused(fam, family, digest, now) is None:
                return False
            self._revoke(fam, family)
            return True

    # -- internals (called with the lock held) ------------------------------------

    def _live_family(self, family: str, now: float) -> _Family | None:
        fam = self._families.get(family)
        if fam is not None and fam.expires_at <= now:
            self._drop_family(family)  # lazy expiry: the whole grant, markers included
            return None
        return fam

    def _unused(
        self, fam: _Family, family: str, digest: str, now: float
    ) -> RefreshTokenClaims | None:
        claims = fam.tokens.get(digest)
        if claims is not None and claims.exp <= now:
            self._drop_token(fam, family, digest)  # lazy expiry; it was never used
            return None
        return claims

    def _revoke(self, fam: _Family, family: str) -> None:
        # The mark lives as long as the family, so it outlives every token in it.
        fam.revoked = True
        self._mark_idle(family)

    def _mark_idle(self, family: str) -> None:
        self._idle.pop(family, None)
        self._idle[family] = None

    def _mark_rotating(self, family: str, now: float) -> None:
        mark_rotating(self._rotating, family, now, self._max_entries)

    def _drop_token(self, fam: _Family, family: str, digest: str) -> None:
        del fam.tokens[digest]
        self._count -= 1
        if not fam.tokens:
            self._mark_idle(family)

    def _drop_family(self, family: str) -> None:
        fam = self._families.pop(family, None)
        if fam is not None:
            self._count -= fam.size
            self._idle.pop(family, None)

    def _maybe_sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_interval
        families, tokens = self._family_heap, self._token_heap
        while families and families[0][0] <= now:
            expires_at, family = heapq.heappop(families)
            fam = self._families.get(family)
            if fam is not None and fam.expires_at == expires_at:
                self._drop_family(family)
        while tokens and tokens[0][0] <= now:
            _, family, digest = heapq.heappop(tokens)
            fam = self._families.get(family)
            if fam is not None and digest in fam.tokens:
                self._drop_token(fam, family, digest)
        if len(families) + len(tokens) > 2 * self._count + 64:
            self._rebuild_heaps()

    def _make_room(self, now: float, needed: int, *, keep: str) -> None:
        limit = self._max_entries - needed
        if self._count <= limit:
            return
        # 1. Everything expired.
        self._next_sweep = 0.0
        self._maybe_sweep(now)
        # 2. Idle families, longest idle first. A family whose successor is
        # about to be saved is not idle, only between two tokens.
        waiting: list[str] = []
        while self._count > limit and self._idle:
            family = next(iter(self._idle))
            del self._idle[family]
            fam = self._families.get(family)
            if fam is None or not fam.idle:
                continue
            since = self._rotating.get(family)
            rotating = since is not None and since + ROTATION_WINDOW > now
            if not fam.revoked and (rotating or family == keep):
                waiting.append(family)
                continue
            self._drop_family(family)
        for family in waiting:
            self._idle[family] = None
        # 3. Live families as a whole, closest to expiry first; the grant being
        # saved into goes last, only if it alone is larger than the store.
        heap = self._family_heap
        kept: tuple[float, str] | None = None
        while self._count > limit and heap:
            expires_at, family = heapq.heappop(heap)
            fam = self._families.get(family)
            if fam is None or fam.expires_at != expires_at:
                continue  # stale: the family went, or a later token extended it
            if family == keep:
                kept = (expires_at, family)
                continue
            self._drop_family(family)
            self._evicted += 1
            if now >= self._next_warning:  # at most once a minute under constant pressure
                self._next_warning = now + 60.0
                log.warning(
                    "refresh store full (max_entries=%d): dropped a live grant, whose user "
                    "must log in again (%d so far); raise max_entries or use RedisRefreshStore",
                    self._max_entries,
                    self._evicted,
                )
        if kept is not None:
            if self._count > limit:
                self._drop_family(keep)
                self._evicted += 1
            else:
                heapq.heappush(heap, kept)

    def _rebuild_heaps(self) -> None:
        families = [(f.expires_at, k) for k, f in self._families.items()]
        tokens = [
            (claims.exp, k, digest)
            for k, f in self._families.items()
            for digest, claims in f.tokens.items()
        ]
        heapq.heapify(families)
        heapq.heapify(tokens)
        self._family_heap, self._token_heap = families, tokens
