"""The Redis link behind ``redis_url=``: short timeouts and a circuit breaker.

A Redis that does not answer costs one timeout per retry interval, not one per
call; the link then tries again, once, and closes when Redis answers.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bearerguard._redis_link import RedisLink, RedisUnavailable
from tests.issuing.redis_server import redis_server
from tests.support.clock import FakeClock

pytestmark = pytest.mark.redis


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    stop.set()
    thread.join(timeout=5)
    for connection in held:
        connection.close()
    listener.close()


def _ping(client: Any) -> Any:
    return client.ping()


def test_a_silent_redis_costs_one_timeout_per_interval(silent_server: str) -> None:
    """Twenty calls to a Redis that never answers: one waits the timeout, the rest fail at once."""
    clock = FakeClock()
    link = RedisLink(silent_server, timeout=0.2, retry_interval=5, clock=clock)
    started = time.monotonic()
    for _ in range(20):
        with pytest.raises(RedisUnavailable):
            link.run(_ping)
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 0.6
    assert link.failures == 1


def test_after_the_interval_one_call_tries_again(silent_server: str) -> None:
    """Once the retry interval has passed, the next call tries Redis (and waits) again."""
    clock = FakeClock()
    link = RedisLink(silent_server, timeout=0.2, retry_interval=5, clock=clock)
    with pytest.raises(RedisUnavailable):
        link.run(_ping)
    assert not link.available()
    clock.advance(5)
    assert link.available()
    with pytest.raises(RedisUnavailable):
        link.run(_ping)
    assert link.failures == 2


def test_the_link_closes_when_redis_answers_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A paused Redis (CLIENT PAUSE) times out; after the interval the link works again and
    says so once on bearerguard.redis."""
    clock = FakeClock()
    with redis_server(tmp_path, dedicated=True) as url:
        link = RedisLink(url, timeout=0.2, retry_interval=5, clock=clock)
        assert link.run(_ping) is True
        pauser = RedisLink(url, timeout=2)
        pauser.run(lambda r: r.execute_command("CLIENT", "PAUSE", 700, "ALL"))
        with caplog.at_level(logging.WARNING, logger="bearerguard.redis"):
            with pytest.raises(RedisUnavailable):
                link.run(_ping)
            time.sleep(0.8)  # the pause ends
            with pytest.raises(RedisUnavailable):
                link.run(_ping)  # still inside the interval: not tried
            clock.advance(5)
            assert link.run(_ping) is True
        pauser.close()
        link.close()
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert "failed (TimeoutError): working without it, retrying every 5s" in messages[0]
    assert messages[1].endswith("answers again")


def test_log_lines_never_show_the_password() -> None:
    """The link names its server without credentials."""
    link = RedisLink("rediss://app:hunter2@redis.internal:6380/4")
    assert link.where == "rediss://redis.internal:6380/4"
