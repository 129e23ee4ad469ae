"""The per-request decision (RequestGate) on plain values, and what each adapter makes of it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from werkzeug.test import Client

from bearerguard._decision import Action, RequestGate, access_refusal
from bearerguard._errors import InsufficientScope, InvalidRequest, MissingToken, TokenTooLarge
from bearerguard._settings import GuardSettings
from bearerguard.claims import AccessClaims
from bearerguard.testing import LocalIssuer

from .apps import FastAPITestClient, TestClient, fastapi_app, flask_app, starlette_app, wsgi_app
from .cases import METADATA_PATH, PUBLIC_PATH, TOKEN_PATH, metadata_body, table_settings

OIDC = "https://login.example.com"


def gate(**options: Any) -> RequestGate:
    settings = GuardSettings(oidc=OIDC, audience="api://test", **options)
    return RequestGate(settings, max_token_size=256)


TABLE = {"public_paths": [PUBLIC_PATH, "/docs*"], "resource": "https://api.example.com/v1"}


@pytest.mark.parametrize(
    ("options", "method", "path", "authorization", "query", "action", "token"),
    [
        pytest.param(TABLE, "GET", TOKEN_PATH, "Bearer abc", "", Action.VERIFY, "abc", id="token"),
        pytest.param(TABLE, "GET", PUBLIC_PATH, "Bearer abc", "", Action.PUBLIC, "", id="public"),
        pytest.param(TABLE, "POST", "/docs/x", None, "", Action.PUBLIC, "", id="public-prefix"),
        pytest.param(TABLE, "GET", TOKEN_PATH, None, "", Action.REFUSE, "", id="no-token"),
        pytest.param(
            {**TABLE, "required": False},
            "GET",
            TOKEN_PATH,
            None,
            "",
            Action.ANONYMOUS,
            "",
            id="no-token-not-required",
        ),
        pytest.param(
            {**TABLE, "required": False},
            "GET",
            TOKEN_PATH,
            "Bearer a b",
            "",
            Action.REFUSE,
            "",
            id="malformed-even-when-not-required",
        ),
        pytest.param(
            TABLE, "OPTIONS", TOKEN_PATH, None, "", Action.REFUSE, "", id="options-no-exemption"
        ),
        pytest.param(
            TABLE, "GET", METADATA_PATH, "Bearer a b", "", Action.RESPOND, "", id="metadata-get"
        ),
        pytest.param(
            TABLE, "HEAD", METADATA_PATH, None, "", Action.RESPOND, "", id="metadata-head"
        ),
        pytest.param(
            TABLE, "POST", METADATA_PATH, None, "", Action.RESPOND, "", id="metadata-post-405"
        ),
        pytest.param(
            {}, "GET", METADATA_PATH, None, "", Action.REFUSE, "", id="no-resource-no-metadata"
        ),
        pytest.param(
            TABLE,
            "GET",
            TOKEN_PATH,
            [b"Bearer abc"],
            b"access_token=abc",
            Action.REFUSE,
            "",
            id="token-in-query-too",
        ),
    ],
)
def test_decide(
    options: dict[str, Any],
    method: str,
    path: str,
    authorization: Any,
    query: str | bytes,
    action: Action,
    token: str,
) -> None:
    """The gate decides from plain values alone: path, method, header value(s), query."""
    decision = gate(**options).decide(method, path, authorization, query)
    assert (decision.action, decision.token) == (action, token)


@pytest.mark.parametrize(
    ("method", "status", "headers", "body"),
    [
        pytest.param(
            "GET",
            200,
            ("application/json", "public, max-age=3600", "full", None),
            "document",
            id="get",
        ),
        pytest.param(
            "HEAD",
            200,
            ("application/json", "public, max-age=3600", "full", None),
            b"",
            id="head",
        ),
        pytest.param("DELETE", 405, (None, None, "0", "GET, HEAD"), b"", id="delete"),
    ],
)
def test_metadata_responses(
    method: str, status: int, headers: tuple[str | None, ...], body: bytes | str
) -> None:
    """RFC 9728 document: GET serves it, HEAD its headers only, other methods 405 + Allow."""
    tested = gate(**TABLE)
    metadata = tested.settings.metadata
    assert metadata is not None
    response = tested.decide(method, metadata.path, None, "").response
    assert response is not None
    got = dict(response.headers)
    full = str(len(metadata.body))
    assert (response.status, response.body) == (
        status,
        metadata.body if body == "document" else body,
    )
    wanted = tuple(full if value == "full" else value for value in headers)
    names = ("content-type", "cache-control", "content-length", "allow")
    assert tuple(got.get(name) for name in names) == wanted


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        pytest.param("Bearer a b", InvalidRequest, id="malformed"),
        pytest.param("Bearer " + "a" * 400, TokenTooLarge, id="over-the-size-cap"),
        pytest.param(None, MissingToken, id="none"),
    ],
)
def test_refusals_carry_the_error_and_its_rendering(
    authorization: str | None, error: type[Exception]
) -> None:
    """A refusal carries the error (for WebSocket close codes) and the bytes every adapter sends."""
    tested = gate()
    decision = tested.decide("GET", "/", authorization, "")
    assert decision.action is Action.REFUSE
    assert isinstance(decision.error, error)
    assert decision.error is not None
    assert decision.response == tested.settings.render(decision.error)


@pytest.mark.parametrize(
    ("required", "action"),
    [
        pytest.param(True, Action.REFUSE, id="required"),
        pytest.param(False, Action.ANONYMOUS, id="not-required"),
    ],
)
def test_credentials_ignore_the_path_and_the_setting(required: bool, action: Action) -> None:
    """A decorator (required=True) or DRF (required=False) decides on the credentials alone."""
    tested = gate(required=not required, public_paths=["/open"])
    assert tested.credentials(None, "", required=required).action is action


@pytest.mark.parametrize(
    ("claims", "scopes", "refusal"),
    [
        pytest.param(None, (), MissingToken, id="no-claims"),
        pytest.param(AccessClaims(scopes=frozenset()), (), None, id="any-token"),
        pytest.param(AccessClaims(scopes=frozenset({"a"})), ("a",), None, id="granted"),
        pytest.param(
            AccessClaims(scopes=frozenset({"a"})), ("a", "b"), InsufficientScope, id="missing"
        ),
    ],
)
def test_access_refusal(
    claims: AccessClaims | None, scopes: tuple[str, ...], refusal: type[Exception] | None
) -> None:
    """require_token / require_scopes: 401 without claims, 403 without a scope, else run."""
    found = access_refusal(claims, scopes)
    assert (type(found) if found is not None else None) is refusal


# -- what each adapter makes of the metadata answers ------------------------------------


def _asgi(build: Callable[[GuardSettings], Any], client_class: type[Any]) -> Any:
    def send(settings: GuardSettings, method: str) -> tuple[int, bytes, str | None]:
        with client_class(build(settings), base_url="http://api.test") as client:
            response = client.request(method, METADATA_PATH)
            return response.status_code, response.content, response.headers.get("allow")

    return send


def _wsgi(build: Callable[[GuardSettings], Any]) -> Any:
    def send(settings: GuardSettings, method: str) -> tuple[int, bytes, str | None]:
        response = Client(build(settings)).open(METADATA_PATH, method=method)
        try:
            return response.status_code, response.get_data(), response.headers.get("allow")
        finally:
            response.close()

    return send


SENDERS = {
    "starlette": _asgi(starlette_app, TestClient),
    "fastapi": _asgi(fastapi_app, FastAPITestClient),
    "flask": _wsgi(flask_app),
    "wsgi": _wsgi(wsgi_app),
}


@pytest.mark.parametrize("adapter", sorted(SENDERS))
@pytest.mark.parametrize(
    ("method", "status", "document", "allow"),
    [
        pytest.param("GET", 200, True, None, id="get"),
        pytest.param("HEAD", 200, False, None, id="head"),
        pytest.param("POST", 405, False, "GET, HEAD", id="post"),
        pytest.param("PUT", 405, False, "GET, HEAD", id="put"),
    ],
)
def test_every_adapter_answers_the_metadata_path_alike(
    local_issuer: LocalIssuer,
    adapter: str,
    method: str,
    status: int,
    document: bool,
    allow: str | None,
) -> None:
    """The RFC 9728 path answers GET and HEAD; any other method is 405 with Allow, no body."""
    body = metadata_body(local_issuer.url) if document else b""
    answer = SENDERS[adapter](table_settings(local_issuer.url), method)
    assert answer == (status, body, allow)


def test_a_dpop_refusal_leaves_the_raised_error_as_it_was() -> None:
    """One raised error can answer several requests (a shared introspection call): the DPoP
    challenge of one must not turn the others' Bearer challenges into DPoP ones."""
    from bearerguard._errors import InvalidClaims

    shared = InvalidClaims(["aud: not this API"])
    settings = GuardSettings(oidc=OIDC, audience="api://test", dpop="allowed")
    dpop = RequestGate(settings, max_token_size=256).refusal(shared, "t", "DPoP")
    bearer = RequestGate(settings, max_token_size=256).refusal(shared, "t")
    assert shared.scheme == "Bearer"
    assert dpop.error is not None
    assert dpop.error.scheme == "DPoP"
    assert isinstance(dpop.error, InvalidClaims)
    assert dpop.error.failures == shared.failures
    assert dpop.response is not None
    assert bearer.response is not None
    dpop_challenge = dict(dpop.response.headers)["www-authenticate"]
    bearer_challenge = dict(bearer.response.headers)["www-authenticate"]
    assert dpop_challenge.startswith("DPoP ")
    assert bearer_challenge.startswith("Bearer ")
