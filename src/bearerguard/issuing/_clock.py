"""The clock seam: everything that expires asks an injected clock for the time."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Clock"]


class Clock(Protocol):
    """Returns POSIX seconds, like :func:`time.time` (the default everywhere).

    Tests pass a fake clock and move it forward instead of sleeping.
    """

    def __call__(self) -> float:
        """The current time in seconds since the epoch."""
        ...
