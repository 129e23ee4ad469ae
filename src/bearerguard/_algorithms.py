"""The JWS algorithms bearerguard verifies, as data (RFC 7518 §3, RFC 8037 §3.1).

Only asymmetric algorithms exist here: ``none`` and ``HS*`` are not in the
table, so no code path can ever select them. Each entry says which key type
(and curve) it fits; :func:`make_verifier` binds an algorithm to one key and
returns a closure with the padding and hash objects built once, so the request
path allocates nothing it could hoist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "PublicKey",
    "Verify",
    "admitted_algorithms",
    "make_verifier",
    "same_signature",
]

PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)
Verify = Callable[[bytes, bytes], bool]
"""``verify(signing_input, signature) -> bool``; never raises for a bad signature."""


@dataclass(frozen=True, slots=True)
class Algorithm:
    """One JWS ``alg``: the key type and curve it needs and how it signs."""

    name: str
    kty: str
    family: str  # "pkcs1", "pss", "ecdsa" or "eddsa"
    crv: str | None = None
    hash_bits: int = 0

    def fits(self, kty: str, crv: str | None) -> bool:
        """True when this algorithm can be used with a key of *kty* / *crv*."""
        return self.kty == kty and (self.crv is None or self.crv == crv)


def _table() -> dict[str, Algorithm]:
    algs = [
        *(Algorithm(f"RS{b}", "RSA", "pkcs1", hash_bits=b) for b in (256, 384, 512)),
        *(Algorithm(f"PS{b}", "RSA", "pss", hash_bits=b) for b in (256, 384, 512)),
        Algorithm("ES256", "EC", "ecdsa", "P-256", 256),
        Algorithm("ES384", "EC", "ecdsa", "P-384", 384),
        Algorithm("ES512", "EC", "ecdsa", "P-521", 512),
        # RFC 8037 "EdDSA" names no curve; the key's crv decides. RFC 9864's
        # fully specified names pin the curve.
        Algorithm("EdDSA", "OKP", "eddsa"),
        Algorithm("Ed25519", "OKP", "eddsa", "Ed25519"),
        Algorithm("Ed448", "OKP", "eddsa", "Ed448"),
    ]
    return {a.name: a for a in algs}


ALGORITHMS: dict[str, Algorithm] = _table()


def same_signature(a: str, b: str) -> bool:
    """True when the algorithms named *a* and *b* sign alike with any key both fit.

    RFC 9864 gives EdDSA on each curve a name of its own and deprecates the
    polymorphic ``EdDSA``: with an Ed25519 key, ``EdDSA`` and ``Ed25519`` are
    one algorithm (WebCrypto's ``exportKey("jwk")`` writes ``"alg": "Ed25519"``
    on keys whose tokens say ``EdDSA``). A curve never changes: ``Ed25519``
    fits no Ed448 key, so only names that both fit the key are compared here.
    """
    return a == b or (ALGORITHMS[a].family == "eddsa" and ALGORITHMS[b].family == "eddsa")


def admitted_algorithms(names: Iterable[str]) -> frozenset[str]:
    """The token ``alg`` values an issuer's allow-list of *names* admits.

    A name admits itself; the polymorphic ``EdDSA`` also admits the fully
    specified ``Ed25519`` and ``Ed448`` of RFC 9864 (each is EdDSA on one
    curve, and the key's curve decides which, as it always did for ``EdDSA``).
    The reverse does not hold: ``Ed25519`` pins the curve, which a token
    labelled ``EdDSA`` does not state, so such tokens need ``EdDSA`` listed.
    """
    admitted = set(names)
    if "EdDSA" in admitted:
        admitted.update(("Ed25519", "Ed448"))
    return frozenset(admitted)


_HASHES: dict[int, Callable[[], hashes.HashAlgorithm]] = {
    256: hashes.SHA256,
    384: hashes.SHA384,
    512: hashes.SHA512,
}

# Group orders (SEC 2 / FIPS 186-4 D.1.2): an ECDSA signature with r or s equal to
# zero or not below the order is invalid (CVE-2022-21449, "psychic signatures").
# tests/core/test_algorithms.py checks each against cryptography: (n - 1)·G = -G.
CURVE_ORDERS: dict[str, int] = {
    "P-256": int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16),
    "P-384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
    "P-521": int(
        "01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409",
        16,
    ),
}
COORD_SIZES = {"P-256": 32, "P-384": 48, "P-521": 66}


def make_verifier(alg: Algorithm, key: PublicKey, crv: str | None) -> Verify:
    """Bind *alg* to *key*; the caller has checked ``alg.fits(kty, crv)``."""
    if alg.family in ("pkcs1", "pss"):
        assert isinstance(key, rsa.RSAPublicKey)
        return _rsa_verifier(alg, key)
    if alg.family == "ecdsa":
        assert isinstance(key, ec.EllipticCurvePublicKey)
        assert crv is not None
        return _ecdsa_verifier(alg, key, crv)
    assert isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
    return _eddsa_verifier(key)


def _rsa_verifier(alg: Algorithm, key: rsa.RSAPublicKey) -> Verify:
    digest = _HASHES[alg.hash_bits]()
    pad: padding.AsymmetricPadding
    if alg.family == "pss":
        # RFC 7518 §3.5: the salt is as long as the hash output; verify exactly that.
        pad = padding.PSS(
            mgf=padding.MGF1(_HASHES[alg.hash_bits]()), salt_length=digest.digest_size
        )
    else:
        pad = padding.PKCS1v15()
    size = (key.key_size + 7) // 8
    rsa_verify = key.verify

    def verify(signing_input: bytes, signature: bytes) -> bool:
        # A signature is exactly the modulus length (RFC 8017 §8.2.2 step 1).
        if len(signature) != size:
            return False
        try:
            rsa_verify(signature, signing_input, pad, digest)
        except InvalidSignature:
            return False
        return True

    return verify


def _ecdsa_verifier(alg: Algorithm, key: ec.EllipticCurvePublicKey, crv: str) -> Verify:
    half = COORD_SIZES[crv]
    order = CURVE_ORDERS[crv]
    scheme = ec.ECDSA(_HASHES[alg.hash_bits]())
    ec_verify = key.verify
    from_bytes = int.from_bytes

    def verify(signing_input: bytes, signature: bytes) -> bool:
        # RFC 7518 §3.4: the JWS form is R || S, each exactly the coordinate size.
        # DER-encoded signatures have another length and are refused here.
        if len(signature) != 2 * half:
            return False
        r = from_bytes(signature[:half], "big")
        s = from_bytes(signature[half:], "big")
        if not (0 < r < order and 0 < s < order):
            return False
        try:
            ec_verify(encode_dss_signature(r, s), signing_input, scheme)
        except InvalidSignature:
            return False
        return True

    return verify


def _eddsa_verifier(key: ed25519.Ed25519PublicKey | ed448.Ed448PublicKey) -> Verify:
    size = 64 if isinstance(key, ed25519.Ed25519PublicKey) else 114
    ed_verify = key.verify

    def verify(signing_input: bytes, signature: bytes) -> bool:
        if len(signature) != size:
            return False
        try:
            ed_verify(signature, signing_input)
        except InvalidSignature:
            return False
        return True

    return verify
