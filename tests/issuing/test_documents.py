"""jwks_document, authorization_server_metadata and discovery_document builders."""

from __future__ import annotations

from typing import Any

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from bearerguard import ConfigurationError, PublicJWK, parse_jwks
from bearerguard._urls import jwks_uri_for
from bearerguard.issuing import (
    KeyPair,
    KeyPairSigner,
    authorization_server_metadata,
    discovery_document,
    jwks_document,
)

ISS = "https://login.example.com"
TOKEN_SERVER: dict[str, Any] = {
    "token_endpoint": ISS + "/token",
    "grant_types_supported": ["client_credentials", "refresh_token"],
    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    "scopes_supported": ["orders:read", "orders:write"],
}


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
        # A dict, not a key, on purpose: its refusal is the test.
        jwks_document([{"kty": "RSA"}])  # type: ignore[list-item]
    assert info.value.description == (
        "JWKS entries must be PublicJWK, KeyPair or TokenSigner objects, not dict"
    )


def test_discovery_document_minimal_claims_no_response_type_that_issues_anything() -> None:
    """Without an authorization endpoint, response_types_supported is ["none"], not ["code"]."""
    assert discovery_document(ISS) == {
        "issuer": ISS,
        "jwks_uri": ISS + "/.well-known/jwks.json",
        "response_types_supported": ["none"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


def test_authorization_server_metadata_of_a_token_endpoint() -> None:
    """RFC 8414 metadata lists the token endpoint's grants, methods and scopes, no OIDC members."""
    assert authorization_server_metadata(ISS, **TOKEN_SERVER) == {
        "issuer": ISS,
        "token_endpoint": ISS + "/token",
        "jwks_uri": ISS + "/.well-known/jwks.json",
        "scopes_supported": ["orders:read", "orders:write"],
        "response_types_supported": ["none"],
        "grant_types_supported": ["client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }


def test_authorization_server_metadata_passes_authlib_rfc8414_validation() -> None:
    AuthorizationServerMetadata(authorization_server_metadata(ISS, **TOKEN_SERVER)).validate()


def test_discovery_document_passes_authlib_openid_provider_validation() -> None:
    OpenIDProviderMetadata(discovery_document(ISS, **TOKEN_SERVER)).validate()


def test_discovery_document_adds_the_oidc_members_to_the_rfc8414_document() -> None:
    oidc = discovery_document(ISS, signing_algs=["ES256"], **TOKEN_SERVER)
    assert oidc == {
        **authorization_server_metadata(ISS, **TOKEN_SERVER),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }


def test_an_authorization_endpoint_makes_code_the_default_response_type() -> None:
    doc = authorization_server_metadata(
        ISS,
        authorization_endpoint=ISS + "/authorize",
        token_endpoint=ISS + "/token",
        grant_types_supported=["authorization_code"],
    )
    assert doc["response_types_supported"] == ["code"]
    AuthorizationServerMetadata(doc).validate()


def test_empty_lists_are_left_out() -> None:
    """RFC 8414 §3.2: claims with zero elements are omitted."""
    doc = authorization_server_metadata(ISS, **{**TOKEN_SERVER, "scopes_supported": []})
    assert "scopes_supported" not in doc


def test_discovery_document_with_endpoints_and_extras() -> None:
    doc = discovery_document(
        ISS + "/tenant-a/",
        jwks_uri="https://keys.example.com/jwks",
        signing_algs=["ES256", "RS256", "ES256"],
        authorization_endpoint=ISS + "/authorize",
        token_endpoint=ISS + "/token",
        scopes_supported=["orders:read"],
        grant_types_supported=["authorization_code", "refresh_token"],
        token_endpoint_auth_methods_supported=["client_secret_basic"],
        extra={"revocation_endpoint": ISS + "/revoke"},
    )
    assert doc == {
        "issuer": ISS + "/tenant-a/",
        "jwks_uri": "https://keys.example.com/jwks",
        "authorization_endpoint": ISS + "/authorize",
        "token_endpoint": ISS + "/token",
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
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
                     "extra may not replace issuer; use the keyword arguments", id="extra-issuer"),
        pytest.param(ISS, {"extra": {"response_types_supported": ["code"]}},
                     "extra may not replace response_types_supported; use the keyword arguments",
                     id="extra-response-types"),
        pytest.param(ISS, {"token_endpoint": "ftp://x", "grant_types_supported": []},
                     "token_endpoint must be an absolute http(s) URL, got 'ftp://x'",
                     id="bad-endpoint"),
        pytest.param(ISS, {"token_endpoint": ISS + "/token"},
                     "with a token_endpoint and no authorization_endpoint, give "
                     "grant_types_supported (RFC 8414 §2 reads its absence as authorization_code "
                     "and implicit)", id="token-endpoint-without-grant-types"),
        pytest.param(ISS, {**TOKEN_SERVER, "grant_types_supported": ["authorization_code"]},
                     "grant_types_supported lists authorization_code, which needs an "
                     "authorization_endpoint (RFC 8414 §2)", id="code-grant-without-endpoint"),
        pytest.param(ISS, {**TOKEN_SERVER, "response_types_supported": ["code"]},
                     "response_types_supported describes the authorization endpoint; give "
                     "authorization_endpoint or leave response_types_supported out",
                     id="code-response-without-endpoint"),
        pytest.param(ISS, {**TOKEN_SERVER, "response_types_supported": []},
                     "response_types_supported must not be empty (RFC 8414 §2 requires it); "
                     "leave it out to get the default", id="empty-response-types"),
        pytest.param(ISS, {"token_endpoint_auth_methods_supported": ["client_secret_basic"]},
                     "token_endpoint_auth_methods_supported needs token_endpoint",
                     id="auth-methods-without-endpoint"),
        pytest.param(ISS, {**TOKEN_SERVER, "grant_types_supported": ["client_credentials"] * 2},
                     "grant_types_supported lists a value twice", id="repeated-grant"),
        pytest.param(ISS, {**TOKEN_SERVER, "scopes_supported": ["orders read"]},
                     "scopes_supported: each scope must be one non-empty scope token, "
                     "got 'orders read'",
                     id="bad-scope"),
    ],
)  # fmt: skip
def test_discovery_document_is_validated(
    issuer: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        discovery_document(issuer, **options)
    assert info.value.description == message
