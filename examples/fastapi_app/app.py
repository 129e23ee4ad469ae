"""A small FastAPI API protected by bearerguard, its security described in OpenAPI.

Routes: ``GET /health`` (public), ``GET /me`` (any valid token), ``GET /orders``
(scope ``orders:read``), ``POST /orders`` (scope ``orders:write``),
``DELETE /orders/{order_id}`` (role ``orders-admin``) and ``WS /live`` (any
valid token). ``/docs`` (Swagger UI) and ``/openapi.json``
are public: the document lists the bearer scheme and each route's scopes, so
Swagger UI shows "Authorize" and sends the token with "Try it out".
Configured from environment variables (see README.md)::

    BEARERGUARD_OIDC=https://login.example.com BEARERGUARD_AUDIENCE=api://orders \\
        uvicorn --factory examples.fastapi_app.app:create_app
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, WebSocket
from pydantic import BaseModel

from bearerguard import AccessClaims, GuardSettings
from bearerguard.starlette import JWTAuth, OpenAPIScheme, require_roles, require_scopes

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

#: The scopes this API knows, as Swagger UI's OAuth 2.0 dialog describes them.
SCOPES = {"orders:read": "Read the orders", "orders:write": "Place orders"}

ORDERS = [{"id": 1, "item": "coffee beans"}, {"id": 2, "item": "grinder"}]


class NewOrder(BaseModel):
    item: str


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


def docs_scheme_from_env(environ: Mapping[str, str] = os.environ) -> OpenAPIScheme:
    """How ``/docs`` asks for a token: pasted (HTTP bearer), or an OAuth 2.0 flow.

    ``DOCS_TOKEN_URL`` (the issuer's token endpoint) makes it OAuth 2.0: the
    client credentials flow, or with ``DOCS_AUTHORIZATION_URL`` the
    authorization code flow.
    """
    token_url = environ.get("DOCS_TOKEN_URL")
    if token_url is None:
        return OpenAPIScheme()
    return OpenAPIScheme(
        token_url=token_url,
        authorization_url=environ.get("DOCS_AUTHORIZATION_URL"),
        scopes=SCOPES,
    )


def orders_routes(scheme: OpenAPIScheme) -> APIRouter:
    """The protected routes; each requirement's scopes appear in the OpenAPI document."""
    router = APIRouter()
    # Typed dependencies: the claims are AccessClaims for mypy and editors.
    signed_in = require_scopes(scheme=scheme).depends()
    reader = require_scopes("orders:read", scheme=scheme).depends()
    writer = require_scopes("orders:write", scheme=scheme).depends()
    admin = require_roles("orders-admin", scheme=scheme).depends()

    @router.get("/me")
    def me(claims: AccessClaims = signed_in) -> dict[str, Any]:
        """Any valid token: who is calling, with which scopes."""
        return {"sub": claims.sub, "scopes": sorted(claims.scopes)}

    @router.get("/orders")
    def list_orders(claims: AccessClaims = reader) -> dict[str, Any]:
        """Only for tokens granting ``orders:read``."""
        return {"owner": claims.sub, "orders": ORDERS}

    @router.post("/orders", status_code=201)
    def place_order(order: NewOrder, claims: AccessClaims = writer) -> dict[str, Any]:
        """Only for tokens granting ``orders:write``."""
        return {"id": len(ORDERS) + 1, "item": order.item, "owner": claims.sub}

    @router.delete("/orders/{order_id}")
    def cancel_order(order_id: int, claims: AccessClaims = admin) -> dict[str, Any]:
        """Only for tokens whose ``roles`` claim holds ``orders-admin``."""
        return {"cancelled": order_id, "by": claims.sub}

    @router.websocket("/live")
    async def live(websocket: WebSocket, claims: AccessClaims = signed_in) -> None:
        """A WebSocket: the handshake's token is checked before it is accepted."""
        await websocket.accept()
        await websocket.send_json({"hello": claims.sub})
        await websocket.close()

    return router


def create_app(**settings: Any) -> FastAPI:
    """The app; *settings* override the environment (both are GuardSettings fields)."""
    public = ["/health", "/docs*", "/openapi.json"]
    options: dict[str, Any] = {"public_paths": public, **settings_from_env(), **settings}
    guard = GuardSettings(**options)  # configuration errors surface here, at start-up
    client_id = os.environ.get("DOCS_CLIENT_ID")
    app = FastAPI(
        title="Orders API",
        # Swagger UI's OAuth 2.0 dialog: the public client, with PKCE (RFC 7636).
        swagger_ui_init_oauth=(
            {"clientId": client_id, "usePkceWithAuthorizationCodeGrant": True}
            if client_id
            else None
        ),
    )

    @app.get("/health")
    def health() -> dict[str, str]:
        """Public: no token needed."""
        return {"status": "ok"}

    app.include_router(orders_routes(docs_scheme_from_env()))
    app.add_middleware(JWTAuth, settings=guard)
    return app
