"""bearerguard.starlette through Starlette's TestClient (and httpx's ASGI transport)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.authentication import requires
from starlette.endpoints import HTTPEndpoint
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from bearerguard import ConfigurationError
from bearerguard._settings import GuardSettings
from bearerguard.starlette import JWTAuth, TokenUser, require_scopes, require_token
from bearerguard.testing import LocalIssuer

from .apps import TestClient
from .cases import AUDIENCE, NO_TOKEN_BODY, REALM


async def whoami(request: Request) -> JSONResponse:
    user = request.user
    return JSONResponse(
        {
            "type": type(user).__name__,
            "authenticated": user.is_authenticated,
            "name": user.display_name,
            "auth_scopes": request.auth.scopes,
        }
    )


@requires("read")
async def starlette_read(request: Request) -> PlainTextResponse:
    return PlainTextResponse("read")


@requires("admin")
async def starlette_admin(request: Request) -> PlainTextResponse:
    return PlainTextResponse("admin")


@require_scopes("read")
def sync_read(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.user.claims.sub)


class Orders(HTTPEndpoint):
    @require_scopes("read")
    async def get(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse("orders")

    @require_scopes("write")
    async def post(self, request: Request) -> PlainTextResponse:
        return PlainTextResponse("created")


@require_token
async def token_only(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.user.claims.sub)


async def echo_sub(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.user.claims.sub)
    await websocket.close()


@require_scopes("write")
async def ws_writer(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("writer")
    await websocket.close()


ROUTES = [
    Route("/whoami", whoami),
    Route("/starlette-read", starlette_read),
    Route("/starlette-admin", starlette_admin),
    Route("/sync-read", sync_read),
    Route("/orders", Orders, methods=["GET", "POST"]),
    Route("/token-only", token_only),
    WebSocketRoute("/ws", echo_sub),
    WebSocketRoute("/ws-writer", ws_writer),
]


def make_app(issuer: LocalIssuer, **options: Any) -> Starlette:
    app = Starlette(routes=ROUTES)
    app.add_middleware(JWTAuth, oidc=issuer.url, audience=AUDIENCE, realm=REALM, **options)
    return app


@pytest.fixture(scope="module")
def client(local_issuer: LocalIssuer) -> Any:
    with TestClient(make_app(local_issuer)) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_user_and_auth_are_set(client: Any, local_issuer: LocalIssuer) -> None:
    """request.user is a TokenUser; request.auth holds the token's scopes (sorted)."""
    token = local_issuer.mint(sub="alice", scopes=["write", "read"])
    response = client.get("/whoami", headers=bearer(token))
    assert response.json() == {
        "type": "TokenUser",
        "authenticated": True,
        "name": "alice",
        "auth_scopes": ["read", "write"],
    }


def test_token_user() -> None:
    """TokenUser exposes claims, scopes, identity (sub, else client_id)."""
    from bearerguard import AccessClaims

    claims = AccessClaims(sub=None, client_id="svc", scopes=frozenset({"a"}))
    user = TokenUser(claims)
    assert (user.claims, user.scopes, user.identity, user.display_name, repr(user)) == (
        claims,
        frozenset({"a"}),
        "svc",
        "svc",
        "<TokenUser 'svc'>",
    )


@pytest.mark.parametrize(
    ("path", "scopes", "status"),
    [
        pytest.param("/starlette-read", ["read"], 200, id="starlette-requires-granted"),
        pytest.param("/starlette-admin", ["read"], 403, id="starlette-requires-refused"),
        pytest.param("/sync-read", ["read"], 200, id="sync-endpoint-granted"),
        pytest.param("/sync-read", [], 403, id="sync-endpoint-refused"),
        pytest.param("/orders", ["read"], 200, id="http-endpoint-method-granted"),
    ],
)
def test_scope_checks(
    client: Any, local_issuer: LocalIssuer, path: str, scopes: list[str], status: int
) -> None:
    """Starlette's own requires() works on scope["auth"]; require_scopes on any endpoint."""
    token = local_issuer.mint(sub="alice", scopes=scopes)
    assert client.get(path, headers=bearer(token)).status_code == status


def test_http_endpoint_method_refused(client: Any, local_issuer: LocalIssuer) -> None:
    """A decorated HTTPEndpoint method answers 403 insufficient_scope."""
    response = client.post("/orders", headers=bearer(local_issuer.mint(scopes=["read"])))
    assert (response.status_code, response.headers["www-authenticate"]) == (
        403,
        f'Bearer realm="{REALM}", error="insufficient_scope", '
        'error_description="missing scope: write", scope="write"',
    )


