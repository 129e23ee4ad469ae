"""examples/fastapi_app, configured from the environment, against a real local issuer."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from examples.fastapi_app.app import create_app, docs_scheme_from_env
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bearerguard.issuing import Client
from bearerguard.starlette import OpenAPIScheme
from bearerguard.testing import LocalIssuer

AUDIENCE = "api://orders"
ROOT = Path(__file__).resolve().parents[2]
BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


@pytest.fixture
def client(local_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("BEARERGUARD_OIDC", local_issuer.url)
    monkeypatch.setenv("BEARERGUARD_AUDIENCE", AUDIENCE)
    for name in ("DOCS_TOKEN_URL", "DOCS_AUTHORIZATION_URL", "DOCS_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    with TestClient(create_app()) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("method", "path", "scopes", "status"),
    [
        pytest.param("GET", "/health", None, 200, id="public-route"),
        pytest.param("GET", "/docs", None, 200, id="swagger-ui-is-public"),
        pytest.param("GET", "/openapi.json", None, 200, id="openapi-document-is-public"),
        pytest.param("GET", "/me", None, 401, id="token-route-without-token"),
        pytest.param("GET", "/me", [], 200, id="token-route"),
        pytest.param("GET", "/orders", ["profile"], 403, id="read-route-without-scope"),
        pytest.param("GET", "/orders", ["orders:read"], 200, id="read-route"),
        pytest.param("POST", "/orders", ["orders:read"], 403, id="write-route-without-scope"),
        pytest.param("POST", "/orders", ["orders:write"], 201, id="write-route"),
    ],
)
def test_routes(
    client: Any,
    local_issuer: LocalIssuer,
    method: str,
    path: str,
    scopes: list[str] | None,
    status: int,
) -> None:
    """Public routes, a token route and the scoped routes."""
    headers = {}
    if scopes is not None:
        headers = bearer(local_issuer.mint(sub="alice", scopes=scopes, audience=AUDIENCE))
    body = {"item": "filter papers"} if method == "POST" else None
    assert client.request(method, path, headers=headers, json=body).status_code == status


@pytest.mark.parametrize(
    ("roles", "status"),
    [
        pytest.param(["orders-admin"], 200, id="role-granted"),
        pytest.param(["support"], 403, id="role-missing"),
    ],
)
def test_role_route(client: Any, local_issuer: LocalIssuer, roles: list[str], status: int) -> None:
    """DELETE /orders/{id} needs the orders-admin role; scopes do not stand in for it."""
    token = local_issuer.mint(sub="root", scopes=["orders:write"], roles=roles)
    response = client.delete("/orders/2", headers=bearer(token))
    assert response.status_code == status
    if status == 200:
        assert response.json() == {"cancelled": 2, "by": "root"}
    else:
        assert response.headers["www-authenticate"] == (
            'Bearer error="insufficient_scope", error_description="missing role: orders-admin"'
        )


def test_place_order_answer(client: Any, local_issuer: LocalIssuer) -> None:
    """The write route sees the body and the claims."""
    token = local_issuer.mint(sub="alice", scopes=["orders:write"], audience=AUDIENCE)
    response = client.post("/orders", headers=bearer(token), json={"item": "filter papers"})
    assert response.json() == {"id": 3, "item": "filter papers", "owner": "alice"}


def test_live_websocket(client: Any, local_issuer: LocalIssuer) -> None:
    """The WebSocket route greets the token's subject; without a token it is closed (1008)."""
    token = local_issuer.mint(sub="bob", audience=AUDIENCE)
    with client.websocket_connect("/live", headers=bearer(token)) as ws:
        assert ws.receive_json() == {"hello": "bob"}
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/live"):
        pass  # pragma: no cover
    assert closed.value.code == 1008


def test_openapi_document_declares_the_security(client: Any) -> None:
    """components.securitySchemes has the bearer scheme; each operation lists its scopes."""
    schema = client.get("/openapi.json").json()
    security = {
        (method.upper(), path): operation.get("security")
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }
    assert schema["components"]["securitySchemes"] == {"bearerAuth": BEARER}
    assert security == {
        ("GET", "/health"): None,
        ("GET", "/me"): [{"bearerAuth": []}],
        ("GET", "/orders"): [{"bearerAuth": ["orders:read"]}],
        ("POST", "/orders"): [{"bearerAuth": ["orders:write"]}],
        ("DELETE", "/orders/{order_id}"): [{"bearerAuth": []}],
    }


