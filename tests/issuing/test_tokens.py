"""TokenIssuer: RFC 9068 access tokens and rotating refresh tokens."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import jwt
import pytest

from bearerguard import ConfigurationError, Issuer, Validator
from bearerguard.issuing import (
    InMemoryRefreshStore,
    InvalidGrant,
    InvalidScope,
    KeyPair,
    KeyPairSigner,
    RefreshTokenReused,
    TokenIssuer,
    TokenResponse,
    jwks_document,
)
from bearerguard.issuing._refresh import refresh_token_family
from tests.support.clock import FakeClock

from .conftest import T0

ISS = "https://login.example.com"
AUD = "api://orders"
DAY = 86400.0


@pytest.fixture
def token_issuer(rsa2048: KeyPair, clock: FakeClock) -> TokenIssuer:
    return TokenIssuer(signer=KeyPairSigner(rsa2048), issuer=ISS, audience=AUD, clock=clock)


def _payload(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


# -- access tokens ----------------------------------------------------------------------------


def test_access_token_has_the_rfc9068_claims(token_issuer: TokenIssuer) -> None:
    token, expires_at = token_issuer.generate_access_token("user-42", "web-app", ["orders:read"])
    payload = _payload(token)
    assert payload == {
        "iss": ISS,
        "sub": "user-42",
        "aud": AUD,
        "exp": int(T0) + 900,
        "iat": int(T0),
        "jti": payload["jti"],
        "client_id": "web-app",
        "scope": "orders:read",
    }
    assert len(payload["jti"]) == 22
    assert expires_at == datetime.fromtimestamp(T0 + 900, tz=timezone.utc)


def test_access_token_header_has_kid_and_typ(token_issuer: TokenIssuer, rsa2048: KeyPair) -> None:
    token, _ = token_issuer.generate_access_token("user-42", "web-app", [])
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "kid": rsa2048.kid, "typ": "at+jwt"}


def test_every_access_token_gets_its_own_jti(token_issuer: TokenIssuer) -> None:
    tokens = [token_issuer.generate_access_token("u", "c", [])[0] for _ in range(3)]
    assert len({_payload(t)["jti"] for t in tokens}) == 3


def test_access_token_options(rsa2048: KeyPair, clock: FakeClock) -> None:
    issuer = TokenIssuer(
        signer=KeyPairSigner(rsa2048),
        issuer=ISS,
        audience=(AUD, "api://billing"),
        access_token_ttl=60,
        include_nbf=True,
        clock=clock,
    )
    token, _ = issuer.generate_access_token(
        "user-42", "web-app", ["a"], roles=["admin"], extra={"tenant": "acme"}, auth_time=T0 - 5
    )
    payload = _payload(token)
    assert {k: payload[k] for k in ("aud", "nbf", "exp", "roles", "tenant", "auth_time")} == {
        "aud": [AUD, "api://billing"],
        "nbf": int(T0),
        "exp": int(T0) + 60,
        "roles": ["admin"],
        "tenant": "acme",
        "auth_time": int(T0) - 5,
    }


def test_access_token_verifies_with_bearerguard_in_strict_rfc9068_mode(
    token_issuer: TokenIssuer, rsa2048: KeyPair
) -> None:
    token, _ = token_issuer.generate_access_token(
        "user-42", "web-app", ["orders:read", "orders:write"]
    )
    verifier = Issuer(ISS, [rsa2048.public_jwk], Validator(aud=AUD, rfc9068=True))
    _, claims = verifier.verify_and_validate(token, now=T0 + 1)
    assert (claims.sub, claims.client_id, claims.scopes) == (
        "user-42",
        "web-app",
        frozenset({"orders:read", "orders:write"}),
    )


@pytest.mark.parametrize("fixture", ["rsa2048", "ec256", "ed25519"])
def test_access_token_verifies_with_pyjwt_given_the_jwks(
    request: pytest.FixtureRequest, fixture: str, clock: FakeClock
) -> None:
    pair: KeyPair = request.getfixturevalue(fixture)
    signer = KeyPairSigner(pair)
    issuer = TokenIssuer(signer=signer, issuer=ISS, audience=AUD)  # real clock: PyJWT checks exp
    token, _ = issuer.generate_access_token("user-42", "web-app", ["orders:read"])
    key = jwt.PyJWK(jwks_document([signer])["keys"][0])
    claims = jwt.decode(token, key.key, algorithms=[pair.alg], audience=AUD, issuer=ISS)
    assert claims["sub"] == "user-42"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"issuer": "http://login.example.com"},
                     "issuer must use https (plain http is only allowed for loopback addresses): "
                     "'http://login.example.com'", id="http-issuer"),
        pytest.param({"audience": ""}, "audience must be a non-empty string or strings",
                     id="empty-audience"),
        pytest.param({"access_token_ttl": 0},
                     "access_token_ttl must be a positive number of seconds", id="zero-ttl"),
        pytest.param({"refresh_token_max_lifetime": -1},
                     "refresh_token_max_lifetime must be a positive number of seconds",
                     id="negative-lifetime"),
        pytest.param({"signer": object()}, "signer must be a TokenSigner (e.g. KeyPairSigner)",
                     id="not-a-signer"),
        pytest.param({"refresh_store": {}},
                     "refresh_store must implement the RefreshStore protocol", id="not-a-store"),
    ],
)  # fmt: skip
def test_token_issuer_configuration_is_validated(
    rsa2048: KeyPair, changes: dict[str, Any], message: str
) -> None:
    options: dict[str, Any] = {"signer": KeyPairSigner(rsa2048), "issuer": ISS, "audience": AUD}
    with pytest.raises(ConfigurationError) as info:
        TokenIssuer(**{**options, **changes})
    assert info.value.description == message


def test_default_store_shares_the_issuer_clock(token_issuer: TokenIssuer, clock: FakeClock) -> None:
    assert isinstance(token_issuer.store, InMemoryRefreshStore)
    token = token_issuer.generate_refresh_token("user-42", "web-app")
    clock.advance(14 * DAY)
    assert token_issuer.store.get(token) is None


# -- refresh tokens ---------------------------------------------------------------------------


def test_issue_returns_an_rfc6749_token_response(token_issuer: TokenIssuer) -> None:
    response = token_issuer.issue("user-42", "web-app", ["orders:read"])
    assert response.to_dict() == {
        "access_token": response.access_token,
        "token_type": "Bearer",
        "expires_in": 900,
        "refresh_token": response.refresh_token,
        "scope": "orders:read",
    }


def test_issue_without_refresh_token(token_issuer: TokenIssuer) -> None:
    response = token_issuer.issue("user-42", "web-app", [], refresh=False)
    assert response.to_dict() == {
        "access_token": response.access_token,
        "token_type": "Bearer",
        "expires_in": 900,
    }


def test_refresh_token_is_stored_with_its_grant(token_issuer: TokenIssuer) -> None:
    token = token_issuer.generate_refresh_token("user-42", "web-app", ["orders:read"])
    claims = token_issuer.store.get(token)
    assert claims is not None
    assert (claims.sub, claims.client_id, claims.scopes, claims.iat, claims.exp) == (
        "user-42",
        "web-app",
        ("orders:read",),
        T0,
        T0 + 14 * DAY,
    )
    assert claims.auth_time == T0


def _refresh(issuer: TokenIssuer, token: str | None, **kwargs: Any) -> TokenResponse:
    assert token is not None
    return issuer.refresh(token, client_id=kwargs.pop("client_id", "web-app"), **kwargs)


def test_refresh_rotates_the_refresh_token(token_issuer: TokenIssuer) -> None:
    first = token_issuer.issue("user-42", "web-app", ["orders:read"])
    second = _refresh(token_issuer, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert refresh_token_family(second.refresh_token or "") == refresh_token_family(
        first.refresh_token or ""
    )
    assert _payload(second.access_token)["scope"] == "orders:read"
    assert token_issuer.store.get(first.refresh_token or "") is None


def test_refreshing_with_a_used_token_revokes_the_grant(token_issuer: TokenIssuer) -> None:
    first = token_issuer.issue("user-42", "web-app", ["orders:read"])
    second = _refresh(token_issuer, first.refresh_token)
    with pytest.raises(RefreshTokenReused):
        _refresh(token_issuer, first.refresh_token)
    with pytest.raises(InvalidGrant) as info:
        _refresh(token_issuer, second.refresh_token)
    assert info.value.description == "refresh token has been revoked"


def test_refresh_by_another_client_revokes_the_grant(token_issuer: TokenIssuer) -> None:
    first = token_issuer.issue("user-42", "web-app", [])
    with pytest.raises(InvalidGrant) as info:
        _refresh(token_issuer, first.refresh_token, client_id="other-app")
    assert info.value.description == "refresh token was issued to another client"
    with pytest.raises(InvalidGrant):
        _refresh(token_issuer, first.refresh_token)


def test_refresh_may_narrow_the_scopes(token_issuer: TokenIssuer) -> None:
    first = token_issuer.issue("user-42", "web-app", ["orders:read", "orders:write"])
    narrow = _refresh(token_issuer, first.refresh_token, scopes=["orders:read"])
    assert _payload(narrow.access_token)["scope"] == "orders:read"
    full = _refresh(token_issuer, narrow.refresh_token)  # the grant keeps its original scopes
    assert _payload(full.access_token)["scope"] == "orders:read orders:write"


def test_refresh_cannot_widen_the_scopes_and_keeps_the_token(token_issuer: TokenIssuer) -> None:
    first = token_issuer.issue("user-42", "web-app", ["orders:read"])
    with pytest.raises(InvalidScope) as info:
        _refresh(token_issuer, first.refresh_token, scopes=["orders:read", "admin"])
    assert info.value.description == "scope not granted to this refresh token: admin"
    assert _refresh(token_issuer, first.refresh_token).refresh_token is not None


def test_refresh_ttl_is_capped_by_the_grant_lifetime(
    token_issuer: TokenIssuer, clock: FakeClock
) -> None:
    """Refreshed every 13 days a grant would live forever; it ends 90 days after login."""
    token = token_issuer.issue("user-42", "web-app", []).refresh_token
    for _ in range(6):
        clock.advance(13 * DAY)
        token = _refresh(token_issuer, token).refresh_token
    claims = token_issuer.store.get(token or "")
    assert claims is not None
    assert claims.exp == T0 + 90 * DAY
    clock.advance(12 * DAY)
    with pytest.raises(InvalidGrant) as info:
        _refresh(token_issuer, token)
    assert info.value.description == "refresh token is invalid or expired"


def test_grant_past_a_shortened_maximum_lifetime_is_refused(
    token_issuer: TokenIssuer, clock: FakeClock
) -> None:
    """After the operator shortens the maximum lifetime, older grants end at the next refresh."""
    token = token_issuer.issue("user-42", "web-app", []).refresh_token
    stricter = TokenIssuer(
        signer=token_issuer.signer,
        issuer=ISS,
        audience=AUD,
        refresh_store=token_issuer.store,
        refresh_token_max_lifetime=DAY,
        clock=clock,
    )
    clock.advance(2 * DAY)
    with pytest.raises(InvalidGrant) as info:
        _refresh(stricter, token)
    assert info.value.description == "the grant has reached its maximum lifetime; log in again"
    assert token_issuer.store.get(token or "") is None


def test_revoke_refresh_token(token_issuer: TokenIssuer) -> None:
    token = token_issuer.issue("user-42", "web-app", []).refresh_token or ""
    assert token_issuer.revoke_refresh_token(token) is True
    with pytest.raises(InvalidGrant):
        _refresh(token_issuer, token)


def test_a_lone_scope_string_is_one_scope_not_its_letters(token_issuer: TokenIssuer) -> None:
    """issue(..., "orders:read") grants that one scope (it used to be split into letters)."""
    response = token_issuer.issue("alice", "web", "orders:read")
    assert (response.scopes, _payload(response.access_token)["scope"]) == (
        ("orders:read",),
        "orders:read",
    )
