"""A small Starlette API protected by bearerguard.

Routes: ``GET /health`` (public), ``GET /me`` (any valid token),
``GET /orders`` (scope ``orders:read``) and ``WS /live`` (any valid token).
Configured from ``BEARERGUARD_*`` environment variables (see README.md)::

    BEARERGUARD_OIDC=https://login.example.com BEARERGUARD_AUDIENCE=api://orders \\
        uvicorn --factory examples.starlette_app.app:create_app
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from bearerguard import GuardSettings
from bearerguard.starlette import JWTAuth, require_scopes

#: The settings read from ``BEARERGUARD_<NAME>`` environment variables.
ENV_SETTINGS = (
    "OIDC",
    "OAUTH2",
    "JWKS_URI",
    "ISSUER",
    "AUDIENCE",
    "REALM",
    "REQUIRED",
    "PUBLIC_PATHS",
    "RESOURCE",
)

ORDERS = [{"id": 1, "item": "coffee beans"}, {"id": 2, "item": "grinder"}]


def settings_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """``BEARERGUARD_*`` variables as settings; JSON values (lists, booleans) are decoded."""
    found: dict[str, Any] = {}
    for name in ENV_SETTINGS:
        raw = environ.get("BEARERGUARD_" + name)
        if raw is None:
            continue
        try:
            found[name.lower()] = json.loads(raw)
        except ValueError:
            found[name.lower()] = raw
    return found


async def health(request: Request) -> JSONResponse:
    """Public: no token needed."""
    return JSONResponse({"status": "ok"})


async def me(request: Request) -> JSONResponse:
    """Any valid token: who is calling, with which scopes."""
    claims = request.user.claims
    return JSONResponse({"sub": claims.sub, "scopes": sorted(claims.scopes)})


@require_scopes("orders:read")
async def orders(request: Request) -> JSONResponse:
    """Only for tokens granting ``orders:read``."""
    return JSONResponse({"owner": request.user.claims.sub, "orders": ORDERS})


async def live(websocket: WebSocket) -> None:
    """A WebSocket: the handshake is authenticated by the middleware."""
    await websocket.accept()
    await websocket.send_json({"hello": websocket.user.claims.sub})
    await websocket.close()


def create_app(**settings: Any) -> Starlette:
    """The app; *settings* override the environment (both are GuardSettings fields)."""
    options: dict[str, Any] = {"public_paths": ["/health"], **settings_from_env(), **settings}
    guard = GuardSettings(**options)  # configuration errors surface here, at start-up
    return Starlette(
        routes=[
            Route("/health", health),
            Route("/me", me),
            Route("/orders", orders),
            WebSocketRoute("/live", live),
        ],
        middleware=[Middleware(JWTAuth, settings=guard)],
    )
