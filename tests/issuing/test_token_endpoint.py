"""TokenEndpoint without I/O: grants, client authentication, RFC 6749 §5.2 errors, hostile input."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote, urlencode

import jwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bearerguard import ConfigurationError
from bearerguard.issuing import (
    Client,
    InMemoryRefreshStore,
    KeyPair,
    KeyPairSigner,
    TokenEndpoint,
    TokenIssuer,
)
from bearerguard.issuing._errors import RefreshStoreFull
from bearerguard.issuing._wellknown import Response
from tests.support.clock import FakeClock

ISS = "https://login.example.com"
FORM = "application/x-www-form-urlencoded"
CLIENTS = (
    Client(client_id="batch", client_secret="s3cret", scopes=("orders:read", "orders:write")),
    Client(client_id="refresher", client_secret="r3fresh", refresh=True),
    Client(client_id="svc:1", client_secret="p+w%d", scopes=()),
)


@pytest.fixture
def endpoint(rsa2048: KeyPair, clock: FakeClock) -> TokenEndpoint:
    issuer = TokenIssuer(
        signer=KeyPairSigner(rsa2048),
        issuer=ISS,
        audience="api://orders",
        refresh_store=InMemoryRefreshStore(clock=clock),
        clock=clock,
    )
    return TokenEndpoint(issuer=issuer, clients=CLIENTS, default_scopes=["profile", "orders:read"])


def basic(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: form-urlencode both, join with ':', base64."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def post(
    endpoint: TokenEndpoint,
    params: dict[str, str] | list[tuple[str, str]] | bytes,
    *,
    auth: tuple[str, str] | None = ("batch", "s3cret"),
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> Response:
    body = params if isinstance(params, bytes) else urlencode(params).encode()
    sent = {"content-type": FORM}
    if auth is not None:
        sent["authorization"] = basic(*auth)
    sent.update(headers or {})
    return endpoint.respond(method, {k: v for k, v in sent.items() if v}, body)


def body(response: Response) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(response.body)
    return document


def claims(response: Response) -> dict[str, Any]:
    token = body(response)["access_token"]
    payload: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return payload


# -- client_credentials -----------------------------------------------------------------------


def test_client_credentials_answers_an_rfc6749_token_response(endpoint: TokenEndpoint) -> None:
    response = post(endpoint, {"grant_type": "client_credentials", "scope": "orders:read"})
    assert response.status == 200
    assert response.header("content-type") == "application/json"
    assert response.header("cache-control") == "no-store"
    assert response.header("pragma") == "no-cache"
    document = body(response)
    assert sorted(document) == ["access_token", "expires_in", "scope", "token_type"]
    assert (document["token_type"], document["expires_in"], document["scope"]) == (
        "Bearer",
        900,
        "orders:read",
    )
    payload = claims(response)
    assert (payload["sub"], payload["client_id"], payload["aud"]) == (
        "batch",
        "batch",
        "api://orders",
    )


def test_without_scope_the_client_gets_all_its_scopes(endpoint: TokenEndpoint) -> None:
    response = post(endpoint, {"grant_type": "client_credentials"})
    assert body(response)["scope"] == "orders:read orders:write"


def test_a_client_without_scopes_of_its_own_gets_the_default_scopes(
    endpoint: TokenEndpoint,
) -> None:
    response = post(endpoint, {"grant_type": "client_credentials"}, auth=("refresher", "r3fresh"))
    assert body(response)["scope"] == "profile orders:read"


def test_client_secret_post_authenticates(endpoint: TokenEndpoint) -> None:
    params = {"grant_type": "client_credentials", "client_id": "batch", "client_secret": "s3cret"}
    assert post(endpoint, params, auth=None).status == 200


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(basic("svc:1", "p+w%d"), id="form-urlencoded-rfc6749"),
        pytest.param("Basic " + base64.b64encode(b"svc%3A1:p%2Bw%25d").decode(), id="encoded"),
    ],
)
def test_basic_credentials_are_form_urldecoded(endpoint: TokenEndpoint, authorization: str) -> None:
    """RFC 6749 §2.3.1: a client_id with ':' and a secret with '+' and '%' arrive encoded."""
    response = post(
        endpoint, {"grant_type": "client_credentials"}, auth=None,
        headers={"authorization": authorization},
    )  # fmt: skip
    assert response.status == 200
    assert claims(response)["client_id"] == "svc:1"


def test_basic_credentials_sent_unencoded_are_accepted_too(endpoint: TokenEndpoint) -> None:
    """Clients that skip the form-urlencoding (requests' HTTPBasicAuth) still authenticate."""
    raw = "Basic " + base64.b64encode(b"batch:s3cret").decode()
    assert post(endpoint, {"grant_type": "client_credentials"}, auth=None,
                headers={"authorization": raw}).status == 200  # fmt: skip


def test_client_credentials_gives_no_refresh_token_unless_the_client_has_refresh(
    endpoint: TokenEndpoint,
) -> None:
    """RFC 6749 §4.4.3: no refresh token, except for clients configured with refresh."""
    plain = body(post(endpoint, {"grant_type": "client_credentials"}))
    refresher = body(
        post(endpoint, {"grant_type": "client_credentials"}, auth=("refresher", "r3fresh"))
    )
    assert "refresh_token" not in plain
    assert refresher["refresh_token"].count(".") == 1


def test_repeated_scopes_in_a_request_are_granted_once(endpoint: TokenEndpoint) -> None:
    response = post(
        endpoint, {"grant_type": "client_credentials", "scope": "orders:read orders:read"}
    )
    assert body(response)["scope"] == "orders:read"


# -- refresh_token ----------------------------------------------------------------------------


def _refresh_token(endpoint: TokenEndpoint, scope: str | None = None) -> str:
    params = {"grant_type": "client_credentials"}
    if scope:
        params["scope"] = scope
    response = post(endpoint, params, auth=("refresher", "r3fresh"))
    token: str = body(response)["refresh_token"]
    return token


def test_refresh_rotates_the_refresh_token(endpoint: TokenEndpoint, clock: FakeClock) -> None:
    first = _refresh_token(endpoint)
    clock.advance(60)
    response = post(
        endpoint, {"grant_type": "refresh_token", "refresh_token": first},
        auth=("refresher", "r3fresh"),
    )  # fmt: skip
    assert response.status == 200
    second = body(response)["refresh_token"]
    assert second != first
    assert second.split(".")[0] == first.split(".")[0]  # the same grant (family)
    assert claims(response)["iat"] == int(clock.now)


def test_replaying_a_rotated_refresh_token_revokes_the_grant(endpoint: TokenEndpoint) -> None:
    first = _refresh_token(endpoint)
    auth = ("refresher", "r3fresh")
    second = body(
        post(endpoint, {"grant_type": "refresh_token", "refresh_token": first}, auth=auth)
    )
    replay = post(endpoint, {"grant_type": "refresh_token", "refresh_token": first}, auth=auth)
    assert (replay.status, body(replay)["error"]) == (400, "invalid_grant")
    after = post(
        endpoint, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]},
        auth=auth,
    )  # fmt: skip
    assert (after.status, body(after)) == (
        400,
        {"error": "invalid_grant", "error_description": "refresh token has been revoked"},
    )


