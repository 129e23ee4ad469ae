"""Memory under a stream of distinct tokens: the verified-token cache stays bounded.

Streams *N* distinct, valid ES256 access tokens (default one million) through
one :class:`~bearerguard.verifier.Verifier` with the default cache.
A second process mints the tokens, one batch ahead, so that signing does not
slow the run; the measuring process only receives, verifies and forgets them.
At each checkpoint it reports the entries held, the deep size of the cache
(:func:`held_bytes`) and the process's peak resident memory.

Run: ``python benchmarks/memory.py --tokens 1000000``; ``run.py`` calls
:func:`stream` for the memory section of ``RESULTS.md``.
"""

from __future__ import annotations

import argparse
import base64
import gc
import itertools
import json
import multiprocessing
import resource
import sys
import time
import types
from collections.abc import Iterator
from typing import Any

from _report import load, machine, stamp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bearerguard import Issuer, PublicJWK, StandardClaims, Validator
from bearerguard.verifier import DEFAULT_CACHE_SIZE, Verifier

ISS = "https://login.example.com/tenant-7/"
AUD = "api://orders"
BATCH = 1_000
TARGET_PER_ENTRY = 1_536  # bytes held per cached token (1.5 KiB)

_key: ec.EllipticCurvePrivateKey | None = None
_header = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _init_minter(pem: bytes, header: str) -> None:
    global _key, _header
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    _key, _header = key, header


def _mint_batch(span: tuple[int, int]) -> list[str]:
    """Tokens number *start* .. *start + count - 1*: realistic claims, distinct jti."""
    start, count = span
    assert _key is not None
    now = int(time.time())
    scheme = ec.ECDSA(hashes.SHA256())
    tokens = []
    for serial in range(start, start + count):
        claims = {
            "iss": ISS,
            "sub": f"user-{serial % 50_000}",
            "aud": [AUD, "api://billing"],
            "exp": now + 3600,
            "iat": now - 5,
            "nbf": now - 5,
            "jti": f"{serial:012d}-8d55-4a8c-9d0e-5f7b0c9b2a11",
            "client_id": "s6BhdRkqt3",
            "scope": "openid profile orders:read orders:write",
            "roles": ["buyer", "reviewer"],
        }
        signing_input = f"{_header}.{_b64(json.dumps(claims, separators=(',', ':')).encode())}"
        r, s = decode_dss_signature(_key.sign(signing_input.encode("ascii"), scheme))
        tokens.append(f"{signing_input}.{_b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}")
    return tokens


def _spans(total: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, BATCH):
        yield start, min(BATCH, total - start)


# What a cache entry may hold of its own: containers, scalars and the claims
# object. Key sources, keys and classes are shared by every entry and not counted.
_OWN = (tuple, list, dict, set, frozenset, types.MappingProxyType, str, bytes, int, float)


def held_bytes(verifier: Verifier[Any]) -> int:
    """Deep size of the verified-token cache: the dict itself, every key and entry.

    Each object is counted once (``sys.getsizeof``, GC header included), however
    many entries share it: a scope set built once and shared costs its bytes once.
    """
    cache = verifier._cache
    if cache is None:
        return 0
    seen: set[int] = {id(cache)}
    total = sys.getsizeof(cache)
    stack: list[Any] = []
    for token, entry in cache.items():
        stack.append(token)
        stack.append(entry)
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        if not isinstance(obj, _OWN) and not isinstance(obj, StandardClaims):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if not isinstance(obj, str | bytes | int | float):
            stack.extend(r for r in gc.get_referents(obj) if not isinstance(r, type))
    return total


def _rss_mib() -> float:
    """The process's peak resident set size (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def stream(tokens: int, cache_size: int = DEFAULT_CACHE_SIZE, note: str = "") -> list[str]:
    """Run the stream; return the Markdown lines of the result (a RESULTS.md section)."""
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = PublicJWK.from_key(key.public_key(), kid="mem")
    header = _b64(json.dumps({"alg": "ES256", "kid": "mem", "typ": "at+jwt"}).encode())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    verifier = Verifier([Issuer(ISS, [jwk], Validator(aud=AUD))], cache_size=cache_size)
    _init_minter(pem, header)  # one token here, for its size
    length = len(_mint_batch((0, 1))[0])
    checkpoints = sorted(
        {n for n in (1_000, cache_size, 10 * cache_size, 100_000, tokens) if 0 < n <= tokens}
    )
    rows: list[str] = []
    per_entry = 0.0
    started_at, load_at_start = stamp(), load()
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, initializer=_init_minter, initargs=(pem, header)) as pool:
        spans = _spans(tokens)
        # One batch minted ahead, not more: pending batches would count as held memory.
        pending = [pool.apply_async(_mint_batch, (span,)) for span in itertools.islice(spans, 2)]
        gc.collect()
        started = time.perf_counter()
        done = 0
        while pending:
            batch = pending.pop(0).get()
            following = next(spans, None)
            if following is not None:
                pending.append(pool.apply_async(_mint_batch, (following,)))
            for token in batch:
                verifier.verify(token)
            done += len(batch)
            del batch
            while checkpoints and done >= checkpoints[0]:
                checkpoints.pop(0)
                gc.collect()
                held = held_bytes(verifier)
                info = verifier.cache_info()
                per_entry = held / max(info.size, 1)
                seconds = time.perf_counter() - started
                rows.append(
                    f"| {done:,} | {info.size:,} | {held / 2**20:.1f} MiB "
                    f"| {per_entry:,.0f} B | {_rss_mib():.0f} MiB | {seconds:.0f} s |"
                )
                print(rows[-1], flush=True)
        elapsed = time.perf_counter() - started
    assert verifier.cache_info().misses == tokens
    mark = "met" if per_entry <= TARGET_PER_ENTRY else "**not met**"
    suffix = f" {note}" if note else ""
    return [
        "## Memory under a stream of distinct tokens",
        "",
        machine(),
        f"Run: {started_at}, `python benchmarks/memory.py --tokens {tokens}`; "
        f"{load_at_start} when the run started.{suffix}",
        "",
        f"{tokens:,} distinct valid ES256 access tokens (realistic claims, {length} characters "
        f"each) verified by one Verifier with cache_size={cache_size:,}, in {elapsed:.0f} s. "
        "Cache held is the deep size of the verified-token cache at each checkpoint: the "
        "cache's own structure, every cached token string and its entry (claims object, "
        "payload, sets, numbers), each object counted once (`sys.getsizeof`); the key set "
        "and keys, shared by all entries, are not counted. Process max RSS is the peak "
        "resident memory of the whole process, interpreter and libraries included.",
        "",
        "| tokens so far | cache entries | cache held | held per entry | process max RSS | "
        "elapsed |",
        "|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Target: at most {TARGET_PER_ENTRY:,} B held per cached token; reached "
        f"{per_entry:,.0f} B at the last checkpoint: {mark}.",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tokens", type=int, default=1_000_000)
    parser.add_argument("--cache-size", type=int, default=DEFAULT_CACHE_SIZE)
    args = parser.parse_args(argv)
    print("\n".join(stream(args.tokens, args.cache_size)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
