"""The fleet, measured: N worker processes sharing (or not) their key sets through Redis.

``python benchmarks/fleet.py`` (``--workers 32`` by default; ``--write`` writes
``benchmarks/FLEET.md``). Loopback only; needs ``redis-server`` on ``PATH``:

* a :class:`~bearerguard.testing.LocalIssuer` on 127.0.0.1 (this process) that
  counts the JWKS and discovery requests it serves;
* a ``redis-server`` of its own on a free port, which the fault run restarts;
* N worker processes (spawned), each with its own ``Verifier``, with
  ``redis_url=`` (the shared store) or without (each process on its own).

Per mode it reports the identity provider's requests: at start-up (every worker
verifies its first token), per key rotation (every worker then verifies a token
of the new key), in the steady state (a short JWKS lifetime, so the key sets
refresh) and under a flood of made-up ``kid`` values. The fault run keeps every
worker verifying valid and forged tokens while Redis is stopped and started
again, keys rotate with Redis down, and the identity provider answers 503 for a
while: a forged token accepted is a wrong answer, a valid token refused is a
valid token refused while its key was available (each worker had it or could
fetch it). Both must be zero; the exit status is 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AUDIENCE = "api://fleet"
COOLDOWN = 2.0  # the workers' KeySetPolicy.cooldown (seconds); the timeout is the default 5 s
SETTLE = 1.0  # seconds for requests still in flight to reach the identity provider
JWKS_MAX_AGE = 4  # the identity provider's Cache-Control max-age in the steady-state phase
HERE = Path(__file__).resolve().parent


# -- a worker process ----------------------------------------------------------------------


def worker(number: int, issuer_url: str, redis_url: str | None, inbox: Any, outbox: Any) -> None:
    """One process of the fleet: runs the jobs it is sent, answers with their outcomes."""
    from bearerguard import BearerGuardError, Issuer, Validator
    from bearerguard.keyset import KeySetPolicy
    from bearerguard.verifier import Verifier

    policy = KeySetPolicy(cooldown=COOLDOWN, min_ttl=1, require_https=False)
    issuer = Issuer.from_oidc(
        issuer_url, validator=Validator(aud=AUDIENCE), policy=policy, lazy=True
    )
    # No verified-token cache: every request goes through the key set.
    verifier = Verifier([issuer], redis_url=redis_url, cache_size=0)

    def outcome(token: str) -> str:
        try:
            verifier.verify(token)
            return "ok"
        except BearerGuardError as exc:
            return f"{exc.status} {exc.code}"

    outbox.put((number, "ready"))
    while (job := inbox.get()) is not None:
        kind = job["kind"]
        counts: Counter[str] = Counter()
        if kind == "once":
            for token in job["tokens"]:
                counts[outcome(token)] += 1
        elif kind == "flood":
            deadline = time.monotonic() + job["seconds"]
            while time.monotonic() < deadline:
                for token in job["tokens"]:
                    counts[outcome(token)] += 1
        elif kind == "fault":
            # Valid tokens come from a file the driver rewrites after each rotation.
            path, forged = Path(job["tokens_file"]), job["forged"]
            deadline = time.monotonic() + job["seconds"]
            valid: list[str] = []
            read_at = 0.0
            while time.monotonic() < deadline:
                if time.monotonic() - read_at > 0.05:
                    valid = json.loads(path.read_text())
                    read_at = time.monotonic()
                for token in valid:
                    answer = outcome(token)
                    counts["valid ok" if answer == "ok" else f"valid refused ({answer})"] += 1
                for token in forged:
                    answer = outcome(token)
                    counts["forged accepted" if answer == "ok" else "forged refused"] += 1
                time.sleep(0.005)
        elif kind == "revoked":
            # Verify one token until it is refused; report when (CLOCK_MONOTONIC is
            # the same clock in every process of the machine).
            deadline = time.monotonic() + job["seconds"]
            while time.monotonic() < deadline:
                answer = outcome(job["token"])
                counts[answer] += 1
                if answer != "ok":
                    outbox.put((number, {"refused_at": time.monotonic(), "answer": answer}))
                    break
                time.sleep(0.01)
            else:
                outbox.put((number, {"refused_at": None, "answer": "ok"}))
            continue
        outbox.put((number, dict(counts)))


class Fleet:
    """*size* worker processes verifying tokens of one issuer."""

    def __init__(self, size: int, issuer_url: str, redis_url: str | None) -> None:
        context = multiprocessing.get_context("spawn")
        self._inboxes = [context.Queue() for _ in range(size)]
        self._outbox: Any = context.Queue()
        self._processes = [
            context.Process(
                target=worker, args=(n, issuer_url, redis_url, inbox, self._outbox), daemon=True
            )
            for n, inbox in enumerate(self._inboxes)
        ]
        for process in self._processes:
            process.start()
        self._collect()

    def _collect(self) -> list[Any]:
        answers = dict(self._outbox.get(timeout=300) for _ in self._processes)
        return [answers[n] for n in range(len(self._processes))]

    def run(self, **job: Any) -> Counter[str]:
        """Every worker runs *job*; the outcomes summed over the fleet.

        Returns a moment after the last answer, so that fetches a worker gave up
        waiting for (they carry on in the background) are counted with this job.
        """
        for inbox in self._inboxes:
            inbox.put(job)
        total: Counter[str] = Counter()
        for counts in self._collect():
            total.update(counts)
        time.sleep(SETTLE)
        return total

    def run_each(self, **job: Any) -> list[Any]:
        """Every worker runs *job*; each worker's answer."""
        for inbox in self._inboxes:
            inbox.put(job)
        return self._collect()

    def close(self) -> None:
        for inbox in self._inboxes:
            inbox.put(None)
        for process in self._processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()


