"""RFC 8705 §3 in the core: a certificate-bound token needs the certificate it is bound to."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest
from cryptography import x509

from bearerguard import (
    AccessClaims,
    ConfigurationError,
    InvalidClaims,
    Issuer,
    Validator,
    certificate_thumbprint,
)
from bearerguard.testing import LocalIssuer
from bearerguard.verifier import Verifier

from .certs import Pki

NO_CERTIFICATE = "cnf: certificate-bound token (x5t#S256) presented without a client certificate"
OTHER_CERTIFICATE = "cnf: the client certificate does not match the token's x5t#S256 binding"


def _verifier(
    idp: LocalIssuer, *, mtls: bool = True, allow_sender_constrained: bool = False
) -> Verifier[AccessClaims]:
    validator = Validator(aud="api://orders", allow_sender_constrained=allow_sender_constrained)
    issuer = Issuer.from_jwks_url(idp.jwks_uri, issuer=idp.url, validator=validator)
    return Verifier([issuer], mtls=mtls)


def _bound(idp: LocalIssuer, pem: str) -> str:
    return idp.mint(cnf={"x5t#S256": certificate_thumbprint(pem)})


def test_thumbprint_is_base64url_sha256_of_the_der_certificate(pki: Pki) -> None:
    """RFC 8705 §3.1: x5t#S256 is the base64url SHA-256 of the DER certificate, unpadded."""
    expected = base64.urlsafe_b64encode(hashlib.sha256(pki.alice.der).digest()).rstrip(b"=")
    assert certificate_thumbprint(pki.alice.pem) == expected.decode()


@pytest.mark.parametrize(
    "form",
    [
        pytest.param(lambda s: s.pem, id="pem-text"),
        pytest.param(lambda s: s.pem.encode(), id="pem-bytes"),
        pytest.param(lambda s: s.der, id="der-bytes"),
        pytest.param(lambda s: x509.load_der_x509_certificate(s.der), id="x509-object"),
        pytest.param(lambda s: s.pem + s.pem, id="pem-chain-first"),
    ],
)
def test_thumbprint_is_the_same_for_every_form_of_the_certificate(pki: Pki, form: object) -> None:
    """PEM text, PEM bytes, DER and a cryptography certificate give one thumbprint."""
    assert callable(form)
    assert certificate_thumbprint(form(pki.alice)) == certificate_thumbprint(pki.alice.der)


@pytest.mark.parametrize(
    "junk",
    [
        pytest.param("not a certificate", id="text"),
        pytest.param(b"\x30\x03\x02\x01\x01", id="der-junk"),
        pytest.param("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----", id="pem-junk"),
        pytest.param(42, id="number"),
    ],
)
def test_thumbprint_of_something_else_is_a_configuration_error(junk: object) -> None:
    with pytest.raises(ConfigurationError, match=r"must be an X\.509 certificate"):
        certificate_thumbprint(junk)  # type: ignore[arg-type]


def test_bound_token_with_its_certificate_is_accepted(idp: LocalIssuer, pki: Pki) -> None:
    claims = _verifier(idp).verify(_bound(idp, pki.alice.pem), client_certificate=pki.alice.pem)
    assert claims.raw["cnf"] == {"x5t#S256": certificate_thumbprint(pki.alice.pem)}


def test_bound_token_with_its_certificate_in_der_is_accepted(idp: LocalIssuer, pki: Pki) -> None:
    claims = _verifier(idp).verify(_bound(idp, pki.alice.pem), client_certificate=pki.alice.der)
    assert claims.sub == "test-user"


@pytest.mark.parametrize(
    ("certificate", "failure"),
    [
        pytest.param(None, NO_CERTIFICATE, id="no-certificate"),
        pytest.param("bob", OTHER_CERTIFICATE, id="another-certificate"),
        pytest.param(
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
            "cnf: the client certificate cannot be read to check the x5t#S256 binding",
            id="unreadable-certificate",
        ),
    ],
)
def test_bound_token_without_its_certificate_is_refused(
    idp: LocalIssuer, pki: Pki, certificate: str | None, failure: str
) -> None:
    presented = pki.bob.pem if certificate == "bob" else certificate
    with pytest.raises(InvalidClaims) as caught:
        _verifier(idp).verify(_bound(idp, pki.alice.pem), client_certificate=presented)
    assert caught.value.failures == (failure,)
    assert (caught.value.code, caught.value.status) == ("invalid_token", 401)


