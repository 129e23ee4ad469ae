"""examples/django_app served for real (runserver: WSGI, uvicorn: ASGI) against a local issuer.

The example runs in its own process, configured only through the environment
variables its README documents, exactly as a user starts it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from examples.django_app.settings import bearerguard_from_env

from bearerguard.testing import LocalIssuer

ROOT = Path(__file__).resolve().parents[2]
MANAGE = "examples.django_app.manage"
AUDIENCE = "api://orders"
ORDERS = [{"id": 1, "item": "coffee beans"}, {"id": 2, "item": "grinder"}]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(**variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BEARERGUARD_", "DJANGO_"))}
    env.update(variables)
    return env


@pytest.fixture(scope="module", params=["wsgi", "asgi"])
def base_url(
    request: pytest.FixtureRequest,
    local_issuer: LocalIssuer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """The example, served by `manage.py runserver` (WSGI) or uvicorn (ASGI)."""
    port = _free_port()
    if request.param == "wsgi":
        command = [sys.executable, "-m", MANAGE, "runserver", f"127.0.0.1:{port}", "--noreload"]
    else:
        command = [
            sys.executable, "-m", "uvicorn", "examples.django_app.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--lifespan", "off",
        ]  # fmt: skip
    log_path = tmp_path_factory.mktemp("django_app") / "server.log"
    env = _environment(BEARERGUARD_OIDC=local_issuer.url, BEARERGUARD_AUDIENCE=AUDIENCE)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log_path)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    with requests.Session() as session:
        session.trust_env = False
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"the example exited early:\n{log_path.read_text()}")
            try:
                if session.get(url + "/health", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
    pytest.fail(f"the example did not start:\n{log_path.read_text()}")


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # 127.0.0.1 only, never through a proxy
        yield session


SCOPE_CHALLENGE = (
    'Bearer realm="orders", error="insufficient_scope", '
    'error_description="missing scope: orders:read", scope="orders:read"'
)


@pytest.mark.parametrize(
    ("path", "token", "status", "challenge", "body"),
    [
        pytest.param("/health", None, 200, None, {"status": "ok"}, id="public"),
        pytest.param(
            "/me",
            None,
            401,
            'Bearer realm="orders"',
            {"error": "unauthorized", "error_description": "bearer token required"},
            id="token-route-without-token",
        ),
        pytest.param(
            "/me",
            {"scopes": ["profile"]},
            200,
            None,
            {"sub": "ann", "scopes": ["profile"]},
            id="token-route",
        ),
        pytest.param(
            "/me",
            {"expires_in": -3600},
            401,
            'Bearer realm="orders", error="invalid_token", '
            'error_description="exp: token has expired"',
            {"error": "invalid_token", "error_description": "exp: token has expired"},
            id="expired",
        ),
        pytest.param(
            "/orders",
            {"scopes": ["profile"]},
            403,
            SCOPE_CHALLENGE,
            {"error": "insufficient_scope", "error_description": "missing scope: orders:read"},
            id="scoped-route-without-scope",
        ),
        pytest.param(
            "/orders",
            {"scopes": ["orders:read"]},
            200,
            None,
            {"owner": "ann", "orders": ORDERS},
            id="scoped-route",
        ),
        pytest.param(
            "/api/orders",
            {"scopes": ["profile"]},
            403,
            SCOPE_CHALLENGE,
            {"error": "insufficient_scope", "error_description": "missing scope: orders:read"},
            id="drf-route-without-scope",
        ),
        pytest.param(
            "/api/orders",
            {"scopes": ["orders:read"]},
            200,
            None,
            {"owner": "ann", "orders": ORDERS},
            id="drf-route",
        ),
    ],
)
def test_example_routes(
    base_url: str,
    http: requests.Session,
    local_issuer: LocalIssuer,
    path: str,
    token: dict[str, Any] | None,
    status: int,
    challenge: str | None,
    body: dict[str, Any],
) -> None:
    """Each route answers as its README says, over real HTTP."""
    bearer = None if token is None else local_issuer.mint(sub="ann", **token)
    headers = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
    response = http.get(base_url + path, headers=headers, timeout=10)
    assert response.status_code == status
    assert response.headers.get("WWW-Authenticate") == challenge
    assert json.loads(response.content) == body


def test_example_refuses_to_start_unconfigured() -> None:
    """Without BEARERGUARD_OIDC/AUDIENCE Django stops at start-up with a clear message."""
    result = subprocess.run(
        [sys.executable, "-m", MANAGE, "check"],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "ImproperlyConfigured: settings.BEARERGUARD: no token issuer configured" in result.stderr


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        pytest.param({}, {}, id="nothing"),
        pytest.param(
            {"BEARERGUARD_OIDC": "https://login.example.com", "BEARERGUARD_AUDIENCE": "api://x"},
            {"OIDC": "https://login.example.com", "AUDIENCE": "api://x"},
            id="strings",
        ),
        pytest.param(
            {"BEARERGUARD_REQUIRED": "false", "BEARERGUARD_PUBLIC_PATHS": '["/health", "/docs*"]'},
            {"REQUIRED": False, "PUBLIC_PATHS": ["/health", "/docs*"]},
            id="json-values",
        ),
        pytest.param({"BEARERGUARD_OTHER": "x", "OIDC": "y"}, {}, id="other-variables"),
    ],
)
def test_settings_from_environment(environ: dict[str, str], expected: dict[str, Any]) -> None:
    """BEARERGUARD_<KEY> variables become BEARERGUARD keys; JSON values are decoded."""
    assert bearerguard_from_env(environ) == expected
