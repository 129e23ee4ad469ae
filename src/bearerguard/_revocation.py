"""Deny tokens before they expire: a deny list in Redis that every process checks.

Three kinds of entries, each expiring when the last token it covers would
have expired:

* by ``jti`` (:meth:`Revocations.revoke_token`): that one token, kept until
  its ``exp`` (plus ``EXPIRY_MARGIN``, 5 minutes);
* by subject (:meth:`Revocations.revoke_subject`): every token of ``sub``
  issued before a time (``iat < before``), kept until ``before`` plus the
  longest token lifetime accepted (``max_token_lifetime``);
* by client (:meth:`Revocations.revoke_client`): the same for the token's
  ``client_id`` (read from ``client_id``, ``azp``, ``cid`` or ``appid``).

The Redis layout and the copy each process keeps are in
:mod:`bearerguard._deny_list`; this module is the shell around them: the
connection, the clocks, the lock and the failure policy.

Each process keeps the list as a snapshot in memory; a check is three
dictionary lookups. The snapshot is reloaded when it is older than
``staleness`` seconds (one ``HMGET`` of its version, and the entries when it
moved), so a revocation takes effect on every process within ``staleness``
seconds, and Redis sees at most one round trip per process per ``staleness``
seconds, never one per request.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ._clock import MonotonicClock, WallClock
from ._deny_list import EXPIRY_MARGIN, WRITE_SCRIPT, DenyList, deny_list_keys, version_of
from ._errors import ConfigurationError, RevocationUnavailable
from ._redis_link import RedisLink, RedisUnavailable
from .claims import StandardClaims

__all__ = [
    "DEFAULT_MAX_TOKEN_LIFETIME",
    "DEFAULT_PREFIX",
    "DEFAULT_STALENESS",
    "EXPIRY_MARGIN",
    "Revocations",
]

#: Seconds a process may use its copy of the deny list before reloading it.
DEFAULT_STALENESS = 5.0
#: The longest token lifetime accepted, in seconds: how long a subject or
#: client revocation is kept after its ``before`` time.
DEFAULT_MAX_TOKEN_LIFETIME = 24 * 3600.0
#: Key prefix of the deny list in Redis.
DEFAULT_PREFIX = "bearerguard:revoked:"
#: Seconds between attempts to reach Redis after one failed (on the request path).
RETRY_INTERVAL = 1.0

LOGGER_NAME = "bearerguard.revocation"
logger = logging.getLogger(LOGGER_NAME)
_WARN_EVERY = 60.0  # seconds between two "deny list unavailable" warnings
_MAX_VALUE = 1024  # characters of a jti, sub or client_id
_VERSION = ("epoch", "n")  # the fields of the version key


def _seconds(value: float | datetime, name: str) -> float:
    """POSIX seconds from *value* (seconds, or a timezone-aware datetime)."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ConfigurationError(f"{name} must be timezone-aware (e.g. datetime.now(UTC))")
        return value.timestamp()
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"{name} must be POSIX seconds or a timezone-aware datetime")
    return float(value)


