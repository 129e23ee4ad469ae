"""CORS with every adapter: the CORS layer answers preflights, bearerguard answers the rest.

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``)
never carries a token, so it must be answered before authentication: by
Starlette's ``CORSMiddleware`` placed outside ``JWTAuth``, by Flask's own
``OPTIONS`` answer (with ``flask-cors`` adding its headers), or by a CORS layer
wrapped around ``BearerAuthMiddleware``. Past that layer every request is
authenticated, preflight or not: each test's endpoints record every run, and
no run may happen without a valid token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi import FastAPI
from flask import Flask, g, request
from flask.views import MethodView
from flask_cors import CORS, cross_origin
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from werkzeug.test import Client

from bearerguard.flask import BearerGuard
from bearerguard.starlette import JWTAuth
from bearerguard.testing import LocalIssuer
from bearerguard.wsgi import CLAIMS_KEY, BearerAuthMiddleware

from .apps import TestClient
from .cases import AUDIENCE, NO_TOKEN_BODY, REALM
from .servers import serve

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ORIGIN = "https://app.example"
#: What a browser sends before a cross-origin POST with a bearer token.
PREFLIGHT = {
    "Origin": ORIGIN,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}
BODY = b'{"item": 1}'
CHALLENGE = f'Bearer realm="{REALM}"'

Runs = list[tuple[str, bytes]]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def guard(issuer: LocalIssuer) -> dict[str, Any]:
    return {"oidc": issuer.url, "audience": AUDIENCE, "realm": REALM}


def assert_refused(response: Any, *, cors: bool) -> None:
    """The 401 for a request without a token; with the CORS layer's header when *cors*."""
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == CHALLENGE
    body = response.content if hasattr(response, "content") else response.data
    assert body == NO_TOKEN_BODY
    allowed = response.headers.get("access-control-allow-origin")
    assert allowed == (ORIGIN if cors else None)


# -- Starlette and FastAPI ---------------------------------------------------------------------

STARLETTE_CORS: dict[str, Any] = {
    "allow_origins": [ORIGIN],
    "allow_methods": ["GET", "POST"],
    "allow_headers": ["Authorization"],
}


def starlette_orders(runs: Runs) -> list[Route]:
    """``/orders`` accepts GET, POST and OPTIONS, and records each run."""

    async def orders(request: Request) -> PlainTextResponse:
        runs.append((request.method, await request.body()))
        return PlainTextResponse(request.user.claims.sub)

    return [Route("/orders", orders, methods=["GET", "POST", "OPTIONS"])]


def cors_added_last(issuer: LocalIssuer, runs: Runs) -> Starlette:
    app = Starlette(routes=starlette_orders(runs))
    app.add_middleware(JWTAuth, **guard(issuer))
    app.add_middleware(CORSMiddleware, **STARLETTE_CORS)  # added last: outermost
    return app


def cors_listed_first(issuer: LocalIssuer, runs: Runs) -> Starlette:
    return Starlette(
        routes=starlette_orders(runs),
        middleware=[
            Middleware(CORSMiddleware, **STARLETTE_CORS),
            Middleware(JWTAuth, **guard(issuer)),
        ],
    )


def fastapi_cors_added_last(issuer: LocalIssuer, runs: Runs) -> FastAPI:
    app = FastAPI(openapi_url=None)

    @app.api_route("/orders", methods=["GET", "POST", "OPTIONS"])
    async def orders(request: Request) -> PlainTextResponse:
        runs.append((request.method, await request.body()))
        return PlainTextResponse(request.user.claims.sub)

    app.add_middleware(JWTAuth, **guard(issuer))
    app.add_middleware(CORSMiddleware, **STARLETTE_CORS)
    return app


def cors_added_first(issuer: LocalIssuer, runs: Runs) -> Starlette:
    app = Starlette(routes=starlette_orders(runs))
    app.add_middleware(CORSMiddleware, **STARLETTE_CORS)
    app.add_middleware(JWTAuth, **guard(issuer))  # added last: outermost, the wrong order
    return app


def cors_listed_last(issuer: LocalIssuer, runs: Runs) -> Starlette:
    return Starlette(
        routes=starlette_orders(runs),
        middleware=[
            Middleware(JWTAuth, **guard(issuer)),
            Middleware(CORSMiddleware, **STARLETTE_CORS),
        ],
    )


