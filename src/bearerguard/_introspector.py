"""Introspected tokens as typed claims: the cache, the single flight, the mapping.

:class:`Introspector` is what a :class:`~bearerguard.Verifier` with
``introspection=`` asks about a token it does not verify itself. An answer
comes from, in order: the in-memory cache (bounded, least recently used out
first), Redis when the verifier has ``redis_url`` (shared by every process),
or the endpoint (:class:`~bearerguard._introspection_call.IntrospectionCall`),
one call per token however many threads and tasks ask at once. Every cache
is keyed by a SHA-256 hash of the token, never the token itself, and an
answer is kept for at most ``cache_ttl`` seconds and never past its ``exp``.

An answer becomes claims the way a JWT payload does (RFC 7662 §2.2 uses the
JWT claim names: ``scope`` fills ``scopes``, ``client_id``, ``sub``, ``exp``,
``aud``, ...), typed by the verifier's claims type and checked by the same
:class:`~bearerguard.Validator` (audience, expiry, ...); ``iss`` is the
configured issuer. ``active: false`` is 401 ``invalid_token``; a member of
the wrong type is the authorization server's fault, so 503.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import math
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from ._errors import (
    BearerGuardError,
    ExpiredToken,
    IntrospectionUnavailable,
    InvalidClaims,
    InvalidToken,
    IssuerMismatch,
)
from ._flights import Flights
from ._introspection import Introspection, IntrospectionMode
from ._introspection_call import IntrospectionCall, log
from ._keysource import KeySource
from ._redis_link import RedisLink, RedisUnavailable
from ._validation import Validator, check_claims
from .claims import StandardClaims

__all__ = ["Introspector"]

C = TypeVar("C", bound=StandardClaims)

# What the caches hold for a token: its claims, or the refusal to repeat.
_Answer = StandardClaims | InvalidToken
_INACTIVE = "token is not active"
# Seconds the clocks of the processes sharing Redis may disagree by.
_SKEW = 60.0
# Introspection requests of asyncio callers in flight at once (each its own thread).
_WORKERS = 32


class Introspector(Generic[C]):
    """Introspects tokens for one verifier; thread-safe and asyncio-safe.

    *validator* checks active tokens' claims, *claims_type* types them,
    *keys* verify RFC 9701 answers, *redis* shares answers between processes.
    """

    __slots__ = (
        "_call",
        "_claims_type",
        "_config",
        "_executor",
        "_flights",
        "_lock",
        "_memory",
        "_prefix",
        "_record_key",
        "_redis",
        "_validator",
    )

    def __init__(
        self,
        config: Introspection,
        *,
        validator: Validator,
        claims_type: type[C],
        keys: KeySource | None,
        redis: RedisLink | None,
    ) -> None:
        self._config = config
        self._validator = validator
        self._claims_type = claims_type
        self._call = IntrospectionCall(config, keys)
        self._redis = redis
        self._flights: Flights[tuple[float, _Answer]] = Flights()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._memory: OrderedDict[bytes, tuple[float, _Answer]] = OrderedDict()
        # Redis keys name the authorization server and client: another API's
        # answers (it may be allowed to see other tokens) are never read.
        scope = hashlib.sha256(f"{config.issuer}\0{config.client_id}".encode()).hexdigest()[:16]
        self._prefix = f"bearerguard:introspection:{scope}:"
        self._record_key = _record_key(config)

    @property
    def config(self) -> Introspection:
        """The configuration this introspector follows."""
        return self._config

    @property
    def mode(self) -> IntrospectionMode:
        """``"opaque"`` or ``"always"`` (see :class:`~bearerguard.Introspection`)."""
        return self._config.mode

    def introspect(self, token: str, t: float) -> C:
        """The validated claims of *token* at POSIX time *t*, or the refusal."""
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        answer = self._remembered(key, t)
        if answer is None:
            answer = self._flights.run(key, lambda: self._fetch(token, key, t))[1]
        return self._checked(answer, t)

    async def aintrospect(self, token: str, t: float) -> C:
        """:meth:`introspect` for asyncio: Redis and the endpoint are asked off the loop."""
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        answer = self._remembered(key, t)
        if answer is None:
            call = functools.partial(self._fetch, token, key, t)
            answer = (await self._flights.arun(key, call, self._pool()))[1]
        return self._checked(answer, t)

    def _pool(self) -> ThreadPoolExecutor:
        """The threads asyncio callers' requests run in, made on first use.

        Its own pool, not the event loop's default executor: a slow endpoint
        then never holds up ``asyncio.to_thread`` work elsewhere in the app,
        and up to ``_WORKERS`` new tokens are introspected at once.
        """
        pool = self._executor
        if pool is None:
            with self._lock:
                pool = self._executor
                if pool is None:
                    pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="bearerguard-introspect")
                    self._executor = pool
        return pool

    def cache_clear(self) -> None:
        """Forget the answers held in memory (not those in Redis)."""
        with self._lock:
            self._memory.clear()

    # -- steps ----------------------------------------------------------------------

    def _remembered(self, key: bytes, t: float) -> _Answer | None:
        entry = self._memory.get(key)
        if entry is None:
            return None
        if t < entry[0]:
            # Most recently used now; another thread may have dropped it since.
            with contextlib.suppress(KeyError):
                self._memory.move_to_end(key)
            return entry[1]
        with self._lock:
            self._memory.pop(key, None)
        return None

    def _fetch(self, token: str, key: bytes, t: float) -> tuple[float, _Answer]:
        """Redis's answer, else the endpoint's (stored in both); runs once per token."""
        known = self._remembered(key, t)  # a flight that just ended may have stored it
        if known is not None:
            return (t, known)
        shared = self._from_redis(key, t)
        if shared is not None:
            self._remember(key, shared)
            return shared
        document = self._call(token)
        answer = self._answer(document)
        deadline = self._deadline(answer, t)
        entry = (deadline, answer)
        if deadline > t:
            self._remember(key, entry)
            self._to_redis(key, document, deadline, t)
        return entry

    def _answer(self, document: dict[str, Any]) -> _Answer:
        """An endpoint's (or Redis's) answer as claims, or the refusal it means."""
        if document.get("active") is not True:
            return InvalidToken(_INACTIVE)
        payload = {name: value for name, value in document.items() if name != "active"}
        iss = payload.setdefault("iss", self._config.issuer)
        if iss != self._config.issuer:
            return IssuerMismatch("introspection answer names another issuer")
        try:
            return self._claims_type.from_payload(payload, self._validator.claim_sources)
        except InvalidClaims as exc:
            raise IntrospectionUnavailable(
                f"introspection answer has members of the wrong type: {exc.description}"
            ) from None

    def _deadline(self, answer: _Answer, t: float) -> float:
        deadline = t + self._config.cache_ttl
        exp = getattr(answer, "exp", None)
        if exp is not None:
            deadline = min(deadline, exp)
        return deadline

    def _checked(self, answer: _Answer, t: float) -> C:
        """The claims if the validator passes them at *t*; raises the refusal otherwise."""
        if isinstance(answer, InvalidToken):
            raise type(answer)(answer.description)
        failures = check_claims(answer, self._validator, t)
        if failures:
            if any(f.startswith("exp: token has expired") for f in failures):
                raise ExpiredToken(failures)
            raise InvalidClaims(failures)
        return answer  # type: ignore[return-value]

    # -- the caches -------------------------------------------------------------------

    def _remember(self, key: bytes, entry: tuple[float, _Answer]) -> None:
        size = self._config.cache_size
        if not size:
            return
        with self._lock:
            self._memory[key] = entry
            self._memory.move_to_end(key)
            while len(self._memory) > size:
                self._memory.popitem(last=False)

    def _from_redis(self, key: bytes, t: float) -> tuple[float, _Answer] | None:
        redis = self._redis
        if redis is None or not self._config.cache_ttl:
            return None
        name = self._prefix + key.hex()
        try:
            stored = redis.run(lambda client: client.get(name))
        except RedisUnavailable:
            return None
        if stored is None:
            return None
        # Redis is trusted no more than the endpoint: the stored answer is parsed
        # and typed again, and anything odd is ignored (the endpoint is asked).
        try:
            mac, _, body = bytes(stored).partition(b".")
            if not hmac.compare_digest(mac, self._mac(body)):
                raise ValueError("not written by this API's verifiers (no valid MAC)")
            record = json.loads(body)
            deadline = record["until"]
            document = record["answer"]
            if not isinstance(deadline, float | int) or not isinstance(document, dict):
                raise ValueError("not an introspection record")
            if type(document.get("active")) is not bool:
                raise ValueError("not an introspection answer")
            answer = self._answer(document)
        except (ValueError, KeyError, TypeError, BearerGuardError) as exc:
            log.warning("ignoring an unusable introspection answer in Redis: %s", exc)
            return None
        # Another process wrote it by its own clock: allow a minute of skew.
        if not (t < deadline <= t + self._config.cache_ttl + _SKEW):
            return None
        return (float(deadline), answer)

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._record_key, body, hashlib.sha256).hexdigest().encode()

    def _to_redis(self, key: bytes, document: dict[str, Any], deadline: float, t: float) -> None:
        redis = self._redis
        if redis is None:
            return
        name = self._prefix + key.hex()
        body = json.dumps({"until": deadline, "answer": document}, separators=(",", ":")).encode()
        value = self._mac(body) + b"." + body
        milliseconds = max(1, math.ceil((deadline - t) * 1000))
        # Redis down: the answer stays in this process's memory only.
        with contextlib.suppress(RedisUnavailable):
            redis.run(lambda client: client.set(name, value, px=milliseconds))


def _record_key(config: Introspection) -> bytes:
    """The key of the MAC on this API's records in Redis, from its own credentials.

    Whoever can write to Redis could otherwise store an active answer for a
    token of their making; the processes of one API share its client secret
    or private key, a Redis client does not.
    """
    if config.client_secret is not None:
        secret = config.client_secret.encode("utf-8", "surrogatepass")
    else:
        from cryptography.hazmat.primitives import serialization

        secret = config._signing_key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    return hmac.new(b"bearerguard introspection records", secret, hashlib.sha256).digest()
