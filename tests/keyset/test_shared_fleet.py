"""A fleet of real processes sharing one key set through a real redis-server.

Each worker is a separate Python process (``multiprocessing``, spawned) with its
own ``Verifier(redis_url=...)``; the identity provider is a ``LocalIssuer`` on
127.0.0.1 that counts the JWKS requests the whole fleet makes.
"""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis

from bearerguard.testing import LocalIssuer
from tests.issuing.redis_server import redis_server

pytestmark = pytest.mark.redis

AUD = "api://fleet"
SIZE = 6
COOLDOWN = 1.0


def _worker(number: int, issuer_url: str, redis_url: str | None, inbox: Any, outbox: Any) -> None:
    """One process of the fleet: verifies what it is sent, answers with the outcomes."""
    from bearerguard import BearerGuardError, Issuer, Validator
    from bearerguard.keyset import KeySetPolicy
    from bearerguard.verifier import Verifier

    policy = KeySetPolicy(cooldown=COOLDOWN)  # the default 5 s timeout: CI machines are slow
    issuer = Issuer.from_oidc(issuer_url, validator=Validator(aud=AUD), policy=policy, lazy=True)
    verifier = Verifier([issuer], redis_url=redis_url)
    outbox.put((number, "ready"))
    while (job := inbox.get()) is not None:
        kind, tokens, seconds = job
        outcomes: dict[str, int] = {}
        deadline = time.monotonic() + seconds
        while True:
            for token in tokens:
                try:
                    verifier.verify(token)
                    outcome = "ok"
                except BearerGuardError as exc:
                    outcome = f"{exc.status} {exc.code}"
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
            if kind == "once" or time.monotonic() >= deadline:
                break
        outbox.put((number, outcomes))


class Fleet:
    """*size* worker processes verifying tokens of *issuer_url*, with or without Redis."""

    def __init__(self, size: int, issuer_url: str, redis_url: str | None) -> None:
        context = multiprocessing.get_context("spawn")
        self._inboxes = [context.Queue() for _ in range(size)]
        self._outbox = context.Queue()
        self._processes = [
            context.Process(
                target=_worker,
                args=(n, issuer_url, redis_url, inbox, self._outbox),
                daemon=True,
            )
            for n, inbox in enumerate(self._inboxes)
        ]
        for process in self._processes:
            process.start()
        self._collect()

    def _collect(self) -> list[Any]:
        answers = dict(self._outbox.get(timeout=120) for _ in self._processes)
        return [answers[n] for n in range(len(self._processes))]

    def verify(self, *tokens: str) -> list[dict[str, int]]:
        """Every process verifies *tokens* once; the outcomes per process."""
        for inbox in self._inboxes:
            inbox.put(("once", tokens, 0.0))
        return self._collect()

    def flood(self, tokens: list[str], seconds: float) -> list[dict[str, int]]:
        """Every process verifies *tokens* over and over for *seconds*."""
        for inbox in self._inboxes:
            inbox.put(("loop", tokens, seconds))
        return self._collect()

    def close(self) -> None:
        for inbox in self._inboxes:
            inbox.put(None)
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


