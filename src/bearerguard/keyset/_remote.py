"""A JWKS that stays correct through key rotation, ``kid`` floods and outages.

:class:`RemoteKeySet` is the :class:`~bearerguard.KeySource` for one
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
  after which :class:`~bearerguard.KeySetUnavailable` is raised (503 in
  the adapters). A failed fetch is retried once per ``cooldown``. A refresh that
  yields zero usable keys is a failed fetch: the set is never emptied.

These rules live in :class:`~bearerguard.keyset._machine.KeySetMachine`, a
state machine without I/O; this module is its shell: the lock, the clock, the
fetch thread, the waiting, the events' delivery.

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
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent import futures
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from .._clock import MonotonicClock
from .._discovery import jwks_uri_from_metadata, keys_from_document
from .._errors import BearerGuardError, ConfigurationError, FetchError, KeySetUnavailable
from .._fetch import Fetcher, FetchResponse, default_fetcher, parse_json_response
from .._jwk import PublicJWK
from .._urls import check_url, oauth2_metadata_url, oidc_metadata_url, safe_url
from ._events import KeySetEvent, KeySetStatus, log_event
from ._machine import (
    EMPTY,
    Absent,
    Decision,
    Fetch,
    FetchRequest,
    FetchResult,
    KeySetMachine,
    Serve,
    Wait,
)
from ._policy import MAX_REDIRECTS, KeySetPolicy

if TYPE_CHECKING:
    from .._redis_link import RedisLink
    from ._shared import SharedKeySet

__all__ = ["RemoteKeySet"]

log = logging.getLogger("bearerguard.keyset")

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _Flight:
    """A fetch the machine started, and the future its waiters wait on.

    The future always resolves to True (the fetch was applied) or False.
    """

    __slots__ = ("future", "kid", "proof", "request")

    def __init__(self, request: FetchRequest, kid: str | None = None) -> None:
        self.request = request
        self.kid = kid  # the kid that started it (None: a refresh)
        self.proof = True  # its result proves a kid it lacks absent
        self.future: futures.Future[bool] = futures.Future()
        # A running Future cannot be cancelled, so an asyncio caller that gives
        # up (and cancels its wrapper) never cancels the shared fetch.
        self.future.set_running_or_notify_cancel()


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
        clock: MonotonicClock | None = None,
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
        clock: MonotonicClock | None = None,
        on_event: Callable[[KeySetEvent], None] | None = None,
    ) -> RemoteKeySet:
        """Keys found by OpenID Connect discovery on first use (no network call now).

        *issuer* must equal the metadata document's ``issuer`` exactly; a
        mismatch fails the fetch with :class:`~bearerguard.DiscoveryError`.
        """
        return cls._lazy(issuer, oidc_metadata_url(issuer), policy, fetcher, clock, on_event)

    @classmethod
    def from_oauth2(
        cls,
        issuer: str,
        *,
        policy: KeySetPolicy = KeySetPolicy(),
        fetcher: Fetcher | None = None,
        clock: MonotonicClock | None = None,
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
        clock: MonotonicClock | None,
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
        clock: MonotonicClock | None,
        on_event: Callable[[KeySetEvent], None] | None,
    ) -> None:
        if fetcher is not None and not callable(fetcher):
            raise ConfigurationError("fetcher must be callable (see bearerguard.Fetcher)")
        if on_event is not None and not callable(on_event):
            raise ConfigurationError("on_event must be callable")
        self._issuer = issuer
        self._policy = policy
        self._fetcher = fetcher
        self._clock: MonotonicClock = clock or time.monotonic
        self._on_event = on_event
        self._random = random.SystemRandom()
        self._lock = threading.Lock()
        # Every decision is the machine's, taken under the lock.
        self._machine = KeySetMachine(policy, jwks_uri=jwks_uri, metadata_url=metadata_url)
        # The fetch the machine started last (in flight while the machine says so).
        self._flight: _Flight | None = None
        # redis_url=: where the fleet shares this set's JWKS (None: fetch alone).
        self._shared: SharedKeySet | None = None

    def _share(self, link: RedisLink) -> None:
        """Share fetches with the other processes using *link* (a Verifier's ``redis_url=``)."""
        from ._shared import SharedKeySet

        with self._lock:
            self._shared = SharedKeySet(self, link)

    # -- inspection -------------------------------------------------------------

    @property
    def jwks_uri(self) -> str | None:
        """The JWKS URL (``None`` until lazy discovery has found it)."""
        return self._machine.jwks_uri

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
        return self._machine.generation

    def status(self) -> KeySetStatus:
        """Where the set stands now (see :class:`KeySetStatus`)."""
        with self._lock:
            return self._machine.status(self._clock())

    def __repr__(self) -> str:
        where = self._machine.jwks_uri or f"discovery of {self._issuer!r}"
        return f"RemoteKeySet({where!r}, generation={self._machine.generation})"

    # -- the KeySource protocol ---------------------------------------------------
    #
    # Each pair differs only in how it waits: the sync one blocks its thread,
    # the async one awaits without blocking the event loop.

    def get_keys(self, kid: str | None) -> Sequence[PublicJWK]:
        """Keys with *kid* (all keys for ``None``); ``()`` when none match.

        May wait (at most ``policy.timeout``) for a fetch. Raises
        :class:`~bearerguard.KeySetUnavailable` when no usable keys exist.
        """
        # _fresh(), inlined: every verified-token cache hit of a Verifier
        # comes here, and a call costs as much as the rest of the check.
        keys = self._machine.keys
        if keys is not None and self._clock() < keys.refresh_at:
            found = keys.all if kid is None else keys.by_kid.get(kid)
            if found:
                return found
        answer = self._keys_wanted(kid)
        if not isinstance(answer, _Flight):
            return answer
        futures.wait((answer.future,), timeout=self._policy.timeout)
        return self._keys_after(kid, answer)

    async def aget_keys(self, kid: str | None) -> Sequence[PublicJWK]:
        """Async twin of :meth:`get_keys`; waits without blocking the event loop."""
        answer = self._fresh(kid) or self._keys_wanted(kid)
        if not isinstance(answer, _Flight):
            return answer
        # asyncio.wait neither raises on timeout nor cancels the wrapped future;
        # if this task is cancelled, the fetch thread carries on for everyone else.
        await asyncio.wait((asyncio.wrap_future(answer.future),), timeout=self._policy.timeout)
        return self._keys_after(kid, answer)

    def refresh(self) -> None:
        """Fetch now (joining a fetch in progress) and raise if it fails.

        Ignores the cooldown: meant for start-up (eager loading) and operators,
        not the request path. Waits at most ``2 × timeout`` (discovery makes
        two requests).
        """
        flight = self._refresh_flight()
        futures.wait((flight.future,), timeout=2 * self._policy.timeout)
        self._raise_unless(flight)

    async def arefresh(self) -> None:
        """Async twin of :meth:`refresh`."""
        flight = self._refresh_flight()
        await asyncio.wait((asyncio.wrap_future(flight.future),), timeout=2 * self._policy.timeout)
        self._raise_unless(flight)

    # -- driving the machine ------------------------------------------------------

    def _fresh(self, kid: str | None) -> Sequence[PublicJWK] | None:
        """The keys with *kid* if they are fresh and present (no lock taken), else ``None``."""
        keys = self._machine.keys
        if keys is not None and self._clock() < keys.refresh_at:
            found = keys.all if kid is None else keys.by_kid.get(kid)
            if found:
                return found
        return None

    def _keys_wanted(self, kid: str | None) -> Sequence[PublicJWK] | _Flight:
        """Ask the machine: the keys to answer with now, or the fetch to wait for first."""
        events: list[KeySetEvent] = []
        try:
            with self._lock:
                decision = self._machine.keys_wanted(kid, self._clock())
                events = self._machine.drain()
                return self._follow(decision, kid)
        finally:
            self._emit(events)

    def _keys_after(self, kid: str | None, flight: _Flight) -> Sequence[PublicJWK]:
        """After waiting for *flight* (done or not): answer from what the set holds."""
        events: list[KeySetEvent] = []
        try:
            with self._lock:
                succeeded = flight.future.done() and flight.future.result()
                now = self._clock()
                decision = self._machine.waited(kid, succeeded, now, proof=flight.proof)
                events = self._machine.drain()
                answer = self._follow(decision, kid)
        finally:
            self._emit(events)
        assert not isinstance(answer, _Flight)  # waited() never asks for another wait
        return answer

    def _refresh_flight(self) -> _Flight:
        with self._lock:
            answer = self._follow(self._machine.refresh_wanted(self._clock()), None)
        assert isinstance(answer, _Flight)
        return answer

    def _follow(self, decision: Decision, kid: str | None) -> Sequence[PublicJWK] | _Flight:
        """Carry out *decision* for *kid* (caller holds the lock): keys, or a fetch to wait for."""
        if isinstance(decision, Serve | Absent):
            if decision.refresh is not None:
                self._launch(decision.refresh, None)
            return decision.keys if isinstance(decision, Serve) else EMPTY
        if isinstance(decision, Wait):
            flight = self._flight
            assert flight is not None
            assert flight.request is decision.flight
            return flight
        if isinstance(decision, Fetch):
            return self._launch(decision.flight, kid)
        raise KeySetUnavailable(decision.description, retry_after=decision.retry_after)

    def _raise_unless(self, flight: _Flight) -> None:
        if flight.future.done() and flight.future.result():
            return
        with self._lock:
            error = self._machine.last_exception if flight.future.done() else None
            where = safe_url(self._machine.url)
        if error is not None:
            # A fresh exception of the same class (DiscoveryError stays one).
            raise type(error)(error.description, retry_after=error.retry_after)
        raise FetchError(f"fetching keys from {where} took longer than expected")

    # -- fetching, in a worker thread ---------------------------------------------

    def _launch(self, request: FetchRequest, kid: str | None) -> _Flight:
        """Run the fetch the machine started for *kid*, in a thread (caller holds the lock)."""
        flight = self._flight = _Flight(request, kid)
        thread = threading.Thread(
            target=self._run, args=(flight,), name="bearerguard-jwks-fetch", daemon=True
        )
        try:
            thread.start()
        except RuntimeError:  # out of threads: fail this attempt, never leave it dangling
            self._machine.fetch_not_started(request)
            flight.future.set_result(False)
        return flight

    def _run(self, flight: _Flight) -> None:
        request = flight.request
        error: FetchError | None = None
        try:
            result = self._fetch(request, flight.kid)
            flight.proof = result.proof
        except FetchError as exc:
            error = exc
        except BearerGuardError as exc:
            error = FetchError(exc.description)
        except Exception as exc:  # a custom fetcher may raise anything; never lose the flight
            error = FetchError(f"fetch failed: {type(exc).__name__}")
        events: list[KeySetEvent] = []
        ok = False
        try:
            with self._lock:
                now = self._clock()
                machine = self._machine
                if error is None:
                    jitter = self._random.random()
                    ok = machine.fetch_succeeded(request, result, now, jitter=jitter)
                else:
                    ok = machine.fetch_failed(request, error, now)
                events = machine.drain()
        finally:
            # Waiters resume after the new state is in place and its events
            # have been delivered, so logs read in order.
            try:
                self._emit(events)
            finally:
                flight.future.set_result(ok)

    def _fetch(self, request: FetchRequest, kid: str | None = None) -> FetchResult:
        if self._shared is not None:
            # redis_url=: the fleet fetches once and shares (falls back to _fetch_alone).
            return self._shared.fetch(request, kid)
        return self._fetch_alone(request)

    def _fetch_alone(self, request: FetchRequest) -> FetchResult:
        """This process fetches for itself, with its own validators."""
        url = self._locate()
        headers = {"If-None-Match": request.etag} if request.etag else {}
        response = self._get(url, headers)
        if response.status == 304 and request.etag:
            return FetchResult(headers=response.headers, not_modified=True)
        return self._result(request, response, url)

    def _locate(self) -> str:
        """The JWKS URL, running discovery first when it is not known yet."""
        url = self._machine.jwks_uri
        if url is None:
            policy = self._policy
            metadata_url = self._machine.metadata_url
            assert self._issuer is not None
            assert metadata_url is not None
            response = self._get(metadata_url, {})
            document = parse_json_response(response, metadata_url, "metadata document")
            url = jwks_uri_from_metadata(
                document, self._issuer, metadata_url, require_https=policy.require_https
            )
            with self._lock:
                self._machine.located(url)
        return url

    def _result(self, request: FetchRequest, response: FetchResponse, url: str) -> FetchResult:
        """The keys a JWKS *response* from *url* brings (parsed strictly; raises FetchError)."""
        document = parse_json_response(response, url, "JWKS")
        body_hash = hashlib.sha256(response.body).digest()
        if body_hash == request.last_hash:
            return FetchResult(headers=response.headers, body_hash=body_hash)
        return FetchResult(
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

    # -- events ----------------------------------------------------------------------

    def _emit(self, events: list[KeySetEvent]) -> None:
        """Log and deliver *events*; called without the lock held."""
        for event in events:
            log_event(event)
            if self._on_event is not None:
                try:
                    self._on_event(event)
                except Exception:
                    log.exception("on_event callback raised; ignoring it")