def test_binding_is_checked_on_every_cache_hit(idp: LocalIssuer, pki: Pki) -> None:
    """The token is cached after its first use; the certificate is checked on each use."""
    verifier = _verifier(idp)
    token = _bound(idp, pki.alice.pem)
    verifier.verify(token, client_certificate=pki.alice.pem)
    with pytest.raises(InvalidClaims, match="does not match"):
        verifier.verify(token, client_certificate=pki.bob.pem)
    with pytest.raises(InvalidClaims, match="without a client certificate"):
        verifier.verify(token)
    verifier.verify(token, client_certificate=pki.alice.pem)
    assert verifier.cache_info().hits == 3


def test_async_binding_is_checked_on_the_full_path_and_on_cache_hits(
    idp: LocalIssuer, pki: Pki
) -> None:
    verifier = _verifier(idp)
    token = _bound(idp, pki.alice.pem)

    async def uses() -> list[str]:
        seen = []
        for certificate in (pki.bob.pem, pki.alice.pem, pki.bob.pem, None):
            try:
                await verifier.averify(token, client_certificate=certificate)
                seen.append("accepted")
            except InvalidClaims as error:
                seen.append(error.failures[0])
        return seen

    assert asyncio.run(uses()) == [OTHER_CERTIFICATE, "accepted", OTHER_CERTIFICATE, NO_CERTIFICATE]
    assert verifier.cache_info().hits == 3


def test_expired_certificate_with_the_right_thumbprint_is_accepted(
    idp: LocalIssuer, pki: Pki
) -> None:
    """The binding is by thumbprint; certificate validity is the TLS server's check."""
    token = _bound(idp, pki.expired.pem)
    assert _verifier(idp).verify(token, client_certificate=pki.expired.pem).sub == "test-user"


@pytest.mark.parametrize("certificate", [None, "alice"], ids=["no-certificate", "certificate"])
def test_token_without_cnf_is_accepted_with_or_without_a_certificate(
    idp: LocalIssuer, pki: Pki, certificate: str | None
) -> None:
    presented = pki.alice.pem if certificate else None
    assert _verifier(idp).verify(idp.mint(), client_certificate=presented).sub == "test-user"


@pytest.mark.parametrize(
    ("cnf", "failure"),
    [
        pytest.param(
            {"x5t#S256": "ALICE", "x5t": "c2hhMQ"},
            "cnf: the token is bound by a confirmation method bearerguard does not check",
            id="certificate-and-unknown-member",
        ),
        pytest.param(
            {"kid": "key-1"},
            "cnf: the token is bound by a confirmation method bearerguard does not check",
            id="unknown-member",
        ),
        pytest.param({}, "cnf: must be an object naming the key", id="empty-object"),
        pytest.param("ALICE", "cnf: must be an object naming the key", id="string"),
        pytest.param(
            {"x5t#S256": 7}, "cnf: x5t#S256 must be a certificate thumbprint", id="number"
        ),
    ],
)
def test_every_member_of_cnf_must_be_satisfied(
    idp: LocalIssuer, pki: Pki, cnf: object, failure: str
) -> None:
    """RFC 7800 §3.1: each member must be proved; a certificate proves x5t#S256 only."""
    thumbprint = certificate_thumbprint(pki.alice.pem)
    if isinstance(cnf, dict):
        cnf = {k: thumbprint if v == "ALICE" else v for k, v in cnf.items()}
    with pytest.raises(InvalidClaims) as caught:
        _verifier(idp).verify(idp.mint(cnf=cnf), client_certificate=pki.alice.pem)
    assert len(caught.value.failures) == 1
    assert caught.value.failures[0].startswith(failure)


def test_bound_token_is_refused_as_a_bearer_token_when_mtls_is_off(
    idp: LocalIssuer, pki: Pki
) -> None:
    """Without mtls=True (and DPoP off) the verifier checks no binding: cnf tokens are refused."""
    with pytest.raises(InvalidClaims) as caught:
        _verifier(idp, mtls=False).verify(
            _bound(idp, pki.alice.pem), client_certificate=pki.alice.pem
        )
    assert caught.value.failures == ("cnf: sender-constrained token presented as a bearer token",)


def test_allow_sender_constrained_leaves_the_binding_to_the_application(
    idp: LocalIssuer, pki: Pki
) -> None:
    """Validator(allow_sender_constrained=True): the caller checks cnf; no certificate needed."""
    verifier = _verifier(idp, allow_sender_constrained=True)
    assert verifier.verify(_bound(idp, pki.alice.pem)).raw["cnf"]


def test_mtls_must_be_a_bool(idp: LocalIssuer) -> None:
    with pytest.raises(ConfigurationError, match="mtls must be True or False"):
        _verifier(idp, mtls="yes")  # type: ignore[arg-type]
