"""The one Redis connection of a :class:`~bearerguard.verifier.Verifier` (``redis_url=``).

Everything bearerguard keeps in Redis on the verifying side (shared key sets,
and what else hangs off ``redis_url=``) goes through one :class:`RedisLink`:

* **Checked at start-up.** :func:`check_redis_url` accepts ``redis://``,
  ``rediss://`` and ``unix://`` URLs and needs the ``redis`` package (the
  ``redis`` extra); anything else is a :class:`~bearerguard.ConfigurationError`
  saying what to write.
* **Connected lazily.** The client is created on first use, so a verifier built
  at import time (before a fork) opens no socket; redis-py's pool reconnects
  in a forked child by itself.
* **Short timeouts, no retries.** A command waits at most ``timeout`` seconds
  (connect and read): Redis only ever saves work, so a slow answer is worth
  less than doing the work locally.
* **A circuit breaker.** After a failure the link refuses at once
  (:class:`RedisUnavailable`) for ``retry_interval`` seconds, then lets one
  call try again: a dead Redis costs one timeout per interval, not one per
  request. Each opening is logged once on ``"bearerguard.redis"``.

Callers treat :class:`RedisUnavailable` as "do it without Redis" and never
as a reason to refuse a token.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ._clock import MonotonicClock
from ._errors import ConfigurationError

__all__ = ["RedisLink", "RedisUnavailable", "check_redis_url"]

log = logging.getLogger("bearerguard.redis")

T = TypeVar("T")

#: Seconds a Redis command (and a connect) may take before the link gives up on it.
DEFAULT_TIMEOUT = 0.25
#: Seconds the link stays open (refusing at once) after a failure.
DEFAULT_RETRY_INTERVAL = 5.0

_SCHEMES = ("redis", "rediss", "unix")
_EXAMPLE = "redis://localhost:6379/0, rediss://user:password@redis.internal:6380/0 or unix:///run/redis.sock"


class RedisUnavailable(Exception):
    """Redis did not answer (or the breaker is open): carry on without it."""


def check_redis_url(url: object, name: str = "redis_url=") -> str:
    """*url* if it is a Redis URL and the ``redis`` package is installed.

    Raises :class:`~bearerguard.ConfigurationError` naming *name* (the setting
    as the user wrote it) and what to write instead; the URL itself is never
    repeated, as it may hold a password.
    """
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"{name} must be a Redis URL such as {_EXAMPLE}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not numeric
    except ValueError:
        raise ConfigurationError(
            f"{name} is not a valid URL (host or port); write e.g. {_EXAMPLE}"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        shown = f"{scheme}://" if scheme else "no scheme"
        raise ConfigurationError(
            f"{name} must start with redis://, rediss:// (TLS) or unix://, got {shown}; "
            f"write e.g. {_EXAMPLE}"
        )
    if scheme == "unix" and not parts.path:
        raise ConfigurationError(
            f"{name} needs the socket's path after unix://, e.g. unix:///run/redis.sock"
        )
    if scheme != "unix" and not parts.hostname:
        raise ConfigurationError(
            f"{name} needs a host after {scheme}://, e.g. {scheme}://localhost:6379/0"
        )
    try:
        import redis  # noqa: F401 - deferred: an optional dependency
    except ImportError:
        raise ConfigurationError(
            f"{name} needs the redis package: pip install 'bearerguard[redis]'"
        ) from None
    return url


def _where(url: str) -> str:
    """Host, port and database of *url* for log lines: never its credentials."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "unix":
        return f"unix://{parts.path}"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{parts.hostname}{port}{parts.path}"


class RedisLink:
    """A lazily connected Redis client behind a circuit breaker (see the module docstring).

    Thread-safe. *clock* (monotonic seconds) drives the breaker; tests pass a
    fake one.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        clock: MonotonicClock | None = None,
    ) -> None:
        self._url = check_redis_url(url)
        self._timeout = timeout
        self._retry_interval = retry_interval
        self._clock: MonotonicClock = clock or time.monotonic
        self._lock = threading.Lock()
        self._client: Any = None
        self._open_until = -math.inf  # the breaker refuses calls before this
        self._failures = 0

    @property
    def url(self) -> str:
        """The configured URL (it may hold a password: never log it)."""
        return self._url

    @property
    def where(self) -> str:
        """The server without credentials, for messages and logs."""
        return _where(self._url)

    @property
    def failures(self) -> int:
        """How many times the breaker opened since the link was made."""
        return self._failures

    def available(self) -> bool:
        """Whether a call now would be tried (the breaker is closed or due to retry)."""
        return self._clock() >= self._open_until

    def run(self, operation: Callable[[Any], T]) -> T:
        """``operation(client)``'s result; :class:`RedisUnavailable` if Redis cannot answer.

        *operation* receives a sync ``redis.Redis`` client and should issue
        few commands (each bounded by the timeout). While the breaker is open
        this raises at once; once the interval has passed, one caller tries.
        """
        now = self._clock()
        if now < self._open_until:
            raise RedisUnavailable(f"Redis at {self.where} is marked down")
        with self._lock:
            if self._clock() < self._open_until:
                raise RedisUnavailable(f"Redis at {self.where} is marked down")
            if self._open_until > -math.inf:
                # Half-open: this caller tries; the others keep failing fast
                # until it has succeeded (or failed and reopened the breaker).
                self._open_until = now + self._retry_interval
            client = self._client or self._connect()
        import redis

        try:
            result = operation(client)
        except (redis.RedisError, OSError) as exc:
            self._trip(exc)
            raise RedisUnavailable(f"Redis at {self.where}: {type(exc).__name__}") from None
        if self._open_until > -math.inf:
            with self._lock:
                self._open_until = -math.inf
            log.warning("Redis at %s answers again", self.where)
        return result

    def _connect(self) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self._client = redis.Redis.from_url(
            self._url,
            socket_timeout=self._timeout,
            socket_connect_timeout=self._timeout,
            retry=Retry(NoBackoff(), 0),  # the breaker decides when to try again
            retry_on_timeout=False,
            health_check_interval=0,
        )
        return self._client

    def _trip(self, exc: BaseException) -> None:
        with self._lock:
            first = self._open_until == -math.inf
            self._open_until = self._clock() + self._retry_interval
            self._failures += 1
        if first:
            log.warning(
                "Redis at %s failed (%s): working without it, retrying every %gs",
                self.where,
                type(exc).__name__,
                self._retry_interval,
            )

    def close(self) -> None:
        """Close the pooled connections (the link reconnects on next use)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()
