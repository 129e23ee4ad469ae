"""Public JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037) and JWKS parsing.

A :class:`PublicJWK` holds a ``cryptography`` public key that has passed
bearerguard's own checks, which are stricter than what ``cryptography`` accepts
on its own: RSA moduli of at least 2048 bits with an odd exponent of at least 3,
EC points on their curve, Ed25519/Ed448 points that are on the curve, canonically
encoded and not of small order (:mod:`bearerguard._edwards`). A key without a
``kid`` is named by its RFC 7638 thumbprint (:mod:`bearerguard._thumbprint`).
A JWK that carries private members is refused:
a JWKS endpoint that publishes a private key is broken, and using it would
hand out signing power.

Parsing a JWKS document skips (and logs) each unusable key instead of failing
the whole set, so one odd key published by an identity provider does not take
an API down. Encryption keys (``"use": "enc"``, which Keycloak and others publish
beside their signing keys) are expected there: they are skipped with a debug
record only, and never used to verify a signature.

EC coordinates shorter than the curve's field size are left-padded: RFC 7518
§6.2.1.2 wants the full size, but Authlib (and issuers built on it) strips
leading zero octets, which hits 1 in 256 P-256/P-384 keys and most P-521 keys.
Such a key is accepted with a logged warning; longer coordinates are refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from ._algorithms import ALGORITHMS, COORD_SIZES, PublicKey, Verify, make_verifier, same_signature
from ._edwards import check_ed448_point, check_ed25519_point
from ._encoding import b64url_decode, has_surrogate, json_object
from ._errors import BearerGuardError, InvalidKey
from ._limits import MAX_KID_LENGTH
from ._thumbprint import EC_CURVE_NAMES, canonical_members, jwk_thumbprint

__all__ = ["PublicJWK", "parse_jwks"]

log = logging.getLogger("bearerguard.jwk")

MIN_RSA_BITS = 2048
MAX_RSA_BITS = 16384
MAX_RSA_EXPONENT_BITS = 32
MAX_KEYS = 100

# RFC 7517 §4 / RFC 7518 §6: members that only private (or symmetric) keys have.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k", "priv")
_EC_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
}
# Field primes (SEC 2 §2.4): a coordinate must be below its prime. cryptography
# reduces larger values silently, so one key would have several JWK spellings.
_EC_PRIMES = {
    "P-256": 2**256 - 2**224 + 2**192 + 2**96 - 1,
    "P-384": 2**384 - 2**128 - 2**96 + 2**32 - 1,
    "P-521": 2**521 - 1,
}


@dataclass(frozen=True, slots=True)
class PublicJWK:
    """A verified public key with its JWK metadata.

    ``kid`` is always set: a JWK without one gets its RFC 7638 thumbprint.
    ``use`` and ``alg`` are the JWK's own members (``None`` when absent); when
    ``alg`` is set, only that algorithm may be used with the key (for an Edwards
    key, under either of its names: ``EdDSA`` or the curve's RFC 9864 name).

    Build one from a JWK with :meth:`from_dict`, from a ``cryptography`` key with
    :meth:`from_key`.
    """

    key: PublicKey
    kid: str
    use: str | None = None
    alg: str | None = None
    _verifiers: dict[str, Verify] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _allowed: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_key(self.key)
        if not isinstance(self.kid, str) or not self.kid or len(self.kid) > MAX_KID_LENGTH:
            raise InvalidKey(f"kid must be a non-empty string of at most {MAX_KID_LENGTH} chars")
        if has_surrogate(self.kid):
            # RFC 7493 §2.1: no token's kid can hold one (the token parser refuses it).
            raise InvalidKey("kid holds an unpaired surrogate; it must be Unicode text")
        if self.use is not None and self.use != "sig":
            # RFC 7517 §4.2: a key published for "enc" must not verify signatures.
            raise InvalidKey(f"key is for use {str(self.use)[:20]!r}, not 'sig'")
        if self.alg is not None:
            algorithm = ALGORITHMS.get(self.alg) if isinstance(self.alg, str) else None
            if algorithm is None or not algorithm.fits(self.kty, self.crv):
                on = f"{self.kty} key on curve {self.crv}" if self.crv else f"{self.kty} key"
                raise InvalidKey(f"alg {str(self.alg)[:20]!r} does not fit this {on}")
        kty, crv = self.kty, self.crv
        # The JWK's alg admits every name of the same signature on this key:
        # "EdDSA" and "Ed25519" on an Ed25519 key (RFC 9864).
        allowed = frozenset(
            name
            for name, algorithm in ALGORITHMS.items()
            if algorithm.fits(kty, crv) and (self.alg is None or same_signature(self.alg, name))
        )
        object.__setattr__(self, "_allowed", allowed)

    # -- construction -------------------------------------------------------

    @classmethod
    def from_key(
        cls,
        key: PublicKey,
        *,
        kid: str | None = None,
        use: str | None = "sig",
        alg: str | None = None,
    ) -> PublicJWK:
        """Wrap a ``cryptography`` public key; ``kid=None`` means its thumbprint."""
        _check_key(key)
        return cls(key=key, kid=kid or jwk_thumbprint(key), use=use, alg=alg)

    @classmethod
    def from_dict(cls, jwk: Mapping[str, Any]) -> PublicJWK:
        """Parse one public JWK, raising :class:`~bearerguard.InvalidKey`."""
        if not isinstance(jwk, Mapping):
            raise InvalidKey("a JWK must be a JSON object")
        private = [m for m in _PRIVATE_MEMBERS if m in jwk]
        if private:
            raise InvalidKey("JWK carries private key members; refusing it")
        kty = jwk.get("kty")
        key: PublicKey
        if kty == "RSA":
            key = _rsa_from_jwk(jwk)
        elif kty == "EC":
            key = _ec_from_jwk(jwk, jwk.get("kid"))
        elif kty == "OKP":
            key = _okp_from_jwk(jwk)
        else:
            raise InvalidKey(f"unsupported kty {str(kty)[:20]!r}")
        use = jwk.get("use")
        if use is not None and use != "sig":
            raise InvalidKey(f"key is for use {str(use)[:20]!r}, not 'sig'")
        ops = jwk.get("key_ops")
        if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
            raise InvalidKey("key_ops does not allow 'verify'")
        kid = jwk.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidKey("kid must be a string")
        alg = jwk.get("alg")
        if alg is not None and not isinstance(alg, str):
            raise InvalidKey("alg must be a string")
        return cls(key=key, kid=kid or jwk_thumbprint(key), use=use, alg=alg)

    # -- views --------------------------------------------------------------

    @property
    def kty(self) -> str:
        """The JWK key type: ``RSA``, ``EC`` or ``OKP``."""
        if isinstance(self.key, rsa.RSAPublicKey):
            return "RSA"
        if isinstance(self.key, ec.EllipticCurvePublicKey):
            return "EC"
        return "OKP"

    @property
    def crv(self) -> str | None:
        """The curve name for EC and OKP keys, ``None`` for RSA."""
        key = self.key
        if isinstance(key, ec.EllipticCurvePublicKey):
            return EC_CURVE_NAMES[key.curve.name]
        if isinstance(key, ed25519.Ed25519PublicKey):
            return "Ed25519"
        if isinstance(key, ed448.Ed448PublicKey):
            return "Ed448"
        return None

    def rsa(self) -> rsa.RSAPublicKey | None:
        """The key as an RSA public key, or ``None``."""
        return self.key if isinstance(self.key, rsa.RSAPublicKey) else None

    def ecdsa(self) -> ec.EllipticCurvePublicKey | None:
        """The key as an EC public key, or ``None``."""
        return self.key if isinstance(self.key, ec.EllipticCurvePublicKey) else None

    def eddsa(self) -> ed25519.Ed25519PublicKey | ed448.Ed448PublicKey | None:
        """The key as an Ed25519/Ed448 public key, or ``None``."""
        key = self.key
        return key if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey) else None

    def thumbprint(self) -> str:
        """The RFC 7638 JWK thumbprint (SHA-256, base64url)."""
        return jwk_thumbprint(self.key)

    def to_dict(self) -> dict[str, str]:
        """The public JWK as a JSON-ready dict (with ``kid``, ``use``, ``alg`` when set)."""
        out = canonical_members(self.key)
        out["kid"] = self.kid
        if self.use is not None:
            out["use"] = self.use
        if self.alg is not None:
            out["alg"] = self.alg
        return out

    def allows(self, alg: str) -> bool:
        """True when a token signed with *alg* may be verified with this key."""
        return alg in self._allowed

    @property
    def algorithms(self) -> frozenset[str]:
        """Every JWS algorithm this key may verify."""
        return self._allowed

    def verifier(self, alg: str) -> Verify:
        """The verify function for *alg* (built once per key and algorithm).

        The caller must have checked :meth:`allows`.
        """
        fn = self._verifiers.get(alg)
        if fn is None:
            fn = make_verifier(ALGORITHMS[alg], self.key, self.crv)
            self._verifiers[alg] = fn
        return fn


def parse_jwks(document: Mapping[str, Any] | str | bytes) -> list[PublicJWK]:
    """Parse a JWKS document (a dict, or its JSON text) into usable keys.

    Each unusable or unsupported key is skipped with a logged reason; the
    document itself must be a JSON object with a ``keys`` array, else
    :class:`~bearerguard.InvalidKey` is raised.
    """
    if isinstance(document, str | bytes):
        try:
            document = json_object(document, "JWKS document")
        except BearerGuardError as exc:
            raise InvalidKey(exc.description) from None
    if not isinstance(document, Mapping):
        raise InvalidKey("JWKS document is not a JSON object")
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise InvalidKey("JWKS document has no 'keys' array")
    keys: list[PublicJWK] = []
    for index, entry in enumerate(entries[:MAX_KEYS]):
        kid = entry.get("kid") if isinstance(entry, Mapping) else None
        if isinstance(entry, Mapping) and entry.get("use") == "enc":
            # RFC 7517 §4.2: published for encryption, never a signature key. Many
            # providers list one on every fetch, which is not worth a warning.
            log.debug("skipping JWK #%d (kid %r): an encryption key (use 'enc')", index, _kid(kid))
            continue
        try:
            keys.append(PublicJWK.from_dict(entry))
        except InvalidKey as exc:
            log.warning("skipping JWK #%d (kid %r): %s", index, _kid(kid), exc.description)
    if len(entries) > MAX_KEYS:
        log.warning("JWKS has %d keys; only the first %d are used", len(entries), MAX_KEYS)
    return keys


def _kid(kid: object) -> str:
    """A kid as logs show it: a string, cut short (``%r`` escapes odd characters)."""
    return str(kid)[:64]


# -- per key type ---------------------------------------------------------------


def _member(jwk: Mapping[str, Any], name: str) -> bytes:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidKey(f"JWK member {name!r} is missing or not a string")
    try:
        return b64url_decode(value, f"JWK member {name!r}")
    except BearerGuardError as exc:
        raise InvalidKey(exc.description) from None


def _rsa_from_jwk(jwk: Mapping[str, Any]) -> rsa.RSAPublicKey:
    n = int.from_bytes(_member(jwk, "n"), "big")
    e = int.from_bytes(_member(jwk, "e"), "big")
    _check_rsa_numbers(n, e)
    return rsa.RSAPublicNumbers(e, n).public_key()


def _check_rsa_numbers(n: int, e: int) -> None:
    bits = n.bit_length()
    if bits < MIN_RSA_BITS:
        raise InvalidKey(f"RSA key has {bits} bits; at least {MIN_RSA_BITS} are required")
    if bits > MAX_RSA_BITS:
        raise InvalidKey(f"RSA key has {bits} bits; at most {MAX_RSA_BITS} are accepted")
    if n % 2 == 0:
        raise InvalidKey("RSA modulus is even")
    if e < 3 or e % 2 == 0 or e >= n:
        raise InvalidKey("RSA public exponent must be odd and at least 3")
    if e.bit_length() > MAX_RSA_EXPONENT_BITS:
        # Verification cost grows with e; real keys use 65537. A huge e from a
        # hostile or broken JWKS would make every verification tens of times slower.
        raise InvalidKey(f"RSA public exponent is larger than 2^{MAX_RSA_EXPONENT_BITS}")


def _ec_from_jwk(jwk: Mapping[str, Any], kid: object) -> ec.EllipticCurvePublicKey:
    crv = jwk.get("crv")
    if not isinstance(crv, str) or crv not in _EC_CURVES:
        raise InvalidKey(f"unsupported EC curve {str(crv)[:20]!r}")
    size = COORD_SIZES[crv]
    x, y = _member(jwk, "x"), _member(jwk, "y")
    # RFC 7518 §6.2.1.2: each coordinate is exactly the field size. A shorter one
    # (leading zero octets stripped) names the same number, so it is read as if
    # left-padded and checked like any other; a longer one is refused.
    for name, value in (("x", x), ("y", y)):
        if len(value) > size:
            raise InvalidKey(f"EC coordinate {name!r} for {crv} is longer than {size} bytes")
    xi, yi = int.from_bytes(x, "big"), int.from_bytes(y, "big")
    if xi >= _EC_PRIMES[crv] or yi >= _EC_PRIMES[crv]:
        raise InvalidKey(f"EC coordinates are not canonical for {crv}")
    numbers = ec.EllipticCurvePublicNumbers(xi, yi, _EC_CURVES[crv])
    try:
        # cryptography checks that the point is on the curve.
        key = numbers.public_key()
    except ValueError:
        raise InvalidKey(f"EC point is not on curve {crv}") from None
    short = [f"{name} has {len(v)} bytes" for name, v in (("x", x), ("y", y)) if len(v) < size]
    if short:
        log.warning(
            "EC key (kid %r): coordinate %s, not the %d bytes of %s that RFC 7518 §6.2.1.2 "
            "requires (its publisher strips leading zero octets, as Authlib does); "
            "accepted as if zero-padded",
            _kid(kid),
            " and ".join(short),
            size,
            crv,
        )
    return key


def _okp_from_jwk(jwk: Mapping[str, Any]) -> ed25519.Ed25519PublicKey | ed448.Ed448PublicKey:
    crv = jwk.get("crv")
    x = _member(jwk, "x")
    if crv == "Ed25519":
        if len(x) != 32:
            raise InvalidKey("Ed25519 public key must be 32 bytes")
        check_ed25519_point(x)
        return ed25519.Ed25519PublicKey.from_public_bytes(x)
    if crv == "Ed448":
        if len(x) != 57:
            raise InvalidKey("Ed448 public key must be 57 bytes")
        check_ed448_point(x)
        return ed448.Ed448PublicKey.from_public_bytes(x)
    raise InvalidKey(f"unsupported OKP curve {str(crv)[:20]!r}")


def _check_key(key: object) -> None:
    """Apply the same checks to keys that did not come from a JWK (PEM, objects)."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        _check_rsa_numbers(numbers.n, numbers.e)
    elif isinstance(key, ec.EllipticCurvePublicKey):
        if key.curve.name not in EC_CURVE_NAMES:
            raise InvalidKey(f"unsupported EC curve {key.curve.name!r}")
    elif isinstance(key, ed25519.Ed25519PublicKey):
        check_ed25519_point(key.public_bytes_raw())
    elif isinstance(key, ed448.Ed448PublicKey):
        check_ed448_point(key.public_bytes_raw())
    else:
        raise InvalidKey(f"unsupported key type {type(key).__name__}")
