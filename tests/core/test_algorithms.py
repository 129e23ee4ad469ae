"""Every supported algorithm round-trips with PyJWT as the signer; the table is right."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519

from bearerguard import AlgorithmNotAllowed, InvalidSignature, Issuer, PublicJWK, Validator
from bearerguard._algorithms import ALGORITHMS, COORD_SIZES, CURVE_ORDERS, PublicKey

from .conftest import Keys
from .helpers import AUDIENCE, ISSUER, NOW, access_payload, expect_error, make_token

ROUND_TRIPS = [
    pytest.param("RS256", "rsa", id="RS256"),
    pytest.param("RS384", "rsa", id="RS384"),
    pytest.param("RS512", "rsa", id="RS512"),
    pytest.param("PS256", "rsa", id="PS256"),
    pytest.param("PS384", "rsa", id="PS384"),
    pytest.param("PS512", "rsa", id="PS512"),
    pytest.param("ES256", "p256", id="ES256"),
    pytest.param("ES384", "p384", id="ES384"),
    pytest.param("ES512", "p521", id="ES512"),
    pytest.param("EdDSA", "ed25519", id="EdDSA-Ed25519"),
    pytest.param("EdDSA", "ed448", id="EdDSA-Ed448"),
]


@pytest.mark.parametrize(("alg", "kid"), ROUND_TRIPS)
def test_pyjwt_signed_token_verifies_and_validates(
    issuer: Issuer, keys: Keys, alg: str, kid: str
) -> None:
    """A token from ``jwt.encode`` verifies with the matching public JWK."""
    token = jwt.encode(access_payload(), keys.kids[kid], algorithm=alg, headers={"kid": kid})
    jws, claims = issuer.verify_and_validate(token, now=NOW)
    assert (jws.alg, jws.kid, jws.key.kid) == (alg, kid, kid)
    assert claims.sub == "user-42"


@pytest.mark.parametrize(("alg", "kid"), ROUND_TRIPS)
def test_pyjwt_signed_token_verifies_without_kid(keys: Keys, alg: str, kid: str) -> None:
    """Without ``kid`` the compatible key is found in the set."""
    issuer = Issuer(ISSUER, keys.jwks(), Validator(aud=AUDIENCE))
    token = jwt.encode(access_payload(), keys.kids[kid], algorithm=alg)
    assert issuer.unsafe_verify(token).key.kid == kid


@pytest.mark.parametrize(("alg", "kid"), ROUND_TRIPS)
def test_pyjwt_signed_token_verifies_from_a_parsed_jwk(keys: Keys, alg: str, kid: str) -> None:
    """The public key survives a JWK round trip (to_dict → from_dict)."""
    public = PublicJWK.from_dict(PublicJWK.from_key(keys.kids[kid].public_key(), kid=kid).to_dict())
    token = jwt.encode(access_payload(), keys.kids[kid], algorithm=alg, headers={"kid": kid})
    assert Issuer(ISSUER, [public]).unsafe_verify(token).key is public


@pytest.mark.parametrize(("alg", "kid"), ROUND_TRIPS)
def test_pyjwt_signed_token_is_refused_by_another_algorithm_allow_list(
    keys: Keys, alg: str, kid: str
) -> None:
    """An allow-list of every other algorithm refuses this one."""
    others = [name for name in ALGORITHMS if name != alg]
    issuer = Issuer(ISSUER, keys.jwks(), algorithms=others)
    token = jwt.encode(access_payload(), keys.kids[kid], algorithm=alg, headers={"kid": kid})
    expect_error(lambda: issuer.unsafe_verify(token), AlgorithmNotAllowed, token=token)


def _stranger(keys: Keys, kid: str) -> PublicKey:
    """A public key of the same type and curve as *kid*, but not the one that signs."""
    if kid == "rsa":
        return keys.rsa_attacker.public_key()
    if kid == "ed25519":
        return ed25519.Ed25519PrivateKey.generate().public_key()
    if kid == "ed448":
        return ed448.Ed448PrivateKey.generate().public_key()
    curve = {"p256": ec.SECP256R1(), "p384": ec.SECP384R1(), "p521": ec.SECP521R1()}[kid]
    return ec.generate_private_key(curve).public_key()


@pytest.mark.parametrize(("alg", "kid"), ROUND_TRIPS)
def test_pyjwt_signed_token_for_another_key_fails(keys: Keys, alg: str, kid: str) -> None:
    """The same token naming another key of the right type fails the signature."""
    other = _stranger(keys, kid)
    issuer = Issuer(ISSUER, [PublicJWK.from_key(other, kid=kid)])
    token = jwt.encode(access_payload(), keys.kids[kid], algorithm=alg, headers={"kid": kid})
    expect_error(lambda: issuer.unsafe_verify(token), InvalidSignature, token=token)


@pytest.mark.parametrize(
    ("alg", "kid"),
    [pytest.param("Ed25519", "ed25519", id="Ed25519"), pytest.param("Ed448", "ed448", id="Ed448")],
)
def test_fully_specified_eddsa_names_verify(issuer: Issuer, keys: Keys, alg: str, kid: str) -> None:
    """The RFC 9864 names Ed25519 and Ed448 verify with their curve's key."""
    token = make_token({"alg": alg, "kid": kid}, access_payload(), keys.kids[kid])
    assert issuer.unsafe_verify(token).alg == alg


def test_algorithm_table_is_asymmetric_only() -> None:
    """The table has exactly the asymmetric JWS algorithms: no none, no HS*."""
    assert set(ALGORITHMS) == {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "EdDSA",
        "Ed25519",
        "Ed448",
    }


@pytest.mark.parametrize(
    ("crv", "curve"),
    [
        pytest.param("P-256", ec.SECP256R1(), id="P-256"),
        pytest.param("P-384", ec.SECP384R1(), id="P-384"),
        pytest.param("P-521", ec.SECP521R1(), id="P-521"),
    ],
)
def test_curve_order_constants_are_the_group_orders(crv: str, curve: ec.EllipticCurve) -> None:
    """(n - 1)·G = -G and n is refused as a scalar: n is the order of G (the r, s bound)."""
    n = CURVE_ORDERS[crv]
    assert n.bit_length() <= COORD_SIZES[crv] * 8
    g = ec.derive_private_key(1, curve).public_key().public_numbers()
    minus_g = ec.derive_private_key(n - 1, curve).public_key().public_numbers()
    assert minus_g.x == g.x
    assert minus_g.y != g.y
    with pytest.raises(ValueError):
        ec.derive_private_key(n, curve)


def test_verifier_is_built_once_per_key_and_algorithm(keys: Keys) -> None:
    """The hot path reuses one bound verify function per (key, alg)."""
    key = PublicJWK.from_key(keys.rsa.public_key(), kid="rsa")
    assert key.verifier("RS256") is key.verifier("RS256")
    assert key.verifier("RS256") is not key.verifier("PS256")
