"""End to end over real HTTP: uvicorn on 127.0.0.1, driven by ``wrk``.

A :class:`~bearerguard.testing.LocalIssuer` serves discovery and the JWKS on
127.0.0.1 and mints one RS256-2048 access token; every contender of
``e2e_apps.py`` runs in its own uvicorn process (one worker, no access log)
and fetches its keys from that issuer. Then, in rounds, each contender is
loaded by ``wrk`` for a few seconds with that token, in an order that rotates
from round to round. Each round's requests/s is divided by the no-auth app of
the same framework measured in the same round; the table gives the medians
over rounds, the min–max of the paired ratio, and wrk's p50 and p99 latency
(medians over rounds).

``wrk`` is a system package (``apt-get install wrk``, ``brew install wrk``);
nothing here installs it. Run: ``python benchmarks/e2e.py`` (``run.py``
includes it as the ``e2e`` section of ``RESULTS.md``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
from _report import load, machine, stamp

HERE = Path(__file__).resolve().parent
AUDIENCE = "api://orders"
CONNECTIONS = 16

# (name, factory in e2e_apps, baseline name)
CONTENDERS = (
    ("Starlette, no auth", "starlette_noauth", "Starlette, no auth"),
    ("Starlette + bearerguard JWTAuth (cache on)", "starlette_bearerguard", "Starlette, no auth"),
    (
        "Starlette + bearerguard JWTAuth (cache off)",
        "starlette_bearerguard_nocache",
        "Starlette, no auth",
    ),
    ("FastAPI, no auth", "fastapi_noauth", "FastAPI, no auth"),
    ("FastAPI + bearerguard JWTAuth (cache on)", "fastapi_bearerguard", "FastAPI, no auth"),
    (
        "FastAPI + bearerguard JWTAuth (cache off)",
        "fastapi_bearerguard_nocache",
        "FastAPI, no auth",
    ),
    ("FastAPI + PyJWT PyJWKClient dependency", "fastapi_pyjwt", "FastAPI, no auth"),
    ("FastAPI + Authlib ResourceProtector (RFC 9068)", "fastapi_authlib", "FastAPI, no auth"),
)


class WrkMissing(SystemExit):
    pass


def require_wrk() -> str:
    """The path of ``wrk``; exit with how to install it when it is missing."""
    path = shutil.which("wrk")
    if path is None:
        raise WrkMissing(
            "the end-to-end benchmark needs wrk, which is not installed: "
            "`apt-get install wrk` (Debian/Ubuntu) or `brew install wrk` (macOS); "
            "or skip it with `python benchmarks/run.py --sections micro,startup,memory`"
        )
    return path


@dataclass
class Contender:
    name: str
    factory: str
    baseline: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    rates: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _serve(contender: Contender, env: dict[str, str]) -> None:
    contender.port = _free_port()
    contender.process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"e2e_apps:{contender.factory}",
            "--host",
            "127.0.0.1",
            "--port",
            str(contender.port),
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=HERE,
        env=env,
    )


def _ready(contender: Contender, token: str, deadline: float) -> None:
    url = f"http://127.0.0.1:{contender.port}/orders"
    while True:
        try:
            response = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        if response.status_code != 200:
            raise RuntimeError(f"{contender.name} answered {response.status_code}")
        return


_DURATION = re.compile(r"([0-9.]+)(us|ms|s)\b")
_SCALE = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"unreadable wrk duration {text!r}")
    return float(match[1]) * _SCALE[match[2]]


def _wrk(wrk: str, contender: Contender, token: str, seconds: float) -> None:
    out = subprocess.run(
        [
            wrk,
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{seconds}s",
            "--latency",
            "-H",
            f"Authorization: Bearer {token}",
            f"http://127.0.0.1:{contender.port}/orders",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out:
        raise RuntimeError(f"{contender.name}: wrk saw failed requests:\n{out}")
    rate = re.search(r"Requests/sec:\s*([0-9.]+)", out)
    p50 = re.search(r"^\s*50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", out, re.M)
    if rate is None or p50 is None or p99 is None:
        raise RuntimeError(f"unreadable wrk output:\n{out}")
    contender.rates.append(float(rate[1]))
    contender.p50.append(_ms(p50[1]))
    contender.p99.append(_ms(p99[1]))


def run(seconds: float = 10.0, rounds: int = 3, note: str = "") -> list[str]:
    """Serve, load and stop every contender; return the RESULTS.md section."""
    from bearerguard.testing import LocalIssuer

    wrk = require_wrk()
    slice_seconds = max(1, round(seconds / rounds))
    contenders = [Contender(*spec) for spec in CONTENDERS]
    started_at, load_at_start = stamp(), load()
    with LocalIssuer(audience=AUDIENCE) as issuer:
        token = issuer.mint(sub="user-42", scopes=["orders:read"], expires_in=3600)
        env = {
            **os.environ,
            "E2E_ISSUER": issuer.url,
            "E2E_JWKS_URI": issuer.jwks_uri,
            "E2E_AUDIENCE": AUDIENCE,
            "PYTHONPATH": str(HERE),
        }
        try:
            for contender in contenders:
                _serve(contender, env)
            deadline = time.monotonic() + 30
            for contender in contenders:
                _ready(contender, token, deadline)
                _wrk(wrk, contender, token, 1)  # warm up; discarded
                contender.rates.clear()
                contender.p50.clear()
                contender.p99.clear()
            for r in range(rounds):
                shift = r % len(contenders)
                for contender in contenders[shift:] + contenders[:shift]:
                    _wrk(wrk, contender, token, slice_seconds)
                    print(
                        f"round {r + 1}: {contender.name}: {contender.rates[-1]:,.0f} req/s",
                        flush=True,
                    )
        finally:
            for contender in contenders:
                if contender.process is not None:
                    contender.process.terminate()
                    contender.process.wait(timeout=10)
    by_name = {c.name: c for c in contenders}
    for contender in contenders:
        base = by_name[contender.baseline]
        contender.ratios = [a / b for a, b in zip(contender.rates, base.rates, strict=True)]
    suffix = f" {note}" if note else ""
    extra = ("uvicorn", "starlette", "fastapi")
    lines = [
        "## End to end over HTTP (uvicorn + wrk)",
        "",
        machine(extra),
        f"Run: {started_at}, `python benchmarks/e2e.py --seconds {seconds:g}`: {rounds} "
        f"round{'s' if rounds != 1 else ''} of {slice_seconds} s of `wrk -t1 -c{CONNECTIONS}` "
        f"per contender, in a rotating order; wrk {_wrk_version(wrk)}; {load_at_start} "
        f"when the run started. wrk and the server share the machine's cores.{suffix}",
        "",
        "Each app is one uvicorn worker on 127.0.0.1 answering `GET /orders` (RS256-2048 "
        "token, keys from a local issuer's JWKS over HTTP, `iss`/`aud`/`exp` and the "
        "`orders:read` scope checked); every request carries the same valid token, so "
        "'cache on' rows are cache hits. Ratio = requests/s divided by the no-auth app of "
        "the same framework in the same round (median, and min–max over rounds); latency "
        "is wrk's, median over rounds.",
        "",
        "| app | requests/s | ratio to no auth | min–max | p50 | p99 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for c in contenders:
        lines.append(
            f"| {c.name} | {statistics.median(c.rates):,.0f} | "
            f"{statistics.median(c.ratios):.2f}x | {min(c.ratios):.2f}–{max(c.ratios):.2f} | "
            f"{statistics.median(c.p50):.2f} ms | {statistics.median(c.p99):.2f} ms |"
        )
    print("\n".join(lines[-len(contenders) - 2 :]), flush=True)
    return [*lines, ""]


def _wrk_version(wrk: str) -> str:
    done = subprocess.run([wrk, "--version"], capture_output=True, text=True)
    out = done.stdout + done.stderr
    match = re.search(r"wrk \S*?([0-9]+\.[0-9.]+)", out)
    return match[1] if match else "(version unknown)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="wrk seconds per contender")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("\n".join(run(args.seconds, args.rounds)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