# -- Redis -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A redis-server on a free loopback port that can be stopped and started again."""

    def __init__(self, workdir: str) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            sys.exit("redis-server is not on PATH (apt-get install redis-server)")
        self._exe = exe
        self._workdir = workdir
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None
        self.version = (
            subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
            .stdout.split()[2]
            .removeprefix("v=")
        )

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                self._exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._workdir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.02)
        sys.exit("redis-server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None


# -- the measurements ------------------------------------------------------------------------


@dataclass
class Mode:
    """What one mode (with or without the shared store) cost the identity provider."""

    name: str
    startup_jwks: int = 0
    startup_discovery: int = 0
    per_rotation: list[int] = field(default_factory=list)
    steady_seconds: float = 0.0
    steady_refreshes: int = 0
    flood_seconds: float = 0.0
    flood_fetches: int = 0
    flood_verifications: int = 0
    answers: Counter[str] = field(default_factory=Counter)


def measure(
    name: str, workers: int, redis: RedisServer | None, rotations: int, steady: float, flood: float
) -> Mode:
    from bearerguard.testing import LocalIssuer

    mode = Mode(name)
    with LocalIssuer(audience=AUDIENCE, jwks_max_age=300) as idp:
        fleet = Fleet(workers, idp.url, redis.url if redis else None)
        try:
            mode.answers.update(fleet.run(kind="once", tokens=[idp.mint()]))
            mode.startup_jwks = idp.count(idp.jwks_path)
            mode.startup_discovery = idp.count(idp.oidc_path)
            for _ in range(rotations):
                time.sleep(COOLDOWN)
                idp.rotate()
                before = idp.count(idp.jwks_path)
                mode.answers.update(fleet.run(kind="once", tokens=[idp.mint()]))
                mode.per_rotation.append(idp.count(idp.jwks_path) - before)
            time.sleep(COOLDOWN)
            made_up = [idp.mint(headers={"kid": f"made-up-{n}"}) for n in range(200)]
            before = idp.count(idp.jwks_path)
            started = time.monotonic()
            flooded = fleet.run(kind="flood", tokens=made_up, seconds=flood)
            mode.flood_seconds = time.monotonic() - started - SETTLE
            mode.flood_fetches = idp.count(idp.jwks_path) - before
            mode.flood_verifications = sum(flooded.values())
            mode.answers.update(flooded)
        finally:
            fleet.close()
    # Steady state: a JWKS lifetime of a few seconds, so key sets refresh during the run.
    with LocalIssuer(audience=AUDIENCE, jwks_max_age=JWKS_MAX_AGE) as idp:
        fleet = Fleet(workers, idp.url, redis.url if redis else None)
        try:
            fleet.run(kind="once", tokens=[idp.mint()])
            before = idp.count(idp.jwks_path)
            started = time.monotonic()
            mode.answers.update(fleet.run(kind="flood", tokens=[idp.mint()], seconds=steady))
            mode.steady_seconds = time.monotonic() - started - SETTLE
            mode.steady_refreshes = idp.count(idp.jwks_path) - before
        finally:
            fleet.close()
    return mode


@dataclass
class FaultRun:
    seconds: float = 0.0
    answers: Counter[str] = field(default_factory=Counter)
    jwks_fetches: int = 0
    timeline: list[str] = field(default_factory=list)


def fault_run(workers: int, redis: RedisServer, seconds: float) -> FaultRun:
    """Valid and forged tokens at every worker while Redis restarts and the IdP goes down."""
    import threading

    from bearerguard.testing import LocalIssuer

    result = FaultRun()
    with tempfile.TemporaryDirectory() as tmp, LocalIssuer(audience=AUDIENCE) as idp:
        tokens_file = Path(tmp) / "tokens.json"

        def publish_tokens() -> None:
            fresh = Path(tmp) / "tokens.new"
            fresh.write_text(json.dumps([idp.mint(), idp.mint(scopes=["orders:read"])]))
            os.replace(fresh, tokens_file)

        publish_tokens()
        valid = idp.mint()
        forged = [
            valid[: valid.rindex(".") + 1] + "A" * (len(valid) - valid.rindex(".") - 1),
            idp.mint(expires_in=-3600),
            idp.mint(audience="api://other"),
        ]
        fleet = Fleet(workers, idp.url, redis.url)
        fleet.run(kind="once", tokens=[valid])
        before = idp.count(idp.jwks_path)
        started = time.monotonic()

        def mark(event: str) -> None:
            result.timeline.append(f"{time.monotonic() - started:5.1f} s  {event}")

        def chaos() -> None:
            # Ten steps in all, the last two with the final keys in use.
            step = (seconds - 2 * COOLDOWN) / 10
            time.sleep(step)
            redis.stop()
            mark("Redis stopped")
            time.sleep(step)
            idp.publish_next_key()
            time.sleep(COOLDOWN)
            idp.rotate()
            publish_tokens()
            mark("keys rotated (Redis down): tokens signed with the new key")
            time.sleep(step)
            redis.start()
            mark("Redis started again (empty)")
            time.sleep(step * 2)
            idp.force_status(503)
            mark("identity provider answers 503 to everything")
            time.sleep(step * 2)
            idp.clear_faults()
            mark("identity provider back")
            time.sleep(step)
            idp.publish_next_key()
            time.sleep(COOLDOWN)
            idp.rotate()
            publish_tokens()
            mark("keys rotated (Redis up): tokens signed with the new key")

        thread = threading.Thread(target=chaos, daemon=True)
        thread.start()
        result.answers = fleet.run(
            kind="fault", tokens_file=str(tokens_file), forged=forged, seconds=seconds
        )
        thread.join()
        result.seconds = time.monotonic() - started
        result.jwks_fetches = idp.count(idp.jwks_path) - before
        fleet.close()
    return result


def revocation_propagation(workers: int, redis: RedisServer) -> str:
    """Seconds from a revoke_subject() until every worker refuses the subject's token."""
    from bearerguard import Revocations
    from bearerguard.testing import LocalIssuer

    with LocalIssuer(audience=AUDIENCE) as idp:
        token = idp.mint(sub="leaver")
        fleet = Fleet(workers, idp.url, redis.url)
        try:
            fleet.run(kind="once", tokens=[token])
            for inbox in fleet._inboxes:
                inbox.put({"kind": "revoked", "token": token, "seconds": 30.0})
            time.sleep(1.0)  # every worker is in its loop, accepting the token
            revocations = Revocations.from_url(redis.url)
            revoked_at = time.monotonic()
            revocations.revoke_subject("leaver")
            answers = fleet._collect()
        finally:
            fleet.close()
    delays = sorted(a["refused_at"] - revoked_at for a in answers if a["refused_at"] is not None)
    refusals = Counter(a["answer"] for a in answers)
    if len(delays) < workers:
        return f"{workers - len(delays)} of {workers} workers never refused the revoked token."
    median = delays[len(delays) // 2]
    return (
        f"`Revocations.revoke_subject()` written once; each of the {workers} workers verifies "
        f"a token of that subject every 10 ms (default `staleness` 5 s): every worker refused "
        f"it within **{delays[-1]:.2f} s** (median {median:.2f} s, first {delays[0]:.2f} s); "
        f"answers: {', '.join(f'{k} ({v})' for k, v in sorted(refusals.items()))}."
    )


# -- report ----------------------------------------------------------------------------------


def versions(redis: RedisServer) -> str:
    from importlib.metadata import version

    import bearerguard

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}; bearerguard {bearerguard.__version__}; "
        f"redis-py {version('redis')}; redis-server {redis.version}"
    )


