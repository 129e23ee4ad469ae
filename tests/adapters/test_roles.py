"""require_roles in Starlette, FastAPI, Flask and WSGI: the same answer, byte for byte.

Each adapter serves ``/admin`` (role ``admin``) and ``/auditor-admin`` (roles
``auditor`` and ``admin``) with the table's settings (:mod:`adapters.cases`),
through its own test client; FastAPI checks the roles as a dependency.
Django and DRF answer the same bytes (tests/django/test_django_roles.py, and
all seven adapters side by side in tests/security/test_roles.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from flask import Flask, g
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bearerguard import AccessClaims, ConfigurationError
from bearerguard import flask as bg_flask
from bearerguard import starlette as bg_starlette
from bearerguard import wsgi as bg_wsgi
from bearerguard._settings import GuardSettings
from bearerguard.testing import LocalIssuer

from .apps import FastAPITestClient, TestClient, asgi_client, wsgi_client
from .cases import REALM, RESOURCE_METADATA, SUB, TEXT, Observed, table_settings

ADMIN = "/admin"
BOTH = "/auditor-admin"
ROLE_ADAPTERS = ("starlette", "fastapi", "flask", "wsgi")

Send = Callable[[str, list[bytes]], Observed]


def _refusal(status: int, code: str, description: str) -> Observed:
    challenge = (
        f'Bearer realm="{REALM}", error="{code}", error_description="{description}", '
        f'resource_metadata="{RESOURCE_METADATA}"'
    )
    body = json.dumps({"error": code, "error_description": description}, separators=(",", ":"))
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "cache-control": "no-store",
        "www-authenticate": challenge,
    }
    return Observed(status, headers, body.encode())


def _ok() -> Observed:
    return Observed(200, {"content-type": TEXT, "content-length": str(len(SUB))}, SUB.encode())


NO_TOKEN = Observed(
    401,
    {
        "content-type": "application/json",
        "content-length": "68",
        "cache-control": "no-store",
        "www-authenticate": f'Bearer realm="{REALM}", resource_metadata="{RESOURCE_METADATA}"',
    },
    b'{"error":"unauthorized","error_description":"bearer token required"}',
)


# -- the apps ------------------------------------------------------------------------------------


async def _starlette_sub(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.user.claims.sub)


def _starlette_app(settings: GuardSettings) -> Starlette:
    app = Starlette(
        routes=[
            Route(ADMIN, bg_starlette.require_roles("admin")(_starlette_sub)),
            Route(BOTH, bg_starlette.require_roles("auditor", "admin")(_starlette_sub)),
        ]
    )
    app.add_middleware(bg_starlette.JWTAuth, settings=settings)
    return app


_FASTAPI_BOTH = bg_starlette.require_roles("auditor", "admin").depends()


def _fastapi_app(settings: GuardSettings) -> FastAPI:
    app = FastAPI(openapi_url=None)

    @app.get(ADMIN)
    async def admin(claims: Any = Depends(bg_starlette.require_roles("admin"))) -> Any:
        return PlainTextResponse(claims.sub)

    @app.get(BOTH)
    async def both(claims: AccessClaims = _FASTAPI_BOTH) -> Any:
        return PlainTextResponse(claims.sub)

    app.add_middleware(bg_starlette.JWTAuth, settings=settings)
    return app


def _flask_app(settings: GuardSettings) -> Flask:
    app = Flask(__name__)
    bg_flask.BearerGuard(app, settings=settings)

    def sub() -> tuple[str, int, dict[str, str]]:
        return g.claims.sub, 200, {"content-type": TEXT}

    app.add_url_rule(ADMIN, "admin", bg_flask.require_roles("admin")(sub))
    app.add_url_rule(BOTH, "both", bg_flask.require_roles("auditor", "admin")(sub))
    return app


def _wsgi_sub(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    body = environ[bg_wsgi.CLAIMS_KEY].sub.encode()
    start_response("200 OK", [("Content-Type", TEXT), ("Content-Length", str(len(body)))])
    return [body]


def _wsgi_app(settings: GuardSettings) -> bg_wsgi.BearerAuthMiddleware:
    routes = {
        ADMIN: bg_wsgi.require_roles("admin")(_wsgi_sub),
        BOTH: bg_wsgi.require_roles("auditor", "admin")(_wsgi_sub),
    }

    def dispatch(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        return routes[environ["PATH_INFO"]](environ, start_response)

    return bg_wsgi.BearerAuthMiddleware(dispatch, settings=settings)


@contextmanager
def open_role_client(adapter: str, settings: GuardSettings) -> Iterator[Send]:
    """A ``send(path, authorization)`` for *adapter*'s copy of the roles API."""
    builders = {
        "starlette": lambda: asgi_client(_starlette_app(settings)),
        "fastapi": lambda: asgi_client(_fastapi_app(settings), FastAPITestClient),
        "flask": lambda: wsgi_client(_flask_app(settings)),
        "wsgi": lambda: wsgi_client(_wsgi_app(settings)),
    }
    with builders[adapter]() as send:
        yield lambda path, authorization: send(path, "", authorization)


