"""Keys generated once per session, a fake clock, and a real Redis for the issuing tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from bearerguard.issuing import KeyPair, KeyRing, generate_key_pair
from bearerguard.issuing._key_files import private_key_pem
from tests.support.clock import FakeClock

from .redis_server import redis_server

# A realistic POSIX time, so NumericDates look like real ones.
T0 = 1_700_000_000.0
PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="session")
def rsa4096() -> KeyPair:
    """The default key (RSA 4096), generated once: it takes about a second."""
    return generate_key_pair()


@pytest.fixture(scope="session")
def rsa2048() -> KeyPair:
    return generate_key_pair("RSA", bits=2048, kid="kid-2025-01")


@pytest.fixture(scope="session")
def ec256() -> KeyPair:
    return generate_key_pair("EC")


@pytest.fixture(scope="session")
def ed25519() -> KeyPair:
    return generate_key_pair("OKP")


@pytest.fixture(scope="session")
def ec256_encrypted_pem(ec256: KeyPair) -> bytes:
    """``ec256`` encrypted with PASSPHRASE, once: the 600,000-round KDF is slow on purpose."""
    return private_key_pem(ec256.private_key, PASSPHRASE)


def encrypted_ring(ring: KeyRing) -> str:
    """Give *ring* one active EC key, encrypted with PASSPHRASE; returns its kid.

    Encrypted as earlier versions did (``BestAvailableEncryption``: PBKDF2 with
    2048 rounds), which keeps these tests quick and is a ring that exists.
    """
    kid = ring.generate(kty="EC").kid
    path = ring.private_key_path(kid)
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    encryption = serialization.BestAvailableEncryption(PASSPHRASE.encode())
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    )
    ring.publish(kid)
    ring.activate(kid)
    return kid


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=T0)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running Redis (see redis_server.py for where it comes from)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: Any) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    prefix = f"bgtest:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=prefix + "*"))
    if keys:
        redis_client.delete(*keys)
