"""Where the certificate comes from: the TLS layer, a trusted proxy's header, never a client's.

A request from an address in ``mtls_trusted_proxies`` takes its certificate
from the proxy's header alone; from any other address the header is ignored
and only the TLS layer's certificate counts. The servers are real: uvicorn
and werkzeug on 127.0.0.1, the untrusted client connecting from 127.0.0.2.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from bearerguard import ConfigurationError, GuardSettings, certificate_thumbprint
from bearerguard.starlette import JWTAuth
from bearerguard.testing import LocalIssuer

from .apps import ASGI_ADAPTERS, WSGI_ADAPTERS, asgi_app, served_asgi_app, wsgi_app
from .certs import Pki, Subject
from .servers import PROXY_HEADER, client, serve_proxy, serve_uvicorn, serve_wsgi_tls

NO_CERTIFICATE = "cnf: certificate-bound token (x5t#S256) presented without a client certificate"
OTHER_CERTIFICATE = "cnf: the client certificate does not match the token's x5t#S256 binding"
UNREADABLE = "cnf: the client certificate cannot be read to check the x5t#S256 binding"
TRUSTED = "127.0.0.1"
UNTRUSTED = "127.0.0.2"


def _settings(idp: LocalIssuer) -> dict[str, Any]:
    return {
        "oidc": idp.url,
        "audience": idp.audience,
        "mtls": True,
        "mtls_proxy_header": PROXY_HEADER,
        "mtls_trusted_proxies": [TRUSTED],
    }


@pytest.fixture(scope="module", params=WSGI_ADAPTERS + ASGI_ADAPTERS)
def server(request: pytest.FixtureRequest, idp: LocalIssuer, pki: Pki) -> Iterator[str]:
    """The adapter's app, configured for a proxy at 127.0.0.1: werkzeug (TLS) or uvicorn."""
    with ExitStack() as stack:
        if request.param in WSGI_ADAPTERS:
            app = stack.enter_context(wsgi_app(request.param, _settings(idp)))
            yield stack.enter_context(serve_wsgi_tls(app, pki))
        else:
            app = stack.enter_context(served_asgi_app(request.param, _settings(idp)))
            yield stack.enter_context(serve_uvicorn(app))


def _get(
    pki: Pki,
    url: str,
    token: str,
    *,
    source: str,
    header: str | None = None,
    subject: Subject | None = None,
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"}
    if header is not None:
        headers[PROXY_HEADER] = header
    with client(pki, subject, local_address=source) as http:
        return http.get(url + "/token", headers=headers)


def _bound(idp: LocalIssuer, subject: Subject) -> str:
    return idp.mint(sub="bound-user", cnf={"x5t#S256": certificate_thumbprint(subject.pem)})


def _refused(response: httpx.Response, description: str) -> None:
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        f'Bearer error="invalid_token", error_description="{description}"'
    )
    body = {"error": "invalid_token", "error_description": description}
    assert response.content == json.dumps(body, separators=(",", ":")).encode()


def test_header_from_a_trusted_proxy_is_the_certificate(
    server: str, idp: LocalIssuer, pki: Pki
) -> None:
    """nginx's $ssl_client_escaped_cert (URL-encoded PEM) from 127.0.0.1 binds the token."""
    header = quote(pki.alice.pem, safe="")
    response = _get(pki, server, _bound(idp, pki.alice), source=TRUSTED, header=header)
    assert (response.status_code, response.text) == (200, "bound-user")


def test_spoofed_header_from_an_untrusted_address_is_ignored(
    server: str, idp: LocalIssuer, pki: Pki
) -> None:
    """A client cannot claim a certificate by sending the proxy's header itself."""
    header = quote(pki.alice.pem, safe="")
    response = _get(pki, server, _bound(idp, pki.alice), source=UNTRUSTED, header=header)
    _refused(response, NO_CERTIFICATE)


def test_trusted_proxy_without_the_header_means_no_certificate(
    server: str, idp: LocalIssuer, pki: Pki
) -> None:
    """From the proxy, only its header counts: the connection's own certificate is the proxy's."""
    subject = pki.alice if server.startswith("https") else None
    response = _get(pki, server, _bound(idp, pki.alice), source=TRUSTED, subject=subject)
    _refused(response, NO_CERTIFICATE)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("not%20a%20certificate", id="text"),
        pytest.param(
            quote("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"), id="bad-pem"
        ),
        pytest.param("%ZZ%" * 40, id="bad-escapes"),
        pytest.param("A" * 60_000, id="oversized"),
    ],
)
def test_garbage_in_the_header_refuses_a_bound_token_and_nothing_else(
    server: str, idp: LocalIssuer, pki: Pki, header: str
) -> None:
    """An unreadable certificate is a 401 for a bound token, never a 500; others pass."""
    _refused(_get(pki, server, _bound(idp, pki.alice), source=TRUSTED, header=header), UNREADABLE)
    plain = _get(pki, server, idp.mint(sub="plain"), source=TRUSTED, header=header)
    assert (plain.status_code, plain.text) == (200, "plain")


