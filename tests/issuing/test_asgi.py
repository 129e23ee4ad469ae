"""WellKnownApp and TokenEndpointApp over ASGI (httpx's ASGI transport, and real uvicorn)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from bearerguard import ConfigurationError, Issuer, Validator
from bearerguard.issuing import (
    Client,
    KeyPair,
    KeyPairSigner,
    TokenEndpoint,
    TokenEndpointApp,
    TokenIssuer,
    WellKnownApp,
    authorization_server_metadata,
    discovery_document,
    jwks_document,
)

ISS = "https://login.example.com"
JWKS = "/.well-known/jwks.json"
OIDC = "/.well-known/openid-configuration"
OAUTH = "/.well-known/oauth-authorization-server"


class ASGIClient:
    """A synchronous client that calls the ASGI app in process."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __enter__(self) -> ASGIClient:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                return await c.request(method, path, headers=headers, content=content)

        return asyncio.run(send())

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.request("GET", path, headers)

    def head(self, path: str) -> httpx.Response:
        return self.request("HEAD", path)

    def post(self, path: str) -> httpx.Response:
        return self.request("POST", path)


@pytest.fixture
def app(rsa2048: KeyPair, ec256: KeyPair) -> WellKnownApp:
    return WellKnownApp(issuer=ISS, keys=[rsa2048.public_jwk, ec256.public_jwk])


@pytest.fixture
def client(app: WellKnownApp) -> Iterator[ASGIClient]:
    with ASGIClient(app) as test_client:
        yield test_client


def test_jwks_is_served_with_cache_headers(
    client: ASGIClient, rsa2048: KeyPair, ec256: KeyPair
) -> None:
    response = client.get(JWKS)
    assert response.status_code == 200
    assert response.json() == jwks_document([rsa2048, ec256])
    assert response.headers["cache-control"] == "public, max-age=900"
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["etag"].startswith('"')


@pytest.mark.parametrize(
    ("path", "document"),
    [
        pytest.param(OIDC, discovery_document(ISS, signing_algs=["RS256", "ES256"]), id="oidc"),
        pytest.param(OAUTH, authorization_server_metadata(ISS), id="rfc8414"),
    ],
)
def test_each_well_known_path_serves_its_own_document(
    client: ASGIClient, path: str, document: dict[str, Any]
) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.json() == document
    assert response.headers["cache-control"] == "public, max-age=3600"


