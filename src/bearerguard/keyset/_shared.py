"""One JWKS fetch for a whole fleet: a key set's documents shared through Redis.

With ``redis_url=``, a :class:`~bearerguard.keyset.RemoteKeySet` whose state
machine decides to fetch asks its :class:`SharedKeySet` instead of the network:

1. **Read.** The JWKS another process published (under a key derived from the
   JWKS URL, or from the metadata URL for a discovered set) is taken when it
   names this process's own ``jwks_uri``, is newer than what this process
   holds and is still within its lifetime. No request reaches the identity
   provider.
2. **Lock.** Otherwise a fetch is due for the fleet: the process that wins a
   short lock (``SET NX PX``) fetches (sending the published ``ETag``), then
   publishes the JWKS with its fetch time and validators (``ETag``,
   ``Cache-Control``). The lock then stays for the rest of the ``cooldown``
   as a marker that the fleet has just fetched: an unknown ``kid`` anywhere in
   the fleet causes at most one fetch per ``cooldown``.
3. **Wait.** A process that finds the lock taken waits (polling, at most half
   the ``timeout``) for the holder's result and takes it, or, when the fleet has
   just fetched and this process already holds that result, answers with it.

Redis never decides where keys come from: a discovered set runs discovery
itself (its own fetch of the metadata document, with every check) before it
reads Redis, and takes only a document naming exactly the ``jwks_uri`` that
discovery found (a set built from a JWKS URL: that URL). Redis is trusted no
more than the network: a published document is parsed and validated exactly
like a fetched one (the same size cap, the same strict JSON, the same key
checks). A document that is garbage, oversized, written for another URL or
not bearerguard's is ignored, logged on
``"bearerguard.keyset"``, and the process fetches for itself. Whenever Redis
does not answer (down, slow, the link's breaker open), or a lock holder does
not deliver in time, the process fetches for itself exactly as without Redis:
Redis can save fetches, never refuse a token.

Times in Redis are POSIX seconds (``time.time``), so the processes sharing
one Redis need clocks in step (NTP); a published document's age reaches the
state machine as an HTTP ``Age`` header and its lifetime is computed from it
exactly as for a response that passed through a cache (RFC 9111 §4.2.3).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from .._discovery import keys_from_document
from .._encoding import json_object
from .._errors import BearerGuardError, FetchError
from .._fetch import FetchResponse
from .._redis_link import RedisLink, RedisUnavailable
from .._urls import safe_url
from ._machine import FetchRequest, FetchResult

if TYPE_CHECKING:
    from ._remote import RemoteKeySet

__all__ = ["PREFIX", "SharedKeySet", "redis_key"]

log = logging.getLogger("bearerguard.keyset")

#: Where shared key sets live in Redis: ``PREFIX + "{" + sha256(url)[:32] + "}"``.
PREFIX = "bearerguard:jwks:"
#: The format of a published document; others are ignored.
VERSION = 1
#: How often a process waiting for a lock holder looks for its result (seconds).
POLL = 0.02
#: Room for the metadata around the JWKS in one stored document.
_META_BYTES = 4096

# Reads the published document in one round trip, without ever transferring
# more than the cap: {kind, meta, jwks}; kind is none | foreign | large | ok.
_READ = """
local lock = redis.call('GET', KEYS[2]) or ''
local t = redis.call('TYPE', KEYS[1]).ok
if t == 'none' then return {'none', lock} end
if t ~= 'hash' then return {'foreign', lock} end
local meta_len = redis.call('HSTRLEN', KEYS[1], 'meta')
local jwks_len = redis.call('HSTRLEN', KEYS[1], 'jwks')
if meta_len > tonumber(ARGV[2]) or jwks_len > tonumber(ARGV[1]) then return {'large', lock} end
return {'ok', lock, redis.call('HGET', KEYS[1], 'meta') or '',
        redis.call('HGET', KEYS[1], 'jwks') or ''}
"""
# Publishes a document; if this process still holds the lock, it becomes the
# "fetched" marker for the rest of the cooldown (ARGV[5] ms; 0: drop it).
_PUBLISH = """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'meta', ARGV[1], 'jwks', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[4] then
  if tonumber(ARGV[5]) > 0 then
    redis.call('SET', KEYS[2], 'fetched', 'PX', ARGV[5])
  else
    redis.call('DEL', KEYS[2])
  end