def test_refresh_may_narrow_the_scopes_but_not_widen_them(endpoint: TokenEndpoint) -> None:
    auth = ("refresher", "r3fresh")
    token = _refresh_token(endpoint, "profile")
    wider = post(endpoint, {"grant_type": "refresh_token", "refresh_token": token,
                            "scope": "profile orders:read"}, auth=auth)  # fmt: skip
    assert (wider.status, body(wider)["error"]) == (400, "invalid_scope")
    token = _refresh_token(endpoint)
    narrower = post(endpoint, {"grant_type": "refresh_token", "refresh_token": token,
                               "scope": "profile"}, auth=auth)  # fmt: skip
    assert body(narrower)["scope"] == "profile"


# -- errors (RFC 6749 §5.2) -------------------------------------------------------------------

CC = {"grant_type": "client_credentials"}


@pytest.mark.parametrize(
    ("params", "auth", "headers", "status", "error"),
    [
        pytest.param({}, ("batch", "s3cret"), {}, 400, "invalid_request", id="no-grant-type"),
        pytest.param({"grant_type": ""}, ("batch", "s3cret"), {}, 400, "invalid_request",
                     id="empty-grant-type"),
        pytest.param([("grant_type", "client_credentials")] * 2, ("batch", "s3cret"), {}, 400,
                     "invalid_request", id="repeated-grant-type"),
        pytest.param([*CC.items(), ("scope", "orders:read"), ("scope", "")], ("batch", "s3cret"),
                     {}, 400, "invalid_request", id="repeated-scope"),
        pytest.param(CC, ("batch", "s3cret"), {"content-type": "application/json"}, 400,
                     "invalid_request", id="json-content-type"),
        pytest.param(CC, ("batch", "s3cret"), {"content-type": ""}, 400, "invalid_request",
                     id="no-content-type"),
        pytest.param(CC, ("batch", "s3cret"), {"content-type": FORM + "; charset=latin-1"}, 400,
                     "invalid_request", id="latin-1"),
        pytest.param({**CC, "client_id": "batch", "client_secret": "s3cret"}, ("batch", "s3cret"),
                     {}, 400, "invalid_request", id="two-authentication-methods"),
        pytest.param({**CC, "client_id": "other"}, ("batch", "s3cret"), {}, 400,
                     "invalid_request", id="client-id-differs-from-basic"),
        pytest.param(CC, ("nobody", "s3cret"), {}, 401, "invalid_client", id="unknown-client"),
        pytest.param(CC, ("batch", "wrong"), {}, 401, "invalid_client", id="wrong-secret-basic"),
        pytest.param({**CC, "client_id": "batch", "client_secret": "wrong"}, None, {}, 401,
                     "invalid_client", id="wrong-secret-post"),
        pytest.param({**CC, "client_id": "batch"}, None, {}, 401, "invalid_client",
                     id="no-secret"),
        pytest.param(CC, None, {}, 401, "invalid_client", id="no-client-authentication"),
        pytest.param(CC, None, {"authorization": "Basic !!!"}, 401, "invalid_client",
                     id="malformed-basic"),
        pytest.param(CC, None, {"authorization": "Basic " + base64.b64encode(b"batch").decode()},
                     401, "invalid_client", id="basic-without-colon"),
        pytest.param(CC, None, {"authorization": "Bearer abc"}, 401, "invalid_client",
                     id="other-scheme"),
        pytest.param(CC, None, {"authorization": basic("batch", "s3cret") + ", "
                     + basic("batch", "s3cret")}, 400, "invalid_request",
                     id="two-authorization-headers"),
        pytest.param({"grant_type": "password", "username": "u", "password": "p"},
                     ("batch", "s3cret"), {}, 400, "unsupported_grant_type", id="password"),
        pytest.param({"grant_type": "authorization_code", "code": "x"}, ("batch", "s3cret"), {},
                     400, "unsupported_grant_type", id="authorization-code"),
        pytest.param({"grant_type": "refresh_token", "refresh_token": "x"}, ("batch", "s3cret"),
                     {}, 400, "unauthorized_client", id="refresh-by-a-client-without-refresh"),
        pytest.param({"grant_type": "refresh_token"}, ("refresher", "r3fresh"), {}, 400,
                     "invalid_request", id="no-refresh-token"),
        pytest.param({"grant_type": "refresh_token", "refresh_token": "a" * 22 + "." + "b" * 43},
                     ("refresher", "r3fresh"), {}, 400, "invalid_grant",
                     id="unknown-refresh-token"),
        pytest.param({**CC, "scope": "admin"}, ("batch", "s3cret"), {}, 400, "invalid_scope",
                     id="scope-not-allowed"),
        pytest.param({**CC, "scope": "orders:read  orders:write"}, ("batch", "s3cret"), {}, 400,
                     "invalid_scope", id="scope-double-space"),
        pytest.param({**CC, "scope": 'orders"read'}, ("batch", "s3cret"), {}, 400,
                     "invalid_scope", id="scope-with-a-quote"),
    ],
)  # fmt: skip
def test_refused_requests_get_rfc6749_errors(
    endpoint: TokenEndpoint,
    params: dict[str, str],
    auth: tuple[str, str] | None,
    headers: dict[str, str],
    status: int,
    error: str,
) -> None:
    response = post(endpoint, params, auth=auth, headers=headers)
    assert (response.status, body(response)["error"]) == (status, error)
    assert response.header("cache-control") == "no-store"
    challenge = response.header("www-authenticate")
    assert challenge == (f'Basic realm="{ISS}"' if status == 401 else None)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"grant_type=client_credentials&scope=%FF", id="percent-encoded-non-utf8"),
        pytest.param(b"grant_type=client_credentials&scope=\xc3\xa9", id="raw-non-ascii"),
        pytest.param(b"grant_type=client_%G0credentials", id="bad-percent-escape"),
        pytest.param(b"grant_type=client_credentials&grant_type=client_credentials",
                     id="repeated"),
    ],
)  # fmt: skip
def test_bodies_that_are_not_form_urlencoded_utf8_are_invalid_requests(
    endpoint: TokenEndpoint, raw: bytes
) -> None:
    response = post(endpoint, raw)
    assert (response.status, body(response)["error"]) == (400, "invalid_request")


