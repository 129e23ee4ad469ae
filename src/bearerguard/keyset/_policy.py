"""Policy of a :class:`~bearerguard.keyset.RemoteKeySet`: lifetimes, cooldowns, limits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .._caching import cache_lifetime
from .._errors import ConfigurationError
from .._limits import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT
from .._rules import seconds

__all__ = ["MAX_ABSENT_KIDS", "MAX_REDIRECTS", "KeySetPolicy"]

#: How many kids proven absent are remembered (oldest dropped first).
MAX_ABSENT_KIDS = 1024
#: Redirects followed when ``follow_redirects=True``.
MAX_REDIRECTS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class KeySetPolicy:
    """How a :class:`RemoteKeySet` caches, refreshes and fetches (times in seconds).

    ``default_ttl``: lifetime when the response has no ``Cache-Control: max-age``;
    ``min_ttl``/``max_ttl``: bounds on the honoured ``max-age`` (minus ``Age``);
    ``refresh_ahead``: fraction of the lifetime at which a background refresh
    starts; ``cooldown``: at most one unknown-``kid`` refetch (and one retry
    after a failure) per this many seconds; ``absent_ttl``: how long a ``kid``
    that a completed fetch proved absent causes no refetch (after that it may
    cause one more, still within the cooldown; so a kid probed before the
    identity provider publishes it is not locked out for a whole key-set
    lifetime); ``max_stale``: how long past its
    lifetime the last good set keeps serving while fetches fail; ``timeout``:
    per HTTP request, and the longest any caller waits for keys; ``max_bytes``:
    response size cap; ``require_https``: plain http only for loopback hosts;
    ``follow_redirects``: follow up to three redirects (each target checked
    like the configured URL).
    """

    default_ttl: float = 900
    min_ttl: float = 60
    max_ttl: float = 86400
    refresh_ahead: float = 0.75
    cooldown: float = 30
    absent_ttl: float = 300
    max_stale: float = 86400
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_MAX_BYTES
    require_https: bool = True
    follow_redirects: bool = False

    def __post_init__(self) -> None:
        for name in ("default_ttl", "min_ttl", "max_ttl", "cooldown", "absent_ttl", "timeout"):
            seconds(getattr(self, name), f"KeySetPolicy.{name}", positive=True)
        seconds(self.max_stale, "KeySetPolicy.max_stale")
        if not self.min_ttl <= self.default_ttl <= self.max_ttl:
            raise ConfigurationError("KeySetPolicy needs min_ttl <= default_ttl <= max_ttl")
        ra = self.refresh_ahead
        if isinstance(ra, bool) or not isinstance(ra, int | float) or not 0 < ra <= 1:
            raise ConfigurationError("KeySetPolicy.refresh_ahead must be in (0, 1]")
        if isinstance(self.max_bytes, bool) or not isinstance(self.max_bytes, int):
            raise ConfigurationError("KeySetPolicy.max_bytes must be an integer")
        if self.max_bytes < 1024:
            raise ConfigurationError("KeySetPolicy.max_bytes must be at least 1024")
        for name in ("require_https", "follow_redirects"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"KeySetPolicy.{name} must be True or False")

    def lifetime(self, headers: Mapping[str, str]) -> float:
        """The lifetime of a response with *headers*, clamped to [min_ttl, max_ttl]."""
        stated = cache_lifetime(headers)
        if stated is None:
            return float(self.default_ttl)
        return float(min(max(stated, self.min_ttl), self.max_ttl))
