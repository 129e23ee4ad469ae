"""Single flight: concurrent callers for one key share one call.

:class:`Flights` runs a call for a key once while it is in flight; every
other caller for that key, from a thread (:meth:`Flights.run`) or an asyncio
task (:meth:`Flights.arun`), waits for the same outcome (result or
exception). An asyncio caller never blocks its event loop: the call runs in
the given executor (default: the loop's). A waiting task that is cancelled
leaves the call running for the others.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable
from concurrent import futures
from concurrent.futures import Executor
from typing import Generic, TypeVar

__all__ = ["Flights"]

T = TypeVar("T")


class Flights(Generic[T]):
    """The calls in flight, by key; thread-safe and asyncio-safe."""

    __slots__ = ("_lock", "_running")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[Hashable, futures.Future[T]] = {}

    def _join(self, key: Hashable) -> tuple[futures.Future[T], bool]:
        """The future for *key*, and whether this caller must make the call."""
        with self._lock:
            future = self._running.get(key)
            if future is not None:
                return future, False
            future = futures.Future()
            # A running future cannot be cancelled: a waiter giving up never
            # cancels the call the others wait for.
            future.set_running_or_notify_cancel()
            self._running[key] = future
            return future, True

    def _lead(self, key: Hashable, future: futures.Future[T], call: Callable[[], T]) -> None:
        try:
            result = call()
        except BaseException as exc:  # every waiter gets the leader's outcome
            with self._lock:
                self._running.pop(key, None)
            future.set_exception(exc)
        else:
            with self._lock:
                self._running.pop(key, None)
            future.set_result(result)

    def run(self, key: Hashable, call: Callable[[], T]) -> T:
        """*call*'s result, made once for all the threads asking for *key* now."""
        future, leader = self._join(key)
        if leader:
            self._lead(key, future, call)
        return future.result()

    async def arun(
        self, key: Hashable, call: Callable[[], T], executor: Executor | None = None
    ) -> T:
        """:meth:`run` for asyncio: *call* runs in *executor* (default: the loop's)."""
        future, leader = self._join(key)
        if leader:
            loop = asyncio.get_running_loop()
            loop.run_in_executor(executor, self._lead, key, future, call)
        return await asyncio.wrap_future(future)

    def __len__(self) -> int:
        """How many calls are in flight."""
        return len(self._running)
