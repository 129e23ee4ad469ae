"""Keys and issuers for the core tests, generated once per session."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from bearerguard import Issuer, PublicJWK, Validator

from .helpers import AUDIENCE, ISSUER, PrivateKey


@dataclass(frozen=True)
class Keys:
    """The signing keys of the trusted issuer and of an attacker."""

    rsa: RSAPrivateKey
    rsa_attacker: RSAPrivateKey
    p256: EllipticCurvePrivateKey
    p384: EllipticCurvePrivateKey
    p521: EllipticCurvePrivateKey
    ed25519: Ed25519PrivateKey
    ed448: Ed448PrivateKey
    kids: dict[str, PrivateKey] = field(default_factory=dict)

    def jwks(self) -> list[PublicJWK]:
        """The trusted key set: one key of every type, kid = key type."""
        return [PublicJWK.from_key(k.public_key(), kid=kid) for kid, k in self.kids.items()]

    def public_dicts(self) -> list[dict[str, Any]]:
        """The trusted keys as JWK dicts (to look for leaked key material)."""
        return [jwk.to_dict() for jwk in self.jwks()]


@pytest.fixture(scope="session")
def keys() -> Keys:
    """One key per type; RSA 2048 wherever the size does not matter."""
    made = Keys(
        rsa=rsa.generate_private_key(65537, 2048),
        rsa_attacker=rsa.generate_private_key(65537, 2048),
        p256=ec.generate_private_key(ec.SECP256R1()),
        p384=ec.generate_private_key(ec.SECP384R1()),
        p521=ec.generate_private_key(ec.SECP521R1()),
        ed25519=ed25519.Ed25519PrivateKey.generate(),
        ed448=ed448.Ed448PrivateKey.generate(),
    )
    made.kids.update(
        {
            "rsa": made.rsa,
            "p256": made.p256,
            "p384": made.p384,
            "p521": made.p521,
            "ed25519": made.ed25519,
            "ed448": made.ed448,
        }
    )
    return made


@pytest.fixture(scope="session")
def validator() -> Validator:
    """The default policy for an API with audience :data:`AUDIENCE`."""
    return Validator(aud=AUDIENCE)


@pytest.fixture(scope="session")
def issuer(keys: Keys, validator: Validator) -> Issuer:
    """The trusted issuer with every key type and the default validator."""
    return Issuer(ISSUER, keys.jwks(), validator)