def test_untrusted_address_over_tls_uses_the_tls_certificate(idp: LocalIssuer, pki: Pki) -> None:
    """werkzeug: from an untrusted address, the TLS certificate counts and the header does not."""
    with wsgi_app("wsgi", _settings(idp)) as app, serve_wsgi_tls(app, pki) as url:
        token = _bound(idp, pki.alice)
        header = quote(pki.alice.pem, safe="")
        spoofed = _get(pki, url, token, source=UNTRUSTED, header=header, subject=pki.bob)
        _refused(spoofed, OTHER_CERTIFICATE)
        direct = _get(pki, url, token, source=UNTRUSTED, subject=pki.alice)
        assert (direct.status_code, direct.text) == (200, "bound-user")


def test_uvicorn_over_tls_gives_the_app_no_certificate(idp: LocalIssuer, pki: Pki) -> None:
    """uvicorn checks the client certificate but does not pass it on (no ASGI TLS extension)."""
    settings = {"oidc": idp.url, "audience": idp.audience, "mtls": True}
    with serve_uvicorn(asgi_app("starlette", settings), pki) as url:
        response = _get(pki, url, _bound(idp, pki.alice), source=TRUSTED, subject=pki.alice)
    _refused(response, NO_CERTIFICATE)


@pytest.mark.parametrize(
    ("proxy_headers", "status"),
    [
        pytest.param(True, 401, id="uvicorn-default"),
        pytest.param(False, 200, id="no-proxy-headers"),
    ],
)
def test_uvicorn_proxy_headers_hide_the_proxy_behind_x_forwarded_for(
    idp: LocalIssuer, pki: Pki, proxy_headers: bool, status: int
) -> None:
    """uvicorn takes the peer address from X-Forwarded-For (from 127.0.0.1 by default), so
    the proxy is no longer recognised unless uvicorn runs with --no-proxy-headers."""
    app = asgi_app("starlette", _settings(idp))
    headers = {
        "Authorization": f"Bearer {_bound(idp, pki.alice)}",
        "X-Forwarded-For": "203.0.113.9",
    }
    with ExitStack() as stack:
        upstream = stack.enter_context(serve_uvicorn(app, proxy_headers=proxy_headers))
        url = stack.enter_context(serve_proxy(upstream, pki))
        response = stack.enter_context(client(pki, pki.alice)).get(url + "/token", headers=headers)
    assert response.status_code == status


class _TLSExtension:
    """What an ASGI server implementing the TLS extension adds to each scope."""

    def __init__(self, app: Any, chain: list[str], error: str | None = None) -> None:
        self.app, self.chain, self.error = app, chain, error

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            scope.setdefault("extensions", {})["tls"] = {
                "server_cert": None,
                "client_cert_chain": self.chain,
                "client_cert_name": None,
                "client_cert_error": self.error,
                "tls_version": 0x0304,
                "cipher_suite": 0x1301,
            }
        await self.app(scope, receive, send)


@pytest.mark.parametrize("adapter", ASGI_ADAPTERS)
@pytest.mark.parametrize(
    ("chain", "expected"),
    [
        pytest.param(["alice", "ca"], (200, "bound-user"), id="its-certificate"),
        pytest.param(["bob", "ca"], (401, OTHER_CERTIFICATE), id="another-certificate"),
        pytest.param([], (401, NO_CERTIFICATE), id="no-certificate"),
        pytest.param(
            ["alice", "ca", "unverified"], (401, NO_CERTIFICATE), id="certificate-not-verified"
        ),
    ],
)
def test_asgi_tls_extension_gives_the_certificate(
    idp: LocalIssuer, pki: Pki, adapter: str, chain: list[str], expected: tuple[int, str]
) -> None:
    """ASGI TLS extension: the chain's first certificate; none after a client_cert_error."""
    pems = {"alice": pki.alice.pem, "bob": pki.bob.pem, "ca": pki.ca_file.read_text()}
    settings = {"oidc": idp.url, "audience": idp.audience, "mtls": True}
    with served_asgi_app(adapter, settings) as inner:
        error = "certificate has expired" if "unverified" in chain else None
        pems_chain = [pems[name] for name in chain if name != "unverified"]
        app = _TLSExtension(inner, pems_chain, error)
        response = TestClient(app).get(
            "/token", headers={"Authorization": f"Bearer {_bound(idp, pki.alice)}"}
        )
    status, text = expected
    assert response.status_code == status
    if status == 200:
        assert response.text == text
    else:
        assert json.loads(response.content)["error_description"] == text


