"""OpenTelemetry metrics of a Verifier (``meter_provider=``), read with the SDK's in-memory reader.

Without ``meter_provider=`` nothing imports ``opentelemetry`` (a fresh
interpreter proves it); with it, each verification adds one count with its
outcome, error, issuer and algorithm, one latency sample in seconds, and
the key sets' fetches, failures and age are reported.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import Histogram, InMemoryMetricReader

from bearerguard import ConfigurationError, ExpiredToken, Issuer, KeySetUnavailable, Validator
from bearerguard.keyset import RemoteKeySet
from bearerguard.verifier import Verifier
from tests.support.clock import FakeClock
from tests.support.jwks_server import JWKSServer, Reply
from tests.support.keys import jwks
from tests.support.keys import mint as mint_rs256

from .conftest import AUD, ISS, T0, EditableKeys, Mint, issuer_with, jwk_of

NOW = T0 + 10


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """Metric name -> [(attributes, value)]; a histogram's value is its sample count."""
    found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "bearerguard"
            for metric in scope.metrics:
                found[metric.name] = [
                    (dict(p.attributes or {}), getattr(p, "count", None) or getattr(p, "value"))
                    for p in metric.data.data_points
                ]
    return found


@pytest.fixture
def source(signing_keys: Any) -> EditableKeys:
    return EditableKeys(jwk_of(signing_keys, "k1"))


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def verifier(source: EditableKeys, reader: InMemoryMetricReader) -> Verifier[Any]:
    provider = MeterProvider(metric_readers=[reader])
    return Verifier([issuer_with(source)], meter_provider=provider)


VERIFIED = {
    "bearerguard.outcome": "verified",
    "bearerguard.issuer": ISS,
    "bearerguard.algorithm": "ES256",
}


def test_verifications_are_counted_by_outcome_issuer_and_algorithm(
    verifier: Verifier[Any], mint: Mint, reader: InMemoryMetricReader
) -> None:
    """Two verified tokens are one series of 2; an expired one is a refused one with its error."""
    verifier.verify(mint(), now=NOW)
    verifier.verify(mint(), now=NOW)
    with pytest.raises(ExpiredToken):
        verifier.verify(mint(iat=T0 - 1200, exp=T0 - 600), now=NOW)
    assert sorted(points(reader)["bearerguard.verifications"], key=repr) == sorted(
        [
            (VERIFIED, 2),
            (
                {
                    "bearerguard.outcome": "refused",
                    "bearerguard.error": "ExpiredToken",
                    "bearerguard.error_code": "invalid_token",
                    "bearerguard.issuer": ISS,
                    "bearerguard.algorithm": "ES256",
                },
                1,
            ),
        ],
        key=repr,
    )


def test_a_token_from_an_unknown_issuer_is_counted_without_issuer_or_algorithm(
    verifier: Verifier[Any], mint: Mint, reader: InMemoryMetricReader
) -> None:
    """The unverified iss of a refused token never becomes an attribute value."""
    with pytest.raises(Exception, match="not a trusted issuer"):
        verifier.verify(mint(iss="https://attacker.example"), now=NOW)
    assert points(reader)["bearerguard.verifications"] == [
        (
            {
                "bearerguard.outcome": "refused",
                "bearerguard.error": "IssuerMismatch",
                "bearerguard.error_code": "invalid_token",
            },
            1,
        )
    ]


def test_latency_is_one_sample_in_seconds_per_verification(
    verifier: Verifier[Any], mint: Mint, reader: InMemoryMetricReader
) -> None:
    """The duration histogram's unit is seconds and it counts sync and async calls alike."""
    token = mint()
    verifier.verify(token, now=NOW)
    asyncio.run(verifier.averify(token, now=NOW))
    with pytest.raises(ExpiredToken):
        asyncio.run(verifier.averify(mint(iat=T0 - 1200, exp=T0 - 600), now=NOW))
    data = reader.get_metrics_data()
    assert data is not None
    (metric,) = [
        m
        for r in data.resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
        if m.name == "bearerguard.verification.duration"
    ]
    assert metric.unit == "s"
    assert isinstance(metric.data, Histogram)
    counts = {
        dict(p.attributes or {})["bearerguard.outcome"]: p.count for p in metric.data.data_points
    }
    assert counts == {"verified": 2, "refused": 1}
    assert all(0 < p.max < 1 for p in metric.data.data_points)


