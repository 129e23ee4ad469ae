"""Replay caches for DPoP proofs (RFC 9449 §11.1): where used proof ids are remembered.

A proof is accepted once: its id (the key's thumbprint and the proof's
``jti``) is recorded for as long as the proof's ``iat`` can be accepted.
:class:`MemoryReplayCache` protects one process; :class:`RedisReplayCache`
every instance that shares one Redis; anything with ``first_use(key, ttl)``
(the :class:`ReplayCache` protocol) may stand in for them.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from typing import Any, Protocol, runtime_checkable

from ._errors import ConfigurationError, KeySetUnavailable
from ._redis_link import RedisLink, RedisUnavailable

__all__ = ["MemoryReplayCache", "RedisReplayCache", "ReplayCache", "ReplayCacheUnavailable"]


_UNAVAILABLE = "DPoP replay cache unavailable"


class ReplayCacheUnavailable(KeySetUnavailable):
    """The replay cache did not answer: the proof cannot be checked, so 503, never accepted."""

    unavailable = _UNAVAILABLE


@runtime_checkable
class ReplayCache(Protocol):
    """Where used proof ids are remembered (RFC 9449 §11.1).

    :meth:`first_use` records *key* for *ttl* seconds and returns ``True``
    the first time, ``False`` when *key* is already recorded. It must be
    atomic: two requests racing with the same proof get one ``True``.
    """

    def first_use(self, key: str, ttl: float) -> bool:
        """Record *key* for *ttl* seconds; ``False`` if it was already recorded."""
        ...


class MemoryReplayCache:
    """A bounded in-process :class:`ReplayCache` (the default).

    Holds at most *max_entries* ids (100,000 by default, a few tens of MB).
    When full it drops the oldest, but never reopens a proof: it remembers
    until when the dropped ids had to be kept, and until then refuses every
    new id whose own *ttl* ends no later (the ttl of a proof runs to the end
    of its ``iat`` window, so a replayed proof has the ttl it had the first
    time). A flood of valid proofs therefore shortens the ``iat`` window
    fresh proofs must fall in; it never lets a used proof in again. Size it
    to the proofs one instance accepts within ``max_age`` plus twice
    ``leeway``. It protects one process only: with several instances, use
    :class:`RedisReplayCache`. *clock* returns POSIX seconds (tests pass a
    fake one).
    """

    __slots__ = ("_clock", "_entries", "_forgotten_until", "_lock", "max_entries")

    def __init__(self, max_entries: int = 100_000, *, clock: Any = None) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError("MemoryReplayCache(max_entries=) must be a positive integer")
        self.max_entries = max_entries
        self._clock = clock or time.time
        self._entries: OrderedDict[str, float] = OrderedDict()
        self._forgotten_until = 0.0  # the latest expiry of an id dropped before it expired
        self._lock = threading.Lock()

    def first_use(self, key: str, ttl: float) -> bool:
        """Record *key* for *ttl* seconds; ``False`` if it is (or may have been) recorded."""
        now = self._clock()
        expires_at = now + ttl
        entries = self._entries
        with self._lock:
            expires = entries.get(key)
            if expires is not None and expires > now:
                return False
            if expires is None and expires_at <= self._forgotten_until:
                return False  # may be an id dropped while full: refused, never reopened
            entries[key] = expires_at
            entries.move_to_end(key)
            if len(entries) > self.max_entries:
                while entries and next(iter(entries.values())) <= now:
                    entries.popitem(last=False)  # expired ids first
                while len(entries) > self.max_entries:
                    _, dropped = entries.popitem(last=False)
                    if dropped > self._forgotten_until:
                        self._forgotten_until = dropped
            return True

    def __len__(self) -> int:
        return len(self._entries)


class RedisReplayCache:
    """A :class:`ReplayCache` in Redis, shared by every instance (``SET NX PX``).

    *redis* is a Redis URL (``redis://``, ``rediss://``, ``unix://``; the
    ``redis`` extra; connected on first use, with short timeouts) or a
    synchronous ``redis.Redis`` client of your own. Ids are stored under
    *prefix* as SHA-256 hashes, so a client cannot choose Redis key names.
    A replay check that cannot be made is never skipped: when Redis does not
    answer, the request is refused with 503 (the client may retry).
    ``Verifier(redis_url=...)`` (the adapters' ``redis_url`` setting) uses one
    on that Redis unless ``DPoPPolicy(replay_cache=...)`` says otherwise.
    """

    __slots__ = ("_client", "_link", "_prefix")

    def __init__(self, redis: Any, *, prefix: str = "bearerguard:dpop:") -> None:
        self._link: RedisLink | None = None
        self._client: Any = None
        if isinstance(redis, str):
            self._link = RedisLink(redis)
        elif isinstance(redis, RedisLink):
            self._link = redis
        elif callable(getattr(redis, "set", None)):
            self._client = redis
        else:
            raise ConfigurationError(
                "RedisReplayCache needs a Redis URL (redis://host:6379/0) or a redis.Redis client"
            )
        self._prefix = prefix

    def first_use(self, key: str, ttl: float) -> bool:
        """``SET key 1 NX PX ttl``: ``True`` when the key was new."""
        name = self._prefix + hashlib.sha256(key.encode("utf-8")).hexdigest()
        px = max(1, int(ttl * 1000))
        if self._link is None:
            try:
                return bool(self._client.set(name, b"1", nx=True, px=px))
            except Exception:  # redis.RedisError, OSError: the check cannot be made
                raise ReplayCacheUnavailable(_UNAVAILABLE, retry_after=5) from None
        try:
            return bool(self._link.run(lambda client: client.set(name, b"1", nx=True, px=px)))
        except RedisUnavailable:
            raise ReplayCacheUnavailable(_UNAVAILABLE, retry_after=5) from None