def report(
    workers: int, machine: str, modes: list[Mode], fault: FaultRun | None, revocation: str
) -> str:
    lines = [
        "# The fleet: JWKS fetches with and without shared key sets",
        "",
        f"Written by `python benchmarks/fleet.py --write` (`--workers {workers}`). {machine}.",
        "",
        f"{workers} worker processes, each with its own `Verifier` (no verified-token cache), "
        "verify tokens of one `LocalIssuer` on 127.0.0.1, with `redis_url=` (the shared "
        "store) or without. Key-set policy: `cooldown` "
        f"{COOLDOWN:g} s, `min_ttl` 1 s, the rest default (`timeout` 5 s). Counts are requests "
        "the identity provider received. A 503 among the answers is a key fetch that did not "
        "finish within the timeout (the local identity provider is Python's `http.server`, "
        "with a listen backlog of 5, on the same CPUs as the workers).",
        "",
        "| | " + " | ".join(m.name for m in modes) + " |",
        "|---|" + "---|" * len(modes),
        "| start-up: discovery + JWKS fetches | "
        + " | ".join(f"{m.startup_discovery} + {m.startup_jwks}" for m in modes)
        + " |",
        "| JWKS fetches per rotation (each rotation) | "
        + " | ".join(", ".join(map(str, m.per_rotation)) for m in modes)
        + " |",
        f"| steady state, JWKS `max-age={JWKS_MAX_AGE}`: fetches per lifetime | "
        + " | ".join(
            f"{m.steady_refreshes / (m.steady_seconds / JWKS_MAX_AGE):.1f} "
            f"({m.steady_refreshes} in {m.steady_seconds:.0f} s)"
            for m in modes
        )
        + " |",
        "| made-up `kid` flood: JWKS fetches per cooldown | "
        + " | ".join(
            f"{m.flood_fetches / (m.flood_seconds / COOLDOWN):.1f} "
            f"({m.flood_fetches} in {m.flood_seconds:.0f} s, {m.flood_verifications:,} tokens)"
            for m in modes
        )
        + " |",
        "| answers | "
        + " | ".join(", ".join(f"{k}: {v:,}" for k, v in sorted(m.answers.items())) for m in modes)
        + " |",
        "",
    ]
    if fault is not None:
        wrong = fault.answers.get("forged accepted", 0)
        refused = sum(v for k, v in fault.answers.items() if k.startswith("valid refused"))
        lines += [
            "## Fault run (shared store)",
            "",
            f"Every worker verifies two valid and three forged tokens (bad signature, expired, "
            f"wrong audience) in a loop for {fault.seconds:.0f} s while:",
            "",
            "```text",
            *fault.timeline,
            "```",
            "",
            "| outcome | count |",
            "|---|---|",
            *(f"| {k} | {v:,} |" for k, v in sorted(fault.answers.items())),
            f"| **wrong answers** (forged accepted) | **{wrong}** |",
            f"| **valid tokens refused** (their key was available) | **{refused}** |",
            f"| JWKS fetches during the run | {fault.jwks_fetches} |",
            "",
        ]
    lines += ["## Revocation propagation", "", revocation, ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=32, help="worker processes (32)")
    parser.add_argument("--rotations", type=int, default=3, help="key rotations per mode (3)")
    parser.add_argument("--steady", type=float, default=12.0, help="steady-state seconds (12)")
    parser.add_argument("--flood", type=float, default=8.0, help="kid-flood seconds (8)")
    parser.add_argument("--fault-seconds", type=float, default=30.0, help="fault run (30 s)")
    parser.add_argument("--no-fault", action="store_true", help="skip the fault run")
    parser.add_argument("--write", action="store_true", help="write benchmarks/FLEET.md")
    args = parser.parse_args()
    # A terminated run still stops its workers and its redis-server (the finally blocks).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    with tempfile.TemporaryDirectory() as workdir:
        redis = RedisServer(workdir)
        redis.start()
        try:
            machine = versions(redis)
            print(machine, flush=True)
            modes = []
            for name, server in (("with `redis_url=`", redis), ("without", None)):
                print(f"measuring {name} ...", flush=True)
                modes.append(
                    measure(name, args.workers, server, args.rotations, args.steady, args.flood)
                )
            fault = None
            if not args.no_fault:
                print("fault run ...", flush=True)
                fault = fault_run(args.workers, redis, args.fault_seconds)
            print("revocation propagation ...", flush=True)
            revocation = revocation_propagation(args.workers, redis)
        finally:
            redis.stop()
    text = report(args.workers, machine, modes, fault, revocation)
    print(text)
    if args.write:
        (HERE / "FLEET.md").write_text(text, encoding="utf-8")
    if fault is not None:
        bad = fault.answers.get("forged accepted", 0) + sum(
            v for k, v in fault.answers.items() if k.startswith("valid refused")
        )
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
