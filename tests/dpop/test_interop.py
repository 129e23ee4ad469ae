"""Proofs and bound tokens made by independent implementations (joserfc, PyJWT), not bearerguard.

The access token is signed by PyJWT as a stand-alone authorization server
would, with ``cnf.jkt`` computed by joserfc's RFC 7638 thumbprint; the proofs
are serialised by joserfc (and PyJWT) with EC, RSA and Ed25519 keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwk, jws

from bearerguard import DPoPRequest, InvalidDPoPProof, InvalidToken, StaticKeySet, Validator
from bearerguard._issuer import Issuer
from bearerguard._jwk import PublicJWK
from bearerguard.verifier import Verifier

ISSUER = "https://as.example.com"
AUDIENCE = "api://interop"
URL = "https://api.example.com/orders"

_SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())


def _verifier() -> Verifier[Any]:
    keys = StaticKeySet([PublicJWK.from_key(_SIGNING_KEY.public_key(), kid="as-1")])
    issuer = Issuer(ISSUER, keys, Validator(aud=AUDIENCE))
    return Verifier([issuer], dpop="allowed")


def _token(jkt: str) -> str:
    """An access token as an authorization server signs it (PyJWT), bound to *jkt*."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice", "iat": now, "exp": now + 300}
    claims["cnf"] = {"jkt": jkt}
    return jwt.encode(claims, _SIGNING_KEY, algorithm="ES256", headers={"kid": "as-1"})


def _ath(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


def _joserfc_proof(key: Any, alg: str, token: str, **claims: Any) -> str:
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict(private=False)}
    payload = {
        "jti": secrets.token_urlsafe(12),
        "htm": "GET",
        "htu": URL,
        "iat": int(time.time()),
        "ath": _ath(token),
        **claims,
    }
    return jws.serialize_compact(header, json.dumps(payload).encode(), key, algorithms=[alg])


KEYS = [
    pytest.param(lambda: jwk.ECKey.generate_key("P-256"), "ES256", id="es256"),
    pytest.param(lambda: jwk.ECKey.generate_key("P-384"), "ES384", id="es384"),
    pytest.param(lambda: jwk.RSAKey.generate_key(2048), "PS256", id="ps256"),
    pytest.param(lambda: jwk.RSAKey.generate_key(2048), "RS256", id="rs256"),
    pytest.param(lambda: jwk.OKPKey.generate_key("Ed25519"), "Ed25519", id="ed25519"),
]


@pytest.mark.parametrize(("make_key", "alg"), KEYS)
def test_joserfc_proof_is_accepted(make_key: Any, alg: str) -> None:
    """A joserfc proof for a token bound to joserfc's thumbprint of the key verifies."""
    key = make_key()
    token = _token(key.thumbprint())
    proof = _joserfc_proof(key, alg, token)
    claims = _verifier().verify(token, dpop=DPoPRequest("GET", URL, (proof,)))
    assert claims.sub == "alice"


def test_joserfc_proof_by_another_key_is_refused() -> None:
    """A valid joserfc proof by a key other than the token's cnf.jkt is refused."""
    bound, thief = jwk.ECKey.generate_key("P-256"), jwk.ECKey.generate_key("P-256")
    token = _token(bound.thumbprint())
    proof = _joserfc_proof(thief, "ES256", token)
    with pytest.raises(InvalidToken, match=r"^DPoP proof key does not match the token's cnf\.jkt$"):
        _verifier().verify(token, dpop=DPoPRequest("GET", URL, (proof,)))


def test_joserfc_proof_for_another_url_is_refused() -> None:
    """A joserfc proof made for another URL is refused (htu)."""
    key = jwk.ECKey.generate_key("P-256")
    token = _token(key.thumbprint())
    proof = _joserfc_proof(key, "ES256", token, htu="https://api.example.com/other")
    with pytest.raises(InvalidDPoPProof, match=r"^DPoP proof htu does not match the request URL$"):
        _verifier().verify(token, dpop=DPoPRequest("GET", URL, (proof,)))


def test_pyjwt_proof_is_accepted() -> None:
    """A proof built with PyJWT's encode and a cryptography key verifies."""
    private = ec.generate_private_key(ec.SECP256R1())
    public = jwk.ECKey.import_key(
        json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    )
    token = _token(public.thumbprint())
    payload = {"jti": "p-1", "htm": "GET", "htu": URL, "iat": int(time.time()), "ath": _ath(token)}
    header = {"typ": "dpop+jwt", "jwk": public.as_dict(private=False)}
    proof = jwt.encode(payload, private, algorithm="ES256", headers=header)
    assert _verifier().verify(token, dpop=DPoPRequest("GET", URL, (proof,))).sub == "alice"
