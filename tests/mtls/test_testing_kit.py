"""The testing kit mints certificate-bound tokens, for tests of mTLS endpoints."""

from __future__ import annotations

import jwt
import pytest
from django.test import Client as DjangoClient
from django.test.utils import override_settings

from bearerguard import certificate_thumbprint
from bearerguard.testing import LocalIssuer

from .apps import wsgi_app
from .certs import Pki


def _cnf(token: str) -> object:
    return jwt.decode(token, options={"verify_signature": False})["cnf"]


def test_mint_with_a_certificate_binds_the_token_to_it(idp: LocalIssuer, pki: Pki) -> None:
    """mint(certificate=...) adds cnf x5t#S256, the certificate's RFC 8705 thumbprint."""
    token = idp.mint(certificate=pki.alice.pem)
    assert _cnf(token) == {"x5t#S256": certificate_thumbprint(pki.alice.der)}


def test_mint_with_a_certificate_keeps_other_cnf_members(idp: LocalIssuer, pki: Pki) -> None:
    token = idp.mint(certificate=pki.alice.der, cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2Hgl"})
    assert _cnf(token) == {
        "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2Hgl",
        "x5t#S256": certificate_thumbprint(pki.alice.pem),
    }


@pytest.mark.parametrize(("presented", "status"), [("alice", 200), ("bob", 401)])
def test_flask_test_client_presents_a_certificate_in_the_environ(
    idp: LocalIssuer, pki: Pki, presented: str, status: int
) -> None:
    """A framework test client sets SSL_CLIENT_CERT as a TLS server would."""
    pem = getattr(pki, presented).pem
    settings = {"oidc": idp.url, "audience": idp.audience, "mtls": True}
    with wsgi_app("flask", settings) as app:
        response = app.test_client().get(  # type: ignore[attr-defined]
            "/token",
            headers={"Authorization": f"Bearer {idp.mint(certificate=pki.alice.pem)}"},
            environ_overrides={"SSL_CLIENT_CERT": pem},
        )
    assert response.status_code == status


@pytest.mark.parametrize(("presented", "status"), [("alice", 200), ("bob", 401)])
def test_django_test_client_presents_a_certificate_in_meta(
    idp: LocalIssuer, pki: Pki, presented: str, status: int
) -> None:
    """Django's test client: SSL_CLIENT_CERT in request.META, as under a WSGI TLS server."""
    keys = {"OIDC": idp.url, "AUDIENCE": idp.audience, "MTLS": True}
    with override_settings(BEARERGUARD=keys, ROOT_URLCONF="tests.django.testapp"):
        response = DjangoClient().get(
            "/token",
            headers={"Authorization": f"Bearer {idp.mint(certificate=pki.alice.pem)}"},
            SSL_CLIENT_CERT=getattr(pki, presented).pem,
        )
    assert response.status_code == status


@pytest.mark.parametrize(("presented", "status"), [("alice", 200), ("bob", 401)])
def test_drf_authentication_checks_the_binding_without_the_middleware(
    idp: LocalIssuer, pki: Pki, presented: str, status: int
) -> None:
    """Django REST framework's BearerTokenAuthentication alone reads the certificate too."""
    keys = {"OIDC": idp.url, "AUDIENCE": idp.audience, "MTLS": True}
    with override_settings(
        BEARERGUARD=keys,
        ROOT_URLCONF="tests.django.testapp",
        MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
    ):
        response = DjangoClient().get(
            "/drf/claims",
            headers={"Authorization": f"Bearer {idp.mint(sub='dr', certificate=pki.alice.pem)}"},
            SSL_CLIENT_CERT=getattr(pki, presented).pem,
        )
    assert response.status_code == status
    if status == 200:
        assert response.json()["sub"] == "dr"
    else:
        assert "x5t#S256" in response.headers["WWW-Authenticate"]
