"""Shared key sets (Redis) under attack: documents planted beside the real keys.

Whoever can write to Redis can put a JWKS document where the fleet reads it.
Such a document is parsed exactly like a fetched one (RFC 8725 §3.1: the key
decides the algorithm), so the classic key-confusion tricks fail through
Redis as they fail through the network: a symmetric key or a short RSA key
beside the issuer's real keys admits no forged token, and the real tokens
still verify. The JWKS of a real local issuer is the base of
every planted document; a real redis-server holds it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bearerguard import AlgorithmNotAllowed, InvalidToken, Issuer, UnknownKey, Validator
from bearerguard.keyset import KeySetPolicy
from bearerguard.keyset._shared import redis_key
from bearerguard.testing import LocalIssuer
from bearerguard.verifier import Verifier
from tests.issuing.redis_server import redis_server

from .support import forge

pytestmark = pytest.mark.redis

AUDIENCE = "api://shared-attacks"
SECRET = b"planted-hmac-secret-planted-hmac"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def idp() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=AUDIENCE) as issuer:
        yield issuer


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _int(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))


SHORT_RSA = rsa.generate_private_key(public_exponent=65537, key_size=1024)
_SHORT = SHORT_RSA.public_key().public_numbers()
PLANTED: dict[str, dict[str, Any]] = {
    "hmac": {"kty": "oct", "kid": "planted", "k": _b64(SECRET), "alg": "HS256"},
    "short-rsa": {"kty": "RSA", "kid": "planted", "n": _int(_SHORT.n), "e": _int(_SHORT.e)},
}


def _forged(kind: str, idp: LocalIssuer) -> str:
    now = int(time.time())
    payload = {
        "iss": idp.url,
        "sub": "mallory",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 300,
        "jti": f"forged-{kind}",
    }
    if kind == "hmac":
        return forge({"alg": "HS256", "kid": "planted", "typ": "at+jwt"}, payload, SECRET)
    return forge({"alg": "RS256", "kid": "planted", "typ": "at+jwt"}, payload, SHORT_RSA)


def _plant(redis_url: str, idp: LocalIssuer, extra: dict[str, Any]) -> None:
    """The issuer's own JWKS plus *extra*, published as a well-formed fleet document."""
    import redis

    with urllib.request.urlopen(idp.jwks_uri, timeout=5) as response:
        keys = json.loads(response.read())["keys"]
    body = json.dumps({"keys": [*keys, extra]}).encode()
    meta = {
        "v": 1,
        "source": idp.oidc_url,
        "jwks_uri": idp.jwks_uri,
        "fetched_at": time.time(),
        "etag": None,
        "cache_control": "max-age=300",
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    client = redis.Redis.from_url(redis_url)
    client.delete(redis_key(idp.oidc_url))
    client.hset(redis_key(idp.oidc_url), mapping={"meta": json.dumps(meta), "jwks": body})
    client.close()


@pytest.mark.parametrize(
    ("kind", "error", "description"),
    [
        pytest.param(
            "hmac", AlgorithmNotAllowed, "algorithm 'HS256' is not allowed", id="hmac-key"
        ),
        pytest.param(
            "short-rsa",
            UnknownKey,
            "no key of this issuer matches the token's kid and alg",
            id="short-rsa-key",
        ),
    ],
)
def test_a_planted_confusion_key_admits_no_forged_token(
    idp: LocalIssuer, redis_url: str, kind: str, error: type[InvalidToken], description: str
) -> None:
    """A symmetric or short RSA key planted in the fleet's document verifies nothing."""
    _plant(redis_url, idp, PLANTED[kind])
    issuer = Issuer.from_oidc(
        idp.url, validator=Validator(aud=AUDIENCE), policy=KeySetPolicy(timeout=2), lazy=True
    )
    verifier = Verifier([issuer], redis_url=redis_url)
    with pytest.raises(error) as caught:
        verifier.verify(_forged(kind, idp))
    assert caught.value.description == description
    assert verifier.verify(idp.mint(sub="alice")).sub == "alice"
