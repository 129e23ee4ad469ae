"""Signing keys generated once per test session, and PyJWT-minted tokens."""

from __future__ import annotations

import base64
import functools
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

AUDIENCE = "api://orders"


@functools.cache
def private_key(name: str) -> rsa.RSAPrivateKey:
    """An RSA-2048 key per *name*, generated on first use and kept for the session."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_jwk(name: str, *, kid: str | None = None, **members: Any) -> dict[str, Any]:
    """The public JWK of key *name* (``kid`` defaults to *name*), as PyJWT writes it."""
    jwk: dict[str, Any] = RSAAlgorithm.to_jwk(private_key(name).public_key(), as_dict=True)
    jwk.update(kid=kid or name, use="sig", alg="RS256", **members)
    return jwk


def jwks(*names: str) -> dict[str, Any]:
    """A JWKS document with the public keys of *names*."""
    return {"keys": [public_jwk(name) for name in names]}


def mint(name: str, *, iss: str, kid: str | None = None, **claims: Any) -> str:
    """An RS256 access token signed with key *name*, valid for an hour by default."""
    now = int(time.time())
    payload = {"iss": iss, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 3600}
    payload.update(claims)
    return jwt.encode(payload, private_key(name), algorithm="RS256", headers={"kid": kid or name})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_OMIT: Any = object()


def bogus_token(kid: str, *, iss: Any = _OMIT) -> str:
    """A well-formed RS256 token with *kid* and a junk signature (what a flood sends).

    *iss* may be any JSON value (PyJWT only signs string ones), or left out.
    """
    claims: dict[str, Any] = {"aud": AUDIENCE, "sub": "x"}
    if iss is not _OMIT:
        claims["iss"] = iss
    header = _b64(json.dumps({"alg": "RS256", "kid": kid}).encode())
    payload = _b64(json.dumps(claims).encode())
    return f"{header}.{payload}.{_b64(b'x' * 256)}"
