"""A :class:`~bearerguard.issuing.RefreshStore` in Redis, for several issuer instances.

Two kinds of keys, both hashes, both expiring server-side (``PEXPIRE``):

* ``{prefix}{<family>}:t:<sha256>``: an unused token's claims, expiring with
  the token. Redeeming a token deletes this key.
* ``{prefix}{<family>}:f``: the family (grant): ``state`` (``live`` or
  ``revoked``), ``exp``, and one field ``u:<sha256>`` per redeemed token, its
  *reuse marker*. The key expires with the family's last token.

The markers are fields of the family's own key, so they live exactly as long
as the family and share its fate: whatever removes the family (its TTL, a
``maxmemory`` eviction) removes its markers with it, and a token whose family
is gone can never be redeemed. Nothing can leave a family alive without its
markers, whichever ``maxmemory-policy`` the server runs. Under ``noeviction``
a full Redis refuses new tokens and redeems (:class:`RefreshStoreFull`, the
presented token stays unused) but still revokes a family whose used token
comes back: the revocation needs no memory, it deletes the family if it must.

The ``{<family>}`` hash tag puts a token and its family in the same Redis
Cluster slot, so every operation is one Lua script on declared keys: atomic on
a single server and on a cluster alike.

``redis`` is imported only by :meth:`RedisRefreshStore.from_url`; pass your own
client (``redis.Redis``, sync) to share a connection pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from .._clock import WallClock
from .._errors import ConfigurationError
from ._claims import RefreshTokenClaims
from ._errors import InvalidGrant, RefreshStoreFull, RefreshTokenReused
from ._refresh import (
    DROPPED,
    REUSED,
    REVOKED,
    UNKNOWN,
    mark_rotating,
    new_claims,
    refresh_token_family,
    refresh_token_id,
)

__all__ = ["RedisClient", "RedisRefreshStore"]

# Every script: KEYS[1] the token, KEYS[2] its family. The family's state is
# read through family(), which treats a family past its `exp` (by the store's
# clock) as gone, as Redis' own TTL soon will.
_COMMON = """
local function family(now)
  local state = redis.call('HGET', KEYS[2], 'state')
  if state and tonumber(redis.call('HGET', KEYS[2], 'exp')) <= now then return false end
  return state
end
local function used(jti)
  return redis.call('HEXISTS', KEYS[2], 'u:' .. jti) == 1
end
-- Revoking writes one field; when Redis is out of memory (noeviction) even
-- that is refused, and deleting the family revokes it as surely: a token
-- whose family is gone can never be redeemed.
local function revoke()
  local done = redis.pcall('HSET', KEYS[2], 'state', 'revoked')
  if type(done) == 'table' and done.err then redis.call('DEL', KEYS[2]) end
end
-- A used token of a live family came back: revoke the family (true), or
-- nothing to do (false).
local function revoke_if_used(state, jti)
  if not (state and used(jti)) then return false end
  revoke()
  return true
end
"""

# ARGV: ttl in ms, now, exp, jti, rotation ('1' after a redeem in this family), field/value pairs.
_SAVE = (
    _COMMON
    + """
local state = family(tonumber(ARGV[2]))
if state == 'revoked' then return 'revoked' end
-- A family dropped after one of its tokens was redeemed must not come back
-- without its markers.
if not state and ARGV[5] == '1' then return 'gone' end
if redis.call('EXISTS', KEYS[1]) == 1 or (state and used(ARGV[4])) then return 'exists' end
-- The first write must be one Redis refuses when out of memory (noeviction):
-- after any write, a script's further writes are let through.
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
if not state then
  redis.call('DEL', KEYS[2])  -- a new family, or one past its exp
  redis.call('HSET', KEYS[2], 'state', 'live', 'exp', ARGV[3])
elseif tonumber(redis.call('HGET', KEYS[2], 'exp')) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[2], 'exp', ARGV[3])
end
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[1]) then
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
end
return 'ok'
"""
)

# ARGV: now, jti.
_REDEEM = (
    _COMMON
    + """
