"""A client's DPoP key for tests: makes RFC 9449 proofs for requests to your API."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from .._encoding import b64url_encode
from .._errors import ConfigurationError
from .._jwk import PublicJWK

__all__ = ["DPoPKey"]

_RSA_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_EC_CURVES: dict[str, ec.EllipticCurve] = {
    "ES256": ec.SECP256R1(),
    "ES384": ec.SECP384R1(),
    "ES512": ec.SECP521R1(),
}


class DPoPKey:
    """A DPoP key pair, as a client holds it, that signs proofs (RFC 9449 §4).

    *alg* is ``ES256`` (default), ``ES384``, ``ES512``, ``EdDSA``, or an RSA
    algorithm (``PS256``, ``RS256``, ...). Mint a token bound to it with
    ``issuer.mint(cnf=key.cnf)`` and send each request with
    ``Authorization: DPoP <token>`` and ``DPoP: key.proof(method, url,
    access_token=token)``::

        key = DPoPKey()
        token = issuer.mint(scopes=["orders:read"], cnf=key.cnf)
        headers = {
            "Authorization": f"DPoP {token}",
            "DPoP": key.proof("GET", "http://testserver/orders", access_token=token),
        }

    *clock* returns POSIX seconds for ``iat`` (default :func:`time.time`).
    """

    def __init__(self, alg: str = "ES256", *, clock: Callable[[], float] | None = None) -> None:
        private: Any
        if alg in _EC_CURVES:
            private = ec.generate_private_key(_EC_CURVES[alg])
        elif alg == "EdDSA":
            private = ed25519.Ed25519PrivateKey.generate()
        elif alg in _RSA_ALGS:
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            raise ConfigurationError(
                f"DPoPKey alg must be ES256, ES384, ES512, EdDSA or an RSA algorithm, got {alg!r}"
            )
        self.alg = alg
        self._private = private
        self._clock = clock or time.time
        public = PublicJWK.from_key(private.public_key(), use=None)
        members = public.to_dict()
        members.pop("kid", None)
        self._jwk: dict[str, str] = members
        self._thumbprint = public.thumbprint()

    def __repr__(self) -> str:
        return f"DPoPKey(alg={self.alg!r}, jkt={self._thumbprint!r})"

    @property
    def jwk(self) -> dict[str, str]:
        """The public key as the proofs carry it in their ``jwk`` header."""
        return dict(self._jwk)

    @property
    def thumbprint(self) -> str:
        """The RFC 7638 thumbprint: what a token bound to this key has as ``cnf.jkt``."""
        return self._thumbprint

    @property
    def cnf(self) -> dict[str, str]:
        """The ``cnf`` claim of a token bound to this key: ``{"jkt": thumbprint}``."""
        return {"jkt": self._thumbprint}

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        iat: float | None = None,
        jti: str | None = None,
        claims: Mapping[str, Any] | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> str:
        """A proof for a *method* request to *url* (the ``DPoP`` header's value).

        *access_token* adds its hash (``ath``), which a resource server
        requires; *nonce* the server's ``DPoP-Nonce``. ``iat`` (default now)
        and ``jti`` (default random) may be set; *claims* and *headers* add or
        replace members (``None`` removes one), to build broken proofs in tests.
        """
        payload: dict[str, Any] = {
            "jti": jti or secrets.token_urlsafe(16),
            "htm": method,
            "htu": url,
            "iat": int(self._clock() if iat is None else iat),
        }
        if access_token is not None:
            payload["ath"] = b64url_encode(hashlib.sha256(access_token.encode("ascii")).digest())
        if nonce is not None:
            payload["nonce"] = nonce
        payload.update(claims or {})
        header: dict[str, Any] = {"typ": "dpop+jwt", "jwk": self.jwk}
        header.update(headers or {})
        return jwt.encode(
            {k: v for k, v in payload.items() if v is not None},
            self._private,
            algorithm=self.alg,
            headers={k: v for k, v in header.items() if v is not None},
        )