class RedisProcess:
    """A redis-server of this test's own, which the test can stop and start again."""

    def __init__(self, url: str, workdir: Path) -> None:
        self.url = url
        self._port = urlsplit(url).port
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    def stop(self) -> None:
        client = redis.Redis.from_url(self.url)
        try:
            client.shutdown(nosave=True)
        except redis.ConnectionError:
            pass  # the server closes the connection as it goes
        finally:
            client.close()
        if self._process is not None:
            self._process.wait(timeout=10)
            self._process = None

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe is not None
        self._process = subprocess.Popen(
            [
                exe,
                "--port",
                str(self._port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not come back"
                time.sleep(0.05)
        client.close()

    def close(self) -> None:
        if self._process is not None:
            self.stop()


@pytest.fixture
def idp() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=AUD) as issuer:
        yield issuer


@pytest.fixture
def redis_process(tmp_path: Path) -> Iterator[RedisProcess]:
    with redis_server(tmp_path, dedicated=True) as url:
        process = RedisProcess(url, tmp_path)
        yield process
        process.close()


@pytest.fixture
def fleet(idp: LocalIssuer, redis_process: RedisProcess) -> Iterator[Fleet]:
    started = Fleet(SIZE, idp.url, redis_process.url)
    yield started
    started.close()


def _jwks_fetches(idp: LocalIssuer) -> int:
    return idp.count(idp.jwks_path)


@pytest.mark.parametrize(
    ("shared", "fetches"),
    [pytest.param(True, 1, id="with-redis"), pytest.param(False, SIZE, id="without-redis")],
)
def test_processes_fetch_the_jwks_once_with_redis(
    idp: LocalIssuer, redis_process: RedisProcess, shared: bool, fetches: int
) -> None:
    """Six processes verifying their first token: one JWKS fetch with redis_url=, six without;
    six discoveries either way (each process finds its jwks_uri itself)."""
    fleet = Fleet(SIZE, idp.url, redis_process.url if shared else None)
    try:
        outcomes = fleet.verify(idp.mint())
    finally:
        fleet.close()
    assert outcomes == [{"ok": 1}] * SIZE
    assert _jwks_fetches(idp) == fetches
    assert idp.count(idp.oidc_path) == SIZE


def test_a_rotation_costs_one_fetch_for_the_fleet(idp: LocalIssuer, fleet: Fleet) -> None:
    """The first tokens of a new key, at every process at once: one JWKS fetch in all."""
    assert fleet.verify(idp.mint()) == [{"ok": 1}] * SIZE
    time.sleep(COOLDOWN)
    idp.rotate()
    assert fleet.verify(idp.mint()) == [{"ok": 1}] * SIZE
    assert _jwks_fetches(idp) == 2


def test_a_kid_flood_costs_at_most_one_fetch_per_cooldown(idp: LocalIssuer, fleet: Fleet) -> None:
    """Six processes flooding made-up kids for 4 cooldowns: at most one fetch per cooldown."""
    assert fleet.verify(idp.mint()) == [{"ok": 1}] * SIZE
    time.sleep(COOLDOWN)
    made_up = [idp.mint(headers={"kid": f"made-up-{n}"}) for n in range(50)]
    before = _jwks_fetches(idp)
    started = time.monotonic()
    outcomes = fleet.flood(made_up, 4 * COOLDOWN)
    elapsed = time.monotonic() - started
    assert all(set(o) == {"401 invalid_token"} for o in outcomes), outcomes
    # One fetch may start at the very beginning and one at each cooldown boundary.
    assert _jwks_fetches(idp) - before <= int(elapsed / COOLDOWN) + 1


def test_redis_stopped_mid_test_processes_fetch_alone_and_keep_verifying(
    idp: LocalIssuer, fleet: Fleet, redis_process: RedisProcess
) -> None:
    """Redis stops, the keys rotate: every valid token still verifies, each process
    fetching for itself; with Redis back, the fleet shares its fetches again."""
    assert fleet.verify(idp.mint()) == [{"ok": 1}] * SIZE
    redis_process.stop()
    time.sleep(COOLDOWN)
    idp.rotate()
    before = _jwks_fetches(idp)
    assert fleet.verify(idp.mint(), idp.mint(kid=idp.keys[0].kid)) == [{"ok": 2}] * SIZE
    assert 1 <= _jwks_fetches(idp) - before <= SIZE
    redis_process.start()
    time.sleep(5.5)  # the link's breaker tries Redis again after 5 s
    idp.rotate()
    before = _jwks_fetches(idp)
    assert fleet.verify(idp.mint()) == [{"ok": 1}] * SIZE
    assert _jwks_fetches(idp) - before == 1