def test_optional_authentication(local_issuer: LocalIssuer) -> None:
    """required=False: anonymous passes as UnauthenticatedUser, a bad token is still 401."""
    with TestClient(make_app(local_issuer, required=False)) as client:
        anonymous = client.get("/whoami")
        assert (anonymous.status_code, anonymous.json()["type"]) == (200, "UnauthenticatedUser")
        assert client.get("/token-only").content == NO_TOKEN_BODY
        assert client.get("/whoami", headers=bearer("not.a.token")).status_code == 401
        token = local_issuer.mint(sub="carol")
        assert client.get("/token-only", headers=bearer(token)).text == "carol"


def test_public_paths_skip_authentication(local_issuer: LocalIssuer) -> None:
    """A public path sees no user even with a bogus token: it is never verified."""
    with TestClient(make_app(local_issuer, public_paths=["/whoami"])) as client:
        response = client.get("/whoami", headers=bearer("garbage"))
        assert (response.status_code, response.json()["type"]) == (200, "UnauthenticatedUser")


def _open(request: Request) -> JSONResponse:
    return JSONResponse({"user": type(request.user).__name__, "path": request.url.path})


def test_starlette_public_paths_are_relative_to_the_mount(local_issuer: LocalIssuer) -> None:
    """In a sub-app mounted at /v1, public_paths=["/health"] means /v1/health."""
    inner = Starlette(
        routes=[Route("/health", _open), Route("/orders", _open)],
        middleware=[
            Middleware(JWTAuth, oidc=local_issuer.url, audience=AUDIENCE, public_paths=["/health"])
        ],
    )
    app = Starlette(routes=[Mount("/v1", app=inner)])
    with TestClient(app) as client:
        assert client.get("/v1/health").status_code == 200
        assert client.get("/v1/orders").status_code == 401


class _SetsUser:
    """An outer middleware that has already set a user (e.g. from a session)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["user"] = _SessionUser()
        await self.app(scope, receive, send)


class _SessionUser:
    is_authenticated = True


def test_starlette_keeps_an_outer_user_on_public_paths(local_issuer: LocalIssuer) -> None:
    """A user set by an outer middleware survives on a public path."""
    app = Starlette(
        routes=[Route("/health", _open)],
        middleware=[
            Middleware(_SetsUser),
            Middleware(JWTAuth, oidc=local_issuer.url, audience=AUDIENCE, public_paths=["/health"]),
        ],
    )
    with TestClient(app) as client:
        assert client.get("/health").json()["user"] == "_SessionUser"


# -- WebSockets --------------------------------------------------------------------------


def test_websocket_with_token_is_accepted(client: Any, local_issuer: LocalIssuer) -> None:
    """The handshake's Authorization header authenticates the connection."""
    with client.websocket_connect("/ws", headers=bearer(local_issuer.mint(sub="dave"))) as ws:
        assert ws.receive_text() == "dave"


@pytest.mark.parametrize(
    ("path", "token", "code", "reason"),
    [
        pytest.param("/ws", None, 1008, "unauthorized: bearer token required", id="no-token"),
        pytest.param("/ws", "expired", 1008, "invalid_token: exp: token has expired", id="expired"),
        pytest.param(
            "/ws-writer",
            "valid",
            1008,
            "insufficient_scope: missing scope: write",
            id="missing-scope",
        ),
    ],
)
def test_websocket_refused_before_accept(
    client: Any, tokens: dict[str, str], path: str, token: str | None, code: int, reason: str
) -> None:
    """A refused handshake is closed with 1008 (policy violation) and a short reason."""
    headers = bearer(tokens[token]) if token else {}
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(path, headers=headers),
    ):
        pass  # pragma: no cover - the handshake is refused
    assert (closed.value.code, closed.value.reason) == (code, reason)


def test_websocket_keys_unavailable(down_issuer: LocalIssuer, tokens: dict[str, str]) -> None:
    """Keys unavailable: closed with 1013 (try again later), not as a bad token."""
    with (
        TestClient(make_app(down_issuer)) as client,
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect("/ws", headers=bearer(tokens["down"])),
    ):
        pass  # pragma: no cover - the handshake is refused
    assert (closed.value.code, closed.value.reason) == (
        1013,
        "temporarily_unavailable: signing keys unavailable",
    )


