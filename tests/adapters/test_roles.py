"""require_roles in every framework-free adapter: the same answer, byte for byte.

Each adapter serves ``/admin`` (role ``admin``) and ``/auditor-admin`` (roles
``auditor`` and ``admin``) with the table's settings (:mod:`adapters.cases`),
through its own test client.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from flask import Flask, g
from werkzeug.test import Client

from bearerguard import ConfigurationError
from bearerguard import flask as bg_flask
from bearerguard import wsgi as bg_wsgi
from bearerguard._settings import GuardSettings
from bearerguard.testing import LocalIssuer

from .cases import REALM, RESOURCE_METADATA, SUB, TEXT, Observed, table_settings

ADMIN = "/admin"
BOTH = "/auditor-admin"
ROLE_ADAPTERS = ("flask", "wsgi")

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
def _wsgi_client(app: Any) -> Iterator[Send]:
    client = Client(app)

    def send(path: str, authorization: list[bytes]) -> Observed:
        headers = [("Authorization", value.decode("latin-1")) for value in authorization]
        response = client.get(path, headers=headers)
        try:
            return Observed.of(response.status_code, dict(response.headers), response.get_data())
        finally:
            response.close()

    yield send


@contextmanager
def open_role_client(adapter: str, settings: GuardSettings) -> Iterator[Send]:
    """A ``send(path, authorization)`` for *adapter*'s copy of the roles API."""
    if adapter == "flask":
        with _wsgi_client(_flask_app(settings)) as send:
            yield send
    elif adapter == "wsgi":
        with _wsgi_client(_wsgi_app(settings)) as send:
            yield send
    else:  # pragma: no cover - a typo in a test
        raise ValueError(adapter)


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