def test_unread_parameters_may_repeat(endpoint: TokenEndpoint) -> None:
    """RFC 8707 sends `resource` more than once; parameters the endpoint ignores are ignored."""
    params = [*CC.items(), ("resource", "https://a.example"), ("resource", "https://b.example")]
    assert post(endpoint, params).status == 200


def test_unknown_client_and_wrong_secret_get_the_same_answer(endpoint: TokenEndpoint) -> None:
    unknown = post(endpoint, CC, auth=("nobody", "s3cret"))
    wrong = post(endpoint, CC, auth=("batch", "nope"))
    assert (unknown.status, unknown.headers, unknown.body) == (
        wrong.status,
        wrong.headers,
        wrong.body,
    )


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE"])
def test_only_post_is_allowed(endpoint: TokenEndpoint, method: str) -> None:
    response = post(endpoint, CC, method=method)
    assert (response.status, response.header("allow"), body(response)["error"]) == (
        405,
        "POST",
        "invalid_request",
    )


def test_a_body_over_the_cap_is_refused(endpoint: TokenEndpoint) -> None:
    response = post(endpoint, {**CC, "pad": "x" * endpoint.max_body})
    assert (response.status, body(response)["error"]) == (413, "invalid_request")


def test_error_descriptions_use_only_the_rfc6749_characters(endpoint: TokenEndpoint) -> None:
    """RFC 6749 §5.2: error_description is printable ASCII without '"' and '\\'."""
    response = post(endpoint, [("grant_type", "client_credentials")] * 2)
    description = body(response)["error_description"]
    assert description == "grant_type is included more than once (RFC 6749 section 3.2)"


