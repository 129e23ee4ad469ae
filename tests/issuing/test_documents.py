"""jwks_document and discovery_document builders."""

from __future__ import annotations

from typing import Any

import pytest

from bearerguard import ConfigurationError, PublicJWK, parse_jwks
from bearerguard.issuing import (
    KeyPair,
    KeyPairSigner,
    discovery_document,
    jwks_document,
    jwks_uri_for,
)

ISS = "https://login.example.com"


def test_jwks_lists_public_members_only(rsa2048: KeyPair, ec256: KeyPair) -> None:
    doc = jwks_document([rsa2048, KeyPairSigner(ec256)])
    assert doc == {"keys": [rsa2048.public_jwk.to_dict(), ec256.public_jwk.to_dict()]}
    assert sorted(doc["keys"][0]) == ["alg", "e", "kid", "kty", "n", "use"]
    assert sorted(doc["keys"][1]) == ["alg", "crv", "kid", "kty", "use", "x", "y"]


def test_jwks_round_trips_through_the_verifier_parser(rsa2048: KeyPair, ed25519: KeyPair) -> None:
    keys = parse_jwks(jwks_document([rsa2048.public_jwk, ed25519.public_jwk]))
    assert [(k.kid, k.alg) for k in keys] == [(rsa2048.kid, "RS256"), (ed25519.kid, "EdDSA")]


def test_jwks_lists_the_same_key_once(rsa2048: KeyPair) -> None:
    assert jwks_document([rsa2048, rsa2048.public_jwk]) == {"keys": [rsa2048.public_jwk.to_dict()]}


def test_jwks_refuses_two_keys_with_one_kid(rsa2048: KeyPair, ec256: KeyPair) -> None:
    clash = PublicJWK.from_key(ec256.public_key, kid=rsa2048.kid)
    with pytest.raises(ConfigurationError) as info:
        jwks_document([rsa2048, clash])
    assert info.value.description == "two different keys share the kid 'kid-2025-01'"


def test_jwks_refuses_other_objects() -> None:
    with pytest.raises(ConfigurationError) as info:
        jwks_document([{"kty": "RSA"}])  # type: ignore[list-item]
    assert info.value.description == (
        "JWKS entries must be PublicJWK, KeyPair or TokenSigner objects, not dict"
    )


def test_discovery_document_minimal() -> None:
    assert discovery_document(ISS) == {
        "issuer": ISS,
        "jwks_uri": ISS + "/.well-known/jwks.json",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def test_discovery_document_with_endpoints_and_extras() -> None:
    doc = discovery_document(
        ISS + "/tenant-a/",
        jwks_uri="https://keys.example.com/jwks",
        signing_algs=["ES256", "RS256", "ES256"],
        authorization_endpoint=ISS + "/authorize",
        token_endpoint=ISS + "/token",
        scopes_supported=["orders:read"],
        grant_types_supported=["authorization_code", "refresh_token"],
        extra={"revocation_endpoint": ISS + "/revoke"},
    )
    assert doc == {
        "issuer": ISS + "/tenant-a/",
        "jwks_uri": "https://keys.example.com/jwks",
        "authorization_endpoint": ISS + "/authorize",
        "token_endpoint": ISS + "/token",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": ["orders:read"],
        "revocation_endpoint": ISS + "/revoke",
    }


def test_jwks_uri_for_strips_a_trailing_slash() -> None:
    assert jwks_uri_for(ISS + "/tenant/") == ISS + "/tenant/.well-known/jwks.json"


def test_loopback_issuer_may_use_http() -> None:
    assert discovery_document("http://127.0.0.1:8080")["jwks_uri"] == (
        "http://127.0.0.1:8080/.well-known/jwks.json"
    )


@pytest.mark.parametrize(
    ("issuer", "options", "message"),
    [
        pytest.param("http://login.example.com", {},
                     "issuer must use https (plain http is only allowed for loopback addresses): "
                     "'http://login.example.com'", id="http-issuer"),
        pytest.param(ISS + "?tenant=a", {}, "issuer must not contain a query", id="query"),
        pytest.param(ISS, {"signing_algs": ["HS256"]},
                     "signing_algs must be asymmetric (no 'none', no HS*)", id="hmac"),
        pytest.param(ISS, {"signing_algs": []}, "signing_algs must name at least one algorithm",
                     id="no-algs"),
        pytest.param(ISS, {"extra": {"issuer": "https://evil.example"}},
                     "extra may not replace issuer", id="extra-issuer"),
        pytest.param(ISS, {"token_endpoint": "ftp://x"},
                     "token_endpoint must be an absolute http(s) URL, got 'ftp://x'",
                     id="bad-endpoint"),
    ],
)  # fmt: skip
def test_discovery_document_is_validated(
    issuer: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        discovery_document(issuer, **options)
    assert info.value.description == message