local now = tonumber(ARGV[1])
local state = family(now)
if revoke_if_used(state, ARGV[2]) then return {'reused'} end
local rec = redis.call('HGETALL', KEYS[1])
if #rec == 0 then return {'missing'} end
if tonumber(redis.call('HGET', KEYS[1], 'exp')) <= now then return {'missing'} end
if state ~= 'live' then return {'revoked'} end
-- The marker first: if Redis refuses it (out of memory), nothing changed.
redis.call('HSET', KEYS[2], 'u:' .. ARGV[2], '1')
redis.call('DEL', KEYS[1])
return {'ok', rec}
"""
)

# ARGV: now, jti.
_REVOKE = (
    _COMMON
    + """
local now = tonumber(ARGV[1])
local state = family(now)
if revoke_if_used(state, ARGV[2]) then return 1 end
local exp = redis.call('HGET', KEYS[1], 'exp')
if not exp or tonumber(exp) <= now then return 0 end
-- A token whose family is gone is dead already; nothing to write.
if state then revoke() end
return 1
"""
)

# KEYS: token, family.
_GET = """
local rec = redis.call('HGETALL', KEYS[1])
if #rec == 0 then return {'missing'} end
return {redis.call('HGET', KEYS[2], 'state') or '', rec}
"""

_FULL = (
    "Redis is out of memory (maxmemory reached under maxmemory-policy noeviction) and "
    "refused the refresh token; nothing was changed: raise maxmemory or free memory"
)

_T = TypeVar("_T")


class RedisClient(Protocol):
    """The part of ``redis.Redis`` this store uses."""

    def register_script(self, script: str) -> Any:
        """Return a callable ``script(keys=[...], args=[...])``."""
        ...

    def delete(self, *names: str) -> Any:
        """Delete keys."""
        ...


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


class RedisRefreshStore:
    """Refresh tokens in Redis; hashed, expiring server-side, redeemed atomically.

    ``RedisRefreshStore.from_url("redis://localhost:6379/0")`` or
    ``RedisRefreshStore(redis.Redis(...))``. *prefix* namespaces the keys
    (default ``bearerguard:rt:``). *clock* decides expiry in addition to Redis'
    own ``PEXPIRE``, so both agree even across clock skew.

    Run Redis with ``maxmemory-policy noeviction`` (Redis' default): when full,
    it refuses new tokens with :class:`RefreshStoreFull` and loses nothing.
    Under an evicting policy (``volatile-*``, ``allkeys-*``; every key here
    has a TTL, so ``volatile-*`` may evict any of them) Redis drops whole
    families or single unused tokens, never a family's markers without the
    family: users of a dropped grant log in again, and no thief keeps one.

    A save that follows a redeem of the same family *through this instance*
    (what :class:`~bearerguard.issuing.TokenIssuer` does) refuses to recreate
    the family if Redis dropped it in between: :class:`InvalidGrant`.
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str = "bearerguard:rt:",
        clock: WallClock = time.time,
    ) -> None:
        if not isinstance(prefix, str) or "{" in prefix or "}" in prefix:
            raise ConfigurationError("prefix must be a string without '{' or '}'")
        if not hasattr(client, "register_script"):
            raise ConfigurationError("client must be a redis.Redis (sync) client")
        self._client = client
        self._prefix = prefix
        self._clock = clock
        self._save = client.register_script(_SAVE)
        self._redeem = client.register_script(_REDEEM)
        self._revoke = client.register_script(_REVOKE)
        self._get = client.register_script(_GET)
        # Families with a token redeemed here and its successor not saved yet -> when.
        self._rotating: dict[str, float] = {}
        self._rotating_lock = threading.Lock()

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "bearerguard:rt:", clock: WallClock = time.time
    ) -> RedisRefreshStore:
        """Connect with ``redis.Redis.from_url`` (needs ``pip install 'bearerguard[redis]'``)."""
        try:
            import redis  # deferred: an optional dependency
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                "RedisRefreshStore.from_url needs the redis package: "
                "pip install 'bearerguard[redis]'",
                name=exc.name,
            ) from exc
        return cls(redis.Redis.from_url(url), prefix=prefix, clock=clock)

    @property
    def prefix(self) -> str:
        """The key prefix."""
        return self._prefix

    def keys_for(self, token: str) -> tuple[str, str]:
        """The Redis keys of *token* and of its family (for operators and tests)."""
        family = refresh_token_family(token)
        base = f"{self._prefix}{{{family}}}"
        return f"{base}:t:{refresh_token_id(token)}", f"{base}:f"

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
        family = claims.family
        fields = [
            "sub", claims.sub,
            "cid", claims.client_id,
            "scope", " ".join(claims.scopes),
            "iat", repr(claims.iat),
            "exp", repr(claims.exp),
            "at", "" if auth_time is None else repr(float(auth_time)),
        ]  # fmt: skip
        with self._rotating_lock:
            rotation = self._rotating.pop(family, None) is not None
        ttl_ms = max(1, int(ttl * 1000))
        args = [ttl_ms, repr(now), repr(claims.exp), claims.jti, "1" if rotation else "0", *fields]
        result = _text(_guarded(lambda: self._save(keys=list(self.keys_for(token)), args=args)))
        if result == "revoked":
            raise InvalidGrant(REVOKED)
        if result == "gone":
            raise InvalidGrant(DROPPED)
        if result == "exists":
            raise ConfigurationError("this refresh token was saved already")
        return claims

    def get(self, token: str) -> RefreshTokenClaims | None:
        """The claims of a live token, else ``None``."""
        try:
            keys = self.keys_for(token)
        except InvalidGrant:
            return None
        reply = self._get(keys=list(keys), args=[])
        if _text(reply[0]) != "live":  # "missing", or the family is revoked or gone
            return None
        claims = _claims(_record(reply[1]), token)
        return claims if claims.exp > self._clock() else None

    def delete(self, token: str) -> None:
        """Forget an unused *token*; a used token's reuse marker stays with its family."""
        try:
            token_key, _ = self.keys_for(token)
        except InvalidGrant:
            return
        self._client.delete(token_key)

    def redeem(self, token: str) -> RefreshTokenClaims:
        """Mark *token* used and return its claims, atomically."""
        keys = self.keys_for(token)  # InvalidGrant for a malformed token
        now = self._clock()
        args = [repr(now), refresh_token_id(token)]
        reply = _guarded(lambda: self._redeem(keys=list(keys), args=args))
        status = _text(reply[0])
        if status == "reused":
            raise RefreshTokenReused(REUSED)
        if status == "revoked":
            raise InvalidGrant(REVOKED)
        if status != "ok":
            raise InvalidGrant(UNKNOWN)
        self._mark_rotating(refresh_token_family(token), now)
        return _claims(_record(reply[1]), token)

    def revoke(self, token: str) -> bool:
        """Revoke the family of a known *token* (unused, or used while its family lives)."""
        try:
            keys = self.keys_for(token)
        except InvalidGrant:
            return False
        args = [repr(self._clock()), refresh_token_id(token)]
        return int(self._revoke(keys=list(keys), args=args)) == 1

    def _mark_rotating(self, family: str, now: float) -> None:
        with self._rotating_lock:
            mark_rotating(self._rotating, family, now, _MAX_ROTATING)