def _identifier(value: object, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_VALUE:
        raise ConfigurationError(f"{name} must be a non-empty string of at most {_MAX_VALUE} chars")
    return value


class Revocations:
    """The deny list of revoked tokens in Redis: write it, and check tokens against it.

    *client* is a synchronous ``redis.Redis``; :meth:`from_url` connects by
    URL, and a :class:`~bearerguard.verifier.Verifier` given ``redis_url=``
    makes one on its own connection unless given ``revocations=``. The
    same object writes (:meth:`revoke_token`, :meth:`revoke_subject`,
    :meth:`revoke_client`) and checks (:meth:`check`, which
    :class:`~bearerguard.verifier.Verifier` calls on every verification,
    verified-token cache hits included, when given ``revocations=``)::

        revocations = Revocations.from_url("redis://redis.internal:6379/0")
        verifier = Verifier([issuer], revocations=revocations)
        revocations.revoke_subject("user-42")  # every token of user-42 issued until now

    *staleness* (seconds, default 5): how old this process's copy of the deny
    list may be; a revocation takes effect on every process within that
    time. *max_token_lifetime* (seconds, default 24 h): the longest lifetime
    of the tokens accepted, which is how long a subject or client revocation
    is kept. *required*: what happens when Redis cannot be reached and the
    copy is older than *staleness*: with ``True`` tokens are refused with
    :class:`RevocationUnavailable` (503 with ``Retry-After``); with ``False``
    (the default) they are checked against the last copy and accepted, and a
    warning is logged on ``"bearerguard.revocation"`` (at most once a minute).
    *prefix* namespaces the keys; *clock* (POSIX seconds) and *monotonic*
    (for the staleness) are for tests.
    """

    __slots__ = (
        "_clock",
        "_keys",
        "_lock",
        "_max_token_lifetime",
        "_monotonic",
        "_next_attempt",
        "_prefix",
        "_required",
        "_run",
        "_snapshot",
        "_staleness",
        "_warned",
    )

    def __init__(
        self,
        client: Any,
        *,
        prefix: str = DEFAULT_PREFIX,
        staleness: float = DEFAULT_STALENESS,
        max_token_lifetime: float = DEFAULT_MAX_TOKEN_LIFETIME,
        required: bool = False,
        clock: WallClock | None = None,
        monotonic: MonotonicClock | None = None,
    ) -> None:
        if isinstance(client, RedisLink):  # redis_url=: the verifier's own connection
            self._run: Callable[[Callable[[Any], Any]], Any] = client.run
        elif callable(getattr(client, "register_script", None)):
            self._run = lambda operation: operation(client)
        else:
            raise ConfigurationError(
                "client must be a redis.Redis (sync) client; for a URL write "
                "Revocations.from_url(url)"
            )
        if not isinstance(prefix, str) or "{" in prefix or "}" in prefix:
            raise ConfigurationError("prefix must be a string without '{' or '}'")
        for name, value in (("staleness", staleness), ("max_token_lifetime", max_token_lifetime)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        if not isinstance(required, bool):
            raise ConfigurationError("required must be True or False")
        self._prefix = prefix
        self._keys = deny_list_keys(prefix)
        self._staleness = float(staleness)
        self._max_token_lifetime = float(max_token_lifetime)
        self._required = required
        self._clock: WallClock = clock or time.time
        self._monotonic: MonotonicClock = monotonic or time.monotonic
        self._lock = threading.Lock()
        # Never loaded: the first check loads it.
        self._snapshot = DenyList(None, -math.inf)
        self._next_attempt = -math.inf
        self._warned = -math.inf

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Revocations:
        """The deny list on the Redis at *url* (``pip install 'bearerguard[redis]'``).

        *url* is checked at once (``redis://``, ``rediss://`` or ``unix://``)
        and connected on first use. A command waits at most 1 s; after a
        failure Redis is left alone for a second, so an unreachable Redis
        costs a request at most 1 s, once a second.
        *options* are this class's keyword arguments.
        """
        link = RedisLink(
            url, timeout=1.0, retry_interval=RETRY_INTERVAL, clock=options.get("monotonic")
        )
        return cls(link, **options)

    @property
    def staleness(self) -> float:
        """Seconds within which a revocation takes effect in this process."""
        return self._staleness

    @property
    def max_token_lifetime(self) -> float:
        """How long (seconds) subject and client revocations are kept after ``before``."""
        return self._max_token_lifetime

    @property
    def required(self) -> bool:
        """Whether tokens are refused (503) while the deny list cannot be read."""
        return self._required

    @property
    def prefix(self) -> str:
        """The prefix of the deny list's keys in Redis."""
        return self._prefix

    def __repr__(self) -> str:
        return (
            f"Revocations(prefix={self._prefix!r}, staleness={self._staleness}, "
            f"required={self._required})"
        )

    # -- writing ------------------------------------------------------------------------

    def revoke_token(self, jti: str, until: float | datetime) -> bool:
        """Refuse the token whose ``jti`` is *jti*; *until* is its ``exp``.

        *until* (POSIX seconds or a timezone-aware datetime) is when the entry
        may go: the token's own ``exp`` (the entry is kept 5 minutes
        longer, beyond any leeway). Returns ``False`` when nothing was
        written because the token has expired already.
        """
        jti = _identifier(jti, "jti")
        end = _seconds(until, "until")
        return self._write("j", jti, end, end + EXPIRY_MARGIN)

    def revoke_subject(self, sub: str, before: float | datetime | None = None) -> bool:
        """Refuse every token of subject *sub* issued before *before* (default: now).

        A token is refused when its ``iat`` is earlier than *before*, or when
        it has no ``iat`` (its age cannot be told). Tokens issued later are
        accepted: after a password change, the user's new tokens work.
        Returns ``False`` when nothing was written because every token it
        would cover has expired already (*before* is more than
        ``max_token_lifetime`` ago).
        """
        sub = _identifier(sub, "sub")
        return self._revoke_before("s", sub, before)

    def revoke_client(self, client_id: str, before: float | datetime | None = None) -> bool:
        """Refuse every token of client *client_id* issued before *before* (default: now).

        The client is the token's ``client_id`` claim as
        :class:`~bearerguard.claims.AccessClaims` reads it (``client_id``,
        ``azp``, ``cid`` or ``appid`` by default); ``iat`` as for
        :meth:`revoke_subject`, and so is the result.
        """
        client_id = _identifier(client_id, "client_id")
        return self._revoke_before("c", client_id, before)

    def _revoke_before(self, kind: str, value: str, before: float | datetime | None) -> bool:
        start = self._clock() if before is None else _seconds(before, "before")
        return self._write(kind, value, start, start + self._max_token_lifetime + EXPIRY_MARGIN)

    def _write(self, kind: str, value: str, before: float, expires: float) -> bool:
        now_ms = math.floor(self._clock() * 1000)
        args = [
            now_ms,
            f"{kind}:{value}",
            math.ceil(before * 1000),
            math.ceil(expires * 1000),
            secrets.token_hex(8),  # the epoch, if this write creates the list
        ]
        keys = list(self._keys)
        try:
            stored = self._run(
                lambda client: client.register_script(WRITE_SCRIPT)(keys=keys, args=args)
            )
        except Exception as exc:  # redis.RedisError, OSError, RedisUnavailable: never the URL
            raise RevocationUnavailable(
                f"cannot write the deny list to Redis ({_reason(exc)})", retry_after=5
            ) from None
        # This process sees its own revocation at once: a reload that read the
        # list before this write holds the lock until its copy is in place.
        with self._lock:
            self._snapshot.loaded = -math.inf
        return bool(stored)

    # -- checking -----------------------------------------------------------------------

    def check(self, claims: StandardClaims) -> None:
        """Raise :class:`~bearerguard.TokenRevoked` if the deny list covers *claims*.

        An in-memory lookup; when this process's copy is older than
        ``staleness`` it is reloaded first (one Redis round trip per
        ``staleness`` seconds). With Redis unreachable, see ``required``.
        """
        snapshot = self._snapshot
        if self._monotonic() - snapshot.loaded > self._staleness:
            snapshot = self._reload()
        snapshot.check(claims)

    async def acheck(self, claims: StandardClaims) -> None:
        """Async twin of :meth:`check`: a reload runs off the event loop."""
        snapshot = self._snapshot
        if self._monotonic() - snapshot.loaded > self._staleness:
            snapshot = await asyncio.to_thread(self._reload)
        snapshot.check(claims)

    def refresh(self) -> None:
        """Reload this process's copy of the deny list now (e.g. at start-up).

        Raises :class:`RevocationUnavailable` when Redis cannot be read,
        whatever ``required`` says.
        """
        with self._lock:
            self._snapshot = self._load()

    def _reload(self) -> DenyList:
        """The current snapshot, reloaded if stale; one thread loads, the others wait."""
        with self._lock:
            snapshot = self._snapshot
            now = self._monotonic()
            if now - snapshot.loaded <= self._staleness:
                return snapshot  # another thread reloaded it while this one waited
            if now >= self._next_attempt:
                try:
                    snapshot = self._snapshot = self._load()
                    return snapshot
                except RevocationUnavailable:
                    self._next_attempt = now + RETRY_INTERVAL
            if self._required:
                raise RevocationUnavailable(
                    "the revocation deny list is unavailable", retry_after=5
                )
            if now - self._warned >= _WARN_EVERY:
                self._warned = now
                logger.warning(
                    "the revocation deny list in Redis is unavailable: tokens are checked "
                    "against a copy %s and accepted (required=False)",
                    "that is out of date" if snapshot.version is not None else "that is empty",
                )
            return snapshot

    def _load(self) -> DenyList:
        entries_key, _, version_key = self._keys
        started = self._monotonic()
        current = self._snapshot
        try:
            version = version_of(self._run(lambda client: client.hmget(version_key, _VERSION)))
            if version is None:  # nothing was ever revoked (or Redis lost the list)
                return DenyList(None, started)
            if version == current.version:
                return current.reloaded(started)
            reply, entries = self._run(lambda client: _read_all(client, version_key, entries_key))
        except Exception as exc:  # redis.RedisError, OSError, RedisUnavailable
            raise RevocationUnavailable(
                f"cannot read the deny list from Redis ({_reason(exc)})", retry_after=5
            ) from None
        return DenyList.parse(version_of(reply), entries, started)


def _read_all(client: Any, version_key: str, entries_key: str) -> list[Any]:
    """The version and every entry, read together (one MULTI/EXEC)."""
    with client.pipeline(transaction=True) as pipe:
        pipe.hmget(version_key, _VERSION)
        pipe.hgetall(entries_key)
        return list(pipe.execute())


def _reason(exc: BaseException) -> str:
    """What failed, for messages: never the URL (it may hold a password)."""
    if isinstance(exc, RedisUnavailable):
        return str(exc)  # the server's host, port and database, and what failed
    return type(exc).__name__


_OPTIONS = ("prefix", "staleness", "max_token_lifetime", "required")


def revocations_setting(value: object, redis_url: str | None, name: str) -> Revocations:
    """The ``revocations`` setting as a :class:`Revocations`.

    *value* is one already, or (settings files) a mapping of its options
    (``{"REQUIRED": True, "STALENESS": 2}``, any case) on the ``redis_url``
    setting's server. *name* is the setting as the user wrote it.
    """
    if isinstance(value, Revocations):
        return value
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            f"{name} must be a bearerguard.Revocations or a mapping of its options "
            f"({', '.join(option.upper() for option in _OPTIONS)})"
        )
    options = {str(key).lower(): option for key, option in value.items()}
    unknown = sorted(str(key) for key in value if str(key).lower() not in _OPTIONS)
    if unknown:
        raise ConfigurationError(
            f"{name}: unknown option {', '.join(unknown)}; known: "
            f"{', '.join(option.upper() for option in _OPTIONS)}"
        )
    if redis_url is None:
        raise ConfigurationError(
            f"{name} as options needs the Redis URL setting (redis_url= or REDIS_URL) "
            "where the deny list lives"
        )
    return Revocations.from_url(redis_url, **options)
