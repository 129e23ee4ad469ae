"""The deny list's data, without I/O: its layout in Redis, the write script, a process's copy.

Three keys under one hash tag (one Redis Cluster slot), written only by
:data:`WRITE_SCRIPT`, so every write is atomic:

* ``{prefix}{deny}:e``, a hash: field ``j:<jti>``, ``s:<sub>`` or
  ``c:<client_id>``, value ``"<before_ms> <expires_ms>"``;
* ``{prefix}{deny}:x``, a sorted set of the same fields scored by
  ``expires_ms``: each write first drops entries whose time has passed (at
  most 1,000), and both keys expire with their last entry (``PEXPIRE``);
* ``{prefix}{deny}:v``, the list's version, a hash: ``epoch``, random, set
  when the key is created, and ``n``, which every write increments. A process
  reloads the entries only when the version changed, so an idle deny list
  costs one ``HMGET``; the epoch tells a list that Redis lost and rebuilt
  apart from the one a process copied, whatever their counts.

:class:`DenyList` is what a process keeps of it: ``{value: before}`` per
kind, so a check is three dictionary lookups. Redis is not trusted more than
the network: an entry bearerguard did not write is skipped and logged.
:class:`~bearerguard.Revocations` (:mod:`bearerguard._revocation`) does
the I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ._errors import TokenRevoked
from .claims import StandardClaims

__all__ = ["EXPIRY_MARGIN", "WRITE_SCRIPT", "DenyList", "deny_list_keys", "text", "version_of"]

#: Seconds every entry is kept beyond the last ``exp`` it covers, so a
#: verifier's leeway (60 s by default) cannot outlive the entry.
EXPIRY_MARGIN = 300.0

logger = logging.getLogger("bearerguard.revocation")
_KINDS = {"j": "jti", "s": "sub", "c": "client_id"}

# KEYS: hash, sorted set, version. ARGV: now_ms, field, before_ms, expires_ms, a new epoch.
# An existing entry is widened, never narrowed: a later revocation with an
# earlier `before` does not un-revoke tokens.
WRITE_SCRIPT = """
local now = tonumber(ARGV[1])
-- At most 1,000 expired entries per write, one by one: the script's time stays
-- bounded, and no reply is unpacked onto Lua's stack (8,000 values at most).
local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, field in ipairs(old) do
  redis.call('HDEL', KEYS[1], field)
  redis.call('ZREM', KEYS[2], field)
end
local before = tonumber(ARGV[3])
local expires = tonumber(ARGV[4])
local current = redis.call('HGET', KEYS[1], ARGV[2])
if current then
  local b, x = string.match(current, '^(%d+) (%d+)$')
  if b then
    before = math.max(before, tonumber(b))
    expires = math.max(expires, tonumber(x))
  end
end
local stored = 0
if expires > now then
  redis.call('HSET', KEYS[1], ARGV[2], string.format('%d %d', before, expires))
  redis.call('ZADD', KEYS[2], expires, ARGV[2])
  stored = 1
end
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if #last > 0 then
  local ttl = tonumber(last[2]) - now
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[2], ttl)
end
redis.call('HSETNX', KEYS[3], 'epoch', ARGV[5])
redis.call('HINCRBY', KEYS[3], 'n', 1)
return stored
"""


def deny_list_keys(prefix: str) -> tuple[str, str, str]:
    """The entries, their expiry times and the version of the deny list under *prefix*."""
    return (f"{prefix}{{deny}}:e", f"{prefix}{{deny}}:x", f"{prefix}{{deny}}:v")


def version_of(reply: Any) -> str | None:
    """The version from ``HMGET <version key> epoch n`` (``None``: no list)."""
    epoch, count = reply
    return None if count is None else f"{text(epoch)}:{text(count)}"


def text(value: Any) -> str:
    """A Redis reply as text; bytes that are not UTF-8 never raise (they match nothing)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class DenyList:
    """One process's copy of the deny list: ``{value: before}`` per kind."""

    __slots__ = ("client_id", "jti", "loaded", "sub", "version")

    def __init__(self, version: str | None, loaded: float) -> None:
        self.version = version
        self.loaded = loaded
        self.jti: dict[str, float] = {}
        self.sub: dict[str, float] = {}
        self.client_id: dict[str, float] = {}

    @classmethod
    def parse(cls, version: str | None, entries: Mapping[Any, Any], loaded: float) -> DenyList:
        snapshot = cls(version, loaded)
        for raw_field, raw_value in entries.items():
            field, value = text(raw_field), text(raw_value)
            kind, _, name = field.partition(":")
            before, _, _expires = value.partition(" ")
            if kind not in _KINDS or not name or not (before.isascii() and before.isdigit()):
                logger.warning("ignoring a malformed deny-list entry in Redis")
                continue
            getattr(snapshot, _KINDS[kind])[name] = int(before) / 1000
        return snapshot

    def reloaded(self, loaded: float) -> DenyList:
        """The same entries, loaded at *loaded* (the version in Redis has not moved)."""
        fresh = DenyList(self.version, loaded)
        fresh.jti, fresh.sub, fresh.client_id = self.jti, self.sub, self.client_id
        return fresh

    def check(self, claims: StandardClaims) -> None:
        """Raise :class:`~bearerguard.TokenRevoked` if an entry covers *claims*."""
        if self.jti and claims.jti is not None and claims.jti in self.jti:
            raise TokenRevoked("token has been revoked")
        for table, value in (
            (self.sub, claims.sub),
            (self.client_id, getattr(claims, "client_id", None)),
        ):
            if table and value is not None:
                before = table.get(value)
                if before is not None and (claims.iat is None or claims.iat < before):
                    raise TokenRevoked("token has been revoked")