@pytest.fixture(scope="module")
def clients(local_issuer: LocalIssuer) -> Iterator[dict[str, Send]]:
    with ExitStack() as stack:
        settings = table_settings(local_issuer.url)
        yield {n: stack.enter_context(open_role_client(n, settings)) for n in ROLE_ADAPTERS}


@pytest.fixture(scope="module")
def role_tokens(local_issuer: LocalIssuer) -> dict[str, str]:
    return {
        "admin": local_issuer.mint(sub=SUB, roles=["admin"]),
        "both": local_issuer.mint(sub=SUB, roles=["admin", "auditor", "user"]),
        "user": local_issuer.mint(sub=SUB, roles=["user"]),
        "none": local_issuer.mint(sub=SUB),
        "malformed": local_issuer.mint(sub=SUB, roles=7),
    }


ROLE_CASES = [
    pytest.param(ADMIN, "admin", _ok(), id="has-the-role"),
    pytest.param(BOTH, "both", _ok(), id="has-both-roles"),
    pytest.param(
        ADMIN,
        "user",
        _refusal(403, "insufficient_scope", "missing role: admin"),
        id="missing-role",
    ),
    pytest.param(
        ADMIN,
        "none",
        _refusal(403, "insufficient_scope", "missing role: admin"),
        id="no-roles-claim",
    ),
    pytest.param(
        BOTH,
        "admin",
        _refusal(403, "insufficient_scope", "missing role: auditor"),
        id="one-of-two-missing",
    ),
    pytest.param(
        BOTH,
        "user",
        _refusal(403, "insufficient_scope", "missing role: admin, auditor"),
        id="both-missing-sorted",
    ),
    pytest.param(
        ADMIN,
        "malformed",
        _refusal(401, "invalid_token", "roles: must be a string or an array of strings"),
        id="malformed-roles-claim",
    ),
    pytest.param(ADMIN, None, NO_TOKEN, id="no-token"),
]


@pytest.mark.parametrize("adapter", ROLE_ADAPTERS)
@pytest.mark.parametrize(("path", "token", "expected"), ROLE_CASES)
def test_require_roles_answers_exactly(
    adapter: str,
    path: str,
    token: str | None,
    expected: Observed,
    clients: dict[str, Send],
    role_tokens: dict[str, str],
) -> None:
    """403 insufficient_scope without a scope attribute, the missing roles described."""
    authorization = [] if token is None else [f"Bearer {role_tokens[token]}".encode()]
    assert clients[adapter](path, authorization) == expected


@pytest.mark.parametrize(("path", "token", "expected"), ROLE_CASES)
def test_every_adapter_answers_require_roles_alike(
    path: str,
    token: str | None,
    expected: Observed,
    clients: dict[str, Send],
    role_tokens: dict[str, str],
) -> None:
    """One request, every adapter: identical answers."""
    authorization = [] if token is None else [f"Bearer {role_tokens[token]}".encode()]
    answers = {name: send(path, authorization) for name, send in clients.items()}
    assert all(answer == expected for answer in answers.values()), answers


@pytest.mark.parametrize(
    "decorator",
    [
        pytest.param(bg_starlette.require_roles, id="starlette"),
        pytest.param(bg_flask.require_roles, id="flask"),
        pytest.param(bg_wsgi.require_roles, id="wsgi"),
    ],
)
@pytest.mark.parametrize(
    "roles", [pytest.param((), id="no-role"), pytest.param(("",), id="empty-role")]
)
def test_require_roles_without_a_role_is_a_configuration_error(
    decorator: Callable[..., Any], roles: tuple[str, ...]
) -> None:
    """require_roles() must not quietly accept every token: refused when decorating."""
    with pytest.raises(ConfigurationError, match="require_roles"):
        decorator(*roles)


def test_starlette_requirement_names_its_roles() -> None:
    """The requirement's repr says what it requires (it names a failing endpoint)."""
    assert repr(bg_starlette.require_roles("admin", "support")) == (
        "require_roles('admin', 'support')"
    )


def test_fastapi_lists_the_scheme_without_scopes_for_roles(local_issuer: LocalIssuer) -> None:
    """OpenAPI: a role requirement documents the bearer scheme with no scopes."""
    app = FastAPI()

    @app.get(ADMIN)
    async def admin(claims: AccessClaims = bg_starlette.require_roles("admin").depends()) -> str:
        return str(claims.sub)

    app.add_middleware(bg_starlette.JWTAuth, settings=table_settings(local_issuer.url))
    operation = app.openapi()["paths"][ADMIN]["get"]
    assert operation["security"] == [{"bearerAuth": []}]


def test_token_user_exposes_the_roles(local_issuer: LocalIssuer) -> None:
    """request.user.roles is the claims' roles, as request.user.scopes is their scopes."""
    seen: list[frozenset[str]] = []

    async def endpoint(request: Request) -> PlainTextResponse:
        seen.append(request.user.roles)
        return PlainTextResponse("ok")

    app = Starlette(routes=[Route("/", endpoint)])
    app.add_middleware(bg_starlette.JWTAuth, settings=table_settings(local_issuer.url))
    with TestClient(app) as client:
        token = local_issuer.mint(roles=["admin", "user"])
        assert client.get("/", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert seen == [frozenset({"admin", "user"})]
