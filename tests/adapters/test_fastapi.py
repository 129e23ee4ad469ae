"""bearerguard.starlette in a FastAPI app, through FastAPI's TestClient."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import Depends, FastAPI, Security, WebSocket
from starlette.websockets import WebSocketDisconnect

from bearerguard import AccessClaims
from bearerguard.starlette import JWTAuth, require_scopes, require_token
from bearerguard.testing import LocalIssuer

from .apps import FastAPITestClient as TestClient
from .cases import AUDIENCE, NO_TOKEN_BODY, REALM


def make_app(issuer: LocalIssuer, **options: Any) -> FastAPI:
    app = FastAPI()

    @app.get("/me")
    def me(claims: AccessClaims = Depends(require_token)) -> dict[str, Any]:
        return {"sub": claims.sub, "scopes": sorted(claims.scopes)}

    @app.get("/orders")
    async def orders(claims: AccessClaims = Security(require_scopes("orders:read"))) -> list[str]:
        return [f"order of {claims.sub}"]

    @app.get("/both", dependencies=[Depends(require_scopes("read", "write"))])
    async def both() -> str:
        return "both"

    @app.get("/open")
    async def open_route() -> str:
        return "open"

    @app.websocket("/ws")
    async def ws(
        websocket: WebSocket, claims: AccessClaims = Depends(require_scopes("chat"))
    ) -> None:
        await websocket.accept()
        await websocket.send_text(str(claims.sub))
        await websocket.close()

    app.add_middleware(
        JWTAuth,
        oidc=issuer.url,
        audience=AUDIENCE,
        realm=REALM,
        public_paths=["/openapi.json", "/docs*"],
        **options,
    )
    return app


@pytest.fixture(scope="module")
def client(local_issuer: LocalIssuer) -> Any:
    with TestClient(make_app(local_issuer)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_dependency_returns_the_claims(client: Any, local_issuer: LocalIssuer) -> None:
    """Depends(require_token) hands the endpoint the typed claims."""
    response = client.get("/me", headers=bearer(local_issuer.mint(sub="alice", scopes=["b", "a"])))
    assert response.json() == {"sub": "alice", "scopes": ["a", "b"]}


@pytest.mark.parametrize(
    ("path", "scopes", "status", "challenge"),
    [
        pytest.param("/orders", ["orders:read"], 200, None, id="security-granted"),
        pytest.param(
            "/orders",
            ["read"],
            403,
            f'Bearer realm="{REALM}", error="insufficient_scope", '
            'error_description="missing scope: orders:read", scope="orders:read"',
            id="security-refused",
        ),
        pytest.param("/both", ["read", "write"], 200, None, id="route-dependency-granted"),
        pytest.param(
            "/both",
            ["read"],
            403,
            f'Bearer realm="{REALM}", error="insufficient_scope", '
            'error_description="missing scope: write", scope="read write"',
            id="route-dependency-names-every-required-scope",
        ),
    ],
)
def test_scope_dependencies(
    client: Any,
    local_issuer: LocalIssuer,
    path: str,
    scopes: list[str],
    status: int,
    challenge: str | None,
) -> None:
    """Depends and Security forms refuse with the same 403 as the decorator."""
    response = client.get(path, headers=bearer(local_issuer.mint(scopes=scopes)))
    assert (response.status_code, response.headers.get("www-authenticate")) == (status, challenge)


def test_anonymous_request_to_a_dependency_route(local_issuer: LocalIssuer) -> None:
    """required=False: the dependency itself answers 401 with the shared bytes."""
    with TestClient(make_app(local_issuer, required=False)) as client:
        assert client.get("/open").text == '"open"'
        response = client.get("/me")
    assert (response.status_code, response.content) == (401, NO_TOKEN_BODY)
    assert response.headers["www-authenticate"] == f'Bearer realm="{REALM}"'


def test_openapi_shows_no_connection_parameter(client: Any) -> None:
    """FastAPI injects the connection: the dependency adds no query parameter."""
    schema = client.get("/openapi.json").json()
    assert "parameters" not in schema["paths"]["/me"]["get"]
    assert "parameters" not in schema["paths"]["/orders"]["get"]


def test_websocket_dependency(client: Any, local_issuer: LocalIssuer) -> None:
    """A WebSocket route's dependency gets the claims; a missing scope closes with 1008."""
    with client.websocket_connect(
        "/ws", headers=bearer(local_issuer.mint(sub="eve", scopes=["chat"]))
    ) as ws:
        assert ws.receive_text() == "eve"
    refused = bearer(local_issuer.mint(scopes=["read"]))
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws", headers=refused),
    ):
        pass  # pragma: no cover - refused before accept
    assert (closed.value.code, closed.value.reason) == (
        1008,
        "insufficient_scope: missing scope: chat",
    )
