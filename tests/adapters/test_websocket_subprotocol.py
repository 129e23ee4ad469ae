"""Browser WebSockets: the token as the subprotocol after ``websocket_subprotocol=``.

Through Starlette's test client and through a real uvicorn server with the
``websockets`` client (what a browser's ``new WebSocket(url, ["bearer", token])``
sends on the wire).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from bearerguard import ConfigurationError, GuardSettings
from bearerguard.starlette import JWTAuth
from bearerguard.testing import LocalIssuer

from .cases import AUDIENCE
from .servers import serve


async def echo_first(websocket: WebSocket) -> None:
    """Accepts with the first offered subprotocol (the careless way) and reports what it saw."""
    offered = websocket.scope["subprotocols"]
    await websocket.accept(subprotocol=offered[0] if offered else None)
    user = websocket.scope["user"]
    await websocket.send_json(
        {
            "sub": user.claims.sub if user.is_authenticated else None,
            "subprotocols": offered,
            "header": websocket.headers.get("sec-websocket-protocol"),
        }
    )
    await websocket.close()


async def scope_dump(websocket: WebSocket) -> None:
    """Accepts with the name and sends back everything the scope holds, as text."""
    await websocket.accept(subprotocol="bearer")
    await websocket.send_text(repr(websocket.scope))
    await websocket.close()


ROUTES = [
    WebSocketRoute("/ws", echo_first),
    WebSocketRoute("/open", echo_first),
    WebSocketRoute("/scope", scope_dump),
]


def make_app(issuer: LocalIssuer, **options: Any) -> Starlette:
    app = Starlette(routes=ROUTES)
    app.add_middleware(JWTAuth, oidc=issuer.url, audience=AUDIENCE, **options)
    return app


@pytest.fixture(scope="module")
def client(local_issuer: LocalIssuer) -> Iterator[TestClient]:
    app = make_app(local_issuer, websocket_subprotocol="bearer", public_paths=["/open"])
    with TestClient(app) as test_client:
        yield test_client


def closed(client: TestClient, path: str, subprotocols: list[str], **headers: str) -> Any:
    try:
        with client.websocket_connect(path, subprotocols=subprotocols, headers=headers):
            pass
    except WebSocketDisconnect as refused:
        return refused.code, refused.reason
    raise AssertionError("the handshake was accepted")


def test_subprotocol_token_is_accepted(client: TestClient, local_issuer: LocalIssuer) -> None:
    """["bearer", token] authenticates; the app sees and echoes only the name."""
    token = local_issuer.mint(sub="alice")
    with client.websocket_connect("/ws", subprotocols=["bearer", token]) as ws:
        seen = ws.receive_json()
        accepted = ws.accepted_subprotocol
    assert (accepted, seen) == (
        "bearer",
        {"sub": "alice", "subprotocols": ["bearer"], "header": "bearer"},
    )


def test_token_is_nowhere_in_the_scope(client: TestClient, local_issuer: LocalIssuer) -> None:
    """No value of the scope the app sees (headers, subprotocols, user, ...) holds the token."""
    token = local_issuer.mint(sub="alice")
    with client.websocket_connect("/scope", subprotocols=["bearer", token]) as ws:
        dumped = ws.receive_text()
    assert "alice" in dumped
    assert token not in dumped


def test_other_subprotocols_are_kept(client: TestClient, local_issuer: LocalIssuer) -> None:
    """Only the token item leaves the offer; the app's own subprotocols stay in order."""
    token = local_issuer.mint(sub="alice")
    offer = ["chat.v2", "bearer", token, "chat.v1"]
    with client.websocket_connect("/ws", subprotocols=offer) as ws:
        seen = ws.receive_json()
    assert seen["subprotocols"] == ["chat.v2", "bearer", "chat.v1"]
    assert seen["header"] == "chat.v2, bearer, chat.v1"


def test_token_is_removed_on_a_public_path(client: TestClient, local_issuer: LocalIssuer) -> None:
    """A public path is not authenticated, yet its app never sees the token either."""
    token = local_issuer.mint(sub="alice")
    with client.websocket_connect("/open", subprotocols=["bearer", token]) as ws:
        seen = ws.receive_json()
    assert seen == {"sub": None, "subprotocols": ["bearer"], "header": "bearer"}


def test_subprotocol_name_is_configurable(local_issuer: LocalIssuer) -> None:
    """websocket_subprotocol="access_token" reads the item after "access_token"."""
    app = make_app(local_issuer, websocket_subprotocol="access_token")
    token = local_issuer.mint(sub="bob")
    with TestClient(app) as test_client:
        with test_client.websocket_connect("/ws", subprotocols=["access_token", token]) as ws:
            assert ws.receive_json()["sub"] == "bob"
        assert closed(test_client, "/ws", ["bearer", token]) == (
            1008,
            "unauthorized: bearer token required",
        )


def test_off_by_default(local_issuer: LocalIssuer) -> None:
    """Without websocket_subprotocol= a subprotocol token is not read."""
    token = local_issuer.mint(sub="alice")
    with TestClient(make_app(local_issuer)) as test_client:
        assert closed(test_client, "/ws", ["bearer", token]) == (
            1008,
            "unauthorized: bearer token required",
        )