CORS_OUTSIDE = [
    pytest.param(cors_added_last, id="add_middleware-cors-last"),
    pytest.param(cors_listed_first, id="middleware-list-cors-first"),
    pytest.param(fastapi_cors_added_last, id="fastapi-add_middleware-cors-last"),
]
CORS_INSIDE = [
    pytest.param(cors_added_first, id="add_middleware-cors-first"),
    pytest.param(cors_listed_last, id="middleware-list-cors-last"),
]

Build = Callable[[LocalIssuer, Runs], Any]


@pytest.mark.parametrize("build", CORS_OUTSIDE)
def test_cors_middleware_outside_answers_the_preflight(
    local_issuer: LocalIssuer, build: Build
) -> None:
    """CORSMiddleware outside JWTAuth answers the preflight (200 + CORS headers); nothing runs."""
    runs: Runs = []
    with TestClient(build(local_issuer, runs)) as client:
        response = client.options("/orders", headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-methods"] == "GET, POST"
    assert response.headers["access-control-allow-headers"] == (
        "Accept, Accept-Language, Authorization, Content-Language, Content-Type"
    )
    assert runs == []


@pytest.mark.parametrize("build", CORS_OUTSIDE)
def test_cors_middleware_outside_then_the_request_is_authenticated(
    local_issuer: LocalIssuer, build: Build
) -> None:
    """The real request: 401 with CORS headers without a token (the browser reads it), 200 with."""
    runs: Runs = []
    with TestClient(build(local_issuer, runs)) as client:
        refused = client.post("/orders", headers={"Origin": ORIGIN}, content=BODY)
        assert_refused(refused, cors=True)
        assert runs == []
        headers = {"Origin": ORIGIN, **bearer(local_issuer.mint(sub="alice"))}
        accepted = client.post("/orders", headers=headers, content=BODY)
    assert (accepted.status_code, accepted.text) == (200, "alice")
    assert accepted.headers["access-control-allow-origin"] == ORIGIN
    assert runs == [("POST", BODY)]


@pytest.mark.parametrize("build", CORS_INSIDE)
def test_jwtauth_outside_cors_refuses_the_preflight(
    local_issuer: LocalIssuer, build: Build
) -> None:
    """The wrong order: JWTAuth sees the preflight first and refuses it; nothing runs."""
    runs: Runs = []
    with TestClient(build(local_issuer, runs)) as client:
        response = client.request("OPTIONS", "/orders", headers=PREFLIGHT, content=BODY)
    assert_refused(response, cors=False)
    assert runs == []


def _options_route(runs: Runs) -> Starlette:
    async def endpoint(request: Request) -> PlainTextResponse:
        runs.append((request.method, await request.body()))
        return PlainTextResponse(request.user.claims.sub)

    return Starlette(routes=[Route("/orders", endpoint, methods=["OPTIONS", "POST"])])


def _options_endpoint_class(runs: Runs) -> Starlette:
    class Orders(HTTPEndpoint):
        async def options(self, request: Request) -> PlainTextResponse:
            runs.append((request.method, await request.body()))
            return PlainTextResponse(request.user.claims.sub)

    return Starlette(routes=[Route("/orders", Orders)])


def _mounted_app(runs: Runs) -> Starlette:
    return Starlette(routes=[Mount("/v1", app=_options_route(runs))])


def _mounted_raw_asgi(runs: Runs) -> Starlette:
    async def raw(scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        runs.append((scope["method"], message.get("body", b"")))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": scope["user"].claims.sub.encode()})

    return Starlette(routes=[Mount("/raw", app=raw)])


def _fastapi_options(runs: Runs) -> FastAPI:
    app = FastAPI(openapi_url=None)

    @app.options("/orders")
    async def orders(request: Request) -> PlainTextResponse:
        runs.append((request.method, await request.body()))
        return PlainTextResponse(request.user.claims.sub)

    return app


@pytest.mark.parametrize(
    ("build", "path"),
    [
        pytest.param(_options_route, "/orders", id="route-with-options"),
        pytest.param(_options_endpoint_class, "/orders", id="http-endpoint-options"),
        pytest.param(_mounted_app, "/v1/orders", id="mounted-starlette-app"),
        pytest.param(_mounted_raw_asgi, "/raw/anything", id="mounted-raw-asgi-app"),
        pytest.param(_fastapi_options, "/orders", id="fastapi-options-route"),
    ],
)
def test_no_starlette_endpoint_runs_for_a_preflight_without_token(
    local_issuer: LocalIssuer, build: Callable[[Runs], Any], path: str
) -> None:
    """A preflight reaching JWTAuth is authenticated: 401, and the OPTIONS handler never runs."""
    runs: Runs = []
    app = build(runs)
    app.add_middleware(JWTAuth, **guard(local_issuer))
    with TestClient(app) as client:
        refused = client.request("OPTIONS", path, headers=PREFLIGHT, content=BODY)
        assert_refused(refused, cors=False)
        assert runs == []
        headers = {**PREFLIGHT, **bearer(local_issuer.mint(sub="alice"))}
        accepted = client.request("OPTIONS", path, headers=headers, content=BODY)
    assert (accepted.status_code, accepted.text) == (200, "alice")
    assert runs == [("OPTIONS", BODY)]


def test_no_websocket_endpoint_runs_without_token(local_issuer: LocalIssuer) -> None:
    """A cross-origin handshake without a token is closed (1008); no endpoint, mounted or not."""
    runs: list[str] = []

    async def echo(websocket: WebSocket) -> None:
        runs.append(websocket.url.path)
        await websocket.accept()
        await websocket.send_text(websocket.user.claims.sub)
        await websocket.close()

    app = Starlette(
        routes=[
            WebSocketRoute("/ws", echo),
            Mount("/v1", routes=[WebSocketRoute("/ws", echo)]),
        ],
        middleware=[
            Middleware(CORSMiddleware, **STARLETTE_CORS),
            Middleware(JWTAuth, **guard(local_issuer)),
        ],
    )
    headers = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    with TestClient(app) as client:
        for path in ("/ws", "/v1/ws"):
            with (
                pytest.raises(WebSocketDisconnect) as closed,
                client.websocket_connect(path, headers=headers),
            ):
                pass  # pragma: no cover - the handshake is refused
            assert closed.value.code == 1008
        assert runs == []
        with client.websocket_connect("/v1/ws", headers=bearer(local_issuer.mint(sub="eve"))) as ws:
            assert ws.receive_text() == "eve"
    assert runs == ["/v1/ws"]


@pytest.mark.parametrize(
    ("build", "preflight_status"),
    [
        pytest.param(cors_added_last, 200, id="cors-outside"),
        pytest.param(cors_added_first, 401, id="cors-inside"),
    ],
)
def test_cors_order_over_real_http(
    local_issuer: LocalIssuer, build: Build, preflight_status: int
) -> None:
    """Under uvicorn: only CORSMiddleware outside answers the preflight; no endpoint runs for it."""
    runs: Runs = []
    with serve(build(local_issuer, runs)) as url, httpx.Client(base_url=url, timeout=10) as http:
        preflight = http.request("OPTIONS", "/orders", headers=PREFLIGHT, content=BODY)
        refused = http.post("/orders", headers={"Origin": ORIGIN}, content=BODY)
        token = local_issuer.mint(sub="alice")
        accepted = http.post("/orders", headers={"Origin": ORIGIN, **bearer(token)}, content=BODY)
    assert preflight.status_code == preflight_status
    cors_outside = preflight_status == 200
    if cors_outside:
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
    else:
        assert_refused(preflight, cors=False)
    # The real request is authenticated either way; only a CORS layer outside
    # JWTAuth puts its headers on the refusal, so that the browser can read it.
    assert_refused(refused, cors=cors_outside)
    assert (accepted.status_code, accepted.text) == (200, "alice")
    assert accepted.headers["access-control-allow-origin"] == ORIGIN
    assert runs == [("POST", BODY)]


# -- Flask -------------------------------------------------------------------------------------


def flask_api(issuer: LocalIssuer, runs: list[tuple[str, ...]], *, cors_first: bool) -> Flask:
    """BearerGuard and flask-cors's ``CORS(app)``, in either order, with views that record runs."""
    app = Flask(__name__)
    if cors_first:
        CORS(app, origins=[ORIGIN])
    BearerGuard(app, **guard(issuer))
    if not cors_first:
        CORS(app, origins=[ORIGIN])

    @app.before_request
    def registered_after_bearerguard() -> None:
        runs.append(("hook", request.path))

    @app.get("/orders")  # no OPTIONS listed: Flask answers OPTIONS itself
    def orders() -> str:
        runs.append(("view", request.method))
        return str(g.claims.sub)

    @app.post("/orders")
    def create_order() -> str:
        runs.append(("view", request.method, request.get_data().decode()))
        return str(g.claims.sub)

    @app.route("/custom", methods=["OPTIONS", "POST"])
    def custom() -> str:
        runs.append(("view", request.method, request.get_data().decode()))
        return str(g.claims.sub)

    class Items(MethodView):
        def options(self) -> str:
            runs.append(("view", request.method, request.get_data().decode()))
            return str(g.claims.sub)

        def post(self) -> str:  # pragma: no cover - only OPTIONS is sent
            return str(g.claims.sub)

    app.add_url_rule("/items", view_func=Items.as_view("items"))

    @app.route("/crossed", methods=["POST"])
    @cross_origin(origins=[ORIGIN])
    def crossed() -> str:  # pragma: no cover - never reached without a token
        runs.append(("view", request.method))
        return str(g.claims.sub)

    @app.route("/folder/")
    def folder() -> str:  # pragma: no cover - only the redirect is asked for
        return "folder"

    @app.route("/posts-only", methods=["POST"], provide_automatic_options=False)
    def posts_only() -> str:  # pragma: no cover - only OPTIONS is sent
        return "posts"

    @app.errorhandler(404)
    @app.errorhandler(405)
    def routing_error(error: Exception) -> tuple[str, int]:
        runs.append(("errorhandler", type(error).__name__))
        return "routing error", getattr(error, "code", 500)

    return app


CORS_ORDERS = [
    pytest.param(True, id="CORS-before-BearerGuard"),
    pytest.param(False, id="CORS-after-BearerGuard"),
]


@pytest.mark.parametrize("cors_first", CORS_ORDERS)
def test_flask_answers_the_preflight_of_a_route_without_options(
    local_issuer: LocalIssuer, cors_first: bool
) -> None:
    """Flask's built-in OPTIONS answer, with flask-cors's headers; no view and no later hook."""
    runs: list[tuple[str, ...]] = []
    client = flask_api(local_issuer, runs, cors_first=cors_first).test_client()
    response = client.options("/orders", headers=PREFLIGHT, data=BODY)
    assert response.status_code == 200
    assert response.data == b""
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-headers"] == "authorization, content-type"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert runs == []


@pytest.mark.parametrize("cors_first", CORS_ORDERS)
def test_flask_cors_then_the_request_is_authenticated(
    local_issuer: LocalIssuer, cors_first: bool
) -> None:
    """The real request: 401 with flask-cors's headers without a token, 200 with one."""
    runs: list[tuple[str, ...]] = []
    client = flask_api(local_issuer, runs, cors_first=cors_first).test_client()
    refused = client.post("/orders", headers={"Origin": ORIGIN}, data=BODY)
    assert_refused(refused, cors=True)
    assert runs == []
    headers = {"Origin": ORIGIN, **bearer(local_issuer.mint(sub="alice"))}
    accepted = client.post("/orders", headers=headers, data=BODY)
    assert (accepted.status_code, accepted.text) == (200, "alice")
    assert accepted.headers["access-control-allow-origin"] == ORIGIN
    assert runs == [("hook", "/orders"), ("view", "POST", BODY.decode())]


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/custom", id="view-listing-options"),
        pytest.param("/items", id="method-view-with-options"),
        pytest.param("/crossed", id="cross_origin-decorator"),
        pytest.param("/nowhere", id="unknown-path-404-handler"),
        pytest.param("/posts-only", id="no-automatic-options-405-handler"),
        pytest.param("/folder", id="strict-slash-redirect"),
    ],
)
def test_flask_preflight_refused_where_user_code_would_answer(
    local_issuer: LocalIssuer, path: str
) -> None:
    """Anything but Flask's own OPTIONS answer needs a token: 401; no view, hook or handler runs."""
    runs: list[tuple[str, ...]] = []
    client = flask_api(local_issuer, runs, cors_first=True).test_client()
    response = client.options(path, headers=PREFLIGHT, data=BODY)
    assert_refused(response, cors=True)
    assert runs == []


