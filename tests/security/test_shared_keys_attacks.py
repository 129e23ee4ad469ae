"""Shared key sets (Redis) under attack: documents planted beside the real keys.

Whoever can write to Redis can put a JWKS document where the fleet reads it.
Such a document is parsed exactly like a fetched one (RFC 8725 §3.1: the key
decides the algorithm), so the classic key-confusion tricks fail through
Redis as they fail through the network: a symmetric key or a short RSA key
beside the issuer's real keys admits no forged token, and the real tokens
still verify. A document naming another ``jwks_uri`` (an attacker's) never
decides where a process fetches keys: each process runs discovery itself and
takes only a document for the ``jwks_uri`` it found. The JWKS of a real local
issuer is the base of every planted document; a real redis-server holds it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from bearerguard import AlgorithmNotAllowed, InvalidToken, Issuer, UnknownKey, Validator
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
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


def _jwks_of(issuer: LocalIssuer) -> bytes:
    with urllib.request.urlopen(issuer.jwks_uri, timeout=5) as response:
        return bytes(response.read())


def _publish(
    redis_url: str, source: str, jwks_uri: str, body: bytes, fetched_at: float | None = None
) -> None:
    """*body* published as a well-formed fleet document for *source*, naming *jwks_uri*."""
    import redis

    meta = {
        "v": 1,
        "source": source,
        "jwks_uri": jwks_uri,
        "fetched_at": time.time() if fetched_at is None else fetched_at,
        "etag": None,
        "cache_control": "max-age=300",
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    client = redis.Redis.from_url(redis_url)
    client.delete(redis_key(source))
    client.hset(redis_key(source), mapping={"meta": json.dumps(meta), "jwks": body})
    client.close()


def _plant(redis_url: str, idp: LocalIssuer, extra: dict[str, Any]) -> None:
    """The issuer's own JWKS plus *extra*, published as a well-formed fleet document."""
    keys = json.loads(_jwks_of(idp))["keys"]
    body = json.dumps({"keys": [*keys, extra]}).encode()
    _publish(redis_url, idp.oidc_url, idp.jwks_uri, body)


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


@pytest.fixture
def evil() -> Iterator[LocalIssuer]:
    """The attacker's identity provider: real keys at a jwks_uri of its own."""
    with LocalIssuer(audience=AUDIENCE) as issuer:
        yield issuer


@pytest.mark.parametrize(
    ("built", "age", "reason"),
    [
        pytest.param(
            "oidc", 0, "names another jwks_uri than discovery found", id="discovered-fresh"
        ),
        pytest.param(
            "oidc", 3600, "names another jwks_uri than discovery found", id="discovered-expired"
        ),
        pytest.param("jwks_uri", 0, "published for another URL", id="jwks-url-fresh"),
    ],
)
def test_a_document_naming_another_jwks_uri_admits_no_token_of_its_keys(
    idp: LocalIssuer,
    evil: LocalIssuer,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
    built: str,
    age: float,
    reason: str,
) -> None:
    """A document planted for the issuer but naming another jwks_uri, fresh (read from
    Redis) or expired (the lock holder refetches it): ignored and logged, the keys come
    from the issuer's own jwks_uri, and a token signed by the planted keys is refused."""
    source = idp.oidc_url if built == "oidc" else idp.jwks_uri
    _publish(redis_url, source, evil.jwks_uri, _jwks_of(evil), time.time() - age)
    planted = evil.count(evil.jwks_path)
    if built == "oidc":
        issuer = Issuer.from_oidc(idp.url, validator=Validator(aud=AUDIENCE), lazy=True)
    else:
        issuer = Issuer.from_jwks_url(
            idp.jwks_uri, issuer=idp.url, validator=Validator(aud=AUDIENCE), lazy=True
        )
    verifier = Verifier([issuer], redis_url=redis_url)
    forged = evil.mint(iss=idp.url, sub="mallory")
    with (
        caplog.at_level(logging.WARNING, logger="bearerguard.keyset"),
        pytest.raises(UnknownKey) as caught,
    ):
        verifier.verify(forged)
    assert caught.value.description == "no key of this issuer matches the token's kid and alg"
    assert reason in caplog.text
    assert verifier.verify(idp.mint(sub="alice")).sub == "alice"
    assert evil.count(evil.jwks_path) == planted, "nothing fetched from the planted jwks_uri"
    expected = {idp.jwks_path: 1} if built == "jwks_uri" else {idp.oidc_path: 1, idp.jwks_path: 1}
    assert idp.counts == expected


def test_a_planted_jwks_uri_is_never_fetched_after_the_document_is_gone(
    idp: LocalIssuer, evil: LocalIssuer, redis_url: str
) -> None:
    """Once the planted document is deleted, a refresh fetches the issuer's own jwks_uri:
    the process never made the planted one its own."""
    import redis

    _publish(redis_url, idp.oidc_url, evil.jwks_uri, _jwks_of(evil))
    planted = evil.count(evil.jwks_path)
    policy = KeySetPolicy(cooldown=0.1, timeout=2)
    issuer = Issuer.from_oidc(idp.url, validator=Validator(aud=AUDIENCE), policy=policy, lazy=True)
    verifier = Verifier([issuer], redis_url=redis_url)
    with pytest.raises(UnknownKey):
        verifier.verify(evil.mint(iss=idp.url))
    client = redis.Redis.from_url(redis_url)
    client.delete(redis_key(idp.oidc_url))  # the operator cleans Redis
    client.close()
    keys = issuer.keys
    assert isinstance(keys, RemoteKeySet)
    keys.refresh()
    assert keys.jwks_uri == idp.jwks_uri
    assert evil.count(evil.jwks_path) == planted
    with pytest.raises(UnknownKey):
        verifier.verify(evil.mint(iss=idp.url))
    assert verifier.verify(idp.mint(sub="alice")).sub == "alice"