def test_two_header_lines_are_no_certificate(idp: LocalIssuer, pki: Pki) -> None:
    """A proxy sets the header once; two lines are not taken for a certificate."""
    settings = _settings(idp)
    app = asgi_app("starlette", settings)
    with TestClient(app, client=(TRUSTED, 50000)) as test_client:
        response = test_client.get(
            "/token",
            headers=[
                ("Authorization", f"Bearer {_bound(idp, pki.alice)}"),
                (PROXY_HEADER, quote(pki.alice.pem, safe="")),
                (PROXY_HEADER, quote(pki.alice.pem, safe="")),
            ],
        )
    assert json.loads(response.content)["error_description"] == NO_CERTIFICATE


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        pytest.param(
            {"mtls_proxy_header": PROXY_HEADER, "mtls_trusted_proxies": [TRUSTED]},
            "mtls_proxy_header= and mtls_trusted_proxies= need mtls=True",
            id="proxy-without-mtls",
        ),
        pytest.param(
            {"mtls": True, "mtls_proxy_header": PROXY_HEADER},
            "mtls_proxy_header= needs mtls_trusted_proxies=",
            id="header-without-proxies",
        ),
        pytest.param(
            {"mtls": True, "mtls_trusted_proxies": [TRUSTED]},
            "mtls_trusted_proxies= goes with mtls_proxy_header=",
            id="proxies-without-header",
        ),
        pytest.param(
            {"mtls": True, "mtls_proxy_header": PROXY_HEADER, "mtls_trusted_proxies": ["::/0"]},
            "mtls_trusted_proxies=: '::/0' trusts every address",
            id="trust-everyone",
        ),
        pytest.param(
            {"mtls": True, "mtls_proxy_header": PROXY_HEADER, "mtls_trusted_proxies": ["nginx"]},
            "mtls_trusted_proxies=: 'nginx' is not an IP address or network",
            id="host-name",
        ),
        pytest.param(
            {"mtls": True, "mtls_proxy_header": PROXY_HEADER, "mtls_trusted_proxies": TRUSTED},
            "mtls_trusted_proxies= must be a list of proxy addresses or networks",
            id="string-not-list",
        ),
        pytest.param(
            {"mtls": True, "mtls_proxy_header": PROXY_HEADER, "mtls_trusted_proxies": []},
            "mtls_trusted_proxies= is empty",
            id="empty-list",
        ),
        pytest.param(
            {"mtls": True, "mtls_proxy_header": "Authorization", "mtls_trusted_proxies": [TRUSTED]},
            "mtls_proxy_header= cannot be the Authorization header",
            id="authorization-header",
        ),
        pytest.param(
            {"mtls": True, "mtls_proxy_header": "X SSL", "mtls_trusted_proxies": [TRUSTED]},
            "mtls_proxy_header= must be a header name such as 'X-SSL-Client-Cert'",
            id="not-a-header-name",
        ),
        pytest.param({"mtls": "on"}, "mtls= must be True or False", id="mtls-not-bool"),
    ],
)
def test_misconfiguration_is_a_configuration_error_saying_what_to_fix(
    idp: LocalIssuer, settings: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        GuardSettings(oidc=idp.url, audience=idp.audience, **settings)
    assert caught.value.description.startswith(message)


async def _hello(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(websocket.user.claims.sub)
    await websocket.close()


def test_websocket_handshake_checks_the_binding(idp: LocalIssuer, pki: Pki) -> None:
    """JWTAuth reads the certificate of a WebSocket handshake as of an HTTP request."""
    app = Starlette(routes=[WebSocketRoute("/ws", _hello)])
    app.add_middleware(JWTAuth, **_settings(idp))
    headers = {"Authorization": f"Bearer {_bound(idp, pki.alice)}"}
    with TestClient(app, client=(TRUSTED, 50000)) as test_client:
        mine = {**headers, PROXY_HEADER: quote(pki.alice.pem, safe="")}
        with test_client.websocket_connect("/ws", headers=mine) as websocket:
            assert websocket.receive_text() == "bound-user"
        other = {**headers, PROXY_HEADER: quote(pki.bob.pem, safe="")}
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            test_client.websocket_connect("/ws", headers=other),
        ):
            pass
    assert closed.value.code == 1008
    assert closed.value.reason == f"invalid_token: {OTHER_CERTIFICATE}"[:123]
