"""examples/starlette_app, configured from the environment, against a real local issuer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from examples.starlette_app.app import create_app, settings_from_env
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bearerguard import ConfigurationError
from bearerguard.testing import LocalIssuer

AUDIENCE = "api://orders"


@pytest.fixture
def client(local_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("BEARERGUARD_OIDC", local_issuer.url)
    monkeypatch.setenv("BEARERGUARD_AUDIENCE", AUDIENCE)
    monkeypatch.setenv("BEARERGUARD_REALM", "orders")
    with TestClient(create_app()) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("path", "scopes", "status"),
    [
        pytest.param("/health", None, 200, id="public-route"),
        pytest.param("/me", None, 401, id="token-route-without-token"),
        pytest.param("/me", [], 200, id="token-route"),
        pytest.param("/orders", ["profile"], 403, id="scoped-route-without-scope"),
        pytest.param("/orders", ["orders:read"], 200, id="scoped-route"),
    ],
)
def test_routes(
    client: Any, local_issuer: LocalIssuer, path: str, scopes: list[str] | None, status: int
) -> None:
    """A public route, a token route and a scoped route."""
    headers = {}
    if scopes is not None:
        headers = bearer(local_issuer.mint(sub="alice", scopes=scopes, audience=AUDIENCE))
    assert client.get(path, headers=headers).status_code == status


def test_orders_answer(client: Any, local_issuer: LocalIssuer) -> None:
    """The scoped route sees the claims."""
    token = local_issuer.mint(sub="alice", scopes=["orders:read"], audience=AUDIENCE)
    assert client.get("/orders", headers=bearer(token)).json()["owner"] == "alice"


def test_live_websocket(client: Any, local_issuer: LocalIssuer) -> None:
    """The WebSocket route greets the token's subject; without a token it is closed (1008)."""
    token = local_issuer.mint(sub="bob", audience=AUDIENCE)
    with client.websocket_connect("/live", headers=bearer(token)) as ws:
        assert ws.receive_json() == {"hello": "bob"}
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/live"):
        pass  # pragma: no cover
    assert closed.value.code == 1008


def test_settings_from_env_decodes_json() -> None:
    """Lists and booleans come as JSON; plain strings stay strings; others are ignored."""
    env = {
        "BEARERGUARD_OIDC": "https://login.example.com",
        "BEARERGUARD_REQUIRED": "false",
        "BEARERGUARD_PUBLIC_PATHS": '["/health", "/docs"]',
        "BEARERGUARD_REDIS_URL": "redis://localhost",
        "HOME": "/root",
    }
    assert settings_from_env(env) == {
        "oidc": "https://login.example.com",
        "required": False,
        "public_paths": ["/health", "/docs"],
    }


def test_missing_configuration_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without BEARERGUARD_OIDC (or another source) create_app says what to set."""
    for name in ("OIDC", "OAUTH2", "JWKS_URI", "ISSUER", "AUDIENCE"):
        monkeypatch.delenv(f"BEARERGUARD_{name}", raising=False)
    with pytest.raises(ConfigurationError, match="no token issuer configured"):
        create_app(audience=AUDIENCE)
