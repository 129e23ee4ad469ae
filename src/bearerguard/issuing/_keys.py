"""Signing keys: the :class:`KeyPair`, its default algorithm, and generating one.

Writing and loading key files is :mod:`bearerguard.issuing._key_files`.
Generation is a one-time operation for a CLI or an init job (``bearerguard keys
generate``), never something a request handler does: a key generated at start-up
dies with the container, and every token it signed dies with it::

    pair = generate_key_pair()                     # RSA 4096, kid = RFC 7638 thumbprint
    write_key_files(pair, private_path="k.pem", public_path="k.pub.pem")
    pair = load_key_pair("k.pem", "kid-2025-01")   # what a server does at start-up
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from .._algorithms import ALGORITHMS, PublicKey
from .._errors import ConfigurationError, InvalidKey
from .._jwk import PublicJWK
from .._thumbprint import EC_CURVE_NAMES

__all__ = [
    "PRIVATE_KEY_TYPES",
    "RSA_BITS",
    "KeyPair",
    "PrivateKey",
    "algorithm_for",
    "default_algorithm",
    "generate_key_pair",
    "generate_private_key",
    "key_pair",
]


PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)

#: The classes of :data:`PrivateKey`, for ``isinstance``.
PRIVATE_KEY_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)

RSA_BITS = (2048, 3072, 4096)
_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}
_EC_ALGS = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyPair:
    """A private signing key with its ``kid`` and JWS algorithm.

    The public half passes the same checks a verifier applies (RSA ≥ 2048
    bits, supported curves), and *alg* must fit the key. The private key is
    kept out of ``repr``.
    """

    private_key: PrivateKey = field(repr=False)
    kid: str
    alg: str
    _jwk: PublicJWK = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, PRIVATE_KEY_TYPES):
            raise InvalidKey(f"unsupported private key type {type(self.private_key).__name__}")
        algorithm = ALGORITHMS.get(self.alg) if isinstance(self.alg, str) else None
        if algorithm is None:
            raise ConfigurationError(
                f"alg must be one of {', '.join(ALGORITHMS)}, got {str(self.alg)[:20]!r}"
            )
        # PublicJWK applies the verifier's key checks and the alg/key fit.
        jwk = PublicJWK.from_key(self.private_key.public_key(), kid=self.kid, alg=self.alg)
        object.__setattr__(self, "_jwk", jwk)

    @property
    def public_key(self) -> PublicKey:
        """The public half of the key."""
        return self._jwk.key

    @property
    def public_jwk(self) -> PublicJWK:
        """The public key as a JWK with ``kid``, ``use: sig`` and ``alg``."""
        return self._jwk


def default_algorithm(key: PrivateKey | PublicKey) -> str:
    """The JWS algorithm a key signs with unless told otherwise.

    RS256 for RSA (what every verifier supports),
    ES256/384/512 by curve, EdDSA for Ed25519/Ed448.
    """
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return algorithm_for("RSA")
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        return algorithm_for("EC", EC_CURVE_NAMES.get(key.curve.name, key.curve.name))
    return algorithm_for("OKP")


def algorithm_for(kty: str, crv: str | None = None) -> str:
    """:func:`default_algorithm` for a key not made yet: its ``kty`` and (EC) curve name."""
    if kty == "RSA":
        return "RS256"
    if kty == "EC":
        alg = _EC_ALGS.get(crv or "P-256")
        if alg is None:
            raise InvalidKey(f"unsupported EC curve {crv!r}")
        return alg
    return "EdDSA"


def generate_private_key(
    kty: str = "RSA", *, bits: int = 4096, crv: str | None = None
) -> PrivateKey:
    """A new private key: RSA (*bits* 2048/3072/4096), EC (*crv* P-256/384/521) or OKP.

    For ``kty="OKP"`` *crv* is ``Ed25519`` (the default) or ``Ed448``. Slow for
    RSA 4096 (around a second): call it from a CLI or init job only.
    """
    if kty == "RSA":
        if crv is not None:
            raise ConfigurationError("crv is not used for RSA keys")
        if bits not in RSA_BITS:
            raise ConfigurationError(f"RSA key size must be one of {RSA_BITS}, got {bits!r}")
        return rsa.generate_private_key(public_exponent=65537, key_size=bits)
    if kty == "EC":
        curve = _CURVES.get(crv or "P-256")
        if curve is None:
            raise ConfigurationError(f"EC curve must be one of {', '.join(_CURVES)}, got {crv!r}")
        return ec.generate_private_key(curve)
    if kty == "OKP":
        if crv in (None, "Ed25519"):
            return ed25519.Ed25519PrivateKey.generate()
        if crv == "Ed448":
            return ed448.Ed448PrivateKey.generate()
        raise ConfigurationError(f"OKP curve must be Ed25519 or Ed448, got {crv!r}")
    raise ConfigurationError(f"kty must be RSA, EC or OKP, got {kty!r}")


def generate_key_pair(
    kty: str = "RSA",
    *,
    bits: int = 4096,
    crv: str | None = None,
    kid: str | None = None,
    alg: str | None = None,
) -> KeyPair:
    """Generate a key and wrap it; ``kid=None`` means the RFC 7638 thumbprint."""
    key = generate_private_key(kty, bits=bits, crv=crv)
    return key_pair(key, kid, alg)


def key_pair(key: PrivateKey, kid: str | None, alg: str | None) -> KeyPair:
    """*key* as a :class:`KeyPair`; ``kid=None`` means its thumbprint, ``alg=None`` the default."""
    if kid is None:
        kid = PublicJWK.from_key(key.public_key()).thumbprint()
    return KeyPair(private_key=key, kid=kid, alg=alg or default_algorithm(key))