TOKEN_SERVER: dict[str, Any] = {
    "token_endpoint": ISS + "/token",
    "grant_types_supported": ["client_credentials"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    "scopes_supported": ["orders:read"],
}


@pytest.mark.parametrize(
    ("path", "metadata_class"),
    [
        pytest.param(OAUTH, AuthorizationServerMetadata, id="rfc8414"),
        pytest.param(OIDC, OpenIDProviderMetadata, id="oidc"),
    ],
)
def test_metadata_with_a_token_endpoint_passes_authlib_validation(
    rsa2048: KeyPair, path: str, metadata_class: type[AuthorizationServerMetadata]
) -> None:
    app = WellKnownApp(issuer=ISS, keys=[rsa2048.public_jwk], **TOKEN_SERVER)
    with ASGIClient(app) as client:
        document = client.get(path).json()
    assert document["token_endpoint"] == ISS + "/token"
    metadata_class(document).validate()


def test_custom_metadata_and_token_endpoint_members_are_exclusive(rsa2048: KeyPair) -> None:
    with pytest.raises(ConfigurationError) as info:
        WellKnownApp(
            issuer=ISS, keys=[rsa2048.public_jwk], metadata={"issuer": ISS}, **TOKEN_SERVER
        )
    assert info.value.description == (
        "give either metadata or the token endpoint's members, not both"
    )


def test_matching_if_none_match_gets_304(client: ASGIClient) -> None:
    etag = client.get(JWKS).headers["etag"]
    response = client.get(JWKS, headers={"If-None-Match": f'"other", W/{etag}'})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == "public, max-age=900"


def test_head_has_the_headers_and_no_body(client: ASGIClient) -> None:
    get = client.get(JWKS)
    head = client.head(JWKS)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["etag"] == get.headers["etag"]


@pytest.mark.parametrize(
    ("method", "path", "status", "allow"),
    [
        pytest.param("POST", JWKS, 405, "GET, HEAD", id="post-jwks"),
        pytest.param("DELETE", OIDC, 405, "GET, HEAD", id="delete-metadata"),
        pytest.param("GET", "/.well-known/other", 404, None, id="unknown-path"),
        pytest.param("GET", "/", 404, None, id="root"),
    ],
)
def test_other_requests_are_refused(
    client: ASGIClient, method: str, path: str, status: int, allow: str | None
) -> None:
    response = client.request(method, path)
    assert response.status_code == status
    assert response.headers.get("allow") == allow
    assert response.headers["cache-control"] == "no-store"


def test_issuer_with_a_path_serves_spec_paths(rsa2048: KeyPair) -> None:
    """OIDC appends the well-known suffix to the path; RFC 8414 inserts it before."""
    issuer = ISS + "/tenant-a"
    with ASGIClient(WellKnownApp(issuer=issuer, keys=[rsa2048.public_jwk])) as client:
        assert client.get("/tenant-a" + OIDC).json()["issuer"] == issuer
        assert client.get(OAUTH + "/tenant-a").json()["issuer"] == issuer
        assert client.get("/tenant-a" + JWKS).status_code == 200
        assert client.get(OIDC).status_code == 404


def test_update_keys_publishes_a_new_set(
    app: WellKnownApp, client: ASGIClient, rsa2048: KeyPair
) -> None:
    before = client.get(JWKS)
    app.update_keys([rsa2048.public_jwk])
    after = client.get(JWKS)
    assert after.json() == jwks_document([rsa2048])
    assert after.headers["etag"] != before.headers["etag"]
    assert client.get(OIDC).json()["id_token_signing_alg_values_supported"] == ["RS256"]


def test_other_paths_go_to_the_wrapped_app(rsa2048: KeyPair) -> None:
    async def token_endpoint(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"token endpoint"})

    app = WellKnownApp(issuer=ISS, keys=[rsa2048.public_jwk], app=token_endpoint)
    with ASGIClient(app) as client:
        assert client.post("/token").text == "token endpoint"
        assert client.get(JWKS).status_code == 200


def test_custom_metadata_must_name_the_issuer(rsa2048: KeyPair) -> None:
    with pytest.raises(ConfigurationError) as info:
        WellKnownApp(issuer=ISS, keys=[rsa2048.public_jwk], metadata={"issuer": "https://x"})
    assert info.value.description == "metadata['issuer'] must equal the issuer"


def test_custom_metadata_is_served_as_given(rsa2048: KeyPair) -> None:
    metadata = {**discovery_document(ISS), "token_endpoint": ISS + "/token"}
    with ASGIClient(
        WellKnownApp(issuer=ISS, keys=[rsa2048.public_jwk], metadata=metadata)
    ) as client:
        assert client.get(OIDC).json() == metadata


def test_jwks_elsewhere_is_not_served_here(rsa2048: KeyPair) -> None:
    metadata = discovery_document(ISS, jwks_uri="https://cdn.example.com/jwks.json")
    app = WellKnownApp(issuer=ISS, keys=[rsa2048.public_jwk], metadata=metadata)
    assert sorted(app.endpoints.paths) == [OAUTH, OIDC]


# -- real HTTP: uvicorn on 127.0.0.1, verified with bearerguard's own discovery -------------


@pytest.fixture
def served(rsa2048: KeyPair) -> Iterator[str]:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = WellKnownApp(issuer=url, keys=[rsa2048.public_jwk])
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_tokens_verify_through_discovery_against_the_served_app(
    served: str, rsa2048: KeyPair
) -> None:
    issuer = TokenIssuer(signer=KeyPairSigner(rsa2048), issuer=served, audience="api://orders")
    token, _ = issuer.generate_access_token("user-42", "web-app", ["orders:read"])
    for verifier in (
        Issuer.from_oidc(served, validator=Validator(aud="api://orders")),
        Issuer.from_oauth2(served, validator=Validator(aud="api://orders")),
    ):
        _, claims = verifier.verify_and_validate(token)
        assert claims.scopes == frozenset({"orders:read"})