_MAX_ROTATING = 100_000


def _guarded(call: Callable[[], _T]) -> _T:
    """Run a writing script; Redis' out-of-memory refusal becomes :class:`RefreshStoreFull`."""
    try:
        return call()
    except Exception as exc:
        if _out_of_memory(exc):
            raise RefreshStoreFull(_FULL) from None
        raise


def _out_of_memory(exc: Exception) -> bool:
    try:
        from redis.exceptions import OutOfMemoryError
    except ImportError:  # a client of another make: recognise Redis' own error text
        return "maxmemory" in str(exc)
    return isinstance(exc, OutOfMemoryError)


def _record(flat: Sequence[Any]) -> dict[str, str]:
    items = [_text(v) for v in flat]
    return dict(zip(items[::2], items[1::2], strict=True))


def _claims(record: dict[str, str], token: str) -> RefreshTokenClaims:
    try:
        return RefreshTokenClaims(
            sub=record["sub"],
            client_id=record["cid"],
            family=refresh_token_family(token),
            jti=refresh_token_id(token),
            iat=float(record["iat"]),
            exp=float(record["exp"]),
            scopes=tuple(record["scope"].split()),
            auth_time=float(record["at"]) if record.get("at") else None,
        )
    except (KeyError, ValueError, ConfigurationError):
        raise InvalidGrant(UNKNOWN) from None
