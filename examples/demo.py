"""``make demo``: a real issuer, the Starlette example under uvicorn, real HTTP requests.

Run from the repository root::

    python -m examples.demo

It starts bearerguard's local issuer (OIDC discovery + JWKS on 127.0.0.1),
serves ``examples/starlette_app`` with uvicorn on an ephemeral port, mints
tokens, sends requests, prints what came back and why, then shuts everything
down. The exit code is 0 when every answer is the expected one.
"""

from __future__ import annotations

import base64
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
import uvicorn

from bearerguard.testing import LocalIssuer
from examples.starlette_app.app import create_app

AUDIENCE = "api://orders"


@contextmanager
def run_uvicorn(app: Any) -> Iterator[str]:
    """Serve *app* on 127.0.0.1 (free port) in a thread; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def tamper(token: str) -> str:
    """Change the payload (``sub`` → ``admin``) and keep the old signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


@dataclass(frozen=True)
class Step:
    """One request of the demo and the status it must get."""

    label: str
    path: str
    expected: int
    authorization: Callable[[], str | None]
    before: Callable[[], object] | None = None


def why(response: requests.Response) -> str:
    """A short reason: the claims seen on success, the RFC 6750 error otherwise."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:60]
    if response.ok:
        return ", ".join(f"{k}={v}" for k, v in body.items() if k != "orders")[:60] or "ok"
    if "error_description" in body:
        return f"{body['error']}: {body['error_description']}"
    return str(body)[:60]


def main() -> int:
    """Run the demo; 0 when every request got the expected status."""
    with LocalIssuer(audience=AUDIENCE) as issuer:
        # The safe rotation flow: the next key is in the JWKS before it signs anything.
        issuer.publish_next_key()
        app = create_app(oidc=issuer.url, audience=AUDIENCE, realm="orders-demo")
        reader = issuer.mint(sub="alice", scopes=["orders:read"])
        steps = [
            Step("public route, no token", "/health", 200, lambda: None),
            Step("valid token with orders:read", "/orders", 200, lambda: f"Bearer {reader}"),
            Step("no token", "/orders", 401, lambda: None),
            Step(
                "expired token",
                "/orders",
                401,
                lambda: (
                    f"Bearer {issuer.mint(sub='alice', scopes=['orders:read'], expires_in=-3600)}"
                ),
            ),
            Step(
                "token for another API (aud)",
                "/orders",
                401,
                lambda: (
                    f"Bearer {issuer.mint(sub='alice', scopes=['orders:read'], audience='api://billing')}"
                ),
            ),
            Step(
                "valid token, scope missing",
                "/orders",
                403,
                lambda: f"Bearer {issuer.mint(sub='bob', scopes=['profile'])}",
            ),
            Step(
                "tampered token (sub changed)", "/orders", 401, lambda: f"Bearer {tamper(reader)}"
            ),
            Step("malformed header 'Bearer abc def'", "/orders", 400, lambda: "Bearer abc def"),
            Step(
                "token after key rotation (new kid)",
                "/me",
                200,
                lambda: f"Bearer {issuer.mint(sub='carol')}",
                before=issuer.rotate,
            ),
            Step("old key's token still accepted", "/me", 200, lambda: f"Bearer {reader}"),
        ]
        rows: list[tuple[str, str, str, str, str]] = []
        failures = 0
        with run_uvicorn(app) as base_url, requests.Session() as http:
            for step in steps:
                if step.before is not None:
                    step.before()
                value = step.authorization()
                headers = {} if value is None else {"Authorization": value}
                response = http.get(base_url + step.path, headers=headers, timeout=10)
                ok = response.status_code == step.expected
                failures += not ok
                rows.append(
                    (
                        f"GET {step.path:<8} {step.label}",
                        str(step.expected),
                        str(response.status_code),
                        "ok" if ok else "UNEXPECTED",
                        why(response),
                    )
                )
        print_table(rows)
        print()
        print(
            f"issuer: {issuer.url} served discovery {issuer.count(issuer.oidc_path)}x, "
            f"JWKS {issuer.count(issuer.jwks_path)}x for {len(steps)} requests "
            "(keys are cached; the rotated key was published ahead)"
        )
    print("all answers as expected" if not failures else f"{failures} unexpected answer(s)")
    return 1 if failures else 0


def print_table(rows: list[tuple[str, str, str, str, str]]) -> None:
    """Print *rows* under a header, columns aligned."""
    header = ("request", "want", "got", "", "why")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(5)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


if __name__ == "__main__":
    sys.exit(main())
