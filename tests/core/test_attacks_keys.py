"""Attacks through the key set: private, weak, degenerate and mislabelled JWKs.

``cryptography`` happily loads several of these keys (small-order Ed25519
points, non-canonical EC coordinates); bearerguard refuses them itself.
"""

from __future__ import annotations

import base64
import functools
import itertools
import json
import logging
import warnings
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from bearerguard import InvalidKey, Issuer, PublicJWK, UnknownKey, Validator, parse_jwks
from bearerguard._algorithms import COORD_SIZES
from bearerguard._jwk import MAX_KEYS

from .conftest import Keys
from .helpers import (
    AUDIENCE,
    ISSUER,
    NOW,
    access_payload,
    b64,
    expect_error,
    key_material,
    load,
    make_token,
)

SMALL_ORDER = load("ed25519_small_order.json")
P256 = 2**256 - 2**224 + 2**192 + 2**96 - 1
P448 = 2**448 - 2**224 - 1


@pytest.fixture(scope="module")
def rsa_jwk(keys: Keys) -> dict[str, Any]:
    """The trusted RSA public key as a JWK dict."""
    return PublicJWK.from_key(keys.rsa.public_key(), kid="rsa").to_dict()


@pytest.fixture(scope="module")
def rsa_1024() -> rsa.RSAPrivateKey:
    """A weak RSA key (generated once for this module)."""
    return rsa.generate_private_key(65537, 1024)


def _refused(jwk: dict[str, Any], match: str | None = None) -> None:
    """from_dict raises InvalidKey, and the message shows no key member."""
    expect_error(
        lambda: PublicJWK.from_dict(jwk), InvalidKey, secrets=key_material([jwk]), match=match
    )


# -- private and symmetric keys in a JWKS (RFC 8725 §3.5; PyJWT/python-jose HMAC JWKS) --


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "oth"])
def test_jwk_with_private_members_is_refused(rsa_jwk: dict[str, Any], member: str) -> None:
    """A JWKS that publishes any private RSA member is broken; the key is refused."""
    _refused({**rsa_jwk, member: b64(b"secret-material-" * 4)}, match="private")


@pytest.mark.parametrize(
    "jwk",
    [
        pytest.param(
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "d": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
            },
            id="OKP-d",
        ),
        pytest.param({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}, id="oct-k"),
        pytest.param(
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                "priv": "AAAA",
            },
            id="priv",
        ),
    ],
)
def test_jwk_with_secret_material_is_refused(jwk: dict[str, Any]) -> None:
    """A private OKP key or a symmetric ``oct`` key (HMAC secret) never enters the key set."""
    _refused(jwk, match="private")


def test_symmetric_key_in_jwks_cannot_enable_hmac(rsa_jwk: dict[str, Any]) -> None:
    """An ``oct`` key beside a good key is skipped: no HS* verification path exists."""
    keys = parse_jwks({"keys": [{"kty": "oct", "kid": "hs", "k": "c2VjcmV0"}, rsa_jwk]})
    assert [k.kid for k in keys] == ["rsa"]


# -- weak and degenerate RSA keys ----------------------------------------------------------


def test_rsa_key_under_2048_bits_is_refused(rsa_1024: rsa.RSAPrivateKey) -> None:
    """RSA-1024 is refused from a JWK and from a key object alike."""
    public = rsa_1024.public_key()
    expect_error(lambda: PublicJWK.from_key(public), InvalidKey, match="1024 bits")
    jwk = {
        "kty": "RSA",
        "n": b64(public.public_numbers().n.to_bytes(128, "big")),
        "e": "AQAB",
    }
    _refused(jwk, match="1024 bits")


def test_rsa_modulus_of_2047_bits_is_refused(rsa_jwk: dict[str, Any]) -> None:
    """The floor is exact: one bit short of 2048 is refused."""
    n = (1 << 2046) | 1  # 2047 bits, odd
    _refused({**rsa_jwk, "n": b64(n.to_bytes(256, "big"))}, match="2047 bits")


