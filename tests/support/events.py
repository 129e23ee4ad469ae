"""Collects RemoteKeySet events (its ``on_event`` callback) for assertions."""

from __future__ import annotations

import threading

from bearerguard.keyset import KeySetEvent


class EventLog:
    """A thread-safe ``on_event`` callback that remembers every event."""

    def __init__(self) -> None:
        self._events: list[KeySetEvent] = []
        self._changed = threading.Condition()

    def __call__(self, event: KeySetEvent) -> None:
        with self._changed:
            self._events.append(event)
            self._changed.notify_all()

    @property
    def events(self) -> list[KeySetEvent]:
        with self._changed:
            return list(self._events)

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]

    def of(self, kind: str) -> list[KeySetEvent]:
        return [e for e in self.events if e.kind == kind]

    def wait_for(self, kind: str, count: int = 1, timeout: float = 5.0) -> None:
        """Block until *count* events of *kind* have arrived (fails after *timeout*)."""
        with self._changed:
            ok = self._changed.wait_for(
                lambda: sum(e.kind == kind for e in self._events) >= count, timeout
            )
        assert ok, f"no {count}x {kind!r} event within {timeout}s; got {self.kinds()}"

    def clear(self) -> None:
        with self._changed:
            self._events.clear()
