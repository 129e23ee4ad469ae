"""Side-by-side verification benchmark: one process, interleaved rounds.

For each key type it measures, in the same run and interleaved round by round
so that machine noise hits every contender alike:

* the floor: raw ``cryptography`` signature verification with a pre-loaded key;
* PyJWT ``jwt.decode``, joserfc and Authlib with equivalent claim checks;
* bearerguard ``Issuer.verify_and_validate`` (uncached, full strict checks);
* bearerguard ``Verifier.verify`` with its verified-token cache;
* a Starlette app end to end through in-process ASGI calls: no auth, ``JWTAuth``
  with the cache disabled (cold), ``JWTAuth`` with the cache.

Each round measures every contender once, in a rotating order, and each
contender's ratio is taken against the floor of the *same round*; the tables
show the median over rounds of those paired ratios (and of ops/s) and their
min–max, so a burst of machine noise moves one round and shows in the range.

That is the ``micro`` section of ``benchmarks/RESULTS.md``; the others come
from ``e2e.py`` (uvicorn + wrk over HTTP), ``startup.py`` (import time, first
request with a cold key set) and ``memory.py`` (one million distinct tokens
through the cache). ``--sections`` picks which to run; with ``--write`` they
replace their own sections of ``RESULTS.md`` and the others are kept.

Run: ``make bench`` (or ``python benchmarks/run.py --write``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt as pyjwt
from _report import RESULTS, load, machine, stamp, write_sections
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from bearerguard import Issuer, PublicJWK, Validator
from bearerguard._encoding import b64url_decode
from bearerguard.verifier import DEFAULT_CACHE_SIZE, Verifier

# One event loop for every in-process ASGI call, closed at the end.
LOOP = asyncio.new_event_loop()

ISS = "https://login.example.com/tenant-7/"
AUD = "api://orders"


@dataclass
class Case:
    name: str
    fn: Callable[[], Any]
    key: str = ""  # a short name for the targets
    rates: list[float] = field(default_factory=list)
    ratios: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    def row(self) -> str:
        """A table row: median ops/s, then the paired ratio's median and min–max over rounds."""
        return (
            f"| {self.name} | {self.rate:,.0f} | {self.ratio:.2f}x "
            f"| {min(self.ratios):.2f}–{max(self.ratios):.2f} |"
        )


@dataclass
class KeySetup:
    label: str
    alg: str
    private: Any
    token: str
    floor: Callable[[], None]


def realistic_claims(now: int) -> dict[str, Any]:
    return {
        "iss": ISS,
        "sub": "248289761001",
        "aud": [AUD, "api://billing"],
        "exp": now + 3600,
        "nbf": now - 5,
        "iat": now - 5,
        "jti": "b1f6c7e0-8d55-4a8c-9d0e-5f7b0c9b2a11",
        "client_id": "s6BhdRkqt3",
        "azp": "s6BhdRkqt3",
        "scope": "openid profile orders:read orders:write",
        "auth_time": now - 60,
        "roles": ["buyer", "reviewer"],
        "email": "jane@example.com",
        "tid": "7a1c2e0f-0000-4b7a-9c1e-1a2b3c4d5e6f",
    }


def make_setup(label: str, alg: str, private: Any) -> KeySetup:
    now = int(time.time())
    kid = PublicJWK.from_key(private.public_key()).kid
    token = pyjwt.encode(
        realistic_claims(now), private, algorithm=alg, headers={"kid": kid, "typ": "at+jwt"}
    )
    h, p, s = token.split(".")
    message = f"{h}.{p}".encode()
    signature = b64url_decode(s)
    public = private.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        pad, digest = padding.PKCS1v15(), hashes.SHA256()

        def floor() -> None:
            public.verify(signature, message, pad, digest)

    elif isinstance(public, ec.EllipticCurvePublicKey):
        half = len(signature) // 2
        der = encode_dss_signature(
            int.from_bytes(signature[:half], "big"), int.from_bytes(signature[half:], "big")
        )
        scheme = ec.ECDSA(hashes.SHA256())

        def floor() -> None:
            public.verify(der, message, scheme)

    else:

        def floor() -> None:
            public.verify(signature, message)

    return KeySetup(label, alg, private, token, floor)


