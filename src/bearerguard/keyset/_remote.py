"""A JWKS that stays correct through key rotation, ``kid`` floods and outages.

:class:`RemoteKeySet` is the :class:`~bearerguard._keysource.KeySource` for one
issuer's ``jwks_uri``. Its rules (the numbers come from :class:`KeySetPolicy`):

* **One fetch at a time.** Every thread and asyncio task that needs the keys
  waits for the same fetch, which runs in a worker thread: async callers never
  block the event loop, a cancelled caller does not cancel the fetch, and no
  caller waits longer than ``timeout``.
* **Lifetime** from ``Cache-Control: max-age`` minus ``Age``, clamped to
  [``min_ttl``, ``max_ttl``] (``default_ttl`` when absent). At ``refresh_ahead``
  of the lifetime (minus up to 10 % jitter, so a fleet does not refresh in step)
  the request that notices starts a background refresh and goes on with the
  current keys. ``ETag``/``If-None-Match`` is honoured: a 304 renews the
  lifetime and keeps the parsed keys.
* **Unknown kid.** A token whose ``kid`` is not in the set causes at most one
  refetch per ``cooldown``, measured from the last fetch attempt; a ``kid``
  still absent after a fetch joins a bounded cache of known-absent kids and
  causes no further fetch until the key set's content changes.
* **Outages.** A failed fetch keeps the last good keys: they are served past
  their lifetime for up to ``max_stale`` (observably: a ``stale-served`` event),
  after which :class:`~bearerguard._errors.KeySetUnavailable` is raised (503 in
  the adapters). A failed fetch is retried once per ``cooldown``. A refresh that
  yields zero usable keys is a failed fetch: the set is never emptied.

Lazy discovery: :meth:`RemoteKeySet.from_oidc` and :meth:`RemoteKeySet.from_oauth2`
make no network call when constructed; the first fetch reads the metadata
document, checks its ``issuer`` exactly, then fetches ``jwks_uri``::

    keys = RemoteKeySet.from_oidc("https://login.example.com")   # no network yet
    issuer = Issuer("https://login.example.com", keys, Validator(aud="api://orders"))
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urljoin

from .._discovery import (
    Fetcher,
    FetchResponse,
    check_url,
    default_fetcher,
    json_response,
    jwks_uri_from_metadata,
    keys_from_document,
    oauth2_metadata_url,
    oidc_metadata_url,
    safe_url,
)
from .._errors import BearerGuardError, ConfigurationError, FetchError, KeySetUnavailable
from .._jwk import PublicJWK
from ._events import EventKind, KeySetEvent, KeySetStatus, log_event
from ._policy import MAX_ABSENT_KIDS, MAX_REDIRECTS, KeySetPolicy

__all__ = ["RemoteKeySet"]

log = logging.getLogger("bearerguard.keyset")

_JITTER = 0.1
_REDIRECTS = frozenset({301, 302, 303, 307, 308})

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class _Keys:
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


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one fetch produced. ``keys is None`` with no error: the content is unchanged."""

    headers: Mapping[str, str] = field(default_factory=dict)
    keys: list[PublicJWK] | None = None
    body_hash: bytes = b""
    error: FetchError | None = None
    not_modified: bool = False


class _Flight:
    """The one fetch in progress; its future always resolves to True (ok) or False."""

    __slots__ = ("etag", "future", "last_hash", "started")

    def __init__(self, etag: str | None, last_hash: bytes, started: float) -> None:
        self.future: futures.Future[bool] = futures.Future()
        # A running Future cannot be cancelled, so an asyncio caller that gives
        # up (and cancels its wrapper) never cancels the shared fetch.
        self.future.set_running_or_notify_cancel()
        self.etag = etag
        self.last_hash = last_hash
        self.started = started


@dataclass(slots=True)
class _Ticket:
    """What a caller does next: take ``keys`` now, or wait for ``flight``."""

    keys: Sequence[PublicJWK] | None = None
    flight: _Flight | None = None


_EMPTY: tuple[PublicJWK, ...] = ()


