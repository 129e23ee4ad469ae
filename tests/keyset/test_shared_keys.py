"""Shared key sets on a real redis-server: one JWKS fetch for many verifiers.

Each ``Verifier(redis_url=...)`` here stands for one process of a fleet (the
multi-process tests are in ``test_shared_fleet.py``): they share nothing but
the Redis server, and the identity provider (a real ``LocalIssuer`` on
127.0.0.1) counts the requests they make.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bearerguard import AccessClaims, Issuer, KeySetUnavailable, UnknownKey, Validator
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from bearerguard.keyset._shared import redis_key
from bearerguard.testing import LocalIssuer
from bearerguard.verifier import Verifier
from tests.issuing.redis_server import redis_server

pytestmark = pytest.mark.redis

AUD = "api://shared"
POLICY = KeySetPolicy(cooldown=1, timeout=2)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
def idp() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=AUD) as issuer:
        yield issuer


@pytest.fixture
def client(redis_url: str) -> Iterator[Any]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


def _verifier(
    idp: LocalIssuer, redis_url: str | None, policy: KeySetPolicy = POLICY
) -> Verifier[AccessClaims]:
    issuer = Issuer.from_oidc(idp.url, validator=Validator(aud=AUD), policy=policy, lazy=True)
    return Verifier([issuer], redis_url=redis_url)


def _jwks_fetches(idp: LocalIssuer) -> int:
    return idp.count(idp.jwks_path)


def test_verifiers_sharing_redis_fetch_the_jwks_once(idp: LocalIssuer, redis_url: str) -> None:
    """Four verifiers with one redis_url: one JWKS fetch in all, and a discovery each (a
    process never takes its jwks_uri from Redis)."""
    token = idp.mint()
    for _ in range(4):
        assert _verifier(idp, redis_url).verify(token).sub == "test-user"
    assert idp.counts == {idp.oidc_path: 4, idp.jwks_path: 1}


def test_without_redis_url_each_verifier_fetches(idp: LocalIssuer) -> None:
    """The same four verifiers without redis_url= fetch four times (today's behaviour)."""
    token = idp.mint()
    for _ in range(4):
        _verifier(idp, None).verify(token)
    assert _jwks_fetches(idp) == 4


def test_a_rotation_costs_one_fetch_for_all(idp: LocalIssuer, redis_url: str) -> None:
    """After a rotation, the new key's first token costs one fetch across the verifiers."""
    verifiers = [_verifier(idp, redis_url) for _ in range(4)]
    first = idp.mint()
    for verifier in verifiers:
        verifier.verify(first)
    time.sleep(POLICY.cooldown)  # each verifier's own unknown-kid cooldown
    idp.rotate()
    second = idp.mint()
    for verifier in verifiers:
        assert verifier.verify(second).sub == "test-user"
    assert _jwks_fetches(idp) == 2


def test_unknown_kids_cost_one_fetch_per_cooldown_for_all(idp: LocalIssuer, redis_url: str) -> None:
    """Twelve made-up kids at four verifiers within one cooldown: one refetch in all."""
    verifiers = [_verifier(idp, redis_url) for _ in range(4)]
    for verifier in verifiers:
        verifier.verify(idp.mint())
    time.sleep(POLICY.cooldown)
    started = time.monotonic()
    for n in range(3):
        for m, verifier in enumerate(verifiers):
            with pytest.raises(UnknownKey):
                verifier.verify(idp.mint(headers={"kid": f"made-up-{n}-{m}"}))
    assert time.monotonic() - started < POLICY.cooldown, "the flood fits in one cooldown"
    assert _jwks_fetches(idp) == 2


def test_no_unknown_kid_refetch_right_after_the_fleet_fetched(
    idp: LocalIssuer, redis_url: str
) -> None:
    """Within the cooldown of the fleet's last fetch, an unknown kid fetches nowhere."""
    verifiers = [_verifier(idp, redis_url, KeySetPolicy(cooldown=30, timeout=2)) for _ in range(4)]
    for n, verifier in enumerate(verifiers):
        verifier.verify(idp.mint())
        with pytest.raises(UnknownKey):
            verifier.verify(idp.mint(headers={"kid": f"made-up-{n}"}))
    assert _jwks_fetches(idp) == 1


def test_a_key_published_by_another_process_is_parsed_like_a_fetched_one(
    idp: LocalIssuer, redis_url: str, client: Any
) -> None:
    """A verifier that reads the keys from Redis checks tokens with them exactly."""
    _verifier(idp, redis_url).verify(idp.mint())
    reader = _verifier(idp, redis_url)
    assert reader.verify(idp.mint(scopes=["orders:read"])).scopes == frozenset({"orders:read"})
    with pytest.raises(UnknownKey):
        reader.verify(idp.mint(headers={"kid": "not-published"}))
    assert client.exists(redis_key(idp.oidc_url)) == 1


def _publish(client: Any, idp: LocalIssuer, meta: dict[str, Any] | None, body: bytes) -> None:
    key = redis_key(idp.oidc_url)
    client.delete(key)
    if meta is None:
        client.set(key, body)
        return
    client.hset(key, mapping={"meta": json.dumps(meta), "jwks": body})


def _document(idp: LocalIssuer, body: bytes, **changes: Any) -> dict[str, Any]:
    meta = {
        "v": 1,
        "source": idp.oidc_url,
        "jwks_uri": idp.jwks_uri,
        "fetched_at": time.time(),
        "etag": None,
        "cache_control": "max-age=300",
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    meta.update(changes)
    return meta


EMPTY_JWKS = b'{"keys": []}'
OTHER_KEYS = None  # filled with a foreign issuer's JWKS by the test


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        pytest.param("string", "it is not a bearerguard document", id="not-a-hash"),
        pytest.param("garbage-meta", "its metadata is not a JSON object", id="garbage-metadata"),
        pytest.param("garbage-jwks", "JWKS at", id="garbage-jwks"),
        pytest.param("empty-jwks", "holds no usable signing key", id="no-keys"),
        pytest.param("oversized", "larger than", id="oversized"),
        pytest.param("foreign", "published for another URL", id="foreign-source"),
        pytest.param("digest", "does not match its digest", id="digest-mismatch"),
        pytest.param("future", "fetched in the future", id="from-the-future"),
        pytest.param("version", "of this version", id="other-version"),
        pytest.param("duplicate", "its metadata is not a JSON object", id="duplicate-member"),
    ],
)
def test_a_bad_document_in_redis_is_ignored_and_the_process_fetches(
    idp: LocalIssuer,
    redis_url: str,
    client: Any,
    caplog: pytest.LogCaptureFixture,
    case: str,
    reason: str,
) -> None:
    """A garbage, oversized or foreign document in Redis: logged, ignored, keys fetched."""
    body = b'{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}' if case == "garbage-jwks" else EMPTY_JWKS
    meta: dict[str, Any] | None = _document(idp, body)
    if case == "string":
        meta = None
    elif case == "garbage-meta":
        client.delete(redis_key(idp.oidc_url))
        client.hset(redis_key(idp.oidc_url), mapping={"meta": b"\xff{not json", "jwks": body})
        meta = {}
    elif case == "oversized":
        body = b" " * (POLICY.max_bytes + 1)
        meta = _document(idp, body)
    elif case == "foreign":
        meta = _document(
            idp, body, source="https://other.example.com/.well-known/openid-configuration"
        )
    elif case == "digest":
        meta = _document(idp, body, sha256="0" * 64)
    elif case == "future":
        meta = _document(idp, body, fetched_at=time.time() + 3600)
    elif case == "version":
        meta = _document(idp, body, v=2)
    if case == "duplicate":
        key = redis_key(idp.oidc_url)
        client.delete(key)
        text = json.dumps(_document(idp, body))[:-1] + ', "v": 1}'
        client.hset(key, mapping={"meta": text, "jwks": body})
    elif meta != {}:
        _publish(client, idp, meta, body)
    token = idp.mint()
    with caplog.at_level(logging.WARNING, logger="bearerguard.keyset"):
        assert _verifier(idp, redis_url).verify(token).sub == "test-user"
    assert _jwks_fetches(idp) == 1
    ignored = [r.getMessage() for r in caplog.records if "in Redis ignored" in r.getMessage()]
    assert ignored, "the ignored document is logged"
    assert reason in ignored[0]
    assert token not in caplog.text


