"""bearerguard.wsgi through werkzeug's test Client."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from bearerguard import ConfigurationError
from bearerguard._environ import wsgi_status
from bearerguard._settings import GuardSettings
from bearerguard.testing import LocalIssuer
from bearerguard.wsgi import CLAIMS_KEY, BearerAuthMiddleware, require_scopes, require_token

from .cases import AUDIENCE, NO_TOKEN_BODY, REALM


@Request.application
def whoami(request: Request) -> Response:
    claims = request.environ[CLAIMS_KEY]
    return Response("anonymous" if claims is None else claims.sub)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def client_for(app: Any, issuer: LocalIssuer, **options: Any) -> Client:
    return Client(
        BearerAuthMiddleware(app, oidc=issuer.url, audience=AUDIENCE, realm=REALM, **options)
    )


def test_claims_in_environ(local_issuer: LocalIssuer) -> None:
    """The verified claims are in environ["bearerguard.claims"]."""
    response = client_for(whoami, local_issuer).get(
        "/", headers=bearer(local_issuer.mint(sub="alice"))
    )
    assert (response.status_code, response.text) == (200, "alice")


@pytest.mark.parametrize(
    ("options", "path", "headers", "status", "text"),
    [
        pytest.param({"required": False}, "/", {}, 200, "anonymous", id="optional-anonymous"),
        pytest.param(
            {"required": False}, "/", bearer("bad"), 401, None, id="optional-bad-token-refused"
        ),
        pytest.param(
            {"public_paths": ["/health"]},
            "/health",
            bearer("bad"),
            200,
            "anonymous",
            id="public-path-not-verified",
        ),
        pytest.param({}, "/", {}, 401, NO_TOKEN_BODY.decode(), id="required-by-default"),
    ],
)
def test_requests(
    local_issuer: LocalIssuer,
    options: dict[str, Any],
    path: str,
    headers: dict[str, str],
    status: int,
    text: str | None,
) -> None:
    """required= and public_paths= decide who reaches the app."""
    response = client_for(whoami, local_issuer, **options).get(path, headers=headers)
    assert response.status_code == status
    if text is not None:
        assert response.text == text


@require_scopes("orders:read")
def orders(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ[CLAIMS_KEY].sub.encode()]


@pytest.mark.parametrize(
    ("options", "scopes", "status", "challenge"),
    [
        pytest.param({}, ["orders:read"], 200, None, id="granted"),
        pytest.param(
            {},
            ["read"],
            403,
            f'Bearer realm="{REALM}", error="insufficient_scope", '
            'error_description="missing scope: orders:read", scope="orders:read"',
            id="refused",
        ),
        pytest.param(
            {"required": False}, None, 401, f'Bearer realm="{REALM}"', id="anonymous-refused"
        ),
    ],
)
def test_require_scopes(
    local_issuer: LocalIssuer,
    options: dict[str, Any],
    scopes: list[str] | None,
    status: int,
    challenge: str | None,
) -> None:
    """@require_scopes guards a WSGI callable behind the middleware."""
    headers = {} if scopes is None else bearer(local_issuer.mint(scopes=scopes))
    response = client_for(orders, local_issuer, **options).get("/", headers=headers)
    assert (response.status_code, response.headers.get("WWW-Authenticate")) == (status, challenge)


@require_token
def me(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ[CLAIMS_KEY].sub.encode()]


@pytest.mark.parametrize(
    ("token", "status", "body"),
    [
        pytest.param(True, 200, b"ann", id="token"),
        pytest.param(False, 401, NO_TOKEN_BODY, id="no-token"),
    ],
)
def test_require_token(local_issuer: LocalIssuer, token: bool, status: int, body: bytes) -> None:
    """@require_token: with required=False, the WSGI callable still runs only for a token."""
    headers = bearer(local_issuer.mint(sub="ann")) if token else {}
    response = client_for(me, local_issuer, required=False).get("/", headers=headers)
    assert (response.status_code, response.data) == (status, body)


def test_require_scopes_needs_the_middleware() -> None:
    """Without BearerAuthMiddleware the decorated app refuses to run at all."""
    with pytest.raises(ConfigurationError, match="needs BearerAuthMiddleware"):
        Client(orders).get("/")


@pytest.mark.parametrize(
    ("method", "status", "body"),
    [
        pytest.param("GET", 200, b'"resource":"https://api.example.com"', id="get"),
        pytest.param("HEAD", 200, b"", id="head"),
        pytest.param("POST", 405, b"", id="post"),
    ],
)
def test_metadata_document(
    local_issuer: LocalIssuer, method: str, status: int, body: bytes
) -> None:
    """The RFC 9728 document is served (GET/HEAD) in front of the app."""
    client = client_for(whoami, local_issuer, resource="https://api.example.com")
    response = client.open("/.well-known/oauth-protected-resource", method=method)
    assert response.status_code == status
    if body:
        assert body in response.data
    else:
        assert response.data == b""


def test_settings_object_or_keywords_not_both(local_issuer: LocalIssuer) -> None:
    """settings= and keyword settings together are a configuration error."""
    settings = GuardSettings(oidc=local_issuer.url, audience=AUDIENCE)
    with pytest.raises(ConfigurationError, match="not both"):
        BearerAuthMiddleware(whoami, settings=settings, realm="x")


@pytest.mark.parametrize(
    ("status", "line"),
    [(200, "200 OK"), (401, "401 Unauthorized"), (503, "503 Service Unavailable")],
)
def test_wsgi_status(status: int, line: str) -> None:
    """Status lines carry the standard reason phrase."""
    assert wsgi_status(status) == line