class RemoteKeySet:
    """The keys at *jwks_uri*, cached, refreshed and shared; one per issuer.

    *fetcher* performs the HTTP GETs (default: a shared ``requests`` session);
    *clock* returns seconds on a monotonic scale (default :func:`time.monotonic`;
    tests pass a fake clock); *on_event* receives every :class:`KeySetEvent`
    (exceptions it raises are logged and ignored). Thread-safe and asyncio-safe::

        keys = RemoteKeySet("https://login.example.com/jwks.json")
        issuer = Issuer("https://login.example.com", keys, Validator(aud="api://orders"))
    """

    def __init__(
        self,
        jwks_uri: str,
        *,
        policy: KeySetPolicy = KeySetPolicy(),
        fetcher: Fetcher | None = None,
        clock: Clock | None = None,
        on_event: Callable[[KeySetEvent], None] | None = None,
    ) -> None:
        if not isinstance(policy, KeySetPolicy):
            raise ConfigurationError("policy must be a KeySetPolicy")
        check_url(jwks_uri, "jwks_uri", require_https=policy.require_https)
        self._setup(jwks_uri, None, None, policy, fetcher, clock, on_event)

    @classmethod
    def from_oidc(
        cls,
        issuer: str,
        *,
        policy: KeySetPolicy = KeySetPolicy(),
        fetcher: Fetcher | None = None,
        clock: Clock | None = None,
        on_event: Callable[[KeySetEvent], None] | None = None,
    ) -> RemoteKeySet:
        """Keys found by OpenID Connect discovery on first use (no network call now).

        *issuer* must equal the metadata document's ``issuer`` exactly; a
        mismatch fails the fetch with :class:`~bearerguard._errors.DiscoveryError`.
        """
        return cls._lazy(issuer, oidc_metadata_url(issuer), policy, fetcher, clock, on_event)

    @classmethod
    def from_oauth2(
        cls,
        issuer: str,
        *,
        policy: KeySetPolicy = KeySetPolicy(),
        fetcher: Fetcher | None = None,
        clock: Clock | None = None,
        on_event: Callable[[KeySetEvent], None] | None = None,
    ) -> RemoteKeySet:
        """Keys found by RFC 8414 metadata on first use (no network call now)."""
        return cls._lazy(issuer, oauth2_metadata_url(issuer), policy, fetcher, clock, on_event)

    @classmethod
    def _lazy(
        cls,
        issuer: str,
        metadata_url: str,
        policy: KeySetPolicy,
        fetcher: Fetcher | None,
        clock: Clock | None,
        on_event: Callable[[KeySetEvent], None] | None,
    ) -> RemoteKeySet:
        if not isinstance(policy, KeySetPolicy):
            raise ConfigurationError("policy must be a KeySetPolicy")
        check_url(issuer, "issuer", require_https=policy.require_https)
        self = cls.__new__(cls)
        self._setup(None, issuer, metadata_url, policy, fetcher, clock, on_event)
        return self

    def _setup(
        self,
        jwks_uri: str | None,
        issuer: str | None,
        metadata_url: str | None,
        policy: KeySetPolicy,
        fetcher: Fetcher | None,
        clock: Clock | None,
        on_event: Callable[[KeySetEvent], None] | None,
    ) -> None:
        if fetcher is not None and not callable(fetcher):
            raise ConfigurationError("fetcher must be callable (see bearerguard.Fetcher)")
        if on_event is not None and not callable(on_event):
            raise ConfigurationError("on_event must be callable")
        self._jwks_uri = jwks_uri
        self._issuer = issuer
        self._metadata_url = metadata_url
        self._policy = policy
        # Discovery makes two requests, each bounded by the timeout; beyond
        # twice that plus a margin a fetch is considered hung.
        self._abandon_after = 2 * policy.timeout + 1.0
        self._fetcher = fetcher
        self._clock: Clock = clock or time.monotonic
        self._on_event = on_event
        self._random = random.SystemRandom()
        self._lock = threading.Lock()
        self._keys: _Keys | None = None
        self._flight: _Flight | None = None
        self._generation = 0
        self._last_attempt = -math.inf
        self._retry_at = -math.inf  # after a failure: no new attempt before this
        self._last_error: str | None = None
        self._last_exc: FetchError | None = None
        # kid -> when a completed fetch proved it absent (oldest first).
        self._absent: OrderedDict[str, float] = OrderedDict()
        self._reported: set[str] = set()  # once-per-attempt events already sent
        self._fetches = 0
        self._failures = 0
        self._suppressed = 0

    # -- inspection -------------------------------------------------------------

    @property
    def jwks_uri(self) -> str | None:
        """The JWKS URL (``None`` until lazy discovery has found it)."""
        return self._jwks_uri

    @property
    def issuer(self) -> str | None:
        """The issuer this set was discovered for (``None`` for a plain JWKS URL)."""
        return self._issuer

    @property
    def policy(self) -> KeySetPolicy:
        """The caching and fetching policy."""
        return self._policy

    @property
    def generation(self) -> int:
        """Increases by one whenever the set's content changes (0: never loaded).

        A cache of verified tokens can remember the generation it saw and drop
        entries when it moves on, as their key may have left the set.
        """
        return self._generation

    def status(self) -> KeySetStatus:
        """Where the set stands now (see :class:`KeySetStatus`)."""
        with self._lock:
            now = self._clock()
            keys = self._keys
            unknown_kid_at = max(self._retry_at, self._last_attempt + self._policy.cooldown)
            return KeySetStatus(
                jwks_uri=self._jwks_uri,
                state=self._state_of(keys, now),
                generation=self._generation,
                kids=tuple(k.kid for k in keys.all) if keys else (),
                age=now - keys.fetched_at if keys else None,
                expires_in=keys.expires_at - now if keys else None,
                next_refresh_in=max(0.0, keys.refresh_at - now, self._retry_at - now)
                if keys
                else None,
                cooldown_remaining=max(0.0, unknown_kid_at - now),
                fetching=self._flight is not None,
                last_error=self._last_error,
                etag=keys.etag if keys else None,
                fetches=self._fetches,
                failures=self._failures,
                absent_kids=len(self._absent),
                suppressed_refetches=self._suppressed,
            )

    def _state_of(
        self, keys: _Keys | None, now: float
    ) -> Literal["empty", "fresh", "stale", "expired"]:
        if keys is None:
            return "empty"
        if now < keys.expires_at:
            return "fresh"
        return "stale" if now < keys.expires_at + self._policy.max_stale else "expired"

    def __repr__(self) -> str:
        where = self._jwks_uri or f"discovery of {self._issuer!r}"
        return f"RemoteKeySet({where!r}, generation={self._generation})"

    # -- the KeySource protocol ---------------------------------------------------

    def get_keys(self, kid: str | None) -> Sequence[PublicJWK]:
        """Keys with *kid* (all keys for ``None``); ``()`` when none match.

        May wait (at most ``policy.timeout``) for a fetch. Raises
        :class:`~bearerguard._errors.KeySetUnavailable` when no usable keys exist.
        """
        keys = self._keys
        if keys is not None and self._clock() < keys.refresh_at:
            found = keys.all if kid is None else keys.by_kid.get(kid)
            if found:
                return found
        ticket = self._begin(kid)
        if ticket.flight is None:
            return ticket.keys or _EMPTY
        futures.wait((ticket.flight.future,), timeout=self._policy.timeout)
        return self._finish(kid, ticket.flight)

    async def aget_keys(self, kid: str | None) -> Sequence[PublicJWK]:
        """Async twin of :meth:`get_keys`; waits without blocking the event loop."""
        keys = self._keys
        if keys is not None and self._clock() < keys.refresh_at:
            found = keys.all if kid is None else keys.by_kid.get(kid)
            if found:
                return found
        ticket = self._begin(kid)
        if ticket.flight is None:
            return ticket.keys or _EMPTY
        waiter = asyncio.wrap_future(ticket.flight.future)
        # asyncio.wait neither raises on timeout nor cancels *waiter*; if this
        # task is cancelled, the fetch thread carries on for everyone else.
        await asyncio.wait((waiter,), timeout=self._policy.timeout)
        return self._finish(kid, ticket.flight)

    def refresh(self) -> None:
        """Fetch now (joining a fetch in progress) and raise if it fails.

        Ignores the cooldown: meant for start-up (eager loading) and operators,
        not the request path. Waits at most ``2 × timeout`` (discovery makes
        two requests).
        """
        with self._lock:
            flight = self._flight or self._start(self._clock())
        futures.wait((flight.future,), timeout=2 * self._policy.timeout)
        self._raise_unless(flight)

    async def arefresh(self) -> None:
        """Async twin of :meth:`refresh`."""
        with self._lock:
            flight = self._flight or self._start(self._clock())
        waiter = asyncio.wrap_future(flight.future)
        await asyncio.wait((waiter,), timeout=2 * self._policy.timeout)
        self._raise_unless(flight)

    def _raise_unless(self, flight: _Flight) -> None:
        if flight.future.done() and flight.future.result():
            return
        with self._lock:
            error = self._last_exc if flight.future.done() else None
        if error is not None:
            # A fresh exception of the same class (DiscoveryError stays one).
            raise type(error)(error.description, retry_after=error.retry_after)
        where = safe_url(self._jwks_uri or self._metadata_url or "")
        raise FetchError(f"fetching keys from {where} took longer than expected")

    # -- decisions, under the lock --------------------------------------------------

    def _begin(self, kid: str | None) -> _Ticket:
        """Decide, under the lock, whether the caller can answer now or must wait."""
        events: list[KeySetEvent] = []
        try:
            with self._lock:
                return self._decide(kid, self._clock(), events)
        finally:
            self._emit(events)

    def _decide(self, kid: str | None, now: float, events: list[KeySetEvent]) -> _Ticket:
        keys = self._keys
        flight = self._flight
        if flight is not None and now >= flight.started + self._abandon_after:
            # A fetch that outlived every deadline (a server trickling bytes, a
            # fetcher that ignores its timeout) must not pin the key set: give
            # up on it so that a new attempt can start. Its late result is dropped.
            self._abandon(flight, now, events)
            flight = None
        if keys is None:
            if flight is not None:
                return _Ticket(flight=flight)
            if now < self._retry_at:
                raise self._unavailable(now)
            return _Ticket(flight=self._start(now))
        if now >= keys.expires_at:
            # Past the lifetime: try to refresh, and wait for it (bounded by the
            # timeout); right after a failed attempt, serve stale keys without waiting.
            if flight is not None:
                return _Ticket(flight=flight)
            if now >= self._retry_at:
                return _Ticket(flight=self._start(now))
            return _Ticket(keys=self._serve(kid, keys, now, proven=False, events=events))
        if now >= keys.refresh_at and flight is None and now >= self._retry_at:
            flight = self._start(now)  # refresh-ahead: in the background
        if kid is None:
            return _Ticket(keys=keys.all)
        found = keys.by_kid.get(kid)
        if found:
            return _Ticket(keys=found)
        proven_absent_at = self._absent.get(kid)
        if proven_absent_at is not None:
            if now < proven_absent_at + self._policy.absent_ttl:
                self._suppress("known-absent", events)
                return _Ticket(keys=_EMPTY)
            del self._absent[kid]  # old news: the kid may be published by now
        if flight is not None:
            return _Ticket(flight=flight)
        if now < self._last_attempt + self._policy.cooldown:
            if self._last_exc is not None:
                # The last fetch failed: whether this kid exists is unknown.
                raise self._unavailable(now)
            self._suppress("cooldown", events)
            return _Ticket(keys=_EMPTY)
        return _Ticket(flight=self._start(now))

    def _abandon(self, flight: _Flight, now: float, events: list[KeySetEvent]) -> None:
        """Forget a fetch that never finished (caller holds the lock)."""
        self._flight = None
        self._failures += 1
        where = safe_url(self._jwks_uri or self._metadata_url or "")
        error = FetchError(f"fetching {where} did not finish in {self._abandon_after:g}s")
        self._last_exc = error
        self._last_error = error.description
        self._retry_at = now
        events.append(self._event("failed", error=error.description))

    def _finish(self, kid: str | None, flight: _Flight) -> Sequence[PublicJWK]:
        """After waiting for *flight* (done or not): answer from what the set holds."""
        events: list[KeySetEvent] = []
        try:
            with self._lock:
                now = self._clock()
                keys = self._keys
                if keys is None:
                    raise self._unavailable(now)
                proven = flight.future.done() and flight.future.result()
                if not proven and kid is not None and kid not in keys.by_kid:
                    # The refetch for this kid failed or is still running: the
                    # identity provider may well have published it, so this is
                    # "keys unavailable" (503, retry), not "unknown key" (401).
                    raise self._unavailable(now)
                return self._serve(kid, keys, now, proven=proven, events=events)
        finally:
            self._emit(events)

    def _serve(
        self,
        kid: str | None,
        keys: _Keys,
        now: float,
        *,
        proven: bool,
        events: list[KeySetEvent],
    ) -> Sequence[PublicJWK]:
        if now >= keys.expires_at:
            if now >= keys.expires_at + self._policy.max_stale:
                raise self._unavailable(now)
            if "stale-served" not in self._reported:
                self._reported.add("stale-served")
                events.append(self._event("stale-served", age=now - keys.fetched_at))
        if kid is None:
            return keys.all
        found = keys.by_kid.get(kid)
        if found:
            return found
        if proven:
            # A fetch completed after this kid was asked for and it is not
            # there: remember that, so the kid alone never causes another fetch.
            self._absent[kid] = now
            self._absent.move_to_end(kid)
            if len(self._absent) > MAX_ABSENT_KIDS:
                self._absent.popitem(last=False)
        return _EMPTY

    def _suppress(self, reason: str, events: list[KeySetEvent]) -> None:
        self._suppressed += 1
        if reason not in self._reported:
            self._reported.add(reason)
            events.append(self._event("refetch-suppressed", reason=reason))

    def _unavailable(self, now: float) -> KeySetUnavailable:
        where = safe_url(self._jwks_uri or self._metadata_url or "")
        cause = self._last_error or "no keys fetched yet"
        retry = max(self._retry_at, self._last_attempt + self._policy.cooldown) - now
        return KeySetUnavailable(
            f"no usable keys from {where}: {cause}", retry_after=max(1, math.ceil(retry))
        )

    # -- fetching, in a worker thread ---------------------------------------------

    def _start(self, now: float) -> _Flight:
        """Start the one fetch (caller holds the lock)."""
        keys = self._keys
        flight = _Flight(keys.etag if keys else None, keys.body_hash if keys else b"", now)
        self._flight = flight
        self._last_attempt = now
        self._reported.clear()
        thread = threading.Thread(
            target=self._run, args=(flight,), name="bearerguard-jwks-fetch", daemon=True
        )
        try:
            thread.start()
        except RuntimeError:  # out of threads: fail this attempt, never leave it dangling
            self._flight = None
            self._last_error = "could not start a fetch thread"
            self._retry_at = now + self._policy.cooldown
            flight.future.set_result(False)
        return flight

    def _run(self, flight: _Flight) -> None:
        try:
            outcome = self._fetch(flight)
        except FetchError as exc:
            outcome = _Outcome(error=exc)
        except BearerGuardError as exc:
            outcome = _Outcome(error=FetchError(exc.description))
        except Exception as exc:  # a custom fetcher may raise anything; never lose the flight
            outcome = _Outcome(error=FetchError(f"fetch failed: {type(exc).__name__}"))
        events: list[KeySetEvent] = []
        ok = False
        try:
            with self._lock:
                if self._flight is flight:
                    self._flight = None
                    ok = self._apply(outcome, self._clock(), events)
                # else: the flight was abandoned as hung; its late result is dropped.
        finally:
            # Waiters resume after the new state is in place and its events
            # have been delivered, so logs read in order.
            try:
                self._emit(events)
            finally:
                flight.future.set_result(ok)

    def _fetch(self, flight: _Flight) -> _Outcome:
        policy = self._policy
        if self._jwks_uri is None:
            assert self._issuer is not None
            assert self._metadata_url is not None
            response = self._get(self._metadata_url, {})
            document = json_response(response, self._metadata_url, "metadata document")
            self._jwks_uri = jwks_uri_from_metadata(
                document, self._issuer, self._metadata_url, require_https=policy.require_https
            )
        url = self._jwks_uri
        headers = {"If-None-Match": flight.etag} if flight.etag else {}
        response = self._get(url, headers)
        if response.status == 304 and flight.etag:
            return _Outcome(headers=response.headers, not_modified=True)
        document = json_response(response, url, "JWKS")
        body_hash = hashlib.sha256(response.body).digest()
        if body_hash == flight.last_hash:
            return _Outcome(headers=response.headers, body_hash=body_hash)
        return _Outcome(
            headers=response.headers,
            keys=keys_from_document(document, url),
            body_hash=body_hash,
        )

    def _get(self, url: str, headers: Mapping[str, str]) -> FetchResponse:
        policy = self._policy
        fetcher = self._fetcher or default_fetcher()
        for _ in range(MAX_REDIRECTS + 1):
            response = fetcher(
                url, headers=headers, timeout=policy.timeout, max_bytes=policy.max_bytes
            )
            if response.status not in _REDIRECTS or not policy.follow_redirects:
                return response
            location = response.headers.get("location")
            if not location:
                return response
            target = urljoin(url, location)
            try:
                url = check_url(target, "redirect target", require_https=policy.require_https)
            except ConfigurationError as exc:
                raise FetchError(exc.description) from None
        raise FetchError(f"more than {MAX_REDIRECTS} redirects from {safe_url(url)}")

    def _apply(self, outcome: _Outcome, now: float, events: list[KeySetEvent]) -> bool:
        """Fold a fetch outcome into the state (caller holds the lock)."""
        old = self._keys
        if outcome.error is not None or (outcome.not_modified and old is None):
            error = outcome.error or FetchError("unexpected 304 Not Modified")
            self._failures += 1
            self._last_exc = error
            self._last_error = error.description
            self._retry_at = self._last_attempt + self._policy.cooldown
            events.append(self._event("failed", error=error.description))
            return False
        self._fetches += 1
        self._last_exc = None
        self._last_error = None
        self._retry_at = -math.inf
        headers = outcome.headers
        cache_control = headers.get("cache-control")
        if outcome.not_modified and cache_control is None and old is not None:
            # RFC 9111 §4.3.4: a 304 without Cache-Control keeps the stored one.
            cache_control = old.cache_control
            headers = {**headers, "cache-control": cache_control} if cache_control else headers
        ttl = self._policy.lifetime(headers)
        refresh_at = now + ttl * self._policy.refresh_ahead * (1 - _JITTER * self._random.random())
        etag = outcome.headers.get("etag")
        if outcome.keys is None:
            # 304, or a 200 with the very same body: same keys, renewed lifetime.
            assert old is not None
            self._keys = _Keys(
                old.all,
                old.by_kid,
                old.generation,
                outcome.body_hash or old.body_hash,
                etag or old.etag,
                cache_control,
                now,
                refresh_at,
                now + ttl,
            )
            kind: EventKind = "not-modified" if outcome.not_modified else "fetched"
            events.append(self._event(kind, ttl=ttl))
            return True
        new, added, removed = _merge(old.all if old else (), outcome.keys)
        if added or removed:
            self._generation += 1
            self._absent.clear()
        by_kid: dict[str, tuple[PublicJWK, ...]] = {}
        for key in new:
            by_kid[key.kid] = (*by_kid.get(key.kid, ()), key)
        self._keys = _Keys(
            new,
            by_kid,
            self._generation,
            outcome.body_hash,
            etag,
            cache_control,
            now,
            refresh_at,
            now + ttl,
        )
        events.append(self._event("fetched", ttl=ttl))
        if added or removed:
            events.append(self._event("keys-changed", added=added, removed=removed))
        return True

    # -- events ----------------------------------------------------------------------

    def _event(self, kind: EventKind, **details: Any) -> KeySetEvent:
        uri = self._jwks_uri or self._metadata_url
        return KeySetEvent(kind=kind, jwks_uri=uri, generation=self._generation, **details)

    def _emit(self, events: list[KeySetEvent]) -> None:
        """Log and deliver *events*; called without the lock held."""
        for event in events:
            log_event(event)
            if self._on_event is not None:
                try:
                    self._on_event(event)
                except Exception:
                    log.exception("on_event callback raised; ignoring it")


def _fingerprint(key: PublicJWK) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(key.to_dict().items()))


def _merge(
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