@pytest.mark.parametrize("path", ["/custom", "/items"])
def test_flask_options_view_runs_with_a_token(local_issuer: LocalIssuer, path: str) -> None:
    """A view that handles OPTIONS itself runs once the request carries a valid token."""
    runs: list[tuple[str, ...]] = []
    client = flask_api(local_issuer, runs, cors_first=True).test_client()
    headers = {**PREFLIGHT, **bearer(local_issuer.mint(sub="alice"))}
    response = client.options(path, headers=headers, data=BODY)
    assert (response.status_code, response.text) == (200, "alice")
    assert runs == [("hook", path), ("view", "OPTIONS", BODY.decode())]


def test_flask_plain_options_is_authenticated(local_issuer: LocalIssuer) -> None:
    """An OPTIONS request that is no CORS preflight is authenticated like any other."""
    runs: list[tuple[str, ...]] = []
    client = flask_api(local_issuer, runs, cors_first=True).test_client()
    assert_refused(client.options("/orders", headers={"Origin": ORIGIN}), cors=True)
    assert runs == []


# -- plain WSGI --------------------------------------------------------------------------------


def wsgi_cors(app: WSGIApplication) -> WSGIApplication:
    """A minimal CORS layer: answers preflights from ORIGIN, adds its header to every answer."""

    def layer(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("HTTP_ORIGIN") != ORIGIN:
            return app(environ, start_response)
        allow = [("Access-Control-Allow-Origin", ORIGIN), ("Vary", "Origin")]
        if environ["REQUEST_METHOD"] == "OPTIONS" and environ.get(
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD"
        ):
            start_response(
                "204 No Content",
                [
                    *allow,
                    ("Access-Control-Allow-Methods", "GET, POST"),
                    ("Access-Control-Allow-Headers", "authorization, content-type"),
                ],
            )
            return []

        def with_cors(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> Callable[[bytes], object]:
            return start_response(status, [*headers, *allow], exc_info)

        return app(environ, with_cors)

    return layer


def wsgi_orders(runs: Runs) -> Any:
    """A WSGI app answering every method with the token's ``sub``, recording each run."""

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        size = int(environ.get("CONTENT_LENGTH") or 0)
        runs.append((environ["REQUEST_METHOD"], environ["wsgi.input"].read(size)))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ[CLAIMS_KEY].sub.encode()]

    return app


def test_wsgi_cors_layer_outside_answers_the_preflight(local_issuer: LocalIssuer) -> None:
    """cors(BearerAuthMiddleware(app)): the layer answers the preflight; the request is checked."""
    runs: Runs = []
    client = Client(wsgi_cors(BearerAuthMiddleware(wsgi_orders(runs), **guard(local_issuer))))
    preflight = client.options("/orders", headers=PREFLIGHT, data=BODY)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == ORIGIN
    assert runs == []
    assert_refused(client.post("/orders", headers={"Origin": ORIGIN}, data=BODY), cors=True)
    assert runs == []
    headers = {"Origin": ORIGIN, **bearer(local_issuer.mint(sub="alice"))}
    accepted = client.post("/orders", headers=headers, data=BODY)
    assert (accepted.status_code, accepted.text) == (200, "alice")
    assert accepted.headers["access-control-allow-origin"] == ORIGIN
    assert runs == [("POST", BODY)]


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda app: app, id="no-cors-layer"),
        pytest.param(wsgi_cors, id="cors-layer-inside"),
    ],
)
def test_wsgi_preflight_reaching_the_middleware_is_refused(
    local_issuer: LocalIssuer, wrap: Callable[[Any], Any]
) -> None:
    """BearerAuthMiddleware authenticates every preflight: 401, and nothing behind it runs."""
    runs: Runs = []
    client = Client(BearerAuthMiddleware(wrap(wsgi_orders(runs)), **guard(local_issuer)))
    assert_refused(client.options("/orders", headers=PREFLIGHT, data=BODY), cors=False)
    assert runs == []