@pytest.mark.parametrize(
    ("e", "label"),
    [
        pytest.param(1, "e=1", id="e=1"),
        pytest.param(0, "e=0", id="e=0"),
        pytest.param(2, "e=2", id="e=2-even"),
        pytest.param(65536, "e=65536", id="e=65536-even"),
        pytest.param(65538, "e=65538", id="e=65538-even"),
    ],
)
def test_rsa_degenerate_public_exponent_is_refused(
    rsa_jwk: dict[str, Any], e: int, label: str
) -> None:
    """e = 1 makes every "signature" its own message; even e is not an RSA key."""
    _refused({**rsa_jwk, "e": b64(e.to_bytes(max(1, (e.bit_length() + 7) // 8), "big"))})


def test_rsa_exponent_not_below_the_modulus_is_refused(keys: Keys, rsa_jwk: dict[str, Any]) -> None:
    """e ≥ n is refused."""
    n = keys.rsa.public_key().public_numbers().n
    _refused({**rsa_jwk, "e": b64((n + 2).to_bytes(257, "big"))})


def _rsa_exponent(e: int) -> str:
    return b64(e.to_bytes((e.bit_length() + 7) // 8, "big"))


@pytest.mark.parametrize(
    "e",
    [
        pytest.param(2**32 + 15, id="just-over-2^32"),
        pytest.param((1 << 2047) + 1, id="2048-bit-exponent"),
    ],
)
def test_rsa_huge_public_exponent_is_refused(rsa_jwk: dict[str, Any], e: int) -> None:
    """A huge e would make every verification tens of times slower (CPU amplification)."""
    _refused({**rsa_jwk, "e": _rsa_exponent(e)}, match="exponent is larger than")


def test_rsa_exponent_65537_is_accepted(rsa_jwk: dict[str, Any]) -> None:
    """The usual exponent, written out in full, is accepted."""
    assert PublicJWK.from_dict({**rsa_jwk, "e": _rsa_exponent(65537)}).kid == "rsa"


def test_rsa_even_modulus_is_refused(keys: Keys, rsa_jwk: dict[str, Any]) -> None:
    """An even n cannot be a product of two odd primes."""
    n = keys.rsa.public_key().public_numbers().n + 1
    _refused({**rsa_jwk, "n": b64(n.to_bytes(256, "big"))}, match="even")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"n": None}, id="n-missing"),
        pytest.param({"e": None}, id="e-missing"),
        pytest.param({"e": ""}, id="e-empty"),
        pytest.param({"e": 65537}, id="e-number"),
        pytest.param({"e": "AQAB=="}, id="e-padded"),
        pytest.param({"e": "AQAB\n"}, id="e-newline"),
    ],
)
def test_rsa_jwk_with_malformed_members_is_refused(
    rsa_jwk: dict[str, Any], change: dict[str, Any]
) -> None:
    """Members must be present, non-empty, canonical base64url strings."""
    jwk = {k: v for k, v in {**rsa_jwk, **change}.items() if v is not None}
    _refused(jwk)


# -- EC keys (invalid-curve attacks; CVE-2017-16007-like) ------------------------------------


@pytest.fixture(scope="module")
def ec_jwk(keys: Keys) -> dict[str, Any]:
    """The trusted P-256 key as a JWK dict."""
    return PublicJWK.from_key(keys.p256.public_key(), kid="p256").to_dict()


def _coord(value: int, size: int = 32) -> str:
    return b64(value.to_bytes(size, "big"))


def test_ec_point_not_on_the_curve_is_refused(keys: Keys, ec_jwk: dict[str, Any]) -> None:
    """A point off P-256 (y + 1) is refused: invalid-curve attacks need such points."""
    y = keys.p256.public_key().public_numbers().y
    _refused({**ec_jwk, "y": _coord((y + 1) % P256)}, match="not on curve")


def test_ec_point_with_a_non_canonical_coordinate_is_refused() -> None:
    """x + p names the same point to cryptography; bearerguard wants x < p."""
    b = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
    y = pow(b, (P256 + 1) // 4, P256)  # the point with x = 0 is on P-256
    assert y * y % P256 == b
    genuine = {"kty": "EC", "crv": "P-256", "x": _coord(0), "y": _coord(y)}
    assert PublicJWK.from_dict(genuine).ecdsa() is not None
    accepted = ec.EllipticCurvePublicNumbers(P256, y, ec.SECP256R1()).public_key()
    assert accepted.public_numbers().x == 0  # cryptography reduces x = p to 0
    _refused({**genuine, "x": _coord(P256)}, match="not canonical")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param({"crv": "P-384"}, "not on curve", id="P-256-point-labelled-P-384"),
        pytest.param({"crv": "secp256k1"}, "unsupported EC curve", id="secp256k1"),
        pytest.param({"crv": "p-256"}, "unsupported EC curve", id="lowercase-crv"),
        pytest.param({"crv": None}, "unsupported EC curve", id="crv-missing"),
        pytest.param({"y": None}, "'y'", id="y-missing"),
        pytest.param({"x": "AA"}, "not on curve", id="x-short-and-off-the-curve"),
        pytest.param({"x": b64(bytes(33))}, "'x' for P-256 is longer than 32", id="x-33-zeros"),
        pytest.param({"y": b64(b"\x01" * 33)}, "'y' for P-256 is longer than 32", id="y-33"),
        pytest.param({"x": b64(bytes(48))}, "longer than 32 bytes", id="x-of-P-384-size"),
    ],
)
def test_ec_jwk_with_a_wrong_curve_or_size_is_refused(
    ec_jwk: dict[str, Any], change: dict[str, Any], match: str
) -> None:
    """Curve names are exact; coordinates are never longer than the curve's size."""
    jwk = {k: v for k, v in {**ec_jwk, **change}.items() if v is not None}
    _refused(jwk, match=match)


def test_ec_coordinate_with_its_leading_zero_re_encoded_longer_is_refused(
    ec_jwk: dict[str, Any],
) -> None:
    """One extra zero octet in front of a genuine coordinate: same number, still refused."""
    x = b"\x00" + base64.urlsafe_b64decode(ec_jwk["x"] + "=")
    _refused({**ec_jwk, "x": b64(x)}, match="longer than 32 bytes")


# -- EC coordinates without their leading zero octets (as Authlib writes them) ---------------

_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}


@functools.cache
def _key_with_a_leading_zero(crv: str, coordinate: str) -> ec.EllipticCurvePrivateKey:
    """The first key from a fixed scalar on whose *coordinate* starts with a zero octet."""
    size = COORD_SIZES[crv]
    for scalar in itertools.count(0x5EED_C0FFEE):
        key = ec.derive_private_key(scalar, _CURVES[crv])
        if getattr(key.public_key().public_numbers(), coordinate) < 256 ** (size - 1):
            return key
    raise AssertionError("unreachable")


def _authlib_jwk(key: ec.EllipticCurvePrivateKey, kid: str) -> dict[str, Any]:
    """The public JWK Authlib makes of *key* (Authlib, not bearerguard, serializes it)."""
    with warnings.catch_warnings():
        # authlib.jose warns that it is deprecated in favour of joserfc, and the
        # import of authlib.deprecate sets that warning to "always": ignore it after.
        import authlib.deprecate

        warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
        from authlib.jose import JsonWebKey

        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        jwk = dict(JsonWebKey.import_key(pem, {"kty": "EC"}).as_dict())
    return {**jwk, "kid": kid}


def _octets(member: str) -> int:
    return len(base64.urlsafe_b64decode(member + "=" * (-len(member) % 4)))


SHORT_COORDINATES = [
    pytest.param("P-256", "x", id="P-256-x"),
    pytest.param("P-256", "y", id="P-256-y"),
    pytest.param("P-384", "x", id="P-384-x"),
    pytest.param("P-521", "x", id="P-521-x"),
    pytest.param("P-521", "y", id="P-521-y"),
]


@pytest.mark.parametrize(("crv", "coordinate"), SHORT_COORDINATES)
def test_ec_key_published_without_leading_zero_octets_is_accepted(
    crv: str, coordinate: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Authlib's short coordinate is read as the same number: the same key, the same thumbprint."""
    private = _key_with_a_leading_zero(crv, coordinate)
    jwk = _authlib_jwk(private, "authlib-ec")
    assert _octets(jwk[coordinate]) < COORD_SIZES[crv]  # Authlib really strips the zero octet
    caplog.set_level(logging.WARNING, logger="bearerguard.jwk")
    key = PublicJWK.from_dict(jwk)
    ecdsa = key.ecdsa()
    assert ecdsa is not None
    assert ecdsa.public_numbers() == private.public_key().public_numbers()
    full = PublicJWK.from_key(private.public_key(), kid="authlib-ec", use=None)
    assert key.to_dict() == full.to_dict()
    assert _octets(key.to_dict()[coordinate]) == COORD_SIZES[crv]
    assert key.thumbprint() == full.thumbprint()
    (record,) = caplog.records
    assert (record.levelno, record.name) == (logging.WARNING, "bearerguard.jwk")
    message = record.getMessage()
    assert "'authlib-ec'" in message
    assert "leading zero octets" in message
    assert f"{coordinate} has {_octets(jwk[coordinate])} bytes" in message
    assert all(secret not in message for secret in key_material([jwk]))


@pytest.mark.parametrize(("crv", "coordinate"), SHORT_COORDINATES)
def test_token_signed_by_joserfc_verifies_with_the_short_authlib_jwk(
    crv: str, coordinate: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Every token of an Authlib-published key verifies; the key is warned about once per parse."""
    from joserfc import jws
    from joserfc.jwk import ECKey

    private = _key_with_a_leading_zero(crv, coordinate)
    alg = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}[crv]
    signing_key = ECKey.import_key(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    caplog.set_level(logging.WARNING, logger="bearerguard")
    issuer = Issuer(
        ISSUER, parse_jwks({"keys": [_authlib_jwk(private, "idp-ec")]}), Validator(aud=AUDIENCE)
    )
    for n in range(3):
        claims = json.dumps(access_payload(jti=f"t-{n}"), separators=(",", ":")).encode()
        token = jws.serialize_compact(
            {"alg": alg, "kid": "idp-ec", "typ": "at+jwt"}, claims, signing_key, algorithms=[alg]
        )
        _, verified = issuer.verify_and_validate(token, now=NOW)
        assert verified.jti == f"t-{n}"
    assert len(caplog.records) == 1


def test_short_coordinate_must_still_be_a_point_on_the_curve() -> None:
    """Left-padding changes nothing about the curve check: a short, wrong y is refused."""
    private = _key_with_a_leading_zero("P-256", "x")
    jwk = _authlib_jwk(private, "k")
    y = private.public_key().public_numbers().y
    _refused({**jwk, "y": b64((y ^ 1).to_bytes(32, "big"))}, match="not on curve")


def test_short_coordinate_with_private_members_is_still_refused() -> None:
    """A short public part does not make a private JWK acceptable."""
    private = _key_with_a_leading_zero("P-256", "x")
    d = private.private_numbers().private_value.to_bytes(32, "big")
    _refused({**_authlib_jwk(private, "k"), "d": b64(d)}, match="private")


# -- Edwards keys (small-order points; "Taming the many EdDSAs") ---------------------------


def _okp(raw: bytes, crv: str = "Ed25519") -> dict[str, Any]:
    return {"kty": "OKP", "crv": crv, "x": b64(raw)}


@pytest.mark.parametrize(
    "hex_point", [pytest.param(v, id=k) for k, v in SMALL_ORDER["small_order"].items()]
)
def test_ed25519_small_order_point_is_refused(hex_point: str) -> None:
    """All 8 points of the torsion subgroup are refused, as JWK and as key object."""
    raw = bytes.fromhex(hex_point)
    _refused(_okp(raw), match="small-order")
    loaded = ed25519.Ed25519PublicKey.from_public_bytes(raw)  # cryptography accepts it
    expect_error(lambda: PublicJWK.from_key(loaded), InvalidKey, match="small-order")


@pytest.mark.parametrize(
    "hex_point", [pytest.param(v, id=k) for k, v in SMALL_ORDER["non_canonical"].items()]
)
def test_ed25519_non_canonical_encoding_is_refused(hex_point: str) -> None:
    """y ≥ p and a negative zero x are refused: one key, one encoding."""
    _refused(_okp(bytes.fromhex(hex_point)), match="not canonically encoded")


def test_ed25519_point_off_the_curve_is_refused() -> None:
    """y = 2 gives an x² that is not a square mod p: not a curve point."""
    _refused(_okp((2).to_bytes(32, "little")), match="not a point on the curve")


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        pytest.param((1).to_bytes(57, "little"), "small-order", id="identity"),
        pytest.param((P448 - 1).to_bytes(57, "little"), "small-order", id="order-2"),
        pytest.param(bytes(57), "small-order", id="order-4-y=0"),
        pytest.param(bytes(56) + b"\x80", "small-order", id="order-4-y=0-negative"),
        pytest.param(P448.to_bytes(57, "little"), "not canonically", id="y=p"),
        pytest.param((P448 + 1).to_bytes(57, "little"), "not canonically", id="y=p+1"),
        pytest.param(b"\x05" + bytes(55) + b"\x01", "not canonically", id="junk-in-last-byte"),
    ],
)
def test_ed448_small_order_and_non_canonical_points_are_refused(raw: bytes, match: str) -> None:
    """Ed448 gets the same treatment: no points of order 1, 2 or 4; y < p; a clean last byte."""
    _refused(_okp(raw, "Ed448"), match=match)


def _ed448_off_curve_y() -> int:
    """The smallest y > 1 for which x² = (y² - 1) / (d·y² - 1) is not a square mod p."""
    d = P448 - 39081
    y = 2
    while True:
        x2 = (y * y - 1) * pow(d * y * y - 1, P448 - 2, P448) % P448
        if pow(x2, (P448 - 1) // 2, P448) == P448 - 1:
            return y
        y += 1


def test_ed448_point_off_the_curve_is_refused() -> None:
    """A y that is on no Ed448 point is refused (cryptography loads it regardless)."""
    raw = _ed448_off_curve_y().to_bytes(57, "little")
    assert ed448.Ed448PublicKey.from_public_bytes(raw) is not None
    _refused(_okp(raw, "Ed448"), match="not a point on the curve")


@pytest.mark.parametrize(
    "jwk",
    [
        pytest.param(_okp(b"\x09" * 32, "X25519"), id="X25519"),
        pytest.param(_okp(b"\x09" * 56, "X448"), id="X448"),
        pytest.param(_okp(b"\x09" * 31), id="Ed25519-31-bytes"),
        pytest.param(_okp(b"\x09" * 56, "Ed448"), id="Ed448-56-bytes"),
        pytest.param({"kty": "OKP", "x": b64(b"\x09" * 32)}, id="crv-missing"),
    ],
)
def test_okp_jwk_with_an_unsupported_curve_or_size_is_refused(jwk: dict[str, Any]) -> None:
    """Key-agreement curves and wrong sizes are not signature keys."""
    _refused(jwk)


def test_ed448_keys_are_supported(keys: Keys) -> None:
    """A genuine Ed448 key loads from its JWK and round-trips."""
    jwk = PublicJWK.from_key(keys.ed448.public_key(), kid="ed448").to_dict()
    assert jwk["crv"] == "Ed448"
    key = PublicJWK.from_dict(jwk)
    assert key.crv == "Ed448"
    assert key.algorithms == frozenset({"EdDSA", "Ed448"})


# -- use, key_ops and alg on the JWK -----------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "match"),
    [
        pytest.param({"use": "enc"}, "use", id="use-enc"),
        pytest.param({"use": "SIG"}, "use", id="use-SIG"),
        pytest.param({"use": ["sig"]}, "use", id="use-array"),
        pytest.param({"key_ops": ["encrypt"]}, "key_ops", id="key_ops-encrypt"),
        pytest.param({"key_ops": ["sign"]}, "key_ops", id="key_ops-sign-only"),
        pytest.param({"key_ops": "verify"}, "key_ops", id="key_ops-string"),
        pytest.param({"alg": "HS256"}, "alg", id="alg-HS256"),
        pytest.param({"alg": "none"}, "alg", id="alg-none"),
        pytest.param({"alg": "ES256"}, "alg", id="alg-ES256-on-RSA"),
        pytest.param({"alg": "RSA-OAEP"}, "alg", id="alg-RSA-OAEP"),
        pytest.param({"alg": 256}, "alg", id="alg-number"),
        pytest.param({"kid": 7}, "kid", id="kid-number"),
        pytest.param({"kid": "k" * 257}, "kid", id="kid-too-long"),
    ],
)
def test_jwk_not_meant_for_verification_is_refused(
    rsa_jwk: dict[str, Any], change: dict[str, Any], match: str
) -> None:
    """Only signature keys whose ``alg`` (when given) is an asymmetric algorithm that fits."""
    _refused({**rsa_jwk, **change}, match=match)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"use": "sig"}, id="use-sig"),
        pytest.param({"key_ops": ["verify"]}, id="key_ops-verify"),
        pytest.param({"alg": "PS384"}, id="alg-PS384"),
        pytest.param({"x5c": ["MIIB"], "x5t": "abc"}, id="unused-members"),
    ],
)
def test_jwk_meant_for_verification_is_accepted(
    rsa_jwk: dict[str, Any], change: dict[str, Any]
) -> None:
    """The members above, when they allow verification, are fine."""
    key = PublicJWK.from_dict({**rsa_jwk, **change})
    assert key.kid == "rsa"


def test_public_jwk_constructed_for_encryption_is_refused(keys: Keys) -> None:
    """``PublicJWK(..., use="enc")`` is refused like the JWK member is."""
    expect_error(
        lambda: PublicJWK(key=keys.rsa.public_key(), kid="rsa", use="enc"), InvalidKey, match="use"
    )


# -- one bad key does not take the set down --------------------------------------------------


def test_one_bad_key_in_a_jwks_is_skipped_and_logged(
    keys: Keys, rsa_jwk: dict[str, Any], ec_jwk: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Good keys load; the bad one is skipped with a warning naming its kid, not its material."""
    bad = {**rsa_jwk, "kid": "weak", "e": "AQ"}  # e = 1
    caplog.set_level(logging.WARNING, logger="bearerguard.jwk")
    loaded = parse_jwks({"keys": [rsa_jwk, bad, ec_jwk]})
    assert [k.kid for k in loaded] == ["rsa", "p256"]
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.name == "bearerguard.jwk"
    message = record.getMessage()
    assert "'weak'" in message
    assert "#1" in message
    for secret in key_material([rsa_jwk]):
        assert secret not in message


def test_key_with_use_enc_is_skipped_quietly_in_a_jwks(
    rsa_jwk: dict[str, Any], ec_jwk: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """An encryption key beside the signing keys (Keycloak's RSA-OAEP key) is a debug record only.

    Providers publish one on every fetch: a warning each time would be noise.
    """
    caplog.set_level(logging.DEBUG, logger="bearerguard")
    enc = {**rsa_jwk, "use": "enc", "alg": "RSA-OAEP", "kid": "enc-1"}
    loaded = parse_jwks({"keys": [enc, ec_jwk]})
    assert [k.kid for k in loaded] == ["p256"]
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "'enc-1'" in caplog.records[0].getMessage()
    assert "encryption key" in caplog.records[0].getMessage()


def test_key_with_use_enc_never_verifies_a_signature(
    keys: Keys, rsa_jwk: dict[str, Any], ec_jwk: dict[str, Any]
) -> None:
    """A token signed with the encryption key's private key, naming its kid, finds no key."""
    enc = {**rsa_jwk, "use": "enc", "kid": "enc-1"}
    issuer = Issuer(ISSUER, parse_jwks({"keys": [enc, ec_jwk]}))
    token = make_token({"alg": "RS256", "kid": "enc-1"}, access_payload(), keys.rsa)
    expect_error(lambda: issuer.unsafe_verify(token), UnknownKey, token=token)
    kidless = make_token({"alg": "RS256"}, access_payload(), keys.rsa)
    expect_error(lambda: issuer.unsafe_verify(kidless), UnknownKey, token=kidless)


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param("\ud800", id="lone-high"),
        pytest.param("rsa\udc00", id="trusted-kid-then-lone-low"),
        pytest.param("\ud83d\ude00", id="pair-as-two-code-points"),
    ],
)
def test_jwk_whose_kid_is_not_unicode_text_is_refused(rsa_jwk: dict[str, Any], kid: str) -> None:
    """A kid with surrogate code points (from a dict, not JSON text) is refused like a token's."""
    _refused({**rsa_jwk, "kid": kid}, match="unpaired surrogate")
    key = PublicJWK.from_dict(rsa_jwk).key
    expect_error(lambda: PublicJWK(key=key, kid=kid), InvalidKey, match="unpaired surrogate")


@pytest.mark.parametrize(
    "document",
    [
        pytest.param('{"keys":[{"kty":"RSA","kid":"\\ud800"}]}', id="text-escaped-kid"),
        pytest.param(b'{"keys":[],"x":"\\udfff"}', id="bytes-escaped-member"),
        pytest.param('{"keys":[],"x":"\ud800"}', id="text-raw-surrogate"),
    ],
)
def test_jwks_document_with_an_unpaired_surrogate_is_refused(document: str | bytes) -> None:
    """JWKS text is held to the token's JSON rules (RFC 7493 §2.1): it is not a key set."""
    expect_error(lambda: parse_jwks(document), InvalidKey, match="unpaired surrogate")


def test_jwks_with_a_paired_surrogate_kid_loads(ec_jwk: dict[str, Any]) -> None:
    """An emoji kid, escaped as a surrogate pair, is ordinary text."""
    text = json.dumps({"keys": [{**ec_jwk, "kid": "key-\U0001f511"}]})
    assert "\\ud83d\\udd11" in text
    assert [k.kid for k in parse_jwks(text)] == ["key-\U0001f511"]


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("not-an-object", id="string"),
        pytest.param(None, id="null"),
        pytest.param([], id="array"),
        pytest.param({}, id="empty-object"),
        pytest.param({"kty": "RSA"}, id="members-missing"),
        pytest.param({"kty": "PQC", "pub": "AAAA"}, id="unknown-kty"),
    ],
)
def test_unusable_jwks_entries_are_skipped(
    ec_jwk: dict[str, Any], entry: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Any entry that is not a usable key is skipped, never fatal."""
    caplog.set_level(logging.WARNING, logger="bearerguard.jwk")
    assert [k.kid for k in parse_jwks({"keys": [entry, ec_jwk]})] == ["p256"]
    assert len(caplog.records) == 1


@pytest.mark.parametrize(
    "document",
    [
        pytest.param({"jwks": []}, id="no-keys-member"),
        pytest.param({"keys": {"kty": "RSA"}}, id="keys-object"),
        pytest.param([], id="array"),
        pytest.param("{", id="bad-json-text"),
        pytest.param(b"\xff", id="bad-utf8"),
        pytest.param('{"keys":[],"keys":[]}', id="duplicate-keys-member"),
        pytest.param("[]", id="json-array-text"),
    ],
)
def test_unusable_jwks_document_is_refused(document: Any) -> None:
    """The document itself must be a JSON object with a ``keys`` array."""
    expect_error(lambda: parse_jwks(document), InvalidKey)


def test_jwks_with_too_many_keys_is_capped(
    ec_jwk: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Only the first MAX_KEYS entries are parsed (a huge JWKS is not a CPU sink)."""
    caplog.set_level(logging.WARNING, logger="bearerguard.jwk")
    entries = [{**ec_jwk, "kid": f"k{i}"} for i in range(MAX_KEYS + 5)]
    loaded = parse_jwks({"keys": entries})
    assert len(loaded) == MAX_KEYS
    assert loaded[-1].kid == f"k{MAX_KEYS - 1}"
    assert any(str(MAX_KEYS) in r.getMessage() for r in caplog.records)


def test_jwks_text_and_bytes_parse_like_the_dict(ec_jwk: dict[str, Any]) -> None:
    """parse_jwks takes a dict, JSON text or JSON bytes."""
    text = json.dumps({"keys": [ec_jwk]})
    assert parse_jwks(text) == parse_jwks(text.encode()) == parse_jwks({"keys": [ec_jwk]})


def test_ec_curve_object_other_than_nist_is_refused() -> None:
    """A secp256k1 key object is refused by from_key (ES256K is not supported)."""
    key = ec.generate_private_key(ec.SECP256K1()).public_key()
    expect_error(lambda: PublicJWK.from_key(key), InvalidKey, match="unsupported EC curve")
