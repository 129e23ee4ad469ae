"""What a DPoP proof costs per request, as a ratio to plain bearer verification.

One process, interleaved rounds: each round times every contender once, in a
rotating order, over the same number of requests, and each DPoP contender's
time per request is divided by the bearer contender's of the *same round*.
The table shows min / median / max of those paired ratios over the rounds,
and the median microseconds per request.

* ``bearer``: ``Verifier.verify(token)`` of a plain token (verified-token
  cache hit: the steady state of an API);
* ``dpop``: ``Verifier.verify(token, dpop=DPoPRequest(...))`` of a DPoP-bound
  token with a fresh proof each request (cache hit for the token; the proof's
  parse, signature, claim checks and in-memory replay record every time);
* ``bearer, no cache`` / ``dpop, no cache``: the same with ``cache_size=0``;
* ``Starlette + JWTAuth, bearer`` / ``..., dpop``: a request end to end through
  an in-process Starlette app behind ``JWTAuth`` (verified-token cache on).

Proofs are signed before each round (outside the timing), one per request,
ES256 for the token and the proof. Run: ``python benchmarks/dpop.py``
(``--rounds``, ``--requests``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec

from bearerguard import DPoPPolicy, DPoPRequest, Issuer, MemoryReplayCache, PublicJWK, Validator
from bearerguard.testing import DPoPKey
from bearerguard.verifier import Verifier

ISS = "https://login.example.com/"
AUD = "api://orders"
URL = "https://api.example.com/orders"
# One event loop for every in-process ASGI request.
LOOP = asyncio.new_event_loop()


@dataclass
class Contender:
    name: str
    run: Callable[[int], float]  # requests -> seconds
    baseline: str
    times: list[float] = field(default_factory=list)  # seconds per request, by round
    ratios: list[float] = field(default_factory=list)


def _token(private: Any, **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": ISS, "aud": AUD, "sub": "bench", "iat": now, "exp": now + 3600, **claims}
    return pyjwt.encode(payload, private, algorithm="ES256", headers={"kid": "k1"})


def contenders(requests: int) -> list[Contender]:
    private = ec.generate_private_key(ec.SECP256R1())
    issuer = Issuer(ISS, [PublicJWK.from_key(private.public_key(), kid="k1")], Validator(aud=AUD))
    key = DPoPKey()
    plain = _token(private)
    bound = _token(private, cnf=key.cnf)

    def verifier(cache_size: int) -> Verifier[Any]:
        # Large enough that no proof of the run is evicted.
        policy = DPoPPolicy(replay_cache=MemoryReplayCache(max_entries=10_000_000))
        return Verifier([issuer], cache_size=cache_size, dpop="allowed", dpop_policy=policy)

    def bearer(v: Verifier[Any]) -> Callable[[int], float]:
        def run(n: int) -> float:
            verify = v.verify
            start = time.perf_counter()
            for _ in range(n):
                verify(plain)
            return time.perf_counter() - start

        return run

    def dpop(v: Verifier[Any]) -> Callable[[int], float]:
        def run(n: int) -> float:
            requests = [
                DPoPRequest("GET", URL, (key.proof("GET", URL, access_token=bound),))
                for _ in range(n)
            ]
            verify = v.verify
            start = time.perf_counter()
            for request in requests:
                verify(bound, dpop=request)
            return time.perf_counter() - start

        return run

    cached, uncached = verifier(10_000), verifier(0)
    app = _starlette(verifier(10_000))
    plain_header = [(b"authorization", b"Bearer " + plain.encode())]

    def asgi_bearer(n: int) -> float:
        return _asgi(app, [plain_header] * n)

    def asgi_dpop(n: int) -> float:
        headers = [
            [
                (b"authorization", b"DPoP " + bound.encode()),
                (b"dpop", key.proof("GET", URL, access_token=bound).encode()),
            ]
            for _ in range(n)
        ]
        return _asgi(app, headers)

    asgi = "Starlette + JWTAuth, bearer"
    return [
        Contender("bearer", bearer(cached), "bearer"),
        Contender("dpop", dpop(cached), "bearer"),
        Contender("bearer, no cache", bearer(uncached), "bearer, no cache"),
        Contender("dpop, no cache", dpop(uncached), "bearer, no cache"),
        Contender(asgi, asgi_bearer, asgi),
        Contender("Starlette + JWTAuth, dpop", asgi_dpop, asgi),
    ]


def _starlette(verifier: Verifier[Any]) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bearerguard.starlette import JWTAuth

    async def orders(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/orders", orders)])
    app.add_middleware(JWTAuth, verifier=verifier, external_url="https://api.example.com")
    return app


def _asgi(app: Any, requests: list[list[tuple[bytes, bytes]]]) -> float:
    """Seconds to send *requests* (their headers) through *app* in-process, all answered 200."""
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    async def run() -> float:
        start = time.perf_counter()
        for headers in requests:
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "GET",
                "scheme": "http",
                "path": "/orders",
                "raw_path": b"/orders",
                "query_string": b"",
                "root_path": "",
                "headers": headers,
                "client": ("127.0.0.1", 50000),
                "server": ("127.0.0.1", 8000),
            }
            await app(scope, receive, send)
        return time.perf_counter() - start

    seconds = LOOP.run_until_complete(run())
    if set(status) != {200}:
        raise RuntimeError(f"the app answered {sorted(set(status))}")
    return seconds


def _timed(case: Contender, requests: int) -> float:
    """*case*'s seconds for *requests*, with the garbage of the last round collected first."""
    gc.collect()
    gc.disable()
    try:
        return case.run(requests)
    finally:
        gc.enable()


def measure(cases: list[Contender], rounds: int, requests: int) -> None:
    for case in cases:  # warm up: caches, parsed keys, first-call costs
        case.run(50)
    for number in range(rounds):
        order = cases[number % len(cases) :] + cases[: number % len(cases)]
        this_round = {case.name: _timed(case, requests) / requests for case in order}
        for case in cases:
            case.times.append(this_round[case.name])
            case.ratios.append(this_round[case.name] / this_round[case.baseline])


def table(cases: list[Contender], rounds: int, requests: int) -> str:
    lines = [
        f"DPoP verification cost: {rounds} interleaved rounds of {requests} requests each",
        "",
        "| contender | µs/request (median) | ratio to | min | median | max |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for case in cases:
        micros = statistics.median(case.times) * 1e6
        lines.append(
            f"| {case.name} | {micros:.1f} | {case.baseline} | {min(case.ratios):.2f} | "
            f"{statistics.median(case.ratios):.2f} | {max(case.ratios):.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    cases = contenders(args.requests)
    measure(cases, args.rounds, args.requests)
    print(table(cases, args.rounds, args.requests))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