def test_cache_hits_are_counted(
    verifier: Verifier[Any], mint: Mint, reader: InMemoryMetricReader
) -> None:
    """A token verified three times is one miss and two cache hits, all counted as verified."""
    token = mint()
    for _ in range(3):
        verifier.verify(token, now=NOW)
    found = points(reader)
    assert found["bearerguard.cache.hits"] == [({}, 2)]
    assert found["bearerguard.verifications"] == [(VERIFIED, 3)]


def test_key_set_fetches_failures_and_age_are_reported(
    server: JWKSServer, clock: FakeClock, fetcher: Any, reader: InMemoryMetricReader
) -> None:
    """One fetch, then a failed refetch (the old keys stay): one of each, and the set's age."""
    seen: list[str] = []
    server.set_json("/jwks", jwks("old"))
    keys = RemoteKeySet(
        server.url("/jwks"), fetcher=fetcher, clock=clock, on_event=lambda e: seen.append(e.kind)
    )
    verifier = Verifier(
        [Issuer(server.base_url, keys, Validator(aud=AUD))],
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    verifier.verify(mint_rs256("old", iss=server.base_url))
    server.set("/jwks", Reply(status=500))
    clock.advance(24 * 3600)
    with pytest.raises(KeySetUnavailable):
        verifier.verify(mint_rs256("new", iss=server.base_url))
    where = {"bearerguard.jwks_uri": server.url("/jwks")}
    found = points(reader)
    assert found["bearerguard.keyset.fetches"] == [(where, 1)]
    assert found["bearerguard.keyset.fetch_failures"] == [(where, 1)]
    ((attributes, age),) = found["bearerguard.keyset.age"]
    assert attributes == where
    assert age == pytest.approx(24 * 3600, abs=5)
    assert seen[0] == "fetched"  # the set's own on_event still hears every event
    assert "failed" in seen


def test_keys_served_past_their_lifetime_are_counted_as_stale(
    server: JWKSServer, clock: FakeClock, fetcher: Any, reader: InMemoryMetricReader
) -> None:
    """Past the keys' lifetime with the JWKS answering 500, the old keys still verify: one
    stale-served count, one failure, and the token counted as verified."""
    server.set_json("/jwks", jwks("old"))
    keys = RemoteKeySet(server.url("/jwks"), fetcher=fetcher, clock=clock)
    verifier = Verifier(
        [Issuer(server.base_url, keys, Validator(aud=AUD))],
        cache_size=0,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    verifier.verify(mint_rs256("old", iss=server.base_url))
    server.set("/jwks", Reply(status=500))
    clock.advance(3600)  # past the 900 s default lifetime, well within max_stale
    verifier.verify(mint_rs256("old", iss=server.base_url))
    where = {"bearerguard.jwks_uri": server.url("/jwks")}
    found = points(reader)
    assert found["bearerguard.keyset.stale_served"] == [(where, 1)]
    assert found["bearerguard.keyset.fetch_failures"] == [(where, 1)]
    assert [value for _, value in found["bearerguard.verifications"]] == [2]


def test_an_async_cache_hit_is_counted(
    verifier: Verifier[Any], mint: Mint, reader: InMemoryMetricReader
) -> None:
    """averify answers the second use of a token from the cache and counts the hit."""
    token = mint()

    async def twice() -> None:
        await verifier.averify(token, now=NOW)
        await verifier.averify(token, now=NOW)

    asyncio.run(twice())
    found = points(reader)
    assert found["bearerguard.cache.hits"] == [({}, 1)]
    assert found["bearerguard.verifications"] == [(VERIFIED, 2)]


def test_meter_provider_must_be_a_meter_provider(source: EditableKeys) -> None:
    with pytest.raises(ConfigurationError, match=r"MeterProvider \(pip install"):
        Verifier([issuer_with(source)], meter_provider="yes")  # type: ignore[call-overload]


def test_verifying_without_metrics_never_imports_opentelemetry() -> None:
    """A fresh interpreter imports bearerguard and verifies; opentelemetry stays unloaded."""
    script = """
import json, sys
from cryptography.hazmat.primitives.asymmetric import ec
import jwt
from bearerguard import Issuer, PublicJWK, Validator, Verifier
key = ec.generate_private_key(ec.SECP256R1())
iss = "https://issuer.example.com"
verifier = Verifier([Issuer(iss, [PublicJWK.from_key(key.public_key(), kid="k")],
                            Validator(aud="api"))])
token = jwt.encode({"iss": iss, "aud": "api", "sub": "u", "exp": 4_000_000_000},
                   key, algorithm="ES256", headers={"kid": "k"})
verifier.verify(token)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("opentelemetry"))))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert json.loads(result.stdout) == []
