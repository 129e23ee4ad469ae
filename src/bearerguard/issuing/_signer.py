"""Signing JWTs: ``TokenSigner``.

:class:`TokenSigner` is the seam: anything that signs a claims mapping and
tells its ``kid``, ``alg`` and public key (an HSM or a cloud KMS can stand in
for the file-based :class:`KeyPairSigner`)::

    signer = KeyPairSigner(load_key_pair("/run/secrets/signing.pem", "kid-2025-01"))
    token = signer.sign({"iss": ..., "sub": ..., "exp": ...})   # header: kid, typ at+jwt
"""

from __future__ import annotations

import json
from calendar import timegm
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import jwt
from jwt.algorithms import OKPAlgorithm

from .._algorithms import PublicKey
from .._errors import ConfigurationError
from .._jwk import PublicJWK
from ._keys import KeyPair

__all__ = ["ACCESS_TOKEN_TYP", "KeyPairSigner", "TokenSigner"]

# RFC 9068 §2.1: access tokens carry `typ: at+jwt`, so that an ID token or any
# other JWT signed with the same key cannot be replayed as an access token.
ACCESS_TOKEN_TYP = "at+jwt"

# PyJWT signs EdDSA but knows no RFC 9864 name. This signer (never PyJWT's global
# one, which the application may use) also signs under Ed25519 and Ed448: the very
# same EdDSA signature, and KeyPair has checked that the name fits the key's curve.
_JWS = jwt.PyJWS()
for _name in ("Ed25519", "Ed448"):
    _JWS.register_algorithm(_name, OKPAlgorithm())
# RFC 7519 §2: times are NumericDates; datetimes given for these become integers.
_TIME_CLAIMS = ("exp", "iat", "nbf")


@runtime_checkable
class TokenSigner(Protocol):
    """Signs JWTs with one key (sign, public key, kid).

    ``sign`` returns a compact JWS whose header carries ``alg``, ``kid`` and
    ``typ``. Implementations must be safe to call from several threads.
    """

    @property
    def kid(self) -> str:
        """The key id put in every header, and published in the JWKS."""
        ...

    @property
    def alg(self) -> str:
        """The JWS algorithm, e.g. ``RS256``."""
        ...

    @property
    def public_key(self) -> PublicKey:
        """The public key verifiers use."""
        ...

    def sign(self, claims: Mapping[str, Any], *, typ: str = ACCESS_TOKEN_TYP) -> str:
        """Sign *claims* (JSON-ready values) and return the compact JWS."""
        ...


class KeyPairSigner:
    """A :class:`TokenSigner` on a loaded :class:`~bearerguard.issuing.KeyPair`."""

    __slots__ = ("_pair",)

    def __init__(self, pair: KeyPair) -> None:
        if not isinstance(pair, KeyPair):
            raise ConfigurationError("KeyPairSigner needs a KeyPair (see load_key_pair)")
        # KeyPair admits only algorithms of the verifier's table, all of them signable here.
        self._pair = pair

    @property
    def kid(self) -> str:
        """The key id."""
        return self._pair.kid

    @property
    def alg(self) -> str:
        """The JWS algorithm."""
        return self._pair.alg

    @property
    def public_key(self) -> PublicKey:
        """The public key."""
        return self._pair.public_key

    @property
    def public_jwk(self) -> PublicJWK:
        """The public key as a JWK (``kid``, ``use: sig``, ``alg``) for the JWKS."""
        return self._pair.public_jwk

    def sign(self, claims: Mapping[str, Any], *, typ: str = ACCESS_TOKEN_TYP) -> str:
        """Sign *claims*; the header is ``{"alg", "kid", "typ"}``.

        ``exp``, ``iat`` and ``nbf`` may be given as aware datetimes.
        """
        if not isinstance(typ, str) or not typ:
            raise ConfigurationError("typ must be a non-empty string")
        payload = dict(claims)
        for name in _TIME_CLAIMS:
            value = payload.get(name)
            if isinstance(value, datetime):
                payload[name] = timegm(value.utctimetuple())
        return _JWS.encode(
            json.dumps(payload, separators=(",", ":")).encode("utf-8"),
            self._pair.private_key,
            algorithm=self._pair.alg,
            headers={"kid": self._pair.kid, "typ": typ},
        )

    def __repr__(self) -> str:
        return f"KeyPairSigner(kid={self.kid!r}, alg={self.alg!r})"


def public_jwk_of(signer: TokenSigner) -> PublicJWK:
    """The JWK a signer's tokens verify with (``kid`` and ``alg`` pinned)."""
    jwk = getattr(signer, "public_jwk", None)
    if isinstance(jwk, PublicJWK):
        return jwk
    return PublicJWK.from_key(signer.public_key, kid=signer.kid, alg=signer.alg)
