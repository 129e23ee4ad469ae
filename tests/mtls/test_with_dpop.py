"""A token bound both to a certificate and to a DPoP key needs both (RFC 7800 §3.1)."""

from __future__ import annotations

from typing import Any

import pytest

from bearerguard import AccessClaims, DPoPRequest, InvalidToken, Issuer, Validator, Verifier
from bearerguard.testing import DPoPKey, LocalIssuer

from .apps import wsgi_app
from .certs import Pki

URL = "https://api.example.com/orders"
NO_CERTIFICATE = "cnf: certificate-bound token (x5t#S256) presented without a client certificate"


@pytest.fixture
def key() -> DPoPKey:
    return DPoPKey()


def _verifier(idp: LocalIssuer, **options: Any) -> Verifier[AccessClaims]:
    validator = Validator(aud=idp.audience)
    return Verifier(
        [Issuer.from_jwks_url(idp.jwks_uri, issuer=idp.url, validator=validator)], **options
    )


def _dpop(key: DPoPKey, token: str) -> DPoPRequest:
    return DPoPRequest("GET", URL, (key.proof("GET", URL, access_token=token),))


def test_certificate_and_proof_together_are_accepted(
    idp: LocalIssuer, pki: Pki, key: DPoPKey
) -> None:
    verifier = _verifier(idp, mtls=True, dpop="allowed")
    token = idp.mint(sub="both", certificate=pki.alice.pem, cnf=key.cnf)
    claims = verifier.verify(token, client_certificate=pki.alice.pem, dpop=_dpop(key, token))
    assert sorted(claims.raw["cnf"]) == ["jkt", "x5t#S256"]


@pytest.mark.parametrize("missing", ["certificate", "proof"])
def test_either_proof_alone_is_refused(
    idp: LocalIssuer, pki: Pki, key: DPoPKey, missing: str
) -> None:
    verifier = _verifier(idp, mtls=True, dpop="allowed")
    token = idp.mint(certificate=pki.alice.pem, cnf=key.cnf)
    certificate = None if missing == "certificate" else pki.alice.pem
    dpop = None if missing == "proof" else _dpop(key, token)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token, client_certificate=certificate, dpop=dpop)
    assert caught.value.status == 401
    assert caught.value.description == (
        NO_CERTIFICATE
        if missing == "certificate"
        else "DPoP-bound token presented without a DPoP proof"
    )


def test_certificate_and_proof_are_refused_where_mtls_is_off(
    idp: LocalIssuer, pki: Pki, key: DPoPKey
) -> None:
    """dpop on, mtls off: the certificate member cannot be checked, so the token is refused."""
    verifier = _verifier(idp, dpop="allowed")
    token = idp.mint(certificate=pki.alice.pem, cnf=key.cnf)
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(token, client_certificate=pki.alice.pem, dpop=_dpop(key, token))
    assert caught.value.description == (
        "cnf: certificate-bound token (x5t#S256), and this API does not check "
        "client certificates (mtls is off)"
    )


@pytest.mark.parametrize(("presented", "status"), [("alice", 200), ("bob", 401)])
def test_flask_checks_both_bindings(
    idp: LocalIssuer, pki: Pki, key: DPoPKey, presented: str, status: int
) -> None:
    settings = {"oidc": idp.url, "audience": idp.audience, "mtls": True, "dpop": "allowed"}
    token = idp.mint(sub="both", certificate=pki.alice.pem, cnf=key.cnf)
    url = "http://localhost/token"
    with wsgi_app("flask", settings) as app:
        response = app.test_client().get(  # type: ignore[attr-defined]
            "/token",
            headers={
                "Authorization": f"DPoP {token}",
                "DPoP": key.proof("GET", url, access_token=token),
            },
            environ_overrides={"SSL_CLIENT_CERT": getattr(pki, presented).pem},
        )
    assert response.status_code == status
