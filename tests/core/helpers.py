"""Token building for the core tests: raw bytes in, compact JWS out.

PyJWT is the reference signer for the round-trip tests; these helpers exist for
the tokens PyJWT refuses to make (duplicate members, ``NaN``, ``alg: none``,
hand-written header bytes), signed with ``cryptography`` directly.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bearerguard._errors import BearerGuardError

DATA = Path(__file__).parent / "data"

ISSUER = "https://issuer.example.com"
AUDIENCE = "api://orders"
NOW = 1_700_000_000

PrivateKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_EC_SIZES = {256: 32, 384: 48, 521: 66}


def load(name: str) -> dict[str, Any]:
    """A published test vector from ``tests/core/data``."""
    data: dict[str, Any] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return data


def b64(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _octets(value: Mapping[str, Any] | bytes | str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def raw_signature(alg: str, key: PrivateKey, signing_input: bytes) -> bytes:
    """The JWS signature of *signing_input* (RFC 7518 §3, RFC 8037 §3.1)."""
    family, bits = alg[:2], alg[2:]
    if isinstance(key, rsa.RSAPrivateKey):
        digest = _HASHES[bits]()
        pad: padding.AsymmetricPadding
        if family == "PS":
            pad = padding.PSS(mgf=padding.MGF1(_HASHES[bits]()), salt_length=digest.digest_size)
        else:
            pad = padding.PKCS1v15()
        return key.sign(signing_input, pad, digest)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        der = key.sign(signing_input, ec.ECDSA(_HASHES[bits]()))
        r, s = decode_dss_signature(der)
        size = _EC_SIZES[key.curve.key_size]
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return key.sign(signing_input)


def make_token(
    header: Mapping[str, Any] | bytes | str,
    payload: Mapping[str, Any] | bytes | str,
    key: PrivateKey | None = None,
    *,
    signature: bytes | None = None,
) -> str:
    """A compact JWS of exactly these header and payload octets.

    Signed with *key* using the header's ``alg``, unless *signature* is given.
    """
    signing_input = b64(_octets(header)) + "." + b64(_octets(payload))
    if signature is None:
        assert key is not None, "pass a key or a signature"
        alg = header["alg"] if isinstance(header, Mapping) else json.loads(header)["alg"]
        signature = raw_signature(alg, key, signing_input.encode("ascii"))
    return signing_input + "." + b64(signature)


def access_payload(**overrides: Any) -> dict[str, Any]:
    """A valid RFC 9068 access-token payload at :data:`NOW`; ``None`` drops a claim."""
    payload: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "user-42",
        "aud": AUDIENCE,
        "exp": NOW + 300,
        "iat": NOW - 10,
        "jti": "token-1",
        "client_id": "client-7",
        "scope": "orders:read orders:write",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def key_material(jwks: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every base64url key member of *jwks* (what an error message must never show)."""
    names = ("n", "e", "x", "y", "d", "p", "q", "dp", "dq", "qi", "k")
    return [str(jwk[m]) for jwk in jwks for m in names if m in jwk and len(str(jwk[m])) > 8]


def token_parts(token: str) -> list[str]:
    """The non-trivial pieces of *token* an error message must never echo."""
    pieces = [token, *token.split(".")]
    return [p for p in pieces if len(p) > 12]


def expect_error(
    call: Callable[[], object],
    error: type[BearerGuardError],
    *,
    token: str | None = None,
    secrets: Iterable[str] = (),
    match: str | None = None,
) -> BearerGuardError:
    """Run *call*, require exactly *error* (not a subclass), and a safe message.

    The message and ``description`` must not contain the token, any of its
    segments, or any string in *secrets* (key material).
    """
    with pytest.raises(BearerGuardError) as info:
        call()
    exc = info.value
    assert type(exc) is error, f"expected {error.__name__}, got {type(exc).__name__}: {exc}"
    forbidden = [*(token_parts(token) if token else ()), *secrets]
    text = f"{exc} {exc.description}"
    for piece in forbidden:
        assert piece not in text, "error message leaks token or key material"
    if match is not None:
        assert re.search(match, exc.description), exc.description
    return exc
