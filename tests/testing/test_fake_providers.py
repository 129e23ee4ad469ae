"""FakeProvider: local stand-ins for identity providers, served over HTTP on 127.0.0.1.

The token shapes follow each provider's public documentation: Auth0 "Access Token
Profiles" and "Enable Role-Based Access Control for APIs" (``permissions``),
Keycloak's server administration guide (``realm_access``, ``resource_access``,
``azp``, ``typ: Bearer``, the realm's ``enc`` key) and Amazon Cognito's "Using
the access token" (``token_use``, ``client_id``, ``cognito:groups``, no ``aud``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask, g

from bearerguard import ConfigurationError, FetchError, InvalidToken, Verifier
from bearerguard.flask import BearerGuard
from bearerguard.testing import FakeProvider

PROVIDERS: list[Any] = [
    pytest.param(FakeProvider.auth0, id="auth0"),
    pytest.param(FakeProvider.keycloak, id="keycloak"),
    pytest.param(FakeProvider.cognito, id="cognito"),
]


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeProvider]:
    with request.param() as running:
        yield running


@pytest.mark.parametrize("fake", PROVIDERS, indirect=True)
def test_a_fake_token_verifies_through_the_matching_profile(fake: FakeProvider) -> None:
    """A token minted by the fake verifies through the provider's profile, with its issuer."""
    claims = Verifier([fake.profile()]).verify(fake.mint())
    assert claims.iss == fake.issuer


@pytest.mark.parametrize("fake", PROVIDERS, indirect=True)
def test_a_fake_token_verifies_through_flask(fake: FakeProvider) -> None:
    """Flask's BearerGuard with the profile answers 200 with the token's client."""
    app = Flask(__name__)
    BearerGuard(app, verifier=Verifier([fake.profile()]))

    @app.get("/me")
    def me() -> dict[str, Any]:
        return {"client": g.claims.client_id}

    response = app.test_client().get("/me", headers={"Authorization": f"Bearer {fake.mint()}"})
    expected = {"auth0": "my-spa-client", "keycloak": "shop-frontend"}
    assert (response.status_code, response.json) == (
        200,
        {"client": expected.get(fake.provider, "3n4b5urk1ft4fl3mg5e62d9ado")},
    )


EXPECTED: list[Any] = [
    pytest.param(
        FakeProvider.auth0,
        {"openid", "profile", "orders:read"},
        set(),
        "my-spa-client",
        {"permissions": ["orders:read"]},
        id="auth0-permissions-are-scopes",
    ),
    pytest.param(
        FakeProvider.keycloak,
        {"openid", "profile", "email"},
        {"default-roles-shop", "offline_access", "admin"},
        "shop-frontend",
        {"resource_access": {"shop-frontend": {"roles": ["admin"]}}},
        id="keycloak-realm-and-client-roles",
    ),
    pytest.param(
        FakeProvider.cognito,
        {"aws.cognito.signin.user.admin"},
        {"buyers"},
        "3n4b5urk1ft4fl3mg5e62d9ado",
        {"cognito:groups": ["buyers"]},
        id="cognito-groups-are-roles",
    ),
]


@pytest.mark.parametrize(("build", "scopes", "roles", "client", "extra"), EXPECTED)
def test_the_fake_claims_map_like_the_provider(
    build: Callable[[], FakeProvider],
    scopes: set[str],
    roles: set[str],
    client: str,
    extra: dict[str, Any],
) -> None:
    """The provider's claim layout fills scopes, roles and client_id through the profile."""
    with build() as fake:
        claims = Verifier([fake.profile()]).verify(fake.mint(**extra))
    assert (set(claims.scopes), set(claims.roles), claims.client_id) == (scopes, roles, client)


