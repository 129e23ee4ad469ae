"""The rules of a :class:`~bearerguard.keyset.RemoteKeySet`, as a state machine without I/O.

:class:`KeySetMachine` holds what one key set knows (its keys, the fetch in
flight, the last failure, the kids proven absent, its counters) and decides
what a caller does next. It never reads a clock, starts a thread, fetches or
logs: every input carries its time, and every output is a value. The I/O shell
(:class:`~bearerguard.keyset.RemoteKeySet`) holds the lock, reads the clock,
runs the fetch and delivers the events the machine leaves in its outbox
(:meth:`KeySetMachine.drain`).

Inputs and their answers:

* :meth:`~KeySetMachine.keys_wanted` (a caller asks for a ``kid`` at ``now``):
  :class:`Serve` the keys now, report the ``kid`` :class:`Absent`,
  :class:`Wait` for the fetch in flight, :class:`Fetch` (start a fetch, then
  wait for it) or :class:`Refuse` (no usable keys: 503). :class:`Serve` and
  :class:`Absent` may name a background refresh to start as well.
* :meth:`~KeySetMachine.waited` (the caller's wait ended, the fetch having
  succeeded or not): :class:`Serve` or :class:`Refuse`.
* :meth:`~KeySetMachine.refresh_wanted` (an operator's refresh): :class:`Wait`
  or :class:`Fetch`, ignoring the cooldown.
* :meth:`~KeySetMachine.fetch_succeeded`, :meth:`~KeySetMachine.fetch_failed`,
  :meth:`~KeySetMachine.fetch_not_started`: what became of a fetch.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .._errors import FetchError
from .._jwk import PublicJWK
from .._urls import safe_url
from ._events import EventKind, KeySetEvent, KeySetStatus
from ._policy import MAX_ABSENT_KIDS, KeySetPolicy

__all__ = [
    "Absent",
    "CachedKeys",
    "Decision",
    "Fetch",
    "FetchRequest",
    "FetchResult",
    "KeySetMachine",
    "Refuse",
    "Serve",
    "Wait",
]

#: A refresh starts up to this fraction of its refresh-ahead point early, so
#: a fleet of servers does not refresh in step.
JITTER = 0.1

EMPTY: tuple[PublicJWK, ...] = ()


@dataclass(frozen=True, slots=True)
class CachedKeys:
    """One immutable generation of the key set, swapped in whole."""

    all: tuple[PublicJWK, ...]
    by_kid: Mapping[str, tuple[PublicJWK, ...]]
    generation: int
    body_hash: bytes
    etag: str | None
    cache_control: str | None
    fetched_at: float
    refresh_at: float
    expires_at: float


@dataclass(frozen=True, slots=True, eq=False)
class FetchRequest:
    """One fetch attempt: when it started and the validators it sends.

    Compared by identity: two attempts that started at the same time with the
    same validators are still two attempts.
    """

    started: float
    etag: str | None = None
    last_hash: bytes = b""


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """What a successful fetch brought: the response headers and the new content.

    ``keys is None``: the content is unchanged (a 304, or the very same body).
    ``proof`` false: the content was fetched (by another process) before this
    fetch was asked for, so a kid it lacks is not proven absent.
    """

    headers: Mapping[str, str] = field(default_factory=dict)
    keys: Sequence[PublicJWK] | None = None
    body_hash: bytes = b""
    not_modified: bool = False
    proof: bool = True


@dataclass(frozen=True, slots=True)
class Serve:
    """Answer now with *keys* (empty: no key has that kid); start *refresh* in the background."""

    keys: Sequence[PublicJWK]
    refresh: FetchRequest | None = None


@dataclass(frozen=True, slots=True)
class Absent:
    """The kid is not in the set and may not cause a fetch now (*reason*); answer ``()``."""

    reason: Literal["known-absent", "cooldown"]
    refresh: FetchRequest | None = None


@dataclass(frozen=True, slots=True)
class Wait:
    """Wait for the fetch in flight, then ask :meth:`KeySetMachine.waited`."""

    flight: FetchRequest


@dataclass(frozen=True, slots=True)
class Fetch:
    """Start this fetch (in flight already), wait for it, then ask :meth:`~KeySetMachine.waited`."""

    flight: FetchRequest


@dataclass(frozen=True, slots=True)
class Refuse:
    """No usable keys: raise :class:`~bearerguard.KeySetUnavailable` (503)."""

    description: str
    retry_after: int


Decision = Serve | Absent | Wait | Fetch | Refuse


class KeySetMachine:
    """The state of one key set and the rules that move it (see the module docstring).

    Not thread-safe: the shell calls every method under its lock. *jwks_uri*
    is ``None`` until discovery (at *metadata_url*) finds it (:meth:`located`).
    """

    def __init__(
        self,
        policy: KeySetPolicy,
        *,
        jwks_uri: str | None = None,
        metadata_url: str | None = None,
    ) -> None:
        self.policy = policy
        self.jwks_uri = jwks_uri
        self.metadata_url = metadata_url
        # Discovery makes two requests, each bounded by the timeout; beyond
        # twice that plus a margin a fetch is considered hung.
        self.abandon_after = 2 * policy.timeout + 1.0
        self.keys: CachedKeys | None = None
        self.flight: FetchRequest | None = None
        self.generation = 0
        self.last_attempt = -math.inf
        self.retry_at = -math.inf  # after a failure: no new attempt before this
        self.last_error: str | None = None
        self.last_exception: FetchError | None = None
        # kid -> when a completed fetch proved it absent (oldest first).
        self.absent: OrderedDict[str, float] = OrderedDict()
        self.fetches = 0
        self.failures = 0
        self.suppressed = 0
        self._reported: set[str] = set()  # once-per-attempt events already sent
        self._outbox: list[KeySetEvent] = []

    @property
    def url(self) -> str:
        """The URL events and errors name: the JWKS, or the metadata before discovery."""
        return self.jwks_uri or self.metadata_url or ""

    def drain(self) -> list[KeySetEvent]:
        """The events since the last drain, oldest first; the outbox is left empty."""
        events, self._outbox = self._outbox, []
        return events

    def located(self, jwks_uri: str) -> None:
        """Discovery found the JWKS URL; later fetches, events and errors use it."""
        self.jwks_uri = jwks_uri

    # -- callers ------------------------------------------------------------------

    def keys_wanted(self, kid: str | None, now: float) -> Decision:
        """A caller wants the keys with *kid* (all keys for ``None``) at *now*."""
        keys = self.keys
        flight = self.flight
        if flight is not None and now >= flight.started + self.abandon_after:
            # A fetch that outlived every deadline (a server trickling bytes, a
            # fetcher that ignores its timeout) must not pin the key set: give
            # up on it so that a new attempt can start. Its late result is dropped.
            self._abandon(now)
            flight = None
        if keys is None:
            if flight is not None:
                return Wait(flight)
            if now < self.retry_at:
                return self._refuse(now)
            return Fetch(self._start(now))
        if now >= keys.expires_at:
            # Past the lifetime: try to refresh, and wait for it (bounded by the
            # timeout); right after a failed attempt, serve stale keys without waiting.
            if flight is not None:
                return Wait(flight)
            if now >= self.retry_at:
                return Fetch(self._start(now))
            return self._serve(kid, keys, now, proven=False)
        refresh = None
        if now >= keys.refresh_at and flight is None and now >= self.retry_at:
            flight = refresh = self._start(now)  # refresh-ahead: in the background
        if kid is None:
            return Serve(keys.all, refresh)
        found = keys.by_kid.get(kid)
        if found:
            return Serve(found, refresh)
        proven_absent_at = self.absent.get(kid)
        if proven_absent_at is not None:
            if now < proven_absent_at + self.policy.absent_ttl:
                self._suppress("known-absent")
                return Absent("known-absent", refresh)
            del self.absent[kid]  # old news: the kid may be published by now
        if flight is not None:
            # An unknown kid waits for the fetch, the refresh-ahead one included.
            return Fetch(flight) if flight is refresh else Wait(flight)
        if now < self.last_attempt + self.policy.cooldown:
            if self.last_exception is not None:
                # The last fetch failed: whether this kid exists is unknown.
                return self._refuse(now)
            self._suppress("cooldown")
            return Absent("cooldown")
        return Fetch(self._start(now))

    def waited(
        self, kid: str | None, succeeded: bool, now: float, *, proof: bool = True
    ) -> Serve | Refuse:
        """A caller's wait for a fetch ended at *now*; *succeeded*: that fetch completed.

        A fetch that failed or is still running proves nothing about *kid*,
        nor does one whose result predates the wait (*proof* false: keys
        another process fetched earlier, see :attr:`FetchResult.proof`).
        """
        keys = self.keys
        if keys is None:
            return self._refuse(now)
        if not succeeded and kid is not None and kid not in keys.by_kid:
            # The refetch for this kid failed or is still running: the
            # identity provider may well have published it, so this is
            # "keys unavailable" (503, retry), not "unknown key" (401).
            return self._refuse(now)
        return self._serve(kid, keys, now, proven=succeeded and proof)

    def refresh_wanted(self, now: float) -> Wait | Fetch:
        """An operator (or start-up) wants a fetch now: join the one in flight or start one."""
        if self.flight is not None:
            return Wait(self.flight)
        return Fetch(self._start(now))

    # -- fetches ------------------------------------------------------------------

    def fetch_not_started(self, flight: FetchRequest) -> None:
        """The shell could not start *flight* (no thread): fail it, retry after the cooldown."""
        if self.flight is not flight:
            return  # abandoned already: nothing of it is left to undo
        self.flight = None
        self.last_error = "could not start a fetch thread"
        self.retry_at = flight.started + self.policy.cooldown

    def fetch_failed(self, flight: FetchRequest, error: FetchError, now: float) -> bool:
        """*flight* failed with *error* at *now*; the keys stay. Always ``False``."""
        if self.flight is not flight:
            return False  # abandoned as hung: its late result is dropped
        self.flight = None
        self._failed(error)
        return False

    def fetch_succeeded(
        self, flight: FetchRequest, result: FetchResult, now: float, *, jitter: float
    ) -> bool:
        """*flight* brought *result* at *now*; ``True`` when it was applied.

        *jitter* (in [0, 1)) moves the next refresh up to :data:`JITTER` of
        its refresh-ahead point earlier.
        """
        if self.flight is not flight:
            return False  # abandoned as hung: its late result is dropped
        self.flight = None
        old = self.keys
        if result.not_modified and old is None:
            self._failed(FetchError("unexpected 304 Not Modified"))
            return False
        self.fetches += 1
        self.last_exception = None
        self.last_error = None
        self.retry_at = -math.inf
        headers = result.headers
        cache_control = headers.get("cache-control")
        if result.not_modified and cache_control is None and old is not None:
            # RFC 9111 §4.3.4: a 304 without Cache-Control keeps the stored one.
            cache_control = old.cache_control
            headers = {**headers, "cache-control": cache_control} if cache_control else headers
        ttl = self.policy.lifetime(headers)
        refresh_at = now + ttl * self.policy.refresh_ahead * (1 - JITTER * jitter)
        etag = result.headers.get("etag")
        if result.keys is None:
            # 304, or a 200 with the very same body: same keys, renewed lifetime.
            assert old is not None
            self.keys = CachedKeys(
                old.all,
                old.by_kid,
                old.generation,
                result.body_hash or old.body_hash,
                etag or old.etag,
                cache_control,
                now,
                refresh_at,
                now + ttl,
            )
            kind: EventKind = "not-modified" if result.not_modified else "fetched"
            self._event(kind, ttl=ttl)
            return True
        new, added, removed = merge(old.all if old else (), result.keys)
        if added or removed:
            self.generation += 1
            self.absent.clear()
        by_kid: dict[str, tuple[PublicJWK, ...]] = {}
        for key in new:
            by_kid[key.kid] = (*by_kid.get(key.kid, ()), key)
        self.keys = CachedKeys(
            new,
            by_kid,
            self.generation,
            result.body_hash,
            etag,
            cache_control,
            now,
            refresh_at,
            now + ttl,
        )
        self._event("fetched", ttl=ttl)
        if added or removed:
            self._event("keys-changed", added=added, removed=removed)
        return True

    # -- inspection -----------------------------------------------------------------

    def state(self, now: float) -> Literal["empty", "fresh", "stale", "expired"]:
        """``empty``, ``fresh``, ``stale`` (served) or ``expired`` (not served) at *now*."""
        keys = self.keys
        if keys is None:
            return "empty"
        if now < keys.expires_at:
            return "fresh"
        return "stale" if now < keys.expires_at + self.policy.max_stale else "expired"

    def status(self, now: float) -> KeySetStatus:
        """Where the set stands at *now* (see :class:`KeySetStatus`)."""
        keys = self.keys
        unknown_kid_at = max(self.retry_at, self.last_attempt + self.policy.cooldown)
        return KeySetStatus(
            jwks_uri=self.jwks_uri,
            state=self.state(now),
            generation=self.generation,
            kids=tuple(k.kid for k in keys.all) if keys else (),
            age=now - keys.fetched_at if keys else None,
            expires_in=keys.expires_at - now if keys else None,
            next_refresh_in=max(0.0, keys.refresh_at - now, self.retry_at - now) if keys else None,
            cooldown_remaining=max(0.0, unknown_kid_at - now),
            fetching=self.flight is not None,
            last_error=self.last_error,
            etag=keys.etag if keys else None,
            fetches=self.fetches,
            failures=self.failures,
            absent_kids=len(self.absent),
            suppressed_refetches=self.suppressed,
        )

    # -- internals -------------------------------------------------------------------

    def _start(self, now: float) -> FetchRequest:
        keys = self.keys
        flight = FetchRequest(now, keys.etag if keys else None, keys.body_hash if keys else b"")
        self.flight = flight
        self.last_attempt = now
        self._reported.clear()
        return flight

    def _abandon(self, now: float) -> None:
        """Forget a fetch that never finished."""
        self.flight = None
        self.failures += 1
        error = FetchError(
            f"fetching {safe_url(self.url)} did not finish in {self.abandon_after:g}s"
        )
        self.last_exception = error
        self.last_error = error.description
        self.retry_at = now
        self._event("failed", error=error.description)

    def _failed(self, error: FetchError) -> None:
        self.failures += 1
        self.last_exception = error
        self.last_error = error.description
        self.retry_at = self.last_attempt + self.policy.cooldown
        self._event("failed", error=error.description)

    def _serve(
        self, kid: str | None, keys: CachedKeys, now: float, *, proven: bool
    ) -> Serve | Refuse:
        if now >= keys.expires_at:
            if now >= keys.expires_at + self.policy.max_stale:
                return self._refuse(now)
            if "stale-served" not in self._reported:
                self._reported.add("stale-served")
                self._event("stale-served", age=now - keys.fetched_at)
        if kid is None:
            return Serve(keys.all)
        found = keys.by_kid.get(kid)
        if found:
            return Serve(found)
        if proven:
            # A fetch completed after this kid was asked for and it is not
            # there: remember that, so the kid alone never causes another fetch.
            self.absent[kid] = now
            self.absent.move_to_end(kid)
            if len(self.absent) > MAX_ABSENT_KIDS:
                self.absent.popitem(last=False)
        return Serve(EMPTY)

    def _suppress(self, reason: str) -> None:
        self.suppressed += 1
        if reason not in self._reported:
            self._reported.add(reason)
            self._event("refetch-suppressed", reason=reason)

    def _refuse(self, now: float) -> Refuse:
        cause = self.last_error or "no keys fetched yet"
        retry = max(self.retry_at, self.last_attempt + self.policy.cooldown) - now
        return Refuse(
            f"no usable keys from {safe_url(self.url)}: {cause}", max(1, math.ceil(retry))
        )

    def _event(self, kind: EventKind, **details: Any) -> None:
        uri = self.jwks_uri or self.metadata_url
        self._outbox.append(
            KeySetEvent(kind=kind, jwks_uri=uri, generation=self.generation, **details)
        )


def _fingerprint(key: PublicJWK) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(key.to_dict().items()))


def merge(
    old: Sequence[PublicJWK], fetched: Sequence[PublicJWK]
) -> tuple[tuple[PublicJWK, ...], tuple[str, ...], tuple[str, ...]]:
    """The new key tuple (reusing unchanged key objects) and the kids added/removed.

    A kid whose key material changed counts as removed and added.
    """
    previous = {_fingerprint(k): k for k in old}
    new = tuple(previous.get(_fingerprint(k), k) for k in fetched)
    old_ids = {(k.kid, _fingerprint(k)) for k in old}
    new_ids = {(k.kid, _fingerprint(k)) for k in new}
    added = tuple(sorted({kid for kid, _ in new_ids - old_ids}))
    removed = tuple(sorted({kid for kid, _ in old_ids - new_ids}))
    return new, added, removed
