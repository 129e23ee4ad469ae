"""The apps ``e2e.py`` serves with uvicorn, one factory per contender.

Each answers ``GET /orders`` with the same JSON, and every protected one first
checks a bearer token the same way: RS256 signature against the issuer's JWKS
(fetched from ``E2E_JWKS_URI`` over HTTP on 127.0.0.1), ``iss``, ``aud``,
``exp``, and the ``orders:read`` scope.

* ``starlette_noauth``: the Starlette example's ``/orders`` without the middleware;
* ``starlette_bearerguard`` / ``starlette_bearerguard_nocache``: the Starlette
  example itself (``examples/starlette_app``), with and without the
  verified-token cache;
* ``fastapi_noauth``: the same route in FastAPI, unprotected;
* ``fastapi_bearerguard`` / ``fastapi_bearerguard_nocache``: FastAPI with
  ``JWTAuth`` and ``require_scopes`` as a dependency, the example's way, with
  and without the verified-token cache;
* ``fastapi_pyjwt``: the dependency FastAPI users commonly write: ``HTTPBearer``,
  ``jwt.PyJWKClient(jwks_uri)`` for the key, ``jwt.decode`` for the rest;
* ``fastapi_authlib``: Authlib's ``ResourceProtector`` with its RFC 9068
  ``JWTBearerTokenValidator``, called from a FastAPI dependency.

Run one: ``E2E_ISSUER=... E2E_JWKS_URI=... E2E_AUDIENCE=... uvicorn --factory
e2e_apps:fastapi_pyjwt`` (from ``benchmarks/``).
"""

import os
import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # examples/

ISSUER = os.environ.get("E2E_ISSUER", "")
JWKS_URI = os.environ.get("E2E_JWKS_URI", "")
AUDIENCE = os.environ.get("E2E_AUDIENCE", "")
SCOPE = "orders:read"
ORDERS = [{"id": 1, "item": "coffee beans"}, {"id": 2, "item": "grinder"}]


def starlette_noauth() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def orders(request: Any) -> JSONResponse:
        return JSONResponse({"owner": None, "orders": ORDERS})

    return Starlette(routes=[Route("/orders", orders)])


def starlette_bearerguard() -> Any:
    from examples.starlette_app.app import create_app

    return create_app(oidc=ISSUER, audience=AUDIENCE)


def starlette_bearerguard_nocache() -> Any:
    from examples.starlette_app.app import create_app

    return create_app(oidc=ISSUER, audience=AUDIENCE, cache_size=0)


def fastapi_noauth() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/orders")
    async def orders() -> dict[str, Any]:
        return {"owner": None, "orders": ORDERS}

    return app


def fastapi_bearerguard(cache_size: int | None = None) -> Any:
    """The FastAPI example's way: ``JWTAuth`` and a typed ``require_scopes`` dependency."""
    from fastapi import FastAPI

    from bearerguard import AccessClaims
    from bearerguard.starlette import JWTAuth, require_scopes

    reader = require_scopes(SCOPE).depends()
    app = FastAPI()
    app.add_middleware(JWTAuth, oidc=ISSUER, audience=AUDIENCE, cache_size=cache_size)

    @app.get("/orders")
    async def orders(claims: AccessClaims = reader) -> dict[str, Any]:
        return {"owner": claims.sub, "orders": ORDERS}

    return app


def fastapi_bearerguard_nocache() -> Any:
    return fastapi_bearerguard(cache_size=0)


def fastapi_pyjwt() -> Any:
    """The usual hand-written dependency: PyJWKClient + jwt.decode."""
    import jwt
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

    jwks = jwt.PyJWKClient(JWKS_URI)
    bearer = HTTPBearer()

    async def claims(
        credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)],
    ) -> dict[str, Any]:
        try:
            key = jwks.get_signing_key_from_jwt(credentials.credentials)
            payload: dict[str, Any] = jwt.decode(
                credentials.credentials,
                key.key,
                algorithms=["RS256"],
                audience=AUDIENCE,
                issuer=ISSUER,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as exc:
            raise HTTPException(401, "invalid token") from exc
        if SCOPE not in str(payload.get("scope", "")).split():
            raise HTTPException(403, "insufficient scope")
        return payload

    app = FastAPI()

    @app.get("/orders")
    async def orders(payload: Annotated[dict[str, Any], Depends(claims)]) -> dict[str, Any]:
        return {"owner": payload["sub"], "orders": ORDERS}

    return app


def fastapi_authlib() -> Any:
    """Authlib's ResourceProtector and RFC 9068 validator; the JWKS fetched once."""
    import requests
    from fastapi import Depends, FastAPI, HTTPException, Request

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from authlib.oauth2 import OAuth2Error, ResourceProtector
        from authlib.oauth2.rfc9068 import JWTBearerTokenValidator

    keys: dict[str, Any] = {}

    class Validator(JWTBearerTokenValidator):  # type: ignore[misc]
        def get_jwks(self) -> Any:
            if "jwks" not in keys:
                keys["jwks"] = requests.get(JWKS_URI, timeout=5).json()
            return keys["jwks"]

    protector = ResourceProtector()
    protector.register_token_validator(Validator(issuer=ISSUER, resource_server=AUDIENCE))

    async def token(request: Request) -> Any:
        try:
            return protector.validate_request([SCOPE], request)
        except OAuth2Error as exc:
            raise HTTPException(exc.status_code, exc.error) from exc

    app = FastAPI()

    @app.get("/orders")
    async def orders(claims: Annotated[Any, Depends(token)]) -> dict[str, Any]:
        return {"owner": claims["sub"], "orders": ORDERS}

    return app