def test_a_document_for_another_jwks_uri_is_ignored(
    idp: LocalIssuer, redis_url: str, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A set configured with jwks_uri= takes only a document published for that URL."""
    other = LocalIssuer(audience=AUD).start()
    try:
        body = _jwks_of(other)
    finally:
        other.stop()
    key = redis_key(idp.jwks_uri)
    client.delete(key)
    meta = _document(idp, body, source=idp.jwks_uri, jwks_uri="http://127.0.0.1:9/jwks.json")
    client.hset(key, mapping={"meta": json.dumps(meta), "jwks": body})
    issuer = Issuer.from_jwks_url(
        idp.jwks_uri, issuer=idp.url, validator=Validator(aud=AUD), policy=POLICY, lazy=True
    )
    with caplog.at_level(logging.WARNING, logger="bearerguard.keyset"):
        assert Verifier([issuer], redis_url=redis_url).verify(idp.mint()).sub == "test-user"
    assert "published for another URL" in caplog.text
    assert _jwks_fetches(idp) == 1


def test_a_discovered_set_takes_no_jwks_uri_from_an_ignored_document(
    idp: LocalIssuer, redis_url: str, client: Any
) -> None:
    """A document that fails its checks never decides where a discovered set fetches keys."""
    meta = _document(idp, EMPTY_JWKS, jwks_uri="http://127.0.0.1:9/jwks.json")
    _publish(client, idp, meta, EMPTY_JWKS)
    verifier = _verifier(idp, redis_url)
    assert verifier.verify(idp.mint()).sub == "test-user"
    keys = verifier.issuers[0].keys
    assert isinstance(keys, RemoteKeySet)
    assert keys.jwks_uri == idp.jwks_uri
    assert idp.counts == {idp.oidc_path: 1, idp.jwks_path: 1}


def _jwks_of(issuer: LocalIssuer) -> bytes:
    import urllib.request

    with urllib.request.urlopen(issuer.jwks_uri, timeout=5) as response:
        return bytes(response.read())


def test_the_fetching_process_replaces_a_bad_document(
    idp: LocalIssuer, redis_url: str, client: Any
) -> None:
    """After a garbage document was ignored, the fetched JWKS is published for the others."""
    _publish(client, idp, None, b"garbage")
    token = idp.mint()
    _verifier(idp, redis_url).verify(token)
    _verifier(idp, redis_url).verify(token)
    assert _jwks_fetches(idp) == 1


def test_with_redis_down_each_verifier_fetches_for_itself(
    idp: LocalIssuer, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens at redis_url: valid tokens verify, each verifier fetching alone."""
    dead = "redis://127.0.0.1:9/0"  # the discard port: connection refused
    token = idp.mint()
    with caplog.at_level(logging.WARNING, logger="bearerguard.redis"):
        for _ in range(3):
            assert _verifier(idp, dead).verify(token).sub == "test-user"
    assert _jwks_fetches(idp) == 3
    assert "working without it" in caplog.text
    assert "9/0" not in caplog.text or "127.0.0.1:9/0" in caplog.text


def test_a_lock_holder_that_fails_leaves_the_others_to_fetch(
    idp: LocalIssuer, redis_url: str
) -> None:
    """A fetch failure by one verifier is not shared: the next one fetches and succeeds."""
    idp.force_status(503, idp.jwks_path, times=1)
    token = idp.mint()
    with pytest.raises(KeySetUnavailable):
        _verifier(idp, redis_url).verify(token)
    assert _verifier(idp, redis_url).verify(token).sub == "test-user"
    assert _jwks_fetches(idp) == 2


def _loaded_pair(idp: LocalIssuer, redis_url: str) -> tuple[Verifier[AccessClaims], ...]:
    """Two verifiers holding the keys, the second having refreshed them since (same keys)."""
    first, second = _verifier(idp, redis_url), _verifier(idp, redis_url)
    first.verify(idp.mint())
    second.verify(idp.mint())
    time.sleep(POLICY.cooldown)
    keys = second.issuers[0].keys
    assert isinstance(keys, RemoteKeySet)
    keys.refresh()
    assert _jwks_fetches(idp) == 2
    return first, second


def test_a_newer_document_without_the_kid_does_not_stop_a_fetch(
    idp: LocalIssuer, redis_url: str
) -> None:
    """Past the fleet's cooldown, a kid missing from the latest shared JWKS is fetched for."""
    first, _ = _loaded_pair(idp, redis_url)
    time.sleep(POLICY.cooldown)
    idp.rotate()
    assert first.verify(idp.mint()).sub == "test-user"
    assert _jwks_fetches(idp) == 3


def test_a_kid_refused_in_the_fleet_cooldown_is_not_remembered_as_absent(
    idp: LocalIssuer, redis_url: str
) -> None:
    """Within the cooldown of another process's fetch, a new kid is refused (401) but not
    remembered as absent: once the cooldown is over it is fetched and accepted."""
    first, _ = _loaded_pair(idp, redis_url)
    idp.rotate()
    token = idp.mint()
    with pytest.raises(UnknownKey):
        first.verify(token)
    assert _jwks_fetches(idp) == 2
    time.sleep(POLICY.cooldown)
    assert first.verify(token).sub == "test-user"
    assert _jwks_fetches(idp) == 3


def test_an_entra_group_accepting_any_tenant_shares_its_key_set(redis_url: str) -> None:
    """A multi-tenant Entra ID profile (ANY_TENANT): two verifiers, one JWKS fetch."""
    from bearerguard import providers
    from bearerguard.testing import FakeProvider

    with FakeProvider.entra("organizations", allowed_tenants=providers.ANY_TENANT) as fake:
        token = fake.mint()
        for _ in range(2):
            assert Verifier([fake.profile()], redis_url=redis_url).verify(token).aud
        fetches = {path: n for path, n in fake.counts.items() if path.endswith("/keys")}
    assert list(fetches.values()) == [1]


def test_a_lock_holder_that_never_delivers_costs_no_refusal(
    idp: LocalIssuer, redis_url: str, client: Any
) -> None:
    """A process that took the lock and died: the next one waits half its timeout, then
    fetches for itself in time to answer the token."""
    client.set(redis_key(idp.oidc_url) + ":lock", "a-process-that-died", px=60_000)
    started = time.monotonic()
    assert _verifier(idp, redis_url).verify(idp.mint()).sub == "test-user"
    assert time.monotonic() - started < POLICY.timeout
    assert _jwks_fetches(idp) == 1


def test_a_slow_discovery_counts_in_the_wait_for_a_lock_holder(
    idp: LocalIssuer, redis_url: str, client: Any
) -> None:
    """Discovery taking 60 % of the timeout, then a lock holder that died: the wait for it
    ends at half the timeout since the fetch began, and the token is answered in time."""
    client.set(redis_key(idp.oidc_url) + ":lock", "a-process-that-died", px=60_000)
    idp.delay(0.6 * POLICY.timeout, idp.oidc_path, times=1)
    started = time.monotonic()
    assert _verifier(idp, redis_url).verify(idp.mint()).sub == "test-user"
    assert time.monotonic() - started < POLICY.timeout
    assert idp.counts == {idp.oidc_path: 1, idp.jwks_path: 1}


def test_a_paused_redis_costs_one_short_timeout(idp: LocalIssuer, tmp_path: Path) -> None:
    """Redis not answering (CLIENT PAUSE): the token verifies after one 0.25 s timeout."""
    with redis_server(tmp_path, dedicated=True) as url:
        paused: Any = redis.Redis.from_url(url)
        paused.execute_command("CLIENT", "PAUSE", 1500, "ALL")
        started = time.monotonic()
        assert _verifier(idp, url).verify(idp.mint()).sub == "test-user"
        assert time.monotonic() - started < 1.0
        assert _jwks_fetches(idp) == 1
        time.sleep(1.5)  # the pause ends before the server is stopped
        paused.close()
