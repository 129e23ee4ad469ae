"""Published test vectors: RFC 7515 A.2/A.3, RFC 7638 §3.1, RFC 8037 appendix A.

The RFC 7515 example tokens carry ``iss: "joe"``, no ``kid``, no ``aud`` and an
``exp`` of 1300819380 (March 2011), so they are checked with an issuer whose
URL is ``joe`` and a clock set just before that expiry.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from bearerguard import ExpiredToken, Issuer, PublicJWK, StandardClaims, Validator, parse_jwks
from bearerguard._encoding import b64url_decode
from bearerguard._errors import InvalidKey, InvalidSignature, MalformedToken
from bearerguard._jws import decode

from .helpers import b64, expect_error, load

A2 = load("rfc7515_a2_rs256.json")
A3 = load("rfc7515_a3_es256.json")
RFC7638 = load("rfc7638_s3_1.json")
RFC8037 = load("rfc8037_a_ed25519.json")
RFC7515_EXP = 1300819380

JWS_VECTORS = [
    pytest.param(A2, "RS256", id="rfc7515-A.2-RS256"),
    pytest.param(A3, "ES256", id="rfc7515-A.3-ES256"),
]


@pytest.mark.parametrize(("vector", "alg"), JWS_VECTORS)
def test_rfc7515_vector_decodes_to_the_published_octets(vector: dict[str, Any], alg: str) -> None:
    """The header and payload decode to exactly the octets the RFC prints."""
    decoded = decode(vector["token"])
    assert decoded.alg == alg
    assert decoded.kid is None
    assert decoded.header == {"alg": alg}
    header64, payload64, _ = vector["token"].split(".")
    assert b64url_decode(header64) == vector["protected_header"].encode()
    assert b64url_decode(payload64) == vector["payload"].encode()
    assert decoded.payload == {"iss": "joe", "exp": RFC7515_EXP, "http://example.com/is_root": True}


@pytest.mark.parametrize(("vector", "alg"), JWS_VECTORS)
def test_rfc7515_vector_verifies_with_its_published_key(vector: dict[str, Any], alg: str) -> None:
    """unsafe_verify: the signature verifies with the published JWK and iss is "joe"."""
    key = PublicJWK.from_dict(vector["jwk"])
    jws = Issuer("joe", [key]).unsafe_verify(vector["token"])
    assert jws.alg == alg
    assert jws.key is key
    assert jws.payload["iss"] == "joe"
    assert jws.payload["http://example.com/is_root"] is True


@pytest.mark.parametrize(("vector", "alg"), JWS_VECTORS)
def test_rfc7515_vector_fails_only_the_audience_before_its_expiry(
    vector: dict[str, Any], alg: str
) -> None:
    """With the clock before exp, the vector's claims fail the audience check alone."""
    jws = Issuer("joe", [PublicJWK.from_dict(vector["jwk"])]).unsafe_verify(vector["token"])
    claims = StandardClaims.from_payload(jws.payload)
    assert jws.alg == alg
    assert (claims.iss, claims.exp, claims.aud) == ("joe", RFC7515_EXP, ())
    assert claims.raw["http://example.com/is_root"] is True
    validator = Validator(aud="api://orders")
    assert validator.validate(claims, RFC7515_EXP - 60) == ["aud: required claim is missing"]


@pytest.mark.parametrize(("vector", "alg"), JWS_VECTORS)
def test_rfc7515_vector_fails_every_access_token_check_today(
    vector: dict[str, Any], alg: str
) -> None:
    """The default policy reports both the missing aud and the 2011 expiry."""
    issuer = Issuer("joe", [PublicJWK.from_dict(vector["jwk"])], Validator(aud="api://orders"))
    exc = expect_error(
        lambda: issuer.verify_and_validate(vector["token"], now=RFC7515_EXP + 3600),
        ExpiredToken,
        token=vector["token"],
    )
    assert isinstance(exc, ExpiredToken)
    assert exc.failures == ("aud: required claim is missing", "exp: token has expired")


