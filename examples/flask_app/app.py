"""A small Flask API protected by bearerguard.

Routes: ``GET /health`` (public), ``GET /me`` (any valid token) and
``GET /orders`` (scope ``orders:read``). Configured from ``BEARERGUARD_*``
environment variables (see README.md)::

    BEARERGUARD_OIDC=https://login.example.com BEARERGUARD_AUDIENCE=api://orders \\
        flask --app examples.flask_app.app:create_app run
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask, g

from bearerguard.flask import BearerGuard, require_scopes

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


def config_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """``BEARERGUARD_*`` variables as Flask config; JSON values (lists, booleans) are decoded."""
    found: dict[str, Any] = {}
    for name in ENV_SETTINGS:
        raw = environ.get("BEARERGUARD_" + name)
        if raw is None:
            continue
        try:
            found["BEARERGUARD_" + name] = json.loads(raw)
        except ValueError:
            found["BEARERGUARD_" + name] = raw
    return found


def create_app(**settings: Any) -> Flask:
    """The app; *settings* override ``app.config`` (both are GuardSettings fields)."""
    app = Flask(__name__)
    app.config["BEARERGUARD_PUBLIC_PATHS"] = ["/health"]
    app.config.update(config_from_env())
    BearerGuard(app, **settings)

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Public: no token needed."""
        return {"status": "ok"}

    @app.get("/me")
    def me() -> dict[str, Any]:
        """Any valid token: who is calling, with which scopes."""
        return {"sub": g.claims.sub, "scopes": sorted(g.claims.scopes)}

    @app.get("/orders")
    @require_scopes("orders:read")
    def orders() -> dict[str, Any]:
        """Only for tokens granting ``orders:read``."""
        return {"owner": g.claims.sub, "orders": ORDERS}

    return app