@pytest.mark.parametrize(
    ("environ", "scheme"),
    [
        pytest.param({}, OpenAPIScheme(), id="paste-a-token"),
        pytest.param(
            {"DOCS_TOKEN_URL": "https://login.example.com/oauth/token"},
            OpenAPIScheme(
                token_url="https://login.example.com/oauth/token",
                scopes={"orders:read": "Read the orders", "orders:write": "Place orders"},
            ),
            id="client-credentials",
        ),
        pytest.param(
            {
                "DOCS_TOKEN_URL": "https://login.example.com/oauth/token",
                "DOCS_AUTHORIZATION_URL": "https://login.example.com/authorize",
            },
            OpenAPIScheme(
                token_url="https://login.example.com/oauth/token",
                authorization_url="https://login.example.com/authorize",
                scopes={"orders:read": "Read the orders", "orders:write": "Place orders"},
            ),
            id="authorization-code",
        ),
    ],
)
def test_docs_scheme_from_env(environ: dict[str, str], scheme: OpenAPIScheme) -> None:
    """DOCS_TOKEN_URL (and DOCS_AUTHORIZATION_URL) turn the docs' scheme into OAuth 2.0."""
    assert docs_scheme_from_env(environ) == scheme


def test_docs_client_id_starts_swagger_ui_oauth_with_pkce(
    local_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DOCS_CLIENT_ID reaches Swagger UI's initOAuth, with PKCE for the authorization code flow."""
    monkeypatch.setenv("BEARERGUARD_OIDC", local_issuer.url)
    monkeypatch.setenv("BEARERGUARD_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("DOCS_CLIENT_ID", "swagger-ui")
    with TestClient(create_app()) as client:
        page = client.get("/docs").text
    assert (
        'ui.initOAuth({"clientId": "swagger-ui", "usePkceWithAuthorizationCodeGrant": true})'
        in page
    )


def test_oauth2_scheme_token_url_issues_a_token_the_api_accepts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The tokenUrl the document names issues (client credentials) a token /orders accepts.

    This is the request Swagger UI's OAuth 2.0 dialog makes, then the call
    "Try it out" sends with the token it got.
    """
    batch = Client(client_id="swagger", client_secret="s3cret", scopes=("orders:read",))
    with LocalIssuer(audience=AUDIENCE, clients=[batch]) as issuer:
        monkeypatch.setenv("BEARERGUARD_OIDC", issuer.url)
        monkeypatch.setenv("BEARERGUARD_AUDIENCE", AUDIENCE)
        monkeypatch.setenv("DOCS_TOKEN_URL", issuer.token_endpoint)
        with TestClient(create_app()) as client:
            schema = client.get("/openapi.json").json()
            flow = schema["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
            (needed,) = schema["paths"]["/orders"]["get"]["security"][0]["oauth2"]
            granted = httpx.post(
                flow["tokenUrl"],
                data={"grant_type": "client_credentials", "scope": needed},
                auth=("swagger", "s3cret"),
                timeout=10,
            ).json()
            response = client.get("/orders", headers=bearer(granted["access_token"]))
        assert (flow["tokenUrl"], needed) == (issuer.token_endpoint, "orders:read")
    assert (response.status_code, response.json()["owner"]) == (200, "swagger")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_runs_under_uvicorn_as_the_readme_says(local_issuer: LocalIssuer) -> None:
    """``uvicorn --factory examples.fastapi_app.app:create_app``: docs public, API protected."""
    port = _free_port()
    env = {
        **os.environ,
        "BEARERGUARD_OIDC": local_issuer.url,
        "BEARERGUARD_AUDIENCE": AUDIENCE,
    }
    command = [sys.executable, "-m", "uvicorn", "--factory", "examples.fastapi_app.app:create_app"]
    server = subprocess.Popen(
        [*command, "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    schema = http.get("/openapi.json").json()
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            token = local_issuer.mint(sub="carol", scopes=["orders:read"], audience=AUDIENCE)
            statuses = (
                http.get("/docs").status_code,
                http.get("/orders").status_code,
                http.get("/orders", headers=bearer(token)).status_code,
            )
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=10)
    assert b"Traceback" not in errors, errors.decode(errors="replace")
    assert schema["paths"]["/orders"]["get"]["security"] == [{"bearerAuth": ["orders:read"]}]
    assert statuses == (200, 401, 200)