@pytest.mark.parametrize(("vector", "alg"), JWS_VECTORS)
def test_rfc7515_vector_with_a_flipped_payload_byte_fails(vector: dict[str, Any], alg: str) -> None:
    """Sanity check of the check: "joe" → "jof" in the payload breaks the signature."""
    header64, _, sig64 = vector["token"].split(".")
    forged_payload = vector["payload"].replace('"joe"', '"jof"').encode()
    forged = f"{header64}.{b64(forged_payload)}.{sig64}"
    issuer = Issuer("jof", [PublicJWK.from_dict(vector["jwk"])])
    expect_error(lambda: issuer.unsafe_verify(forged), InvalidSignature, token=forged)


def test_rfc7515_a2_key_parses_as_a_2048_bit_rsa_key() -> None:
    """The A.2 modulus is 2048 bits: it passes the RSA size floor."""
    key = PublicJWK.from_dict(A2["jwk"])
    rsa_key = key.rsa()
    assert rsa_key is not None
    assert rsa_key.key_size == 2048
    assert key.to_dict()["n"] == A2["jwk"]["n"]


def test_rfc7638_thumbprint_of_the_section_3_1_key() -> None:
    """RFC 7638 §3.1: the published thumbprint; optional members do not change it."""
    key = PublicJWK.from_dict(RFC7638["jwk"])
    assert key.thumbprint() == RFC7638["thumbprint"]
    assert key.kid == "2011-04-29"
    assert key.alg == "RS256"


def test_rfc7638_key_without_kid_gets_its_thumbprint_as_kid() -> None:
    """A JWK without ``kid`` is named by its RFC 7638 thumbprint."""
    jwk = {k: v for k, v in RFC7638["jwk"].items() if k != "kid"}
    (key,) = parse_jwks({"keys": [jwk]})
    assert key.kid == RFC7638["thumbprint"]


def test_rfc8037_a3_thumbprint_of_the_ed25519_key() -> None:
    """RFC 8037 A.3: thumbprint of the A.2 public key, over the printed canonical JSON."""
    key = PublicJWK.from_dict(RFC8037["public_jwk"])
    canonical = RFC8037["thumbprint_input"].encode()
    assert key.thumbprint() == RFC8037["thumbprint"]
    assert b64url_decode(key.thumbprint()) == hashlib.sha256(canonical).digest()


def test_rfc8037_a4_signature_verifies_with_the_a2_public_key() -> None:
    """RFC 8037 A.4/A.5: the EdDSA signature verifies with the A.2 key."""
    key = PublicJWK.from_dict(RFC8037["public_jwk"])
    header64, payload64, sig64 = RFC8037["token"].split(".")
    assert b64url_decode(header64) == RFC8037["protected_header"].encode()
    assert b64url_decode(payload64) == RFC8037["payload"].encode()
    verify = key.verifier("EdDSA")
    assert verify(f"{header64}.{payload64}".encode(), b64url_decode(sig64)) is True
    assert verify(f"{header64}.{payload64}x".encode(), b64url_decode(sig64)) is False


def test_rfc8037_a4_signature_is_reproduced_by_the_a1_private_key() -> None:
    """Ed25519 is deterministic: the A.1 key signs A.4's input to A.4's signature."""
    private = ed25519.Ed25519PrivateKey.from_private_bytes(
        b64url_decode(RFC8037["private_jwk"]["d"])
    )
    header64, payload64, sig64 = RFC8037["token"].split(".")
    assert private.sign(f"{header64}.{payload64}".encode()) == b64url_decode(sig64)
    public = PublicJWK.from_key(private.public_key())
    assert public.to_dict()["x"] == RFC8037["public_jwk"]["x"]


def test_rfc8037_a4_token_is_refused_as_a_jwt_because_its_payload_is_text() -> None:
    """A.4 signs plain text: a JWT verifier must refuse a payload that is not a JSON object."""
    expect_error(lambda: decode(RFC8037["token"]), MalformedToken, token=RFC8037["token"])


def test_rfc8037_private_jwk_is_refused() -> None:
    """The A.1 JWK carries ``d``: bearerguard refuses to load a private key."""
    expect_error(
        lambda: PublicJWK.from_dict(RFC8037["private_jwk"]),
        InvalidKey,
        secrets=[RFC8037["private_jwk"]["d"]],
    )
