"""A clock the tests move by hand: key-set lifetimes expire without sleeping."""

from __future__ import annotations


class FakeClock:
    """Monotonic seconds, starting at 1000; ``advance`` moves it forward."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
