"""FakeProvider: local stand-ins for identity providers, served over HTTP on 127.0.0.1.

The token shapes follow each provider's public documentation: Auth0 "Access Token
Profiles" and "Enable Role-Based Access Control for APIs" (``permissions``),
Microsoft identity platform "Access token claims reference" (``ver``, ``tid``,
``scp``, ``roles``, ``azp``/``appid``, the v1.0 ``sts.windows.net`` issuer, the
``{tenantid}`` template of the multi-tenant discovery document), Okta "Access
token" claims (``scp`` array, ``cid``, ``uid``), Google "Authenticating
service-to-service" (both ``iss`` forms, ``aud`` the service URL),
Keycloak's server administration guide (``realm_access``, ``resource_access``,
``azp``, ``typ: Bearer``, the realm's ``enc`` key) and Amazon Cognito's "Using
the access token" (``token_use``, ``client_id``, ``cognito:groups``, no ``aud``).
"""

from __future__ import annotations

import json
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
    pytest.param(FakeProvider.entra, id="entra"),
    pytest.param(FakeProvider.okta, id="okta"),
    pytest.param(FakeProvider.google, id="google"),
]

OTHER_TENANT = "11111111-1111-1111-1111-111111111111"


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
    expected = {
        "auth0": "my-spa-client",
        "keycloak": "shop-frontend",
        "cognito": "3n4b5urk1ft4fl3mg5e62d9ado",
        "entra": "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        "okta": "0oa1b2c3d4e5f6g7h8i9",
        "google": "107517467455664443765",
    }
    assert (response.status_code, response.json) == (200, {"client": expected[fake.provider]})


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
    pytest.param(
        FakeProvider.entra,
        {"orders.read"},
        {"Orders.Admin"},
        "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        {"scp": "orders.read", "roles": ["Orders.Admin"]},
        id="entra-scp-and-app-roles",
    ),
    pytest.param(
        lambda: FakeProvider.entra(versions=(1, 2)),
        {"user_impersonation"},
        set(),
        "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        {"ver": "1.0"},
        id="entra-v1-token-with-appid",
    ),
    pytest.param(
        lambda: FakeProvider.entra("organizations", allowed_tenants=[OTHER_TENANT]),
        {"user_impersonation"},
        set(),
        "6e74172b-be56-4843-9ff4-e66a39bb12e3",
        {},
        id="entra-multi-tenant-allowed-tenant",
    ),
    pytest.param(
        FakeProvider.okta,
        {"openid", "orders:read"},
        {"buyers"},
        "0oa1b2c3d4e5f6g7h8i9",
        {"scp": ["openid", "orders:read"], "groups": ["buyers"]},
        id="okta-scp-array-and-groups",
    ),
    pytest.param(
        FakeProvider.google,
        set(),
        set(),
        "107517467455664443765",
        {"iss": "accounts.google.com"},
        id="google-short-issuer-form",
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
        "token_use: an ID token, not an access token",
        id="cognito-id-token",
    ),
    pytest.param(
        FakeProvider.entra,
        {"ver": "1.0"},
        "token is a v1.0 token",
        id="entra-v1-token-where-only-v2-is-configured",
    ),
    pytest.param(
        lambda: FakeProvider.entra("organizations", allowed_tenants=[OTHER_TENANT]),
        {"tid": "72f988bf-86f1-41af-91ab-2d7cd011db47"},
        "token iss is of tenant 72f988bf-86f1-41af-91ab-2d7cd011db47, not an allowed tenant",
        id="entra-tenant-not-allowed",
    ),
    pytest.param(
        FakeProvider.okta,
        {"iss": "https://example.okta.com/oauth2/aus9other"},
        "token of Okta authorization server 'aus9other'",
        id="okta-another-authorization-server",
    ),
    pytest.param(
        FakeProvider.google,
        {"aud": "https://billing-xyz-ew.a.run.app"},
        "aud",
        id="google-token-for-another-service",
    ),
]


@pytest.mark.parametrize(("build", "claims", "named"), TRAPS)
def test_each_provider_trap_is_refused(
    build: Callable[[], FakeProvider], claims: dict[str, Any], named: str
) -> None:
    """The provider's known trap is refused, and the refusal names the claim at fault."""
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
        pytest.param(
            FakeProvider.entra,
            "/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/.well-known/openid-configuration",
            "/72f988bf-86f1-41af-91ab-2d7cd011db47/discovery/v2.0/keys",
            id="entra",
        ),
        pytest.param(
            FakeProvider.okta,
            "/oauth2/default/.well-known/openid-configuration",
            "/oauth2/default/v1/keys",
            id="okta",
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


def test_a_token_of_a_tenant_not_allowed_fetches_nothing() -> None:
    """A multi-tenant Entra fake is never asked for keys for a tenant that is not allowed."""
    with FakeProvider.entra("organizations", allowed_tenants=[OTHER_TENANT]) as fake:
        verifier = Verifier([fake.profile()])
        with pytest.raises(InvalidToken):
            verifier.verify(fake.mint(tid="72f988bf-86f1-41af-91ab-2d7cd011db47"))
        assert fake.counts == {}
        verifier.verify(fake.mint())
        assert fake.counts == {"/organizations/discovery/v2.0/keys": 1}


def test_the_multi_tenant_entra_discovery_names_the_tenantid_template() -> None:
    """The /organizations discovery document publishes the issuer as the {tenantid} template."""
    with FakeProvider.entra("organizations", allowed_tenants=[OTHER_TENANT]) as fake:
        document = requests.get(
            fake.url + "/organizations/v2.0/.well-known/openid-configuration", timeout=5
        ).json()
    assert document["issuer"] == "https://login.microsoftonline.com/{tenantid}/v2.0"


def test_the_entra_token_header_and_jwks_carry_x5t() -> None:
    """Entra puts x5t beside kid in the token header and in the JWKS key."""
    import jwt

    with FakeProvider.entra() as fake:
        header = jwt.get_unverified_header(fake.mint())
        keys = requests.get(
            fake.url + "/72f988bf-86f1-41af-91ab-2d7cd011db47/discovery/v2.0/keys", timeout=5
        ).json()["keys"]
    assert header["x5t"] == header["kid"] == keys[0]["x5t"]


def test_the_google_keys_are_served_from_googleapis() -> None:
    """Google's key URL is on www.googleapis.com, which the fake's fetcher also serves."""
    with FakeProvider.google() as fake:
        response = fake.fetcher(
            "https://www.googleapis.com/oauth2/v3/certs", headers={}, timeout=5, max_bytes=100_000
        )
    assert (response.status, len(json.loads(response.body)["keys"])) == (200, 1)


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