def test_served_jwks_is_plain_json(served: str, rsa2048: KeyPair) -> None:
    import requests

    response = requests.get(served + JWKS, timeout=5)
    assert json.loads(response.content) == jwks_document([rsa2048])


# -- TokenEndpointApp -------------------------------------------------------------------------


def _token_endpoint(issuer_url: str, pair: KeyPair) -> TokenEndpoint:
    return TokenEndpoint(
        issuer=TokenIssuer(signer=KeyPairSigner(pair), issuer=issuer_url, audience="api://orders"),
        clients=[Client(client_id="batch", client_secret="s3cret", scopes=("orders:read",))],
    )


def _token_server(issuer_url: str, pair: KeyPair) -> WellKnownApp:
    endpoint = _token_endpoint(issuer_url, pair)
    return WellKnownApp(
        issuer=issuer_url,
        keys=[pair.public_jwk],
        token_endpoint=issuer_url + "/token",
        grant_types_supported=endpoint.grant_types_supported,
        token_endpoint_auth_methods_supported=endpoint.token_endpoint_auth_methods_supported,
        scopes_supported=endpoint.scopes_supported,
        app=TokenEndpointApp(endpoint, path="/token"),
    )


FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_token_endpoint_app_issues_tokens_over_asgi(rsa2048: KeyPair) -> None:
    with ASGIClient(_token_server(ISS, rsa2048)) as client:
        response = client.request(
            "POST", "/token", FORM, b"grant_type=client_credentials&client_id=batch"
            b"&client_secret=s3cret",
        )  # fmt: skip
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert sorted(response.json()) == ["access_token", "expires_in", "scope", "token_type"]


@pytest.mark.parametrize("outer", [True, False], ids=["behind-wellknown", "alone"])
def test_token_endpoint_app_acknowledges_the_lifespan(rsa2048: KeyPair, outer: bool) -> None:
    """Starlette's TestClient (and uvicorn --lifespan on) start and stop it cleanly."""
    from starlette.testclient import TestClient

    app: Any = (
        _token_server(ISS, rsa2048)
        if outer
        else TokenEndpointApp(_token_endpoint(ISS, rsa2048), path="/token")
    )
    with TestClient(app) as client:
        response = client.post("/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 401


def test_token_endpoint_app_refuses_a_body_over_the_cap_without_reading_it(
    rsa2048: KeyPair,
) -> None:
    received: list[int] = []

    async def chunks() -> Any:
        for _ in range(100):
            received.append(1)
            yield b"x" * 1024

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=_token_server(ISS, rsa2048))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post("/token", headers=FORM, content=chunks())

    response = asyncio.run(send())
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"
    assert len(received) < 100


def test_token_endpoint_app_leaves_other_paths_to_the_wrapped_app(rsa2048: KeyPair) -> None:
    with ASGIClient(_token_server(ISS, rsa2048)) as client:
        assert client.get("/elsewhere").status_code == 404
        assert client.get(JWKS).status_code == 200


@pytest.fixture
def served_token_server(rsa2048: KeyPair) -> Iterator[str]:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(
        uvicorn.Config(_token_server(url, rsa2048), log_level="error", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_authlib_client_gets_a_token_that_verifies_through_discovery(
    served_token_server: str,
) -> None:
    url = served_token_server
    import requests

    metadata = requests.get(url + OAUTH, timeout=5).json()
    AuthorizationServerMetadata(metadata).validate()
    with OAuth2Session("batch", "s3cret", scope="orders:read") as session:
        token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    verifier = Issuer.from_oauth2(url, validator=Validator(aud="api://orders"))
    _, claims = verifier.verify_and_validate(token["access_token"])
    assert (claims.sub, claims.client_id, claims.scopes) == (
        "batch",
        "batch",
        frozenset({"orders:read"}),
    )
