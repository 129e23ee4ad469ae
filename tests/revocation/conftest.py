"""A real Redis, a local issuer and a deny list of its own for each revocation test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bearerguard import Issuer, Revocations, Validator
from bearerguard.testing import LocalIssuer
from bearerguard.verifier import Verifier
from tests.issuing.redis_server import redis_server
from tests.support.clock import FakeClock

AUDIENCE = "api://revocation-test"

#: ``make_verifier(revocations, **options)``: see the fixture.
MakeVerifier = Callable[..., Verifier[Any]]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running Redis (see tests/issuing/redis_server.py for where it comes from)."""
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client: Any) -> Iterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    prefix = f"bgtest:{uuid.uuid4().hex}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=prefix + "*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def monotonic() -> FakeClock:
    """The staleness clock of the ``revocations`` fixture."""
    return FakeClock()


@pytest.fixture
def revocations(redis_url: str, prefix: str, monotonic: FakeClock) -> Revocations:
    """A deny list under the test's own prefix, 5 s staleness on a fake clock."""
    return Revocations.from_url(redis_url, prefix=prefix, monotonic=monotonic)


@pytest.fixture(scope="package")
def local_issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=AUDIENCE) as running:
        yield running


@pytest.fixture
def make_verifier(local_issuer: LocalIssuer) -> MakeVerifier:
    """``make_verifier(revocations, **options)``: a verifier of the local issuer's tokens."""

    def make(revocations: Revocations | None, **options: Any) -> Verifier[Any]:
        issuer = Issuer.from_oidc(local_issuer.url, validator=Validator(aud=AUDIENCE), lazy=True)
        return Verifier([issuer], revocations=revocations, **options)

    return make