# -- the rest of ASGI ------------------------------------------------------------------------


def test_lifespan_passes_through(local_issuer: LocalIssuer) -> None:
    """Startup and shutdown reach the app untouched."""
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("startup")
        yield
        events.append("shutdown")

    app = Starlette(routes=ROUTES, lifespan=lifespan)
    app.add_middleware(JWTAuth, oidc=local_issuer.url, audience=AUDIENCE)
    with TestClient(app):
        assert events == ["startup"]
    assert events == ["startup", "shutdown"]


@pytest.mark.parametrize(
    ("method", "status", "body", "allow"),
    [
        pytest.param("HEAD", 200, b"", None, id="head"),
        pytest.param("POST", 405, b"", "GET, HEAD", id="post-not-allowed"),
    ],
)
def test_metadata_methods(
    local_issuer: LocalIssuer, method: str, status: int, body: bytes, allow: str | None
) -> None:
    """The RFC 9728 document answers GET and HEAD only."""
    app = make_app(local_issuer, resource="https://api.example.com")
    with TestClient(app) as client:
        response = client.request(method, "/.well-known/oauth-protected-resource")
    assert (response.status_code, response.content, response.headers.get("allow")) == (
        status,
        body,
        allow,
    )


def test_settings_object_or_keywords_not_both(local_issuer: LocalIssuer) -> None:
    """JWTAuth takes settings= or keyword settings; both fails the app's start-up."""
    settings = GuardSettings(oidc=local_issuer.url, audience=AUDIENCE)
    app = JWTAuth(Starlette(), settings=settings, realm="x")
    with (
        pytest.raises(ConfigurationError, match="settings= or keyword settings, not both"),
        TestClient(app),
    ):
        pass  # pragma: no cover - the start-up fails


def test_require_scopes_without_middleware_is_a_configuration_error() -> None:
    """Forgetting JWTAuth fails loudly instead of letting requests through."""
    app = Starlette(routes=[Route("/sync-read", sync_read)])
    with TestClient(app) as client, pytest.raises(ConfigurationError, match="JWTAuth"):
        client.get("/sync-read")


@pytest.mark.parametrize("scope", ["", "a b", 3])
def test_bad_scope_names_fail_at_import_time(scope: Any) -> None:
    """Scope tokens are checked when the decorator is built."""
    with pytest.raises(ConfigurationError, match="one non-empty scope token"):
        require_scopes(scope)


def test_require_scopes_decorates_callables_only() -> None:
    """Anything but an endpoint or a connection is a TypeError."""
    with pytest.raises(TypeError, match="decorates an endpoint"):
        require_scopes("read")(42)  # type: ignore[call-overload]  # the misuse under test


def test_event_loop_keeps_running_during_a_slow_key_fetch(
    bearerguard_issuer: LocalIssuer,
) -> None:
    """averify waits for keys off the loop: a ticker task never stalls during the fetch."""
    bearerguard_issuer.delay(0.5, bearerguard_issuer.jwks_path)
    app = make_app(bearerguard_issuer)
    token = bearerguard_issuer.mint(sub="erin")

    async def main() -> tuple[str, float]:
        gaps: list[float] = []

        async def tick() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.02)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticker = asyncio.ensure_future(tick())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
            response = await http.get("/token-only", headers=bearer(token))
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        return response.text, max(gaps)

    text, longest_stall = asyncio.run(main())
    assert text == "erin"
    assert longest_stall < 0.25  # the fetch took 0.5 s


def test_importing_bearerguard_imports_no_framework() -> None:
    """`import bearerguard` (and bearerguard._settings) pull in no web framework."""
    code = (
        "import sys, bearerguard, bearerguard._settings, bearerguard.starlette;"
        "print(sorted(m for m in ('fastapi', 'flask', 'django') if m in sys.modules));"
        "import importlib; sys.modules.pop('bearerguard.starlette');"
    )
    core = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, bearerguard, bearerguard._settings, bearerguard.wsgi;"
            "print(sorted(m for m in ('starlette', 'fastapi', 'flask', 'django', 'werkzeug')"
            " if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert core.stdout.strip() == "[]"
    adapter = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert adapter.stdout.strip() == "[]"  # bearerguard.starlette does not import FastAPI
