"""The request-side helpers every adapter shares (bearerguard._http additions)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from werkzeug.test import Client

from bearerguard import Issuer, Validator, Verifier
from bearerguard._errors import InvalidRequest, MissingToken
from bearerguard._http import access_token_in_query, bearer_token
from bearerguard.keyset import RemoteKeySet
from bearerguard.starlette import JWTAuth
from bearerguard.testing import LocalIssuer
from bearerguard.wsgi import CLAIMS_KEY, BearerAuthMiddleware

from .apps import TestClient
from .cases import AUDIENCE


@pytest.mark.parametrize(
    ("query", "found"),
    [
        pytest.param("", False, id="empty"),
        pytest.param("a=1&b=2", False, id="other-params"),
        pytest.param("access_token=x", True, id="plain"),
        pytest.param(b"a=1&access_token=", True, id="bytes-blank-value"),
        pytest.param("access_tokens=x", False, id="longer-name"),
        pytest.param("my_access_token=x", False, id="suffix-of-name"),
        pytest.param("acc%65ss_token=x", True, id="percent-encoded-name"),
        pytest.param("q=%20access_token", False, id="in-a-value"),
    ],
)
def test_access_token_in_query(query: str | bytes, found: bool) -> None:
    """RFC 6750 §2.3: only a parameter *named* access_token counts."""
    assert access_token_in_query(query) is found


@pytest.mark.parametrize(
    ("header", "error", "description"),
    [
        pytest.param(
            "Bearer a, Bearer b",
            InvalidRequest,
            "more than one Authorization header",
            id="joined-bearer-lines",
        ),
        pytest.param(
            "Basic eA==, Bearer b",
            InvalidRequest,
            "more than one Authorization header",
            id="joined-basic-and-bearer",
        ),
        pytest.param(
            'Digest username="a", realm="b"',
            MissingToken,
            "no bearer token",
            id="digest-commas-are-not-a-second-line",
        ),
        pytest.param(
            "Bearer \xff",
            InvalidRequest,
            "Authorization header is not ASCII",
            id="latin-1-text-from-wsgi",
        ),
    ],
)
def test_wsgi_shaped_headers(header: str, error: type[Exception], description: str) -> None:
    """Header text as WSGI delivers it gets the same answer as ASGI's separate byte lines."""
    with pytest.raises(error, match=description):
        bearer_token(header)


def test_two_asgi_lines_and_one_joined_wsgi_line_agree() -> None:
    """Separate lines and their comma-joined form raise the same error."""
    with pytest.raises(InvalidRequest) as separate:
        bearer_token([b"Bearer a", b"Bearer b"])
    with pytest.raises(InvalidRequest) as joined:
        bearer_token("Bearer a, Bearer b")
    assert separate.value.description == joined.value.description


# -- the Authorization header cap follows the issuer's token size --------------------------


def _big_token_verifier(issuer: LocalIssuer) -> Verifier[Any]:
    keys = RemoteKeySet.from_oidc(issuer.url)
    return Verifier([Issuer(issuer.url, keys, Validator(aud=AUDIENCE), max_token_size=65536)])


def test_adapters_honour_the_issuers_larger_token_size(local_issuer: LocalIssuer) -> None:
    """A 30 KB token the issuer allows is not cut off by the adapter's header cap."""
    token = local_issuer.mint(sub="alice", padding="x" * 30_000)
    assert len(token) > 30_000

    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [environ[CLAIMS_KEY].sub.encode()]

    wsgi = Client(BearerAuthMiddleware(app, verifier=_big_token_verifier(local_issuer)))
    response = wsgi.get("/", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.data) == (200, b"alice")

    async def whoami(request: Request) -> JSONResponse:
        return JSONResponse({"sub": request.user.claims.sub})

    star = Starlette(
        routes=[Route("/", whoami)],
        middleware=[Middleware(JWTAuth, verifier=_big_token_verifier(local_issuer))],
    )
    with TestClient(star) as client:
        answer = client.get("/", headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.json()) == (200, {"sub": "alice"})
