"""A :class:`~bearerguard.issuing.refresh.RefreshStore` in Redis, for several issuer instances.

Each token is a Redis hash under ``{prefix}{<family>}:t:<sha256>`` that
expires with the token (``PEXPIRE``); each family is a string
``{prefix}{<family>}:f`` holding ``live`` or ``revoked`` and expiring with the
family's last token. The ``{<family>}`` hash tag puts a token and its family
in the same Redis Cluster slot, so every operation is one Lua script on
declared keys: atomic on a single server and on a cluster alike.

``redis`` is imported only by :meth:`RedisRefreshStore.from_url`; pass your own
client (``redis.Redis``, sync) to share a connection pool.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from ..errors import ConfigurationError
from .claims import RefreshTokenClaims, check_scopes
from .clock import Clock
from .errors import InvalidGrant, RefreshTokenReused
from .refresh import (
    REUSED,
    REVOKED,
    UNKNOWN,
    check_ttl,
    parse_for_save,
    refresh_token_family,
    refresh_token_id,
)

__all__ = ["RedisClient", "RedisRefreshStore"]

# KEYS: token, family. ARGV: ttl in ms, then the hash's field/value pairs.
_SAVE = """
if redis.call('GET', KEYS[2]) == 'revoked' then return 'revoked' end
if redis.call('EXISTS', KEYS[1]) == 1 then return 'exists' end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[2]) < ttl then
  redis.call('SET', KEYS[2], 'live', 'PX', ttl)
end
return 'ok'
"""

# Revoking keeps the family's remaining lifetime (or the token's, if the family
# key is gone), so the marker outlives every token of the family.
_REVOKE_FAMILY = """
local function revoke()
  local ttl = redis.call('PTTL', KEYS[2])
  if ttl <= 0 then ttl = redis.call('PTTL', KEYS[1]) end
  if ttl > 0 then redis.call('SET', KEYS[2], 'revoked', 'PX', ttl) end
end
"""

# KEYS: token, family. ARGV: now (seconds).
_REDEEM = (
    _REVOKE_FAMILY
    + """
local rec = redis.call('HGETALL', KEYS[1])
if #rec == 0 then return {'missing'} end
if tonumber(redis.call('HGET', KEYS[1], 'exp')) <= tonumber(ARGV[1]) then
  return {'missing'}
end
if redis.call('HGET', KEYS[1], 'used') == '1' then
  revoke()
  return {'reused'}
end
if redis.call('GET', KEYS[2]) ~= 'live' then return {'revoked'} end
redis.call('HSET', KEYS[1], 'used', '1')
return {'ok', rec}
"""
)

# KEYS: token, family.
_REVOKE = (
    _REVOKE_FAMILY
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
revoke()
return 1
"""
)

# KEYS: token, family.
_GET = """
local rec = redis.call('HGETALL', KEYS[1])
if #rec == 0 then return {'missing'} end
return {redis.call('GET', KEYS[2]) or '', rec}
"""


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
    """

    def __init__(
        self,
        client: RedisClient,
        *,
        prefix: str = "bearerguard:rt:",
        clock: Clock = time.time,
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

    @classmethod
    def from_url(
        cls, url: str, *, prefix: str = "bearerguard:rt:", clock: Clock = time.time
    ) -> RedisRefreshStore:
        """Connect with ``redis.Redis.from_url`` (needs ``pip install 'bearerguard[redis]'``)."""
        try:
            import redis  # deferred: an optional dependency
        except ImportError:
            raise ConfigurationError(
                "RedisRefreshStore needs the redis package: pip install 'bearerguard[redis]'"
            ) from None
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
        family = parse_for_save(token)
        ttl = check_ttl(ttl)
        now = self._clock()
        claims = RefreshTokenClaims(
            sub=user_id,
            client_id=client_id,
            family=family,
            jti=refresh_token_id(token),
            iat=now,
            exp=now + ttl,
            scopes=check_scopes(tuple(scopes)),
            auth_time=auth_time,
        )
        fields = [
            "sub", claims.sub,
            "cid", claims.client_id,
            "scope", " ".join(claims.scopes),
            "iat", repr(claims.iat),
            "exp", repr(claims.exp),
            "at", "" if auth_time is None else repr(float(auth_time)),
            "used", "0",
        ]  # fmt: skip
        ttl_ms = max(1, int(ttl * 1000))
        result = _text(self._save(keys=list(self.keys_for(token)), args=[ttl_ms, *fields]))
        if result == "revoked":
            raise InvalidGrant(REVOKED)
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
        record = _record(reply[1])
        if record.get("used") == "1":
            return None
        claims = _claims(record, token)
        return claims if claims.exp > self._clock() else None

    def delete(self, token: str) -> None:
        """Forget *token*."""
        try:
            token_key, _ = self.keys_for(token)
        except InvalidGrant:
            return
        self._client.delete(token_key)

    def redeem(self, token: str) -> RefreshTokenClaims:
        """Mark *token* used and return its claims, atomically."""
        keys = self.keys_for(token)  # InvalidGrant for a malformed token
        reply = self._redeem(keys=list(keys), args=[repr(self._clock())])
        status = _text(reply[0])
        if status == "reused":
            raise RefreshTokenReused(REUSED)
        if status == "revoked":
            raise InvalidGrant(REVOKED)
        if status != "ok":
            raise InvalidGrant(UNKNOWN)
        return _claims(_record(reply[1]), token)

    def revoke(self, token: str) -> bool:
        """Revoke the family of a known *token*."""
        try:
            keys = self.keys_for(token)
        except InvalidGrant:
            return False
        return int(self._revoke(keys=list(keys), args=[])) == 1


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
