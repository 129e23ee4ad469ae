"""bearerguard.starlette in a FastAPI app, through FastAPI's TestClient (and uvicorn)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI, Security, WebSocket
from starlette.websockets import WebSocketDisconnect

from bearerguard import AccessClaims, ConfigurationError, StandardClaims, claim
from bearerguard.starlette import JWTAuth, OpenAPIScheme, require_scopes, require_token
from bearerguard.testing import LocalIssuer

from .apps import FastAPITestClient as TestClient
from .cases import AUDIENCE, NO_TOKEN_BODY, REALM
from .servers import serve


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantClaims(AccessClaims):
    tenant: str = claim("tenant", default="public")


#: A typed dependency, defined once and used as a parameter default.
orders_writer = require_scopes("orders:write").depends()


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

    @app.get("/typed")
    async def typed(claims: AccessClaims = orders_writer) -> str:
        return f"{claims.sub} may write"

    @app.get("/declared")
    async def declared(claims: AccessClaims = Security(require_token, scopes=["audit"])) -> str:
        return "audited"

    @app.get("/tenant")
    def tenant(claims: TenantClaims = require_scopes(claims_type=TenantClaims).depends()) -> str:
        return claims.tenant

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


BEARER = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


def test_openapi_declares_the_bearer_scheme(client: Any) -> None:
    """components.securitySchemes holds one HTTP bearer scheme with bearerFormat JWT."""
    schema = client.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"] == {"bearerAuth": BEARER}


@pytest.mark.parametrize(
    ("path", "security"),
    [
        pytest.param("/me", [{"bearerAuth": []}], id="depends-require-token"),
        pytest.param("/orders", [{"bearerAuth": ["orders:read"]}], id="security-require-scopes"),
        pytest.param("/both", [{"bearerAuth": ["read", "write"]}], id="route-dependencies"),
        pytest.param("/typed", [{"bearerAuth": ["orders:write"]}], id="typed-depends"),
        pytest.param("/declared", [{"bearerAuth": ["audit"]}], id="security-scopes-argument"),
        pytest.param("/tenant", [{"bearerAuth": []}], id="typed-claims-type"),
        pytest.param("/open", None, id="unprotected-route"),
    ],
)
def test_openapi_security_per_route(client: Any, path: str, security: Any) -> None:
    """Each protected operation lists the scheme with exactly the scopes its route requires."""
    operation = client.get("/openapi.json").json()["paths"][path]["get"]
    assert operation.get("security") == security


@pytest.mark.parametrize(
    ("scopes", "status", "body"),
    [
        pytest.param(["orders:write"], 200, "alice may write", id="granted"),
        pytest.param(["orders:read"], 403, None, id="missing-scope"),
    ],
)
def test_typed_dependency(
    client: Any, local_issuer: LocalIssuer, scopes: list[str], status: int, body: str | None
) -> None:
    """require_scopes(...).depends() checks the scopes and hands over the claims."""
    response = client.get("/typed", headers=bearer(local_issuer.mint(sub="alice", scopes=scopes)))
    assert response.status_code == status
    if body is not None:
        assert response.json() == body
    else:
        assert response.headers["www-authenticate"].endswith('scope="orders:write"')


def test_scopes_declared_with_security_are_enforced(client: Any, local_issuer: LocalIssuer) -> None:
    """Security(require_token, scopes=[...]) refuses a token without them: the docs never lie."""
    refused = client.get("/declared", headers=bearer(local_issuer.mint(scopes=["read"])))
    granted = client.get("/declared", headers=bearer(local_issuer.mint(scopes=["audit"])))
    assert (refused.status_code, refused.headers["www-authenticate"]) == (
        403,
        f'Bearer realm="{REALM}", error="insufficient_scope", '
        'error_description="missing scope: audit", scope="audit"',
    )
    assert (granted.status_code, granted.json()) == (200, "audited")


def test_declared_scopes_follow_the_scope_grammar(local_issuer: LocalIssuer) -> None:
    """A scope declared with Security(..., scopes=[...]) that is no scope token is refused."""
    app = FastAPI()

    @app.get("/two")
    def two(claims: AccessClaims = Security(require_token, scopes=["read write"])) -> None:
        """Not reached."""

    app.add_middleware(JWTAuth, oidc=local_issuer.url, audience=AUDIENCE)
    with TestClient(app) as client, pytest.raises(ConfigurationError) as raised:
        client.get("/two", headers=bearer(local_issuer.mint(scopes=["read", "write"])))
    assert str(raised.value) == (
        "Security(scopes=...): each scope must be one non-empty scope token, got 'read write'"
    )


def test_claims_type_is_handed_over(local_issuer: LocalIssuer) -> None:
    """require_scopes(claims_type=...) returns the claims JWTAuth built with that type."""
    with TestClient(make_app(local_issuer, claims_type=TenantClaims)) as client:
        response = client.get("/tenant", headers=bearer(local_issuer.mint(tenant="acme")))
    assert response.json() == "acme"


def test_claims_type_mismatch_names_the_fix(client: Any, local_issuer: LocalIssuer) -> None:
    """A requirement typed for other claims than JWTAuth builds is a configuration error."""
    with pytest.raises(ConfigurationError) as raised:
        client.get("/tenant", headers=bearer(local_issuer.mint()))
    assert str(raised.value) == (
        "require_scopes(claims_type=TenantClaims) returns TenantClaims but the verified claims "
        "are AccessClaims: set JWTAuth's claims_type to TenantClaims, or pass "
        "claims_type=AccessClaims"
    )


@pytest.mark.parametrize(
    ("scheme", "expected"),
    [
        pytest.param(OpenAPIScheme(), {"bearerAuth": BEARER}, id="default-http-bearer"),
        pytest.param(
            OpenAPIScheme(name="orders-token", description="An access token for the orders API"),
            {"orders-token": {**BEARER, "description": "An access token for the orders API"}},
            id="named-http-bearer",
        ),
        pytest.param(
            OpenAPIScheme(
                authorization_url="https://login.example.com/authorize",
                token_url="https://login.example.com/oauth/token",
                scopes={"orders:read": "Read your orders"},
            ),
            {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {
                        "authorizationCode": {
                            "authorizationUrl": "https://login.example.com/authorize",
                            "tokenUrl": "https://login.example.com/oauth/token",
                            "scopes": {"orders:read": "Read your orders"},
                        }
                    },
                }
            },
            id="oauth2-authorization-code",
        ),
        pytest.param(
            OpenAPIScheme(
                token_url="https://login.example.com/oauth/token",
                refresh_url="https://login.example.com/oauth/token",
            ),
            {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": "https://login.example.com/oauth/token",
                            "refreshUrl": "https://login.example.com/oauth/token",
                            "scopes": {},
                        }
                    },
                }
            },
            id="oauth2-client-credentials",
        ),
    ],
)
def test_openapi_scheme_document(scheme: OpenAPIScheme, expected: dict[str, Any]) -> None:
    """scheme= decides components.securitySchemes; the route lists it with its scopes."""
    app = FastAPI()

    @app.get("/orders")
    def orders(
        claims: AccessClaims = require_scopes("orders:read", scheme=scheme).depends(),
    ) -> None:
        """Not called: only the document is read."""

    schema = app.openapi()
    assert schema["components"]["securitySchemes"] == expected
    assert schema["paths"]["/orders"]["get"]["security"] == [
        {next(iter(expected)): ["orders:read"]}
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"authorization_url": "https://login.example.com/authorize"},
            "OpenAPIScheme: authorization_url= describe an OAuth 2.0 flow, which needs the "
            "issuer's token_url= too",
            id="authorization-url-without-token-url",
        ),
        pytest.param(
            {"scopes": {"orders:read": "Read"}, "refresh_url": "https://l.example.com/t"},
            "OpenAPIScheme: refresh_url= and scopes= describe an OAuth 2.0 flow, which needs "
            "the issuer's token_url= too",
            id="scopes-without-token-url",
        ),
        pytest.param(
            {"token_url": "https://l.example.com/t", "scopes": {"read write": "Both"}},
            "OpenAPIScheme: scopes=: each scope must be one non-empty scope token, "
            "got 'read write'",
            id="two-scopes-in-one-key",
        ),
        pytest.param(
            {"token_url": "https://l.example.com/t", "scopes": {"read": 1}},
            "OpenAPIScheme: scopes= must map each scope to its description (a string)",
            id="description-not-a-string",
        ),
        pytest.param({"name": ""}, "OpenAPIScheme: name= must be a non-empty string", id="no-name"),
    ],
)
def test_openapi_scheme_refuses(options: dict[str, Any], message: str) -> None:
    """A scheme Swagger UI could not use is refused when it is built, saying what to fix."""
    with pytest.raises(ConfigurationError) as raised:
        OpenAPIScheme(**options)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(
            {"claims_type": dict},
            "require_scopes: claims_type= must be a subclass of bearerguard.AccessClaims "
            "(or StandardClaims)",
            id="claims-type-not-claims",
        ),
        pytest.param(
            {"scheme": {"type": "http"}},
            "require_scopes: scheme= must be a bearerguard.starlette.OpenAPIScheme",
            id="scheme-not-an-openapi-scheme",
        ),
    ],
)
def test_require_scopes_refuses(options: dict[str, Any], message: str) -> None:
    """Wrong claims_type= or scheme= fail where the requirement is written."""
    with pytest.raises(ConfigurationError) as raised:
        require_scopes("orders:read", **options)
    assert str(raised.value) == message


def test_standard_claims_need_their_own_claims_type(local_issuer: LocalIssuer) -> None:
    """Claims that are no AccessClaims are handed over to a requirement typed for them."""
    app = FastAPI()

    @app.get("/sub")
    def sub(claims: StandardClaims = require_scopes(claims_type=StandardClaims).depends()) -> str:
        return str(claims.sub)

    app.add_middleware(JWTAuth, oidc=local_issuer.url, audience=AUDIENCE)
    with TestClient(app) as client:
        response = client.get("/sub", headers=bearer(local_issuer.mint(sub="carol")))
    assert response.json() == "carol"


@pytest.fixture(scope="module")
def live_url(local_issuer: LocalIssuer) -> Iterator[str]:
    with serve(make_app(local_issuer)) as url:
        yield url


def test_swagger_ui_authorizes_over_real_http(live_url: str, local_issuer: LocalIssuer) -> None:
    """Through uvicorn: /docs serves Swagger UI; a pasted token is sent as the scheme says.

    Swagger UI's "Authorize" dialog for an HTTP bearer scheme sends
    ``Authorization: Bearer <token>`` with "Try it out"; the request built here
    from the served document is that request.
    """
    with httpx.Client(base_url=live_url, timeout=10) as http:
        page = http.get("/docs")
        schema = http.get("/openapi.json").json()
        scheme_name, scopes = next(iter(schema["paths"]["/orders"]["get"]["security"][0].items()))
        scheme = schema["components"]["securitySchemes"][scheme_name]
        token = local_issuer.mint(sub="dora", scopes=scopes)
        header = f"{scheme['scheme'].capitalize()} {token}"
        answer = http.get("/orders", headers={"Authorization": header})
        anonymous = http.get("/orders")
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    assert "/openapi.json" in page.text
    assert (scheme["type"], scopes) == ("http", ["orders:read"])
    assert (answer.status_code, answer.json()) == (200, ["order of dora"])
    assert anonymous.status_code == 401


WITHOUT_FASTAPI = """
import importlib.abc, inspect, json, sys


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] == "fastapi":
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


sys.meta_path.insert(0, Refuse())
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from bearerguard.starlette import JWTAuth, require_scopes, require_token


@require_scopes("orders:read")
async def orders(request):
    return PlainTextResponse("orders")


app = Starlette(routes=[Route("/orders", orders)])
try:
    require_token.depends()
except ModuleNotFoundError as exc:
    message = str(exc)
print(json.dumps({
    "signature": str(inspect.signature(require_token)),
    "message": message,
    "fastapi imported": "fastapi" in sys.modules,
}))
"""


def test_starlette_alone_needs_no_fastapi() -> None:
    """Without FastAPI the requirements still decorate; only depends() asks for FastAPI."""
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_FASTAPI],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(result.stdout) == {
        "signature": "(connection: starlette.requests.HTTPConnection, /)",
        "message": "require_scopes().depends() is for FastAPI: pip install fastapi",
        "fastapi imported": False,
    }
