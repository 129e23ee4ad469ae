"""What identity providers publish beside plain signing keys, through a real fetch.

Keycloak lists an encryption key (``"use": "enc"``) in every JWKS; Authlib-based
issuers write EC coordinates without their leading zero octets. Neither may
cost a warning per fetch where nothing is wrong, nor a working key.
"""

from __future__ import annotations

import base64
import functools
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from bearerguard import Issuer, PublicJWK, UnknownKey
from bearerguard.keyset import RemoteKeySet
from tests.support.clock import FakeClock
from tests.support.jwks_server import JWKSServer
from tests.support.keys import AUDIENCE, mint, public_jwk

from .conftest import JWKS_PATH

TTL = 900  # KeySetPolicy().default_ttl


_ENC = {**public_jwk("enc", kid="enc-1"), "use": "enc", "alg": "RSA-OAEP"}


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_encryption_key_in_the_jwks_logs_no_warning_on_any_fetch(
    server: JWKSServer,
    clock: FakeClock,
    make_keyset: Callable[..., RemoteKeySet],
    issuer_for: Callable[[RemoteKeySet], Issuer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A Keycloak-style JWKS (a signing key and an RSA-OAEP key) is read quietly, every time.

    Each fetch brings a changed document, so each one is parsed again.
    """
    caplog.set_level(logging.DEBUG, logger="bearerguard")
    issuer = issuer_for(make_keyset())
    for revision in range(3):
        server.set_json(JWKS_PATH, {"keys": [public_jwk("k1"), _ENC], "revision": revision})
        issuer.verify_and_validate(mint("k1", iss=server.base_url))
        clock.advance(TTL)
    assert server.count() == 3
    assert _warnings(caplog) == []
    skipped = [r for r in caplog.records if "encryption key" in r.getMessage()]
    assert [r.levelno for r in skipped] == [logging.DEBUG] * 3


def test_encryption_key_never_verifies_a_token(
    server: JWKSServer,
    make_keyset: Callable[..., RemoteKeySet],
    issuer_for: Callable[[RemoteKeySet], Issuer],
) -> None:
    """A token signed with the encryption key's private key, under its kid, finds no key."""
    server.set_json(JWKS_PATH, {"keys": [public_jwk("k1"), _ENC]})
    issuer = issuer_for(make_keyset())
    with pytest.raises(UnknownKey):
        issuer.verify_and_validate(mint("enc", iss=server.base_url, kid="enc-1"))
    assert [k.kid for k in issuer.keys.get_keys(None)] == ["k1"]


@functools.cache
def _p256_key_with_a_leading_zero_x() -> ec.EllipticCurvePrivateKey:
    """The first P-256 key from a fixed scalar on whose x starts with a zero octet."""
    for scalar in itertools.count(0xC0FFEE):
        key = ec.derive_private_key(scalar, ec.SECP256R1())
        if key.public_key().public_numbers().x < 256**31:
            return key
    raise AssertionError("unreachable")


def _stripped(jwk: dict[str, Any], member: str) -> dict[str, Any]:
    """*jwk* with *member*'s leading zero octets dropped, as Authlib writes it."""
    raw = base64.urlsafe_b64decode(jwk[member] + "=").lstrip(b"\x00")
    return {**jwk, member: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()}


def _es256(key: ec.EllipticCurvePrivateKey, iss: str, n: int) -> str:
    now = int(time.time())
    claims = {"iss": iss, "aud": AUDIENCE, "sub": f"user-{n}", "iat": now, "exp": now + 600}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": "short-ec"})


def test_ec_key_with_a_short_coordinate_verifies_and_warns_once_per_fetch(
    server: JWKSServer,
    clock: FakeClock,
    make_keyset: Callable[..., RemoteKeySet],
    issuer_for: Callable[[RemoteKeySet], Issuer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every token of the key verifies; the warning comes with each parse, not each token.

    A refetch that brings the same document is not parsed again, so it adds no
    warning; a changed document is, so it adds one.
    """
    key = _p256_key_with_a_leading_zero_x()
    full = PublicJWK.from_key(key.public_key(), kid="short-ec", alg="ES256").to_dict()
    server.set_json(JWKS_PATH, {"keys": [_stripped(full, "x")]})
    caplog.set_level(logging.WARNING, logger="bearerguard")
    issuer = issuer_for(make_keyset())
    for n in range(4):
        assert issuer.verify_and_validate(_es256(key, server.base_url, n))[1].sub == f"user-{n}"
    assert len(_warnings(caplog)) == 1
    assert "'short-ec'" in _warnings(caplog)[0]
    clock.advance(TTL)
    issuer.verify_and_validate(_es256(key, server.base_url, 8))
    assert (server.count(), len(_warnings(caplog))) == (2, 1)
    server.set_json(JWKS_PATH, {"keys": [_stripped(full, "x"), public_jwk("k1")]})
    clock.advance(TTL)
    issuer.verify_and_validate(_es256(key, server.base_url, 9))
    assert (server.count(), len(_warnings(caplog))) == (3, 2)
