"""Certificate-bound tokens (RFC 8705) under attack: look-alike bindings and borrowed certificates.

The attacker holds a stolen token bound to Alice's certificate, a
certificate of their own (Bob's, from the same CA), and can send any header
from any address but the proxy's. Each case states the exact refusal
(RFC 8705 §3, §7.2; RFC 7800 §3.1).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from starlette.testclient import TestClient
from werkzeug.test import Client

from bearerguard import InvalidClaims, Validator, certificate_thumbprint
from bearerguard._issuer import Issuer
from bearerguard.keyset import KeySetPolicy
from bearerguard.testing import LocalIssuer
from bearerguard.verifier import Verifier

from ..mtls.apps import asgi_app, wsgi_app
from ..mtls.certs import Pki, make_pki
from ..mtls.servers import PROXY_HEADER

AUDIENCE = "api://orders"
NO_CERTIFICATE = "cnf: certificate-bound token (x5t#S256) presented without a client certificate"
MISMATCH = "cnf: the client certificate does not match the token's x5t#S256 binding"
UNCHECKED = "cnf: the token is bound by a confirmation method bearerguard does not check"
NOT_AN_OBJECT = "cnf: must be an object naming the key the token is bound to"
NOT_A_STRING = "cnf: x5t#S256 must be a certificate thumbprint string"
PROXY = "127.0.0.1"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(Path(tmp_path_factory.mktemp("pki")))


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=AUDIENCE) as issuer:
        yield issuer


def _verifier(idp: LocalIssuer) -> Verifier[Any]:
    source = Issuer.from_oidc(
        idp.url,
        validator=Validator(aud=AUDIENCE),
        policy=KeySetPolicy(require_https=False),
        lazy=True,
    )
    return Verifier([source], mtls=True)


def _ca_thumbprint(pki: Pki) -> str:
    return certificate_thumbprint(x509.load_pem_x509_certificate(pki.ca_file.read_bytes()))


def _hex_thumbprint(pem: str) -> str:
    """The SHA-256 fingerprint as most tools print it: hex, not base64url."""
    return x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA256()).hex()


@pytest.mark.parametrize(
    ("cnf_of", "description"),
    [
        pytest.param(
            lambda pki: {"x5t#S256": certificate_thumbprint(pki.alice.pem) + "="},
            MISMATCH,
            id="thumbprint-padded",
        ),
        pytest.param(
            lambda pki: {"x5t#S256": _hex_thumbprint(pki.alice.pem)},
            MISMATCH,
            id="thumbprint-in-hex",
        ),
        pytest.param(
            lambda pki: {"x5t#S256": "é" + certificate_thumbprint(pki.alice.pem)[1:]},
            MISMATCH,
            id="thumbprint-non-ascii",
        ),
        pytest.param(
            lambda pki: {"x5t#S256": _ca_thumbprint(pki)},
            MISMATCH,
            id="thumbprint-of-the-issuing-ca",
        ),
        pytest.param(
            lambda pki: {"x5t#S256": [certificate_thumbprint(pki.alice.pem)]},
            NOT_A_STRING,
            id="thumbprint-in-an-array",
        ),
        pytest.param(
            lambda pki: {"X5T#S256": certificate_thumbprint(pki.alice.pem)},
            UNCHECKED,
            id="member-name-case",
        ),
        pytest.param(
            lambda pki: {"x5t": certificate_thumbprint(pki.alice.pem)},
            UNCHECKED,
            id="sha1-member",
        ),
        pytest.param(
            lambda pki: {
                "x5t#S256": certificate_thumbprint(pki.alice.pem),
                "kid": "alice-key",
            },
            UNCHECKED,
            id="right-thumbprint-and-an-unknown-member",
        ),
        pytest.param(lambda pki: {}, NOT_AN_OBJECT, id="empty-object"),
        pytest.param(
            lambda pki: [{"x5t#S256": certificate_thumbprint(pki.alice.pem)}],
            NOT_AN_OBJECT,
            id="array",
        ),
        pytest.param(
            lambda pki: certificate_thumbprint(pki.alice.pem), NOT_AN_OBJECT, id="bare-string"
        ),
    ],
)
def test_look_alike_binding_is_refused_with_the_right_certificate(
    idp: LocalIssuer, pki: Pki, cnf_of: Any, description: str
) -> None:
    """Alice's certificate is presented; a cnf that is not exactly her x5t#S256 is refused."""
    token = idp.mint(cnf=cnf_of(pki))
    with pytest.raises(InvalidClaims) as caught:
        _verifier(idp).verify(token, client_certificate=pki.alice.pem)
    assert caught.value.description == description


