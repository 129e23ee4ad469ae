"""A real redis-server for the Redis store tests, started on a free loopback port.

``BEARERGUARD_REDIS_URL`` points the tests at an existing server instead. With
no server to be found the tests skip, unless ``BEARERGUARD_REQUIRE_REDIS=1``
(set by ``.ci/run``), which makes them fail instead. A test that needs a server
of its own (a memory limit, an eviction policy) passes ``dedicated=True`` and
the extra ``redis-server`` options; it never touches the shared server.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

STARTUP_TIMEOUT = 10.0


def _unavailable(reason: str) -> None:
    if os.environ.get("BEARERGUARD_REQUIRE_REDIS") == "1":
        pytest.fail(f"{reason} (BEARERGUARD_REQUIRE_REDIS=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def redis_server(
    workdir: Path, options: Sequence[str] = (), *, dedicated: bool = False
) -> Iterator[str]:
    """Yield the URL of a running Redis: BEARERGUARD_REDIS_URL's, or one started here.

    *options* are extra ``redis-server`` arguments; *dedicated* always starts
    a server of its own, whatever BEARERGUARD_REDIS_URL says.
    """
    url = os.environ.get("BEARERGUARD_REDIS_URL")
    if url and not dedicated:
        yield url
        return
    exe = shutil.which("redis-server")
    if exe is None:
        _unavailable("redis-server is not on PATH; install it or set BEARERGUARD_REDIS_URL")
        return
    for _attempt in range(3):  # the free port may be taken between probe and bind
        port = _free_port()
        proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                *options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while proc.poll() is None and time.monotonic() < deadline:
            if _answers_ping(port):
                break
            time.sleep(0.02)
        if proc.poll() is None and _answers_ping(port):
            try:
                yield f"redis://127.0.0.1:{port}/0"
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            return
        proc.kill()
        proc.wait()
    _unavailable("redis-server did not start and answer PING")
