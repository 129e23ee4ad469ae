"""What a :class:`~bearerguard.keyset.RemoteKeySet` reports: events and status snapshots."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from .._urls import safe_url

__all__ = ["EventKind", "KeySetEvent", "KeySetStatus", "log_event"]

log = logging.getLogger("bearerguard.keyset")

#: What a :class:`KeySetEvent` reports, its ``kind`` (each is described there).
EventKind = Literal[
    "fetched", "not-modified", "failed", "keys-changed", "stale-served", "refetch-suppressed"
]


@dataclass(frozen=True, slots=True, kw_only=True)
class KeySetEvent:
    """Something a :class:`RemoteKeySet` did, passed to ``on_event`` and logged.

    ``kind``: ``fetched`` (a 200 was applied; ``ttl`` set), ``not-modified``
    (a 304 renewed the lifetime), ``failed`` (``error`` says why; the previous
    keys stay), ``keys-changed`` (``added``/``removed`` kids; ``generation`` is
    the new one), ``stale-served`` (keys past their lifetime were used; ``age``
    since the last good fetch), ``refetch-suppressed`` (an unknown ``kid`` did
    not cause a fetch; ``reason`` is ``cooldown`` or ``known-absent``).
    ``stale-served`` and ``refetch-suppressed`` are reported once per fetch
    attempt, not once per request, so a flood cannot flood the logs.
    """

    kind: EventKind
    jwks_uri: str | None
    generation: int
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    reason: str | None = None
    error: str | None = None
    ttl: float | None = None
    age: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KeySetStatus:
    """A snapshot for health checks and metrics (times in seconds, relative to now).

    ``state``: ``empty`` (no keys yet), ``fresh``, ``stale`` (past its lifetime,
    still served) or ``expired`` (past ``max_stale``, not served). ``age``:
    since the last successful fetch or 304; ``expires_in``: until the lifetime
    ends (negative once stale); ``next_refresh_in``: until a background refresh
    may start; ``cooldown_remaining``: until an unknown ``kid`` may cause a
    fetch; ``fetching``: a fetch is in flight; ``last_error``: why the last
    fetch failed (``None`` after a success); ``fetches``/``failures``: counts of
    successful and failed fetches; ``absent_kids``: size of the known-absent
    cache; ``suppressed_refetches``: unknown-``kid`` lookups that did not fetch.
    """

    jwks_uri: str | None
    state: Literal["empty", "fresh", "stale", "expired"]
    generation: int
    kids: tuple[str, ...]
    age: float | None
    expires_in: float | None
    next_refresh_in: float | None
    cooldown_remaining: float
    fetching: bool
    last_error: str | None
    etag: str | None
    fetches: int
    failures: int
    absent_kids: int
    suppressed_refetches: int


_LEVELS: dict[str, int] = {
    "fetched": logging.DEBUG,
    "not-modified": logging.DEBUG,
    "keys-changed": logging.INFO,
    "refetch-suppressed": logging.INFO,
    "failed": logging.WARNING,
    "stale-served": logging.WARNING,
}


def log_event(event: KeySetEvent) -> None:
    level = _LEVELS[event.kind]
    if not log.isEnabledFor(level):
        return
    where = safe_url(event.jwks_uri or "")
    if event.kind == "keys-changed":
        log.log(
            level,
            "JWKS %s: keys changed (generation %d): added %s, removed %s",
            where,
            event.generation,
            list(event.added),
            list(event.removed),
        )
    elif event.kind == "failed":
        log.log(level, "JWKS %s: fetch failed, keeping previous keys: %s", where, event.error)
    elif event.kind == "stale-served":
        log.log(level, "JWKS %s: serving keys %.0fs past their last fetch", where, event.age)
    elif event.kind == "refetch-suppressed":
        log.log(level, "JWKS %s: unknown kid, refetch suppressed (%s)", where, event.reason)
    else:
        log.log(level, "JWKS %s: %s, lifetime %.0fs", where, event.kind, event.ttl)
