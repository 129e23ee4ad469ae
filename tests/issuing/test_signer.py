"""KeyPairSigner: the JWS header always carries kid and typ, and PyJWT verifies the result."""

from __future__ import annotations

import jwt
import pytest

from bearerguard import ConfigurationError
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


def test_signer_refuses_an_algorithm_pyjwt_cannot_sign_with() -> None:
    pair = generate_key_pair("OKP", alg="Ed25519")
    with pytest.raises(ConfigurationError) as info:
        KeyPairSigner(pair)
    assert info.value.description.startswith("cannot sign with alg 'Ed25519'; use one of ")
