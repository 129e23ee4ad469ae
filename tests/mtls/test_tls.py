"""Certificate-bound tokens through every adapter, over real TLS on 127.0.0.1.

Flask, plain WSGI and Django run under werkzeug's TLS server, which checks
the client certificate against the test CA and passes it in the environ's
``SSL_CLIENT_CERT``. Starlette and FastAPI run under uvicorn, which passes
no certificate to the app (it does not implement the ASGI TLS extension), so
they get it from a TLS-terminating proxy's header.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest

from bearerguard import certificate_thumbprint
from bearerguard.testing import LocalIssuer

from .apps import ASGI_ADAPTERS, WSGI_ADAPTERS, served_asgi_app, wsgi_app
from .certs import Pki, Subject
from .servers import PROXY_HEADER, client, serve_proxy, serve_uvicorn, serve_wsgi_tls

ADAPTERS = WSGI_ADAPTERS + ASGI_ADAPTERS


def _challenge(description: str) -> str:
    return f'Bearer error="invalid_token", error_description="{description}"'


def _body(description: str) -> bytes:
    return json.dumps(
        {"error": "invalid_token", "error_description": description}, separators=(",", ":")
    ).encode()


NO_CERTIFICATE = "cnf: certificate-bound token (x5t#S256) presented without a client certificate"
OTHER_CERTIFICATE = "cnf: the client certificate does not match the token's x5t#S256 binding"
UNREADABLE = "cnf: the client certificate cannot be read to check the x5t#S256 binding"


def _settings(idp: LocalIssuer, **extra: Any) -> dict[str, Any]:
    return {"oidc": idp.url, "audience": idp.audience, "mtls": True, **extra}


@contextmanager
def _served(adapter: str, idp: LocalIssuer, pki: Pki) -> Iterator[str]:
    """The adapter's app behind TLS with client certificates; yields its https URL."""
    with ExitStack() as stack:
        if adapter in WSGI_ADAPTERS:
            app = stack.enter_context(wsgi_app(adapter, _settings(idp)))
            yield stack.enter_context(serve_wsgi_tls(app, pki))
        else:
            settings = _settings(
                idp, mtls_proxy_header=PROXY_HEADER, mtls_trusted_proxies=["127.0.0.1"]
            )
            app = stack.enter_context(served_asgi_app(adapter, settings))
            upstream = stack.enter_context(serve_uvicorn(app))
            yield stack.enter_context(serve_proxy(upstream, pki))


@pytest.fixture(scope="module", params=ADAPTERS)
def served(request: pytest.FixtureRequest, idp: LocalIssuer, pki: Pki) -> Iterator[str]:
    with _served(request.param, idp, pki) as url:
        yield url


def _get(pki: Pki, url: str, token: str, subject: Subject | None) -> httpx.Response:
    with client(pki, subject) as http:
        return http.get(url + "/token", headers={"Authorization": f"Bearer {token}"})


def _bound(idp: LocalIssuer, subject: Subject) -> str:
    return idp.mint(sub="bound-user", cnf={"x5t#S256": certificate_thumbprint(subject.pem)})


def test_bound_token_with_its_certificate_is_accepted(
    served: str, idp: LocalIssuer, pki: Pki
) -> None:
    response = _get(pki, served, _bound(idp, pki.alice), pki.alice)
    assert (response.status_code, response.text) == (200, "bound-user")


@pytest.mark.parametrize(
    ("presented", "description"),
    [
        pytest.param(None, NO_CERTIFICATE, id="no-certificate"),
        pytest.param("bob", OTHER_CERTIFICATE, id="another-certificate"),
    ],
)
def test_bound_token_without_its_certificate_is_refused_with_the_same_bytes(
    served: str, idp: LocalIssuer, pki: Pki, presented: str | None, description: str
) -> None:
    """RFC 8705 §3: 401 invalid_token naming the binding, byte for byte in every adapter."""
    subject = pki.bob if presented == "bob" else None
    response = _get(pki, served, _bound(idp, pki.alice), subject)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == _challenge(description)
    assert response.headers["content-type"] == "application/json"
    assert response.content == _body(description)


@pytest.mark.parametrize("presented", [None, "alice"], ids=["no-certificate", "certificate"])
def test_token_without_cnf_is_accepted_with_or_without_a_certificate(
    served: str, idp: LocalIssuer, pki: Pki, presented: str | None
) -> None:
    response = _get(pki, served, idp.mint(sub="plain"), pki.alice if presented else None)
    assert (response.status_code, response.text) == (200, "plain")


@pytest.mark.parametrize("subject", ["expired", "stranger"])
def test_tls_server_refuses_a_certificate_it_cannot_validate(
    served: str, idp: LocalIssuer, pki: Pki, subject: str
) -> None:
    """Certificate validity (dates, chain) is the TLS layer's check: no request gets through."""
    presented: Subject = getattr(pki, subject)
    with pytest.raises(httpx.TransportError):
        _get(pki, served, _bound(idp, presented), presented)
