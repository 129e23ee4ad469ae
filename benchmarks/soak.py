"""Load + rotation soak: a uvicorn app behind JWTAuth, busy while its issuer rotates and flaps.

``make soak`` (not in CI) runs it for 150 s; ``--seconds`` changes that. Loopback only:

* a :class:`~bearerguard.testing.LocalIssuer` on 127.0.0.1 (this process) whose JWKS
  says ``max-age=2``, so the API's key set refreshes every couple of seconds;
* the API under test in a child process: Starlette + ``JWTAuth`` on uvicorn,
  127.0.0.1, a short-lived key-set policy (lifetimes 1–10 s, cooldown 1 s,
  fetch timeout 1 s);
* ``--clients`` threads sending a mix of valid and hostile requests, each
  with the one answer it must get;
* a rotation thread following the safe flow — publish the next key, wait until
  the IdP has served it to the API, then sign with it (old keys stay published);
* a chaos thread that breaks the IdP for a second or three at a time (5xx,
  429, timeouts, cut-off JSON, an empty key set) and heals it again.

Wrong answers — a valid token refused with 401, or a hostile one accepted —
and unexpected statuses (anything else off the table, connection errors
included) must both be zero; the exit status is 1 otherwise. Also reported:
requests served, JWKS and discovery fetches the IdP saw, the API's key-set
counters, latency and peak RSS.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import logging
import os
import random
import resource
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

AUDIENCE = "api://soak"
SCOPE = "orders:read"
JWKS_MAX_AGE = 2  # seconds: the IdP's Cache-Control on its JWKS


# -- the API under test (child process) -------------------------------------------------------


def serve(issuer: str) -> None:
    """Run the protected API on 127.0.0.1 and print its port; stops on SIGTERM."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    from bearerguard._settings import GuardSettings
    from bearerguard.keyset import KeySetPolicy
    from bearerguard.starlette import JWTAuth, require_scopes

    # The key set logs every failed fetch and stale answer: thousands in a soak.
    # Its counters (in /stats) are what the report uses.
    logging.getLogger("bearerguard").setLevel(logging.ERROR)
    policy = KeySetPolicy(min_ttl=1, default_ttl=2, max_ttl=10, cooldown=1, timeout=1.0)
    verifier = GuardSettings(oidc=issuer, audience=AUDIENCE, policy=policy).build_verifier()

    async def token(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok:" + request.user.claims.sub)

    async def stats(request: Request) -> JSONResponse:
        keys: Any = verifier.issuers[0].keys
        status = keys.status()
        return JSONResponse(
            {
                "rss_peak_kib": _rss_peak_kib(os.getpid()),
                "generation": status.generation,
                "kids": len(status.kids),
                "fetches": status.fetches,
                "failures": status.failures,
                "suppressed_refetches": status.suppressed_refetches,
                "state": status.state,
            }
        )

    app = Starlette(
        routes=[
            Route("/token", token),
            Route("/scoped", require_scopes(SCOPE)(token)),
            Route("/stats", stats),
        ]
    )
    app.add_middleware(
        JWTAuth, settings=GuardSettings(verifier=verifier, realm="soak", public_paths=["/stats"])
    )

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            print(
                self.servers[0].sockets[0].getsockname()[1], flush=True
            )  # the port, to the driver

    # uvicorn binds itself (port 0: any free port). Handing it a socket bound here
    # (sockets=[...]) made every response wait ~40 ms on this machine, a delayed-ACK stall.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        backlog=1024,
        log_level="warning",
        access_log=False,
        lifespan="off",
    )
    Server(config).run()


def _rss_peak_kib(pid: int) -> int | None:
    """Peak resident set size (VmHWM) of *pid* from /proc, in KiB (Linux)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


# -- the traffic -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of request and the status it must get."""

    name: str
    path: str
    expected: int
    weight: int
    valid: bool  # a valid token: a 401 is a wrong answer; else a 200 is
    # Also right while the IdP is broken: a kid the API has never seen may have
    # been published meanwhile, so "keys unavailable" (503) is the honest answer.
    during_outage: frozenset[int] = frozenset()


