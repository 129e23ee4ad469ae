"""The issuing side and the testing kit: LocalIssuer, key pairs, the token issuer."""

from __future__ import annotations

from datetime import datetime

from typing_extensions import assert_type

from bearerguard.issuing import (
    AccessToken,
    KeyPair,
    KeyPairSigner,
    TokenIssuer,
    TokenResponse,
    generate_key_pair,
    jwks_document,
)
from bearerguard.testing import LocalIssuer


def local_issuer_mints_compact_tokens() -> None:
    with LocalIssuer(audience="api://orders") as issuer:
        assert_type(issuer, LocalIssuer)
        assert_type(issuer.mint(), str)
        assert_type(issuer.mint("alice", ["orders:read"], expires_in=60, tenant="acme"), str)
        assert_type(issuer.url, str)


def key_pairs_and_their_published_half() -> None:
    pair = generate_key_pair("EC", kid="k1")
    assert_type(pair, KeyPair)
    assert_type(pair.kid, str)
    assert_type(jwks_document([pair]), dict[str, list[dict[str, str]]])


def token_issuer_returns_tokens_and_responses(pair: KeyPair) -> None:
    issuer = TokenIssuer(
        signer=KeyPairSigner(pair), issuer="https://login.example.com", audience="api://orders"
    )
    access = issuer.generate_access_token("user-42", "web-app", ["orders:read"])
    assert_type(access, AccessToken)
    assert_type(access.token, str)
    assert_type(access.expires_at, datetime)
    response = issuer.issue("user-42", "web-app", ["orders:read"])
    assert_type(response, TokenResponse)
    assert_type(response.refresh_token, str | None)
