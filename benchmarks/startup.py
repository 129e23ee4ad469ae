"""Start-up costs: ``import bearerguard`` and the first request with a cold key set.

* Import time: a fresh interpreter per sample runs ``import <module>`` between
  two ``perf_counter`` reads (the interpreter's own start-up is not counted),
  for ``bearerguard``, ``bearerguard.starlette`` and, for scale, ``jwt``
  (PyJWT) and ``starlette.applications``; the modules are sampled in turns.
* First request: a fresh interpreter builds the Starlette example app
  (``examples/starlette_app``, ``oidc=`` a :class:`~bearerguard.testing.LocalIssuer`
  on 127.0.0.1) and sends it requests through in-process ASGI calls: the first
  one (discovery document and JWKS fetched over HTTP, then the token verified),
  a second token (keys warm, token not cached) and the first token again (a
  cache hit).

Run: ``python benchmarks/startup.py`` (``run.py`` includes it as the
``startup`` section of ``RESULTS.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _report import load, machine, stamp

HERE = Path(__file__).resolve().parent
MODULES = ("bearerguard", "bearerguard.starlette", "jwt", "starlette.applications")

_IMPORT = "import time; t = time.perf_counter(); import {0}; print(time.perf_counter() - t)"

_FIRST_REQUEST = """
import asyncio, json, sys, time
sys.path.insert(0, {root!r})
from examples.starlette_app.app import create_app

async def main():
    app = create_app(oidc={url!r}, audience={audience!r})
    result = {{}}
    async def request(token):
        scope = {{"type": "http", "asgi": {{"version": "3.0"}}, "http_version": "1.1",
            "method": "GET", "scheme": "http", "path": "/orders", "raw_path": b"/orders",
            "query_string": b"", "root_path": "", "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
            "headers": [(b"authorization", b"Bearer " + token.encode())]}}
        status = []
        async def receive():
            return {{"type": "http.request", "body": b"", "more_body": False}}
        async def send(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
        start = time.perf_counter()
        await app(scope, receive, send)
        elapsed = time.perf_counter() - start
        assert status == [200], status
        return elapsed
    result["first"] = await request({first!r})
    result["second_token"] = await request({second!r})
    result["cache_hit"] = await request({first!r})
    print(json.dumps(result))

asyncio.run(main())
"""


def _ms(samples: list[float]) -> str:
    """``median | min–max``, in ms (µs below a millisecond)."""
    if statistics.median(samples) < 1e-3:
        return (
            f"{statistics.median(samples) * 1e6:.0f} µs "
            f"| {min(samples) * 1e6:.0f}–{max(samples) * 1e6:.0f} µs"
        )
    return (
        f"{statistics.median(samples) * 1e3:.1f} ms "
        f"| {min(samples) * 1e3:.1f}–{max(samples) * 1e3:.1f} ms"
    )


def import_times(samples: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {module: [] for module in MODULES}
    for _ in range(samples):
        for module in MODULES:
            out = subprocess.run(
                [sys.executable, "-c", _IMPORT.format(module)],
                capture_output=True,
                text=True,
                check=True,
                cwd=HERE,
            ).stdout
            times[module].append(float(out))
    return times


def first_requests(samples: int) -> dict[str, list[float]]:
    from bearerguard.testing import LocalIssuer

    times: dict[str, list[float]] = {"first": [], "second_token": [], "cache_hit": []}
    with LocalIssuer(audience="api://orders") as issuer:
        for _ in range(samples):
            script = _FIRST_REQUEST.format(
                root=str(HERE.parent),
                url=issuer.url,
                audience="api://orders",
                first=issuer.mint(sub="user-1", scopes=["orders:read"]),
                second=issuer.mint(sub="user-2", scopes=["orders:read"]),
            )
            out = subprocess.run(
                [sys.executable, "-c", script],
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
            ).stdout
            for name, value in json.loads(out).items():
                times[name].append(value)
    return times


def run(samples: int = 15, note: str = "") -> list[str]:
    """Measure both; return the RESULTS.md section."""
    started_at, load_at_start = stamp(), load()
    imports = import_times(samples)
    requests = first_requests(max(3, samples // 2))
    suffix = f" {note}" if note else ""
    lines = [
        "## Start-up: import time and the first request",
        "",
        machine(("starlette",)),
        f"Run: {started_at}, `python benchmarks/startup.py --samples {samples}`; "
        f"{load_at_start} when the run started.{suffix}",
        "",
        f"`import <module>` in a fresh interpreter, {samples} samples each (taken in turns): "
        "median and min–max. Modules already imported by the interpreter's start-up are "
        "not counted.",
        "",
        "| module | import time | min–max |",
        "|---|---:|---:|",
        *(f"| `{module}` | {_ms(imports[module])} |" for module in MODULES),
        "",
        f"The Starlette example app in a fresh interpreter, {len(requests['first'])} samples: "
        "the first request (the key set is cold: the discovery document and the JWKS are "
        "fetched from a local issuer on 127.0.0.1, then the token is verified), a request "
        "with a second token (keys warm, token not yet cached), and the first token again.",
        "",
        "| request | latency | min–max |",
        "|---|---:|---:|",
        f"| first request, cold key set | {_ms(requests['first'])} |",
        f"| second token, keys warm | {_ms(requests['second_token'])} |",
        f"| first token again, cache hit | {_ms(requests['cache_hit'])} |",
        "",
    ]
    print("\n".join(lines), flush=True)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--samples", type=int, default=15)
    args = parser.parse_args()
    run(args.samples)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
