"""KeyPairSigner: the JWS header always carries kid and typ, and PyJWT verifies the result."""

from __future__ import annotations

import datetime
import json

import jwt
import pytest

from bearerguard import Issuer, parse_jwks
from bearerguard.issuing import (
    KeyPair,
    KeyPairSigner,
    TokenSigner,
    generate_key_pair,
    jwks_document,
)

CLAIMS = {"iss": "https://login.example.com", "sub": "user-42", "aud": "api://orders"}


@pytest.mark.parametrize("fixture", ["rsa2048", "ec256", "ed25519"])
def test_signed_token_header_has_alg_kid_and_typ(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    pair: KeyPair = request.getfixturevalue(fixture)
    token = KeyPairSigner(pair).sign(CLAIMS)
    assert jwt.get_unverified_header(token) == {"alg": pair.alg, "kid": pair.kid, "typ": "at+jwt"}


@pytest.mark.parametrize("fixture", ["rsa2048", "ec256", "ed25519"])
def test_pyjwt_verifies_with_the_published_jwk(
    request: pytest.FixtureRequest, fixture: str
) -> None:
    """A verifier that only has the JWKS verifies the signature."""
    pair: KeyPair = request.getfixturevalue(fixture)
    signer = KeyPairSigner(pair)
    jwk = jwt.PyJWK(jwks_document([signer])["keys"][0])
    decoded = jwt.decode(
        signer.sign(CLAIMS), jwk.key, algorithms=[pair.alg], audience="api://orders"
    )
    assert decoded == CLAIMS


def test_sign_can_set_another_typ(rsa2048: KeyPair) -> None:
    token = KeyPairSigner(rsa2048).sign(CLAIMS, typ="JWT")
    assert jwt.get_unverified_header(token)["typ"] == "JWT"


def test_key_pair_signer_is_a_token_signer(rsa2048: KeyPair) -> None:
    signer = KeyPairSigner(rsa2048)
    assert isinstance(signer, TokenSigner)
    assert (signer.kid, signer.alg, signer.public_key) == (
        "kid-2025-01",
        "RS256",
        rsa2048.public_key,
    )
    assert repr(signer) == "KeyPairSigner(kid='kid-2025-01', alg='RS256')"


# -- RFC 9864 names: Ed25519 and Ed448 -----------------------------------------------------


@pytest.mark.parametrize("crv", ["Ed25519", "Ed448"])
def test_signer_signs_with_the_fully_specified_eddsa_name(crv: str) -> None:
    """A key pair whose alg is Ed25519/Ed448 signs tokens whose header carries that name."""
    pair = generate_key_pair("OKP", crv=crv, kid=f"{crv}-1", alg=crv)
    signer = KeyPairSigner(pair)
    token = signer.sign(CLAIMS)
    assert signer.alg == crv
    assert jwt.get_unverified_header(token) == {"alg": crv, "kid": f"{crv}-1", "typ": "at+jwt"}
    assert jwks_document([signer])["keys"][0]["alg"] == crv


@pytest.mark.parametrize("crv", ["Ed25519", "Ed448"])
def test_fully_specified_eddsa_token_verifies_with_joserfc_and_bearerguard(crv: str) -> None:
    """Interop: joserfc (which knows the RFC 9864 names) and bearerguard verify from the JWKS."""
    from joserfc import jws
    from joserfc.jwk import OKPKey

    signer = KeyPairSigner(generate_key_pair("OKP", crv=crv, kid="ed", alg=crv))
    token = signer.sign(CLAIMS)
    published = jwks_document([signer])
    jwk: dict[str, str | list[str]] = {**published["keys"][0]}
    verified = jws.deserialize_compact(token, OKPKey.import_key(jwk), algorithms=[crv])
    assert json.loads(verified.payload) == CLAIMS
    issuer = Issuer(CLAIMS["iss"], parse_jwks(published), algorithms=[crv])
    assert issuer.unsafe_verify(token).payload == CLAIMS


def test_signer_converts_datetime_times_to_numeric_dates(ec256: KeyPair) -> None:
    """exp, iat and nbf given as datetimes are signed as NumericDate integers (RFC 7519 §2)."""
    when = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    token = KeyPairSigner(ec256).sign({**CLAIMS, "exp": when, "iat": when, "nbf": when})
    payload = jwt.decode(token, options={"verify_signature": False})
    assert (payload["exp"], payload["iat"], payload["nbf"]) == (1893553445,) * 3