TRAPS: list[Any] = [
    pytest.param(
        FakeProvider.auth0,
        {"aud": "https://example.eu.auth0.com/userinfo"},
        "aud",
        id="auth0-userinfo-only-audience",
    ),
    pytest.param(
        FakeProvider.keycloak,
        {"azp": "another-client"},
        "azp",
        id="keycloak-token-of-another-client",
    ),
    pytest.param(
        FakeProvider.cognito,
        {"token_use": "id", "aud": "3n4b5urk1ft4fl3mg5e62d9ado", "client_id": None},
        "token_use",
        id="cognito-id-token",
    ),
]


@pytest.mark.parametrize(("build", "claims", "named"), TRAPS)
def test_each_provider_trap_is_refused(
    build: Callable[[], FakeProvider], claims: dict[str, Any], named: str
) -> None:
    """The provider's known trap is refused, and the refusal names the claim."""
    with build() as fake, pytest.raises(InvalidToken) as raised:
        Verifier([fake.profile()]).verify(fake.mint(**claims))
    assert named in str(raised.value)


@pytest.mark.parametrize(
    ("build", "discovery", "jwks"),
    [
        pytest.param(
            FakeProvider.auth0,
            "/.well-known/openid-configuration",
            "/.well-known/jwks.json",
            id="auth0",
        ),
        pytest.param(
            FakeProvider.keycloak,
            "/realms/shop/.well-known/openid-configuration",
            "/realms/shop/protocol/openid-connect/certs",
            id="keycloak",
        ),
        pytest.param(
            FakeProvider.cognito,
            "/eu-west-1_AbCdEf123/.well-known/openid-configuration",
            "/eu-west-1_AbCdEf123/.well-known/jwks.json",
            id="cognito",
        ),
    ],
)
def test_the_fake_serves_discovery_and_jwks_at_the_provider_paths(
    build: Callable[[], FakeProvider], discovery: str, jwks: str
) -> None:
    """Discovery names the provider's public issuer and JWKS URL; both are served on 127.0.0.1."""
    with build() as fake:
        document = requests.get(fake.url + discovery, timeout=5).json()
        keys = requests.get(fake.url + jwks, timeout=5).json()["keys"]
        assert fake.url.startswith("http://127.0.0.1:")
    assert (document["issuer"], document["jwks_uri"]) == (fake.issuer, fake.jwks_uri)
    assert fake.jwks_uri.endswith(jwks)
    assert keys[0]["use"] == "sig"


def test_the_keycloak_fake_publishes_an_encryption_key() -> None:
    """Like every Keycloak realm, the JWKS also holds an RSA-OAEP key with use "enc"."""
    with FakeProvider.keycloak() as fake:
        keys = requests.get(fake.url + "/realms/shop/protocol/openid-connect/certs", timeout=5)
    assert [(k["use"], k["alg"]) for k in keys.json()["keys"]] == [
        ("sig", "RS256"),
        ("enc", "RSA-OAEP"),
    ]


def test_the_keycloak_token_has_the_bearer_typ_claim_and_jwt_header() -> None:
    """Keycloak access tokens carry the claim typ "Bearer" and the header typ "JWT"."""
    import jwt

    with FakeProvider.keycloak() as fake:
        token = fake.mint()
    assert (
        jwt.get_unverified_header(token)["typ"],
        jwt.decode(token, options={"verify_signature": False})["typ"],
    ) == ("JWT", "Bearer")


def test_the_cognito_token_has_no_aud() -> None:
    """Cognito access tokens carry no aud claim."""
    import jwt

    with FakeProvider.cognito() as fake:
        payload = jwt.decode(fake.mint(), options={"verify_signature": False})
    assert "aud" not in payload


def test_the_fetcher_refuses_other_hosts() -> None:
    """The fake's fetcher never reaches the network: another host raises FetchError."""
    with (
        FakeProvider.auth0() as fake,
        pytest.raises(FetchError, match=r"serves https://example\.eu\.auth0\.com only"),
    ):
        fake.fetcher("https://login.example.org/jwks", headers={}, timeout=1, max_bytes=1000)


def test_minting_before_start_says_to_call_start() -> None:
    """A fake that is not running refuses to mint and says what to call."""
    with pytest.raises(ConfigurationError, match="call start"):
        FakeProvider.cognito().mint()
