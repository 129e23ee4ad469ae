"""Sender-constrained opaque tokens: the ``cnf`` of an introspection answer is enforced.

RFC 8705 §3.2 (``x5t#S256``) and RFC 9449 §6.2 (``jkt``) put the binding in
the introspection answer; the verifier checks it on every request, as for a
JWT's ``cnf``, cached answers included.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bearerguard import (
    DPoPRequest,
    InvalidDPoPProof,
    InvalidToken,
    Issuer,
    Validator,
    Verifier,
    certificate_thumbprint,
)
from bearerguard.testing import DPoPKey
from tests.mtls.certs import make_pki

from .authserver import AUDIENCE, AuthServer
from .conftest import introspection_for

URL = "https://api.example.com/orders"


def _verifier(server: AuthServer, **options: Any) -> Verifier[Any]:
    issuer = Issuer.from_oauth2(server.url, validator=Validator(aud=AUDIENCE), lazy=True)
    return Verifier([issuer], introspection=introspection_for(server), **options)


def test_certificate_bound_answer_needs_that_certificate(
    auth_server: AuthServer, tmp_path: Path
) -> None:
    """cnf x5t#S256: accepted with the certificate, refused without it or with another."""
    pki = make_pki(tmp_path)
    token = auth_server.issue()
    auth_server.tokens[token].extra["cnf"] = {"x5t#S256": certificate_thumbprint(pki.alice.pem)}
    verifier = _verifier(auth_server, mtls=True)
    assert verifier.verify(token, client_certificate=pki.alice.pem).client_id == "app"
    for certificate in (None, pki.bob.pem):
        with pytest.raises(InvalidToken) as caught:
            verifier.verify(token, client_certificate=certificate)
        assert caught.value.status == 401
    assert auth_server.counts["introspect"] == 1


def test_certificate_bound_answer_is_refused_without_mtls(
    auth_server: AuthServer, tmp_path: Path
) -> None:
    """A verifier that does not check certificates never takes a bound token as a bearer one."""
    pki = make_pki(tmp_path)
    token = auth_server.issue()
    auth_server.tokens[token].extra["cnf"] = {"x5t#S256": certificate_thumbprint(pki.alice.pem)}
    with pytest.raises(InvalidToken):
        _verifier(auth_server).verify(token, client_certificate=pki.alice.pem)


def test_dpop_bound_answer_needs_a_proof_of_that_key(auth_server: AuthServer) -> None:
    """cnf jkt: accepted with a proof by the key, refused without one, a replay refused."""
    key = DPoPKey()
    token = auth_server.issue()
    auth_server.tokens[token].extra["cnf"] = key.cnf
    verifier = _verifier(auth_server, dpop="allowed")
    proof = key.proof("GET", URL, access_token=token)
    claims = verifier.verify(token, dpop=DPoPRequest("GET", URL, (proof,)))
    assert claims.client_id == "app"
    with pytest.raises(InvalidToken, match="DPoP-bound token presented without a DPoP proof"):
        verifier.verify(token)
    with pytest.raises(InvalidDPoPProof, match="used before"):
        verifier.verify(token, dpop=DPoPRequest("GET", URL, (proof,)))
    other = DPoPKey().proof("GET", URL, access_token=token)
    with pytest.raises(InvalidToken, match=r"does not match the token's cnf\.jkt"):
        verifier.verify(token, dpop=DPoPRequest("GET", URL, (other,)))


def test_dpop_bound_answer_through_averify(auth_server: AuthServer) -> None:
    key = DPoPKey()
    token = auth_server.issue()
    auth_server.tokens[token].extra["cnf"] = key.cnf
    verifier = _verifier(auth_server, dpop="allowed")
    proof = key.proof("GET", URL, access_token=token)
    claims = asyncio.run(verifier.averify(token, dpop=DPoPRequest("GET", URL, (proof,))))
    assert claims.client_id == "app"
