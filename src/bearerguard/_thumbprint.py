"""RFC 7638 JWK thumbprints, and the canonical public members they hash.

A thumbprint is the SHA-256 of the key's required members (RFC 7638 §3.2),
serialized with sorted names, no white space and integers in their shortest
big-endian form. A JWK without ``kid`` is named by it, and a key's JWK
(:meth:`~bearerguard.PublicJWK.to_dict`) starts from the same members.
"""

from __future__ import annotations

import hashlib
import json

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from ._algorithms import COORD_SIZES, PublicKey
from ._encoding import b64url_encode

__all__ = ["EC_CURVE_NAMES", "canonical_members", "jwk_thumbprint"]

#: cryptography's curve names → the JWK ``crv`` names (RFC 7518 §6.2.1.1).
EC_CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}


def canonical_members(key: PublicKey) -> dict[str, str]:
    """The RFC 7638 §3.2 required members of the public key, minimally encoded."""
    if isinstance(key, rsa.RSAPublicKey):
        nums = key.public_numbers()
        return {"e": _uint(nums.e), "kty": "RSA", "n": _uint(nums.n)}
    if isinstance(key, ec.EllipticCurvePublicKey):
        crv = EC_CURVE_NAMES[key.curve.name]
        size = COORD_SIZES[crv]
        pub = key.public_numbers()
        return {
            "crv": crv,
            "kty": "EC",
            "x": b64url_encode(pub.x.to_bytes(size, "big")),
            "y": b64url_encode(pub.y.to_bytes(size, "big")),
        }
    crv = "Ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "Ed448"
    return {"crv": crv, "kty": "OKP", "x": b64url_encode(key.public_bytes_raw())}


def _uint(value: int) -> str:
    return b64url_encode(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))


def jwk_thumbprint(key: PublicKey) -> str:
    """The RFC 7638 thumbprint of *key*: SHA-256 over its canonical members, base64url."""
    canonical = json.dumps(canonical_members(key), sort_keys=True, separators=(",", ":"))
    return b64url_encode(hashlib.sha256(canonical.encode("ascii")).digest())