def contenders(setup: KeySetup) -> list[Case]:
    public = setup.private.public_key()
    jwk = PublicJWK.from_key(public)
    validator = Validator(aud=AUD)
    issuer = Issuer(ISS, [jwk], validator)
    token = setup.token
    cases = [Case("raw cryptography verify (floor)", setup.floor, "floor")]

    def pyjwt_decode() -> None:
        pyjwt.decode(
            token,
            public,
            algorithms=[setup.alg],
            audience=AUD,
            issuer=ISS,
            options={"require": ["exp", "iss", "aud"]},
        )

    cases.append(Case("PyJWT jwt.decode", pyjwt_decode))
    cases.extend(_joserfc_case(setup, public))
    cases.extend(_authlib_case(setup, public))
    cases.append(
        Case(
            "bearerguard Issuer.verify_and_validate",
            lambda: issuer.verify_and_validate(token),
            "issuer",
        )
    )
    cases.extend(_verifier_cases(setup, jwk, validator))
    cases.extend(_starlette_cases(setup, jwk, validator))
    return cases


def _joserfc_case(setup: KeySetup, public: Any) -> list[Case]:
    try:
        from joserfc import jwt as jf_jwt
        from joserfc.jwk import ECKey, OKPKey, RSAKey
    except ImportError:
        return []
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_type = {"RS256": RSAKey, "ES256": ECKey, "EdDSA": OKPKey}[setup.alg]
    key = key_type.import_key(pem)
    registry = jf_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISS},
        aud={"essential": True, "value": AUD},
        exp={"essential": True},
    )
    token = setup.token

    def run() -> None:
        decoded = jf_jwt.decode(token, key, algorithms=[setup.alg])
        registry.validate(decoded.claims)

    return [Case("joserfc jwt.decode + registry", run)]


def _authlib_case(setup: KeySetup, public: Any) -> list[Case]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from authlib.jose import JsonWebToken
    except ImportError:
        return []
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    decoder = JsonWebToken([setup.alg])
    options = {
        "iss": {"essential": True, "value": ISS},
        "aud": {"essential": True, "value": AUD},
        "exp": {"essential": True},
    }
    token = setup.token

    def run() -> None:
        claims = decoder.decode(token, pem, claims_options=options)
        claims.validate()

    return [Case("Authlib jwt.decode + validate", run)]


def _verifier_cases(setup: KeySetup, jwk: PublicJWK, validator: Validator) -> list[Case]:
    uncached = Verifier([Issuer(ISS, [jwk], validator)], cache_size=0)
    cached = Verifier([Issuer(ISS, [jwk], validator)])
    token = setup.token
    cached.verify(token)
    return [
        Case("bearerguard Verifier.verify (no cache)", lambda: uncached.verify(token), "verifier"),
        Case("bearerguard Verifier.verify (cache hit)", lambda: cached.verify(token), "hit"),
    ]


