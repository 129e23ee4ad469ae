"""One fetch shared by every thread and task; waits are bounded; the loop never blocks."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence

import pytest

from bearerguard import KeySetUnavailable, PublicJWK
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from tests.support.events import EventLog
from tests.support.jwks_server import JWKSServer, Reply
from tests.support.keys import jwks

from .conftest import JWKS_PATH

CALLERS = 500


def _run_threads(target: Callable[[int], None], n: int) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_cold_start_500_threads_make_one_fetch(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"), delay=0.2)
    keyset = make_keyset()
    barrier = threading.Barrier(CALLERS)
    results: list[Sequence[PublicJWK]] = [()] * CALLERS

    def call(i: int) -> None:
        barrier.wait()
        results[i] = keyset.get_keys("k1")

    _run_threads(call, CALLERS)
    assert server.count() == 1
    assert {tuple(k.kid for k in r) for r in results} == {("k1",)}


def test_cold_start_500_tasks_make_one_fetch(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"), delay=0.2)
    keyset = make_keyset()

    async def main() -> list[Sequence[PublicJWK]]:
        return await asyncio.gather(*(keyset.aget_keys("k1") for _ in range(CALLERS)))

    results = asyncio.run(main())
    assert server.count() == 1
    assert {tuple(k.kid for k in r) for r in results} == {("k1",)}


def test_threads_and_tasks_share_the_same_fetch(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    """250 threads and 250 tasks (in another thread's loop) arrive together: 1 fetch."""
    server.set_json(JWKS_PATH, jwks("k1"), delay=0.3)
    keyset = make_keyset()
    barrier = threading.Barrier(251)
    found: list[str] = []

    def sync_caller(i: int) -> None:
        barrier.wait()
        found.append(keyset.get_keys("k1")[0].kid)

    async def many_tasks() -> None:
        barrier.wait()
        results = await asyncio.gather(*(keyset.aget_keys("k1") for _ in range(250)))
        found.extend(r[0].kid for r in results)

    loop_thread = threading.Thread(target=lambda: asyncio.run(many_tasks()))
    loop_thread.start()
    _run_threads(sync_caller, 250)
    loop_thread.join()
    assert server.count() == 1
    assert found == ["k1"] * 500


def test_cancelled_caller_does_not_cancel_the_shared_fetch(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    gate = threading.Event()
    server.set_json(JWKS_PATH, jwks("k1"), gate=gate)
    keyset = make_keyset()

    async def main() -> Sequence[PublicJWK]:
        quitter = asyncio.create_task(keyset.aget_keys("k1"))
        patient = asyncio.create_task(keyset.aget_keys("k1"))
        await asyncio.sleep(0.05)
        quitter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await quitter
        gate.set()  # the IdP answers only after the quitter is gone
        return await patient

    keys = asyncio.run(main())
    assert [k.kid for k in keys] == ["k1"]
    assert server.count() == 1


def test_fetch_completes_after_its_only_caller_was_cancelled(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet], events: EventLog
) -> None:
    gate = threading.Event()
    server.set_json(JWKS_PATH, jwks("k1"), gate=gate)
    keyset = make_keyset()

    async def main() -> None:
        task = asyncio.create_task(keyset.aget_keys("k1"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    gate.set()
    events.wait_for("fetched")
    assert [k.kid for k in keyset.get_keys("k1")] == ["k1"]
    assert server.count() == 1


def test_event_loop_keeps_ticking_during_a_slow_fetch(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set_json(JWKS_PATH, jwks("k1"), delay=0.5)
    keyset = make_keyset()

    async def main() -> int:
        ticks = 0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not done.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.create_task(ticker())
        await keyset.aget_keys("k1")
        done.set()
        await ticking
        return ticks

    ticks = asyncio.run(main())
    # ~50 ticks fit in 0.5 s; a loop blocked by the fetch would tick once.
    assert ticks >= 10
    assert server.count() == 1


FAST = KeySetPolicy(timeout=0.3)


def test_thread_waits_no_longer_than_timeout_on_a_hanging_idp(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set(JWKS_PATH, Reply(hang=True))
    keyset = make_keyset(FAST)
    started = time.monotonic()
    with pytest.raises(KeySetUnavailable):
        keyset.get_keys("k1")
    assert time.monotonic() - started < FAST.timeout + 0.5  # the hang lasts until teardown
    assert server.count() == 1


def test_task_waits_no_longer_than_timeout_on_a_hanging_idp(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet]
) -> None:
    server.set(JWKS_PATH, Reply(hang=True))
    keyset = make_keyset(FAST)

    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(KeySetUnavailable):
            await keyset.aget_keys("k1")
        return time.monotonic() - started

    assert asyncio.run(main()) < FAST.timeout + 0.5
    assert server.count() == 1


def test_waiter_that_gives_up_gets_keys_once_the_slow_fetch_lands(
    server: JWKSServer, make_keyset: Callable[..., RemoteKeySet], events: EventLog
) -> None:
    """The fetch outlives a timed-out caller and serves the next one: still 1 fetch."""
    gate = threading.Event()
    server.set_json(JWKS_PATH, jwks("k1"), gate=gate)
    keyset = make_keyset(KeySetPolicy(timeout=2.0))
    seen: list[str] = []

    async def impatient() -> None:
        try:
            await asyncio.wait_for(keyset.aget_keys("k1"), 0.05)
        except asyncio.TimeoutError:
            seen.append("gave up")

    asyncio.run(impatient())
    gate.set()
    events.wait_for("fetched")
    seen.append(keyset.get_keys("k1")[0].kid)
    assert seen == ["gave up", "k1"]
    assert server.count() == 1