@pytest.mark.parametrize(
    ("offer", "headers", "query", "expected"),
    [
        pytest.param(
            ["bearer", "not-a-jwt"],
            {},
            "",
            "invalid_token: token is not a compact JWS (three dot-separated segments)",
            id="bad-token",
        ),
        pytest.param(
            ["bearer"],
            {},
            "",
            "invalid_request: no token follows the bearer subprotocol",
            id="name-without-token",
        ),
        pytest.param(
            [],
            {},
            "",
            "unauthorized: bearer token required",
            id="no-token",
        ),
        pytest.param(
            ["bearer", "a=b"],
            {},
            "",
            "invalid_request: the token after the bearer subprotocol is malformed",
            id="malformed",
        ),
        pytest.param(
            ["bearer", "VALID"],
            {"Authorization": "Bearer VALID"},
            "",
            "invalid_request: credentials sent in more than one way",
            id="header-and-subprotocol",
        ),
        pytest.param(
            ["bearer", "VALID", "bearer", "VALID"],
            {},
            "",
            "invalid_request: credentials sent in more than one way",
            id="two-subprotocol-tokens",
        ),
        pytest.param(
            ["bearer", "VALID"],
            {},
            "access_token=VALID",
            "invalid_request: credentials sent in more than one way",
            id="query-and-subprotocol",
        ),
        pytest.param(
            [],
            {},
            "access_token=VALID",
            "invalid_request: token must be sent in the Authorization header",
            id="query-only",
        ),
    ],
)
def test_refused_handshakes(
    client: TestClient,
    local_issuer: LocalIssuer,
    offer: list[str],
    headers: dict[str, str],
    query: str,
    expected: str,
) -> None:
    """Each refused handshake is closed before accept with 1008 and the reason."""
    token = local_issuer.mint(sub="alice")
    offer = [token if item == "VALID" else item for item in offer]
    headers = {name: value.replace("VALID", token) for name, value in headers.items()}
    path = "/ws?" + query.replace("VALID", token) if query else "/ws"
    assert closed(client, path, offer, **headers) == (1008, expected)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("bearer token", id="space"),
        pytest.param("bearer,x", id="comma"),
        pytest.param(1, id="not-a-string"),
    ],
)
def test_subprotocol_name_must_be_a_token(name: Any) -> None:
    """websocket_subprotocol= must be an RFC 6455 subprotocol name."""
    with pytest.raises(ConfigurationError, match="websocket_subprotocol= must be"):
        GuardSettings(
            oidc="https://login.example.com", audience=AUDIENCE, websocket_subprotocol=name
        )


# -- a real client through uvicorn ---------------------------------------------


@pytest.fixture(scope="module")
def ws_url(local_issuer: LocalIssuer) -> Iterator[str]:
    pytest.importorskip("websockets", reason="uvicorn needs websockets for WebSockets")
    with serve(make_app(local_issuer, websocket_subprotocol="bearer")) as url:
        yield url.replace("http://", "ws://") + "/ws"


def test_uvicorn_answers_with_the_name_only(ws_url: str, local_issuer: LocalIssuer) -> None:
    """Over the wire the handshake answer's Sec-WebSocket-Protocol is "bearer", not the token."""
    from websockets.sync.client import connect

    token = local_issuer.mint(sub="carol")
    with connect(ws_url, subprotocols=["bearer", token], open_timeout=10) as ws:  # type: ignore[list-item]
        seen = ws.recv(timeout=10)
        response = ws.response
    assert response is not None
    assert response.headers.get_all("Sec-WebSocket-Protocol") == ["bearer"]
    assert token not in str(response.headers)
    assert ws.subprotocol == "bearer"
    assert seen == '{"sub":"carol","subprotocols":["bearer"],"header":"bearer"}'


def test_uvicorn_scope_holds_no_token(ws_url: str, local_issuer: LocalIssuer) -> None:
    """Through uvicorn too, the scope the app sees holds no trace of the token."""
    from websockets.sync.client import connect

    token = local_issuer.mint(sub="carol")
    url = ws_url.replace("/ws", "/scope")
    with connect(url, subprotocols=["bearer", token], open_timeout=10) as ws:  # type: ignore[list-item]
        dumped = ws.recv(timeout=10)
    assert "carol" in str(dumped)
    assert token not in str(dumped)


@pytest.mark.parametrize(
    "offer",
    [
        pytest.param(["bearer", "not-a-jwt"], id="bad-token"),
        pytest.param(["bearer"], id="name-without-token"),
        pytest.param(["chat.v1"], id="absent-token"),
    ],
)
def test_uvicorn_refuses_with_403(ws_url: str, offer: list[str]) -> None:
    """A refused handshake is answered 403 by uvicorn; no subprotocol is chosen."""
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url, subprotocols=offer, open_timeout=10)  # type: ignore[arg-type]
    assert refused.value.response.status_code == 403
    assert "Sec-WebSocket-Protocol" not in refused.value.response.headers
