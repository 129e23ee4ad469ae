"""Fixes from the independent security review: each test names what it guards against."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bearerguard import (
    AccessClaims,
    InvalidClaims,
    InvalidKey,
    Issuer,
    PublicJWK,
    Validator,
)
from bearerguard._encoding import b64url_encode

from .conftest import Keys
from .helpers import AUDIENCE, ISSUER


def _jwk_with_exponent(key: rsa.RSAPrivateKey, e: int) -> dict[str, str]:
    n = key.public_key().public_numbers().n
    return {
        "kty": "RSA",
        "kid": "big-e",
        "n": b64url_encode(n.to_bytes((n.bit_length() + 7) // 8, "big")),
        "e": b64url_encode(e.to_bytes((e.bit_length() + 7) // 8, "big")),
    }


@pytest.mark.parametrize(
    "e",
    [
        pytest.param(2**32 + 15, id="just-over-2^32"),
        pytest.param((1 << 2047) + 1, id="2048-bit-exponent"),
    ],
)
def test_rsa_huge_public_exponent_is_refused(keys: Keys, e: int) -> None:
    """A huge e would make every verification tens of times slower (CPU amplification)."""
    with pytest.raises(InvalidKey, match="exponent is larger than"):
        PublicJWK.from_dict(_jwk_with_exponent(keys.rsa, e))


def test_rsa_exponent_65537_is_accepted(keys: Keys) -> None:
    assert PublicJWK.from_dict(_jwk_with_exponent(keys.rsa, 65537)).kid == "big-e"


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        pytest.param("read\u00a0admin", {"read\u00a0admin"}, id="nbsp-does-not-split"),
        pytest.param("read\tadmin", {"read\tadmin"}, id="tab-does-not-split"),
        pytest.param("  read   write ", {"read", "write"}, id="runs-of-spaces"),
    ],
)
def test_scope_is_split_on_spaces_only(scope: str, expected: set[str]) -> None:
    """RFC 6749 §3.3: "files:read\\u00a0admin" must not grant the scope "admin"."""
    claims = AccessClaims.from_payload({"scope": scope})
    assert claims.scopes == frozenset(expected)


def _token(keys: Keys, **claims: object) -> str:
    now = int(time.time())
    payload = {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "exp": now + 60, **claims}
    return jwt.encode(payload, keys.rsa, algorithm="RS256", headers={"kid": "rsa"})


def test_sender_constrained_token_is_refused_as_a_bearer_token(keys: Keys) -> None:
    """RFC 9449 §7.2: a DPoP-bound token (cnf.jkt) replayed as Bearer is refused."""
    issuer = Issuer(ISSUER, keys.jwks(), Validator(aud=AUDIENCE))
    with pytest.raises(InvalidClaims) as caught:
        issuer.verify_and_validate(
            _token(keys, cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})
        )
    assert caught.value.failures == ("cnf: sender-constrained token presented as a bearer token",)


def test_sender_constrained_token_passes_when_the_caller_checks_the_binding(keys: Keys) -> None:
    validator = Validator(aud=AUDIENCE, allow_sender_constrained=True)
    issuer = Issuer(ISSUER, keys.jwks(), validator)
    _, claims = issuer.verify_and_validate(_token(keys, cnf={"x5t#S256": "abc"}))
    assert claims.raw["cnf"] == {"x5t#S256": "abc"}
