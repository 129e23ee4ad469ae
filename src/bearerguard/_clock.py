"""The clock seams: everything that keeps time asks an injected clock, on one of two scales.

* :class:`WallClock` (default :func:`time.time`): POSIX seconds, for instants
  that leave the process or are compared with ones that did: a token's
  ``exp`` and ``iat``, a refresh grant's expiry, a signing key's age on disk.
* :class:`MonotonicClock` (default :func:`time.monotonic`): seconds that never
  go back, for durations inside the process only: a key set's lifetime, the
  refetch cooldown. Its zero means nothing; only differences count.

Tests pass a fake clock of the right scale and move it forward instead of
sleeping. Mixing them up is a bug a type checker catches: the two protocols
have the same shape, so the names are what keeps them apart in signatures.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["MonotonicClock", "WallClock"]


class WallClock(Protocol):
    """Returns POSIX seconds, like :func:`time.time`."""

    def __call__(self) -> float:
        """The current time in seconds since the epoch."""
        ...


class MonotonicClock(Protocol):
    """Returns seconds on a clock that never goes back, like :func:`time.monotonic`."""

    def __call__(self) -> float:
        """The current reading; compare it only with other readings of the same clock."""
        ...