def test_two_clients_with_one_id_are_a_configuration_error(endpoint: TokenEndpoint) -> None:
    with pytest.raises(ConfigurationError) as info:
        TokenEndpoint(issuer=endpoint._issuer, clients=[CLIENTS[0], CLIENTS[0]])
    assert info.value.description == "client_id 'batch' is configured twice"


def test_metadata_members_describe_the_clients(endpoint: TokenEndpoint) -> None:
    assert endpoint.grant_types_supported == ("client_credentials", "refresh_token")
    assert endpoint.token_endpoint_auth_methods_supported == (
        "client_secret_basic",
        "client_secret_post",
    )
    assert endpoint.scopes_supported == ("profile", "orders:read", "orders:write")


_FRAGMENTS = [
    b"grant_type=client_credentials", b"grant_type=refresh_token", b"scope=orders:read",
    b"refresh_token=" + b"a" * 22 + b"." + b"b" * 43, b"client_id=batch", b"%", b"%FF",
    b"client_secret=s3cret", b"=", b"+", b"\xff", b"scope=a  b", b"grant_type=",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=300), st.lists(st.sampled_from(_FRAGMENTS), max_size=8).map(b"&".join)
    ),
    content_type=st.sampled_from([FORM, FORM + "; charset=utf-8", "text/plain", "", "\x00"]),
    authorization=st.one_of(st.none(), st.text(max_size=60), st.just("Basic YmF0Y2g6czNjcmV0")),
)
def test_hostile_requests_never_get_a_server_error(
    rsa2048: KeyPair, body: bytes, content_type: str, authorization: str | None
) -> None:
    issuer = TokenIssuer(signer=KeyPairSigner(rsa2048), issuer=ISS, audience="api://orders")
    endpoint = TokenEndpoint(issuer=issuer, clients=CLIENTS)
    headers = {"content-type": content_type}
    if authorization is not None:
        headers["authorization"] = authorization
    response = endpoint.respond("POST", headers, body)
    assert response.status in (200, 400, 401, 413)
    assert json.loads(response.body)


class _FailingStore(InMemoryRefreshStore):
    """A refresh store whose writes fail: full (503) or broken (anything else)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def save(self, *args: Any, **kwargs: Any) -> Any:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "code", "retry_after"),
    [
        pytest.param(RefreshStoreFull("the refresh store is full"), 503,
                     "temporarily_unavailable", "5", id="store-full"),
        pytest.param(RuntimeError("connection to 10.0.0.7 refused"), 500, "server_error", None,
                     id="store-broken"),
    ],
)  # fmt: skip
def test_store_failures_are_server_side_errors_that_reveal_nothing(
    rsa2048: KeyPair,
    caplog: pytest.LogCaptureFixture,
    error: Exception,
    status: int,
    code: str,
    retry_after: str | None,
) -> None:
    issuer = TokenIssuer(
        signer=KeyPairSigner(rsa2048), issuer=ISS, audience="api://orders",
        refresh_store=_FailingStore(error),
    )  # fmt: skip
    endpoint = TokenEndpoint(issuer=issuer, clients=CLIENTS)
    with caplog.at_level("ERROR", logger="bearerguard.issuing"):
        response = post(endpoint, CC, auth=("refresher", "r3fresh"))
    assert (response.status, body(response)["error"]) == (status, code)
    assert response.header("retry-after") == retry_after
    assert b"10.0.0.7" not in response.body
