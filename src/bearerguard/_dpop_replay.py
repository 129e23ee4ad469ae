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


class ReplayCacheUnavailable(KeySetUnavailable):
    """The replay cache did not answer: the proof cannot be checked, so 503, never accepted."""


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

    Holds at most *max_entries* ids; past that the oldest entries are dropped
    first, so size it to at least the proofs one instance accepts within
    the policy's ``max_age`` plus twice its ``leeway`` (100,000 by default, a
    few tens of MB). It protects one process only: with several instances,
    use :class:`RedisReplayCache`. *clock* returns POSIX seconds (tests pass
    a fake one).
    """

    __slots__ = ("_clock", "_entries", "_lock", "max_entries")

    def __init__(self, max_entries: int = 100_000, *, clock: Any = None) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ConfigurationError("MemoryReplayCache(max_entries=) must be a positive integer")
        self.max_entries = max_entries
        self._clock = clock or time.time
        self._entries: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_use(self, key: str, ttl: float) -> bool:
        """Record *key* for *ttl* seconds; ``False`` if it is recorded and not expired."""
        now = self._clock()
        entries = self._entries
        with self._lock:
            expires = entries.get(key)
            if expires is not None and expires > now:
                return False
            entries[key] = now + ttl
            entries.move_to_end(key)
            if len(entries) > self.max_entries:
                # Expired ids first (they sit at the front: the ttl is one value per policy).
                while entries and next(iter(entries.values())) <= now:
                    entries.popitem(last=False)
                while len(entries) > self.max_entries:
                    entries.popitem(last=False)
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
                raise KeySetUnavailable("DPoP replay cache unavailable", retry_after=5) from None
        try:
            return bool(self._link.run(lambda client: client.set(name, b"1", nx=True, px=px)))
        except RedisUnavailable:
            raise ReplayCacheUnavailable("DPoP replay cache unavailable", retry_after=5) from None