def test_chain_with_the_bound_certificate_second_is_refused(idp: LocalIssuer, pki: Pki) -> None:
    """Only the first certificate of a presented chain is the client's."""
    token = idp.mint(cnf={"x5t#S256": certificate_thumbprint(pki.alice.pem)})
    with pytest.raises(InvalidClaims) as caught:
        _verifier(idp).verify(token, client_certificate=pki.bob.pem + pki.alice.pem)
    assert caught.value.description == MISMATCH


def test_cached_token_with_another_certificate_is_refused(idp: LocalIssuer, pki: Pki) -> None:
    """The verified-token cache keeps the token, not the binding: Bob cannot ride Alice's hit."""
    verifier = _verifier(idp)
    token = idp.mint(cnf={"x5t#S256": certificate_thumbprint(pki.alice.pem)})
    assert verifier.verify(token, client_certificate=pki.alice.pem).sub
    with pytest.raises(InvalidClaims) as caught:
        verifier.verify(token, client_certificate=pki.bob.pem)
    assert caught.value.description == MISMATCH
    assert verifier.cache_info().hits == 1


# -- certificates a client claims with headers ------------------------------------


def _settings(idp: LocalIssuer) -> dict[str, Any]:
    return {
        "oidc": idp.url,
        "audience": AUDIENCE,
        "mtls": True,
        "mtls_proxy_header": PROXY_HEADER,
        "mtls_trusted_proxies": [PROXY],
    }


def _description(content: bytes) -> str:
    return str(json.loads(content)["error_description"])


@pytest.mark.parametrize(
    ("address", "headers", "expected"),
    [
        pytest.param("127.0.0.2", {}, NO_CERTIFICATE, id="untrusted-address"),
        pytest.param("::ffff:127.0.0.2", {}, NO_CERTIFICATE, id="untrusted-v4-mapped-address"),
        pytest.param(
            "127.0.0.2",
            {"X-Forwarded-For": PROXY, "X-Real-IP": PROXY, "Forwarded": f"for={PROXY}"},
            NO_CERTIFICATE,
            id="forwarding-headers-naming-the-proxy",
        ),
        pytest.param("testclient", {}, NO_CERTIFICATE, id="address-not-an-ip"),
        pytest.param("::ffff:127.0.0.1", {}, None, id="proxy-as-v4-mapped-address"),
    ],
)
def test_certificate_header_counts_only_from_the_proxy_asgi(
    idp: LocalIssuer, pki: Pki, address: str, headers: dict[str, str], expected: str | None
) -> None:
    """Starlette: the proxy's header is believed from the proxy's address alone."""
    token = idp.mint(sub="bound", cnf={"x5t#S256": certificate_thumbprint(pki.alice.pem)})
    app = asgi_app("starlette", _settings(idp))
    with TestClient(app, client=(address, 50000)) as test_client:
        response = test_client.get(
            "/token",
            headers={
                "Authorization": f"Bearer {token}",
                PROXY_HEADER: quote(pki.alice.pem, safe=""),
                **headers,
            },
        )
    if expected is None:
        assert (response.status_code, response.text) == (200, "bound")
    else:
        assert response.status_code == 401
        assert _description(response.content) == expected


@pytest.mark.parametrize("adapter", ["flask", "wsgi", "django"])
@pytest.mark.parametrize(
    "header",
    [
        pytest.param(PROXY_HEADER, id="proxy-header-from-a-client"),
        pytest.param("SSL-Client-Cert", id="header-named-like-the-environ-key"),
    ],
)
def test_certificate_header_from_a_client_is_ignored_wsgi(
    idp: LocalIssuer, pki: Pki, adapter: str, header: str
) -> None:
    """WSGI: a header a client sends is never its certificate, whatever its name."""
    token = idp.mint(cnf={"x5t#S256": certificate_thumbprint(pki.alice.pem)})
    with wsgi_app(adapter, _settings(idp)) as app:
        response = Client(app).get(
            "/token",
            headers={
                "Authorization": f"Bearer {token}",
                header: quote(pki.alice.pem, safe=""),
                "X-Forwarded-For": PROXY,
            },
            base_url="http://testserver",
            environ_base={"REMOTE_ADDR": "127.0.0.2"},
        )
        try:
            assert response.status_code == 401
            assert _description(response.get_data()) == NO_CERTIFICATE
        finally:
            response.close()
