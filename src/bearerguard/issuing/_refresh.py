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
import heapq
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from .._clock import WallClock
from .._errors import ConfigurationError
from .._rules import scope_tokens, seconds
from ._claims import RefreshTokenClaims
from ._errors import InvalidGrant, RefreshTokenReused

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
DROPPED = "this grant is no longer stored (the refresh store dropped it); log in again"


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


# How long after a redeem the family counts as "rotating" (its successor not yet
# saved). TokenIssuer saves the successor right after the redeem; a minute is
# far more than that takes, and stale entries are dropped after it.
ROTATION_WINDOW = 60.0

log = logging.getLogger("bearerguard.issuing")


class InMemoryRefreshStore:
    """A thread-safe :class:`RefreshStore` in this process (the embedded default).

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
    :class:`InvalidGrant` and the client logs in again.

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
            self._make_room(now, 1 if fam is not None else 2)
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
        key = _key_or_none(token)
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
        key = _key_or_none(token)
        if key is None:
            return
        family, digest = key
        with self._lock:
            fam = self._families.get(family)
            if fam is not None and digest in fam.tokens:
                self._drop_token(fam, family, digest)

    def redeem(self, token: str) -> RefreshTokenClaims:
        """Mark *token* used and return its claims (see :class:`RefreshStore`)."""
        key = _key_or_none(token)
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
        key = _key_or_none(token)
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

    def _make_room(self, now: float, needed: int) -> None:
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
            if not fam.revoked and since is not None and since + ROTATION_WINDOW > now:
                waiting.append(family)
                continue
            self._drop_family(family)
        for family in waiting:
            self._idle[family] = None
        # 3. Live families as a whole, closest to expiry first.
        heap = self._family_heap
        while self._count > limit and heap:
            expires_at, family = heapq.heappop(heap)
            fam = self._families.get(family)
            if fam is None or fam.expires_at != expires_at:
                continue  # stale: the family went, or a later token extended it
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


def _key_or_none(token: str) -> tuple[str, str] | None:
    """(family, digest) of a well-formed token, else ``None``."""
    match = _TOKEN.fullmatch(token) if isinstance(token, str) else None
    if match is None:
        return None
    return match.group(1), refresh_token_id(token)