end
return 1
"""
# Takes the lock (nil) or returns the value of the lock held by another process.
_ACQUIRE = """
local held = redis.call('GET', KEYS[1])
if held then return held end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return false
"""
# Releases the lock after a failed fetch, if this process still holds it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def redis_key(source: str) -> str:
    """The Redis key of the document shared for *source* (a JWKS or metadata URL).

    The hash tag (``{...}``) keeps the document and its lock in one Redis
    Cluster slot.
    """
    return PREFIX + "{" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:32] + "}"


@dataclass(frozen=True, slots=True)
class Published:
    """A document read back from Redis and checked, with the kids of its JWKS."""

    jwks_uri: str
    fetched_at: float
    etag: str | None
    cache_control: str | None
    body: bytes
    kids: frozenset[str] = frozenset()


class SharedKeySet:
    """The Redis side of one :class:`~bearerguard.keyset.RemoteKeySet` (see the module docstring).

    :meth:`fetch` runs in the key set's fetch thread, one call at a time per key
    set. *wall* returns POSIX seconds (tests pass another clock).
    """

    def __init__(
        self, keys: RemoteKeySet, link: RedisLink, *, wall: Callable[[], float] = time.time
    ) -> None:
        machine = keys._machine
        # A discovered set is known by its metadata URL; the document must
        # still name the jwks_uri this process's own discovery found.
        source = machine.metadata_url if keys.issuer is not None else machine.jwks_uri
        assert source is not None
        self._source: str = source
        self._keys = keys
        self._link = link
        self._wall = wall
        self._key = redis_key(self._source)
        self._lock_key = self._key + ":lock"
        self._held_at = -math.inf  # fetch time of the document this process holds

    @property
    def key(self) -> str:
        """The Redis key of this set's document."""
        return self._key

    # -- the seam ---------------------------------------------------------------

    def fetch(self, request: FetchRequest, kid: str | None) -> FetchResult:
        """What the machine's fetch *request* (for *kid*; ``None``: a refresh) brings.

        From Redis when the fleet's document serves it, else from the network
        (one process for the fleet), else, without Redis, fetched alone.
        """
        asked = self._wall()
        started = time.monotonic()
        # Discovery first, over the network: a document in Redis is taken only
        # for the jwks_uri this process found itself (raises like any fetch).
        self._keys._locate()
        try:
            found, lock = self._read()
            if self._serves(found, kid) or self._cooling(found, lock):
                assert found is not None
                return self._apply(request, found, asked)
            token = secrets.token_hex(8)
            holder = self._acquire(token)
            if holder is None:
                return self._fetch_for_fleet(request, found, token)
            # Another process holds the lock: wait for its result, or read the
            # result it has already published.
            found, lock = self._read() if holder == "fetched" else self._wait(asked, started)
            if (found is not None and found.fetched_at >= asked) or self._cooling(found, lock):
                assert found is not None
                return self._apply(request, found, asked)
        except RedisUnavailable:
            # Logged by the link; this process fetches exactly as without Redis.
            return self._fetch_alone(request)
        except _Ignored:
            pass  # logged where it was found; this process's result replaces it
        return self._fetch_and_publish(request)

    # -- reading ----------------------------------------------------------------

    @property
    def _lock_ms(self) -> int:
        # Longer than any fetch may take (the machine abandons one after this).
        return max(1, int(self._keys._machine.abandon_after * 1000))

    def _read(self) -> tuple[Published | None, str]:
        """The published document (``None``: none, or ignored) and the lock's value."""
        policy = self._keys.policy
        answer: Any = self._link.run(
            lambda r: r.eval(_READ, 2, self._key, self._lock_key, policy.max_bytes, _META_BYTES)
        )
        if not (isinstance(answer, list) and len(answer) >= 2):
            return None, ""
        kind, lock = _text(answer[0]), _text(answer[1])
        if kind == "none":
            return None, lock
        try:
            if kind == "ok" and len(answer) == 4:
                return self._check(answer[2], answer[3]), lock
            if kind == "large":
                self._ignore(f"it is larger than {policy.max_bytes} bytes")
            self._ignore("it is not a bearerguard document")
        except _Ignored:
            return None, lock

    def _check(self, meta_raw: Any, body: Any) -> Published:
        """The document if it is bearerguard's, for this source, and well-formed."""
        if not isinstance(meta_raw, bytes) or not isinstance(body, bytes):
            self._ignore("it is not a bearerguard document")
        try:
            meta = json_object(meta_raw, "shared JWKS metadata")
        except BearerGuardError:
            self._ignore("its metadata is not a JSON object")
        if meta.get("v") != VERSION:
            self._ignore("it is not a bearerguard document of this version")
        if meta.get("source") != self._source:
            self._ignore("it was published for another URL")
        jwks_uri = meta.get("jwks_uri")
        fetched_at: Any = meta.get("fetched_at")
        etag = meta.get("etag")
        cache_control = meta.get("cache_control")
        digest = meta.get("sha256")
        if (
            not isinstance(jwks_uri, str)
            or type(fetched_at) not in (int, float)
            or not math.isfinite(fetched_at)
            or not (etag is None or isinstance(etag, str))
            or not (cache_control is None or isinstance(cache_control, str))
            or not isinstance(digest, str)
        ):
            self._ignore("its metadata is malformed")
        if digest != hashlib.sha256(body).hexdigest():
            self._ignore("its JWKS does not match its digest")
        if fetched_at > self._wall() + 60:
            self._ignore("it claims to be fetched in the future")
        if jwks_uri != self._keys._machine.jwks_uri:
            # Redis may save a fetch, never choose where keys come from: the
            # configured JWKS URL, or the one this process's discovery found.
            if self._keys.issuer is None:
                self._ignore("it was published for another URL")
            self._ignore("it names another jwks_uri than discovery found")
        try:
            kids = frozenset(k.kid for k in keys_from_document(json_object(body, "JWKS"), jwks_uri))
        except BearerGuardError as exc:
            self._ignore(exc.description)
        return Published(jwks_uri, float(fetched_at), etag, cache_control, body, kids)

    def _serves(self, found: Published | None, kid: str | None) -> bool:
        """Whether *found* answers a fetch for *kid* without a new fetch.

        It must be newer than what this process holds, within its lifetime,
        and hold *kid* (a refresh, ``kid is None``, takes any newer document).
        """
        if found is None or found.fetched_at <= self._held_at:
            return False
        if kid is not None and kid not in found.kids:
            return False
        return self._age(found) < self._lifetime(found)

    def _cooling(self, found: Published | None, lock: str) -> bool:
        """Whether the fleet fetched within the cooldown and *found* is that result.

        Then no process fetches again before the cooldown ends (an unknown kid
        anywhere in the fleet: one fetch per cooldown); *found* is answered
        with, proving nothing about a kid it lacks.
        """
        return (
            lock == "fetched"
            and found is not None
            and found.fetched_at >= self._held_at
            and self._age(found) < self._lifetime(found)
        )

    def _age(self, found: Published) -> float:
        return max(0.0, self._wall() - found.fetched_at)

    def _lifetime(self, found: Published) -> float:
        headers = {"cache-control": found.cache_control} if found.cache_control else {}
        return self._keys.policy.lifetime(headers)

    def _apply(self, request: FetchRequest, found: Published, asked: float) -> FetchResult:
        """The machine's result from *found*: parsed exactly like a fetched response.

        It proves a kid absent only if it was fetched after this fetch was
        asked for (*asked*), as a fetch of this process's own would.
        """
        keys = self._keys
        headers = {"age": str(int(self._age(found)))}
        if found.cache_control:
            headers["cache-control"] = found.cache_control
        if found.etag:
            headers["etag"] = found.etag
        try:
            result = keys._result(request, FetchResponse(200, headers, found.body), found.jwks_uri)
        except FetchError as exc:
            self._ignore(exc.description)
        self._held_at = found.fetched_at
        if found.fetched_at < asked:
            return dataclasses.replace(result, proof=False)
        return result

    def _acquire(self, token: str) -> str | None:
        """Take the lock (``None``), or the value of the lock another process holds."""
        held: Any = self._link.run(
            lambda r: r.eval(_ACQUIRE, 1, self._lock_key, token, self._lock_ms)
        )
        return None if held is None else _text(held)

    def _wait(self, asked: float, started: float) -> tuple[Published | None, str]:
        """Poll until the lock holder is done, until half the policy's timeout since *started*.

        A caller waits for keys at most ``timeout``: if the holder does not
        deliver (it hangs, or died holding the lock), this process's own fetch
        must still fit in the other half (discovery counts in the first half).
        """
        deadline = started + self._keys.policy.timeout / 2
        found: Published | None = None
        lock = ""
        while time.monotonic() < deadline:
            time.sleep(POLL)
            found, lock = self._read()
            # A result fetched since this process asked, the fleet's marker, or
            # a lock released without a result (the holder's fetch failed).
            if (found is not None and found.fetched_at >= asked) or lock in ("fetched", ""):
                break
        return found, lock

    # -- fetching ---------------------------------------------------------------

    def _fetch_for_fleet(
        self, request: FetchRequest, found: Published | None, token: str
    ) -> FetchResult:
        """Holding the lock: fetch (revalidating *found*), publish, pass the lock on as a marker."""
        keys = self._keys
        started = time.monotonic()
        try:
            url = keys._locate()  # located already: found names this very URL
            etag = found.etag if found is not None and found.jwks_uri == url else None
            response = keys._get(url, {"If-None-Match": etag} if etag else {})
            if response.status == 304 and etag and found is not None:
                # The fleet's copy is still good: renew it with this answer's validators.
                headers = {
                    "cache-control": response.headers.get("cache-control")
                    or found.cache_control
                    or "",
                    "etag": response.headers.get("etag") or etag,
                }
                response = FetchResponse(200, {k: v for k, v in headers.items() if v}, found.body)
            result = keys._result(request, response, url)
        except BaseException:
            self._release(token)
            raise
        cooldown = keys.policy.cooldown - (time.monotonic() - started)
        self._publish(url, response, token, max(0.0, cooldown))
        return result

    def _fetch_alone(self, request: FetchRequest) -> FetchResult:
        """Redis does not answer: today's fetch, with this process's own validators."""
        result = self._keys._fetch_alone(request)
        self._held_at = self._wall()
        return result

    def _fetch_and_publish(self, request: FetchRequest) -> FetchResult:
        """No usable result from the fleet: fetch here, and publish it for the others."""
        keys = self._keys
        url = keys._locate()
        response = keys._get(url, {})  # no validators: the body is published
        result = keys._result(request, response, url)
        self._publish(url, response, "", 0.0)  # "": no lock of this process to pass on
        return result

    def _publish(self, url: str, response: FetchResponse, token: str, cooldown: float) -> None:
        now = self._wall()
        age = _int_header(response.headers.get("age"))
        published = Published(
            url,
            now - age,
            response.headers.get("etag"),
            response.headers.get("cache-control"),
            response.body,
        )
        meta = {
            "v": VERSION,
            "source": self._source,
            "jwks_uri": url,
            "fetched_at": published.fetched_at,
            "etag": published.etag,
            "cache_control": published.cache_control,
            "sha256": hashlib.sha256(response.body).hexdigest(),
        }
        # Kept past its lifetime for revalidation (a 304 renews it for everyone).
        policy = self._keys.policy
        ttl_ms = int((self._lifetime(published) + min(policy.max_stale, 86400)) * 1000) + 1000
        self._held_at = published.fetched_at
        # If Redis fails here, the keys are applied all the same; others fetch for themselves.
        with contextlib.suppress(RedisUnavailable):
            self._link.run(
                lambda r: r.eval(
                    _PUBLISH,
                    2,
                    self._key,
                    self._lock_key,
                    _json(meta),
                    response.body,
                    ttl_ms,
                    token,
                    int(cooldown * 1000),
                )
            )

    def _release(self, token: str) -> None:
        with contextlib.suppress(RedisUnavailable):  # if not, the lock expires by itself
            self._link.run(lambda r: r.eval(_RELEASE, 1, self._lock_key, token))

    def _ignore(self, reason: str) -> NoReturn:
        """Log that the published document is ignored, and stop using it."""
        log.warning(
            "shared JWKS for %s in Redis ignored (%s): fetching it here",
            safe_url(self._source),
            reason,
        )
        raise _Ignored(reason)


class _Ignored(Exception):
    """The document in Redis is not to be used; the process fetches for itself."""


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else ""


def _int_header(value: str | None) -> int:
    if value is None or not value.strip().isdigit():
        return 0
    return min(int(value.strip()), 2**31)


def _json(value: dict[str, Any]) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