def _starlette_cases(setup: KeySetup, jwk: PublicJWK, validator: Validator) -> list[Case]:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bearerguard.starlette import JWTAuth

    async def endpoint(request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    def make_app(cache_size: int | None) -> Any:
        app = Starlette(routes=[Route("/orders", endpoint)])
        if cache_size is not None:
            verifier = Verifier([Issuer(ISS, [jwk], validator)], cache_size=cache_size)
            app.add_middleware(JWTAuth, verifier=verifier)
        return app

    apps = [
        ("Starlette, no auth", make_app(None), "asgi"),
        ("Starlette + JWTAuth (no cache)", make_app(0), "asgi_cold"),
        ("Starlette + JWTAuth (cache)", make_app(DEFAULT_CACHE_SIZE), "asgi_cached"),
    ]
    header = [(b"authorization", b"Bearer " + setup.token.encode())]

    def asgi_runner(app: Any, batch: int = 50) -> Callable[[], None]:
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
            "headers": header,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        status: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        async def many() -> None:
            for _ in range(batch):
                await app(dict(scope), receive, send)

        def run() -> None:
            LOOP.run_until_complete(many())
            if status[-1] != 200:
                raise RuntimeError(f"ASGI app answered {status[-1]}")

        run.batch = batch  # type: ignore[attr-defined]
        return run

    return [Case(name, asgi_runner(app), key) for name, app, key in apps]


def measure(cases: list[Case], rounds: int, slice_seconds: float) -> None:
    """Interleaved rounds; each case's ratio is paired with the floor of its round."""
    for case in cases:  # warm up (and fail fast on errors)
        case.fn()
    floor = cases[0]
    for r in range(rounds):
        shift = r % len(cases)  # rotate the order: no case always runs first or last
        rates: dict[str, float] = {}
        for case in cases[shift:] + cases[:shift]:
            batch = getattr(case.fn, "batch", 1)
            fn = case.fn
            n = 0
            start = time.perf_counter()
            deadline = start + slice_seconds
            while True:
                for _ in range(20):
                    fn()
                n += 20
                now = time.perf_counter()
                if now >= deadline:
                    break
            rates[case.name] = n * batch / (now - start)
        for case in cases:
            case.rates.append(rates[case.name])
            case.ratios.append(rates[case.name] / rates[floor.name])


TARGETS = (
    # (label, key setup, case key, relative to, at least)
    ("Issuer.verify_and_validate, uncached, RS256-2048", "RS256-2048", "issuer", "floor", 0.60),
    ("Issuer.verify_and_validate, uncached, ES256", "ES256", "issuer", "floor", 0.80),
    ("Issuer.verify_and_validate, uncached, EdDSA", "EdDSA", "issuer", "floor", 0.85),
    ("Verifier cache hit, RS256-2048", "RS256-2048", "hit", "floor", 5.0),
    ("Starlette + JWTAuth uncached, RS256-2048", "RS256-2048", "asgi_cold", "floor", 0.45),
    ("Starlette + JWTAuth cached / no auth, RS256-2048", "RS256-2048", "asgi_cached", "asgi", 0.70),
)


def targets(results: dict[str, list[Case]]) -> list[str]:
    lines = [
        "### Targets",
        "",
        "| target | needed | reached (median) | min–max over rounds | |",
        "|---|---:|---:|---:|---|",
    ]
    for label, setup, key, base, needed in TARGETS:
        cases = {case.key: case for case in results.get(setup, []) if case.key}
        if key not in cases or base not in cases:
            continue
        case, against = cases[key], cases[base]
        # Paired per round, like the tables: ratio of the two rates of the same round.
        paired = [a / b for a, b in zip(case.rates, against.rates, strict=True)]
        reached = statistics.median(paired)
        mark = "met" if reached >= needed else "**not met**"
        lines.append(
            f"| {label} | ≥ {needed:.2f}x | {reached:.2f}x "
            f"| {min(paired):.2f}–{max(paired):.2f} | {mark} |"
        )
    return [*lines, ""]


INTRO = [
    "# Benchmark results",
    "",
    "Regenerated by `make bench` (`python benchmarks/run.py --write`); each section below says",
    "when, on which machine and with which versions it was measured, and can be regenerated",
    "alone with `--sections NAME`. [docs/performance.md](../docs/performance.md) explains",
    "what each row means.",
    "",
]


def micro(args: argparse.Namespace, setups: list[KeySetup]) -> list[str]:
    """The side-by-side tables and the targets, as Markdown lines."""
    note = f" {args.note}" if args.note else ""
    lines = [
        "## Verification, side by side in one process",
        "",
        machine(),
        f"Run: {stamp()}, `python benchmarks/run.py --rounds {args.rounds} --slice {args.slice}`: "
        f"{args.rounds} interleaved rounds of {args.slice} s per contender, in one process; "
        f"{load()} when the run started.{note}",
        "",
        "Ratio = ops/s divided by the raw `cryptography` verify floor of the same key, measured "
        "in the same round. The tables give the median over rounds of ops/s and of that "
        "paired ratio, and the lowest and highest per-round ratio (min–max): the spread the "
        "rounds really showed.",
        "Starlette rows are requests/s through in-process ASGI calls (no network). The token "
        "is a realistic access token (14 claims, `typ: at+jwt`, `kid`).",
        "",
    ]
    results: dict[str, list[Case]] = {}
    for setup in setups:
        cases = contenders(setup)
        measure(cases, args.rounds, args.slice)
        results[setup.label] = cases
        table = [
            f"### {setup.label}",
            "",
            "| contender | ops/s | ratio to floor | min–max |",
            "|---|---:|---:|---:|",
            *(case.row() for case in cases),
            "",
        ]
        print("\n".join(table), flush=True)
        lines += table
    LOOP.close()
    lines += targets(results)
    print("\n".join(targets(results)), flush=True)
    return lines


def others() -> list[str]:
    """Links to the benchmarks with their own scripts and results files, when present."""
    here = Path(__file__).parent
    found = []
    if (here / "dpop.py").exists():
        found.append(
            "- DPoP (RFC 9449): what checking a proof costs per request, as a ratio to plain "
            "bearer verification: [dpop.py](dpop.py), printed by `make bench` after this file "
            "is written."
        )
    if (here / "fleet.py").exists():
        fleet = "[FLEET.md](FLEET.md)" if (here / "FLEET.md").exists() else "its output"
        found.append(
            f"- JWKS fetches of a fleet of workers with and without shared key sets "
            f"(`redis_url=`): `python benchmarks/fleet.py --write` (needs `redis-server`), "
            f"see {fleet}."
        )
    if (here / "SOAK.md").exists():
        found.append("- Long-running soak: `make soak`, see [SOAK.md](SOAK.md).")
    if not found:
        return []
    return ["## Other benchmarks", "", *found, ""]


SECTIONS = ("micro", "e2e", "startup", "memory")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--slice", type=float, default=0.25, help="seconds per case per round")
    parser.add_argument("--write", action="store_true", help="write benchmarks/RESULTS.md")
    parser.add_argument("--only", default="", help="comma-separated key labels to run")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"comma-separated sections to run (default: all of {','.join(SECTIONS)})",
    )
    parser.add_argument("--note", default="", help="a sentence added to each section's run line")
    parser.add_argument(
        "--memory-tokens",
        type=int,
        default=None,
        help="distinct tokens for the memory stream (default 100,000; 1,000,000 with --write)",
    )
    parser.add_argument(
        "--e2e-seconds", type=float, default=10.0, help="seconds of wrk load per contender"
    )
    args = parser.parse_args()
    wanted = [name.strip() for name in args.sections.split(",") if name.strip()]
    unknown = set(wanted) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    memory_tokens = args.memory_tokens
    if memory_tokens is None:
        memory_tokens = 1_000_000 if args.write else 100_000

    sections: dict[str, list[str]] = {"intro": INTRO, "others": others()}
    if "e2e" in wanted:  # fail before the long sections when wrk is missing
        import e2e

        e2e.require_wrk()
    if "micro" in wanted:
        setups = [
            make_setup("RS256-2048", "RS256", rsa.generate_private_key(65537, 2048)),
            make_setup("RS256-4096", "RS256", rsa.generate_private_key(65537, 4096)),
            make_setup("ES256", "ES256", ec.generate_private_key(ec.SECP256R1())),
            make_setup("EdDSA", "EdDSA", ed25519.Ed25519PrivateKey.generate()),
        ]
        if args.only:
            labels = set(args.only.split(","))
            setups = [s for s in setups if s.label in labels]
        sections["micro"] = micro(args, setups)
    if "e2e" in wanted:
        sections["e2e"] = e2e.run(seconds=args.e2e_seconds, note=args.note)
    if "startup" in wanted:
        import startup

        sections["startup"] = startup.run(note=args.note)
    if "memory" in wanted and memory_tokens:
        from memory import stream

        print(f"memory: {memory_tokens:,} distinct tokens ...", flush=True)
        sections["memory"] = stream(memory_tokens, note=args.note)
    if args.write:
        write_sections(sections)
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