KINDS = [
    Kind("valid", "/token", 200, 40, True),
    Kind("valid-scoped", "/scoped", 200, 10, True),
    Kind("valid-missing-scope", "/scoped", 403, 5, True),
    Kind("expired", "/token", 401, 5, False),
    Kind("wrong-audience", "/token", 401, 5, False),
    Kind("tampered", "/token", 401, 5, False),
    Kind("alg-none", "/token", 401, 5, False),
    Kind("foreign-issuer", "/token", 401, 5, False),
    Kind("unknown-kid", "/token", 401, 5, False, frozenset({503})),
    Kind("no-token", "/token", 401, 5, False),
    Kind("malformed-header", "/token", 400, 5, False),
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Tokens:
    """Tokens per kind; valid ones are minted per signing key, for the last few keys."""

    def __init__(self, idp: Any, seconds: float) -> None:
        import jwt
        from cryptography.hazmat.primitives.asymmetric import rsa

        self._idp = idp
        self._ttl = int(seconds) + 600
        self._lock = threading.Lock()
        self._valid: list[list[str]] = []
        self._unscoped: list[list[str]] = []
        self.mint_for_active_key()
        good = self._valid[0][0]
        header, payload, signature = good.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["sub"] = "admin"
        stranger = rsa.generate_private_key(65537, 2048)
        none_header = _b64(json.dumps({"alg": "none", "typ": "at+jwt"}).encode())
        self.static = {
            "expired": [idp.mint(sub="late", scopes=[SCOPE], expires_in=-600)],
            "wrong-audience": [idp.mint(sub="x", scopes=[SCOPE], audience="api://other")],
            "tampered": [f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"],
            "alg-none": [f"{none_header}.{payload}."],
            "foreign-issuer": [idp.mint(sub="x", iss="http://127.0.0.1:1/other")],
            "unknown-kid": [
                jwt.encode(
                    {"iss": idp.url, "aud": AUDIENCE, "sub": "x", "exp": int(time.time()) + 9999},
                    stranger,
                    algorithm="RS256",
                    headers={"kid": f"stranger-{n}", "typ": "at+jwt"},
                )
                for n in range(8)
            ],
        }

    def mint_for_active_key(self) -> None:
        """Tokens signed by the key that signs now (call after each rotation)."""
        idp = self._idp
        valid = [idp.mint(sub=f"user-{n}", scopes=[SCOPE], expires_in=self._ttl) for n in range(32)]
        unscoped = [idp.mint(sub=f"user-{n}", expires_in=self._ttl) for n in range(8)]
        with self._lock:
            self._valid = [valid, *self._valid][:4]
            self._unscoped = [unscoped, *self._unscoped][:4]

    def header(self, kind: str, rng: random.Random) -> bytes | None:
        """The Authorization header value for one request of *kind*."""
        if kind == "no-token":
            return None
        if kind == "malformed-header":
            return b"Bearer two tokens"
        if kind in ("valid", "valid-scoped"):
            with self._lock:
                token = rng.choice(rng.choice(self._valid))
        elif kind == "valid-missing-scope":
            with self._lock:
                token = rng.choice(rng.choice(self._unscoped))
        else:
            token = rng.choice(self.static[kind])
        return b"Bearer " + token.encode()


@dataclass
class Tally:
    """What the clients saw."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    served: Counter[str] = field(default_factory=Counter)
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    outage_answers: list[tuple[str, int, float]] = field(default_factory=list)
    wrong: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def merge(self, local: Tally) -> None:
        with self.lock:
            self.served.update(local.served)
            self.statuses.update(local.statuses)
            self.wrong.update(local.wrong)
            self.unexpected.update(local.unexpected)
            self.latencies.extend(local.latencies)
            self.outage_answers.extend(local.outage_answers)


def client(port: int, tokens: Tokens, tally: Tally, stop: threading.Event, seed: int) -> None:
    """One keep-alive connection, requests back to back (stdlib client: the least overhead)."""
    rng = random.Random(seed)
    weights = [kind.weight for kind in KINDS]
    local = Tally()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while not stop.is_set():
        kind = rng.choices(KINDS, weights)[0]
        value = tokens.header(kind.name, rng)
        headers = {} if value is None else {"Authorization": value.decode()}
        started = time.perf_counter()
        try:
            conn.request("GET", kind.path, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as error:
            local.unexpected[f"{kind.name}: {type(error).__name__}"] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        local.latencies.append(time.perf_counter() - started)
        local.served[kind.name] += 1
        local.statuses[(kind.name, status)] += 1
        if status == kind.expected:
            continue
        if status in kind.during_outage:
            local.outage_answers.append((kind.name, status, started))  # judged after the run
            continue
        if (kind.valid and status == 401) or (not kind.valid and status == 200):
            local.wrong[f"{kind.name} got {status}"] += 1
        else:
            local.unexpected[f"{kind.name} got {status}"] += 1
    conn.close()
    tally.merge(local)


# -- the identity provider's bad days ---------------------------------------------------------


def _faults(idp: Any) -> list[tuple[str, Callable[[], None]]]:
    jwks = idp.jwks_path
    return [
        ("jwks 503", lambda: idp.force_status(503, jwks)),
        ("jwks 500", lambda: idp.force_status(500, jwks)),
        ("jwks 429", lambda: idp.override(jwks, status=429, headers={"Retry-After": "30"})),
        ("jwks timeout", lambda: idp.delay(2.5, jwks)),
        ("jwks cut-off json", lambda: idp.serve_malformed_json(jwks)),
        ("jwks empty key set", lambda: idp.override(jwks, body={"keys": []})),
        ("everything 502", lambda: idp.force_status(502)),
    ]


def chaos(
    idp: Any,
    stop: threading.Event,
    log: Counter[str],
    outages: list[tuple[float, float]],
    rng: random.Random,
) -> None:
    """Healthy for 2–5 s, broken for 1–3 s, again and again; *outages* gets each window."""
    faults = _faults(idp)
    while not stop.wait(rng.uniform(2, 5)):
        name, apply = rng.choice(faults)
        began = time.perf_counter()
        apply()
        log[name] += 1
        stop.wait(rng.uniform(1, 3))
        idp.clear_faults()
        outages.append((began, time.perf_counter()))


# After an outage ends the API still knows it only from its last failed fetch
# until the next attempt: a cooldown (1 s) plus a fetch timeout (1 s), plus the
# slowest fault's answer still in flight (the 2.5 s delay), plus slack.
OUTAGE_GRACE = 6.0


def _during_outage(at: float, outages: list[tuple[float, float]]) -> bool:
    return any(began <= at <= ended + OUTAGE_GRACE for began, ended in outages)


def rotation(
    idp: Any, tokens: Tokens, stop: threading.Event, every: float, log: Counter[str]
) -> None:
    """The safe flow: publish, wait until the IdP has served the new JWKS, then sign with it."""
    while not stop.wait(every):
        published = time.time()
        kid = idp.publish_next_key()
        log["published"] += 1
        # The API learns the key on its next successful JWKS fetch (every ~2 s when healthy).
        while not stop.is_set():
            if any(
                r.path == idp.jwks_path and r.status == 200 and r.time > published
                for r in idp.requests[-400:]
            ):
                break
            stop.wait(0.1)
        if stop.wait(0.5):
            return
        assert idp.rotate() == kid
        tokens.mint_for_active_key()
        log["rotated"] += 1


# -- driver ---------------------------------------------------------------------------------


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(seconds: float, clients: int, rotate_every: float, seed: int) -> dict[str, Any]:
    import httpx

    from bearerguard.testing import LocalIssuer

    rng = random.Random(seed)
    with LocalIssuer(audience=AUDIENCE, jwks_max_age=JWKS_MAX_AGE, token_ttl=600) as idp:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", idp.url],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            port = int(child.stdout.readline())
            tokens = Tokens(idp, seconds)
            # Warm up: the first request discovers and fetches the keys.
            warm = httpx.get(
                f"http://127.0.0.1:{port}/token",
                headers={"authorization": tokens.header("valid", rng).decode()},  # type: ignore[union-attr]
                timeout=30,
                trust_env=False,
            )
            if warm.status_code != 200:
                raise SystemExit(f"warm-up request answered {warm.status_code}")
            idp.clear_log()
            stop = threading.Event()
            tally = Tally()
            events: Counter[str] = Counter()
            outages: list[tuple[float, float]] = []
            threads = [
                threading.Thread(target=client, args=(port, tokens, tally, stop, seed + n))
                for n in range(clients)
            ]
            threads.append(threading.Thread(target=chaos, args=(idp, stop, events, outages, rng)))
            threads.append(
                threading.Thread(target=rotation, args=(idp, tokens, stop, rotate_every, events))
            )
            started = time.monotonic()
            for thread in threads:
                thread.start()
            stop.wait(seconds)
            stop.set()
            for thread in threads:
                thread.join()
            elapsed = time.monotonic() - started
            idp.clear_faults()
            stats = httpx.get(f"http://127.0.0.1:{port}/stats", timeout=30, trust_env=False).json()
            served_log = Counter(
                (r.path, r.status) for r in idp.requests if r.path in (idp.jwks_path, idp.oidc_path)
            )
        finally:
            child.terminate()
            child.wait(timeout=30)
        total = sum(tally.served.values())
        outage_ok = Counter[str]()
        for name, status, at in tally.outage_answers:
            if _during_outage(at, outages):
                outage_ok[f"{name} got {status}"] += 1
            else:
                tally.unexpected[f"{name} got {status} with the IdP healthy"] += 1
        return {
            "seconds": round(elapsed, 1),
            "clients": clients,
            "requests_served": total,
            "requests_per_second": round(total / elapsed),
            "wrong_answers": sum(tally.wrong.values()),
            "wrong_answer_details": dict(tally.wrong),
            "unexpected_statuses": sum(tally.unexpected.values()),
            "unexpected_details": dict(tally.unexpected),
            "answered_unavailable_during_idp_outages": dict(outage_ok),
            "idp_outages": len(outages),
            "served_by_kind": dict(tally.served),
            "statuses": {f"{k} {s}": n for (k, s), n in sorted(tally.statuses.items())},
            "latency_ms": {
                "p50": round(1000 * _percentile(tally.latencies, 0.50), 2),
                "p99": round(1000 * _percentile(tally.latencies, 0.99), 2),
                "max": round(1000 * max(tally.latencies, default=0.0), 2),
            },
            "idp_fetches": {
                "jwks": sum(n for (p, _), n in served_log.items() if p == idp.jwks_path),
                "jwks_by_status": {
                    str(s): n for (p, s), n in sorted(served_log.items()) if p == idp.jwks_path
                },
                "discovery": sum(n for (p, _), n in served_log.items() if p == idp.oidc_path),
            },
            "api_key_set": stats,
            "idp_events": dict(events),
            "rss_peak_kib": {
                "api": stats.get("rss_peak_kib"),
                "driver": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            },
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=150.0, help="how long to run (150)")
    parser.add_argument("--clients", type=int, default=16, help="client threads (16)")
    parser.add_argument(
        "--rotate-every", type=float, default=12.0, help="seconds between rotations"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    parser.add_argument("--serve", metavar="ISSUER", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    report = run(args.seconds, args.clients, args.rotate_every, args.seed)
    print(json.dumps(report, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
    failed = report["wrong_answers"] or report["unexpected_statuses"]
    print("FAIL" if failed else "OK", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
