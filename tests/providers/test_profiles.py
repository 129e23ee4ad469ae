"""bearerguard.providers: provider tokens, verified offline through the core and two adapters.

The token shapes follow each provider's public token reference:

* Auth0: "Access Token Profiles" and "Enable Role-Based Access Control for APIs"
  (``iss`` with a trailing ``/``, ``aud`` an array with the API Identifier and
  ``https://{domain}/userinfo``, ``azp``, ``scope``, ``permissions``);
* Microsoft Entra ID: "Access token claims reference" (v1.0: ``iss``
  ``https://sts.windows.net/{tid}/``, ``appid``, ``ver`` ``1.0``; v2.0: ``iss``
  ``https://login.microsoftonline.com/{tid}/v2.0``, ``azp``, ``ver`` ``2.0``;
  ``scp`` a space-separated string, ``roles`` an array, ``tid``);
* Okta: "Tokens and claims" for custom authorization servers (``iss``
  ``https://{domain}/oauth2/{server}``, ``cid``, ``uid``, ``scp`` an array, ``ver`` 1);
* Keycloak: the access token of the server's OIDC endpoints (``typ`` claim
  ``Bearer``, ``azp``, ``realm_access.roles``, ``resource_access.<client>.roles``,
  default ``aud`` ``account``);
* Amazon Cognito: "Understanding the access token" / "the ID token" (access
  token: no ``aud``, ``client_id``, ``token_use`` ``access``, ``cognito:groups``,
  ``scope``; ID token: ``aud`` the client, ``token_use`` ``id``);
* Google: "Authenticating service-to-service" / OpenID Connect ID tokens
  (``iss`` ``https://accounts.google.com`` or ``accounts.google.com``, ``aud``
  the service URL, ``azp``, ``email``).

(Pages: learn.microsoft.com/entra/identity-platform/access-token-claims-reference,
docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html,
auth0.com/docs/get-started/apis/enable-role-based-access-control-for-apis,
developer.okta.com/docs/api/openapi/okta-oauth/oauth/tag/CustomAS.)

Tokens are minted by a LocalIssuer on 127.0.0.1 with the provider's ``iss``;
a fetcher serves the provider's real discovery and JWKS URLs from it, and
counts every fetch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask, g

from bearerguard import ConfigurationError, InvalidToken, Issuer, Verifier, providers
from bearerguard.flask import BearerGuard, require_scopes
from bearerguard.keyset import KeySetPolicy
from bearerguard.testing import LocalIssuer
from bearerguard.wsgi import BearerAuthMiddleware

from .support import ProviderFetcher, mint

TID = "9188040d-6c67-4c5b-b112-36a304b66dad"
OTHER_TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
API = "6e74172b-be56-4843-9ff4-e66a39bb12e3"  # the API's application (client) ID
POOL = "us-east-1_Ab12Cd34E"
COGNITO_ISS = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"


@pytest.fixture(scope="module")
def local() -> Iterator[LocalIssuer]:
    with LocalIssuer() as issuer:
        yield issuer


@pytest.fixture
def fetcher(local: LocalIssuer) -> ProviderFetcher:
    return ProviderFetcher(
        local,
        {
            f"https://login.microsoftonline.com/{TID}/discovery/v2.0/keys",
            "https://login.microsoftonline.com/organizations/discovery/v2.0/keys",
            "https://login.microsoftonline.com/common/discovery/v2.0/keys",
            "https://www.googleapis.com/oauth2/v3/certs",
        },
    )


Build = Callable[[ProviderFetcher], "Issuer | providers.IssuerGroup"]

# (build, claims of a good token, expected (scopes, roles, client_id))
GOOD: list[Any] = [
    pytest.param(
        lambda f: providers.auth0("example.eu.auth0.com", "https://api.example.com", fetcher=f),
        {
            "iss": "https://example.eu.auth0.com/",
            "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
            "aud": ["https://api.example.com", "https://example.eu.auth0.com/userinfo"],
            "azp": "my-client-id",
            "scope": "openid profile",
            "permissions": ["read:orders", "write:orders"],
        },
        ({"openid", "profile", "read:orders", "write:orders"}, set(), "my-client-id"),
        id="auth0",
    ),
    pytest.param(
        lambda f: providers.entra(TID, API, fetcher=f),
        {
            "iss": f"https://login.microsoftonline.com/{TID}/v2.0",
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            "aud": API,
            "azp": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
            "tid": TID,
            "oid": "00000000-0000-0000-e3c7-1a2b3c4d5e6f",
            "scp": "Orders.Read Orders.Write",
            "roles": ["Orders.Admin"],
            "ver": "2.0",
        },
        (
            {"Orders.Read", "Orders.Write"},
            {"Orders.Admin"},
            "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        ),
        id="entra-v2",
    ),
    pytest.param(
        lambda f: providers.entra(TID, "api://orders", versions=(1, 2), fetcher=f),
        {
            "iss": f"https://sts.windows.net/{TID}/",
            "sub": "l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA",
            "aud": "api://orders",
            "appid": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
            "tid": TID,
            "scp": "user_impersonation",
            "ver": "1.0",
        },
        ({"user_impersonation"}, set(), "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
        id="entra-v1",
    ),
    pytest.param(
        lambda f: providers.entra(
            "organizations", API, allowed_tenants={TID, OTHER_TID}, fetcher=f
        ),
        {
            "iss": f"https://login.microsoftonline.com/{OTHER_TID}/v2.0",
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            "aud": API,
            "azp": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
            "tid": OTHER_TID,
            "scp": "Orders.Read",
            "ver": "2.0",
        },
        ({"Orders.Read"}, set(), "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"),
        id="entra-multi-tenant-allowed",
    ),
    pytest.param(
        lambda f: providers.okta("example.okta.com", "api://default", fetcher=f),
        {
            "iss": "https://example.okta.com/oauth2/default",
            "sub": "alice@example.com",
            "aud": "api://default",
            "cid": "0oa1b2c3d4e5f6g7h8i9",
            "uid": "00u1b2c3d4e5f6g7h8i9",
            "scp": ["openid", "orders:read"],
            "ver": 1,
        },
        ({"openid", "orders:read"}, set(), "0oa1b2c3d4e5f6g7h8i9"),
        id="okta",
    ),
    pytest.param(
        lambda f: providers.keycloak(
            "https://sso.example.com", "shop", client_id="orders-api", fetcher=f
        ),
        {
            "iss": "https://sso.example.com/realms/shop",
            "sub": "f6c8b9a0-1d2e-4f3a-8b7c-6d5e4f3a2b1c",
            "aud": "account",
            "typ": "Bearer",
            "azp": "orders-api",
            "scope": "openid email profile",
            "realm_access": {"roles": ["offline_access", "customer"]},
            "resource_access": {
                "orders-api": {"roles": ["orders-admin"]},
                "account": {"roles": ["manage-account"]},
            },
        },
        (
            {"openid", "email", "profile"},
            {"offline_access", "customer", "orders-admin"},
            "orders-api",
        ),
        id="keycloak",
    ),
    pytest.param(
        lambda f: providers.cognito("us-east-1", POOL, client_ids=["1example23456789"], fetcher=f),
        {
            "iss": COGNITO_ISS,
            "sub": "aaaaaaaa-bbbb-cccc-dddd-example",
            "client_id": "1example23456789",
            "token_use": "access",
            "scope": "orders/read",
            "cognito:groups": ["admins"],
            "username": "alice",
        },
        ({"orders/read"}, {"admins"}, "1example23456789"),
        id="cognito",
    ),
    pytest.param(
        lambda f: providers.google("https://orders-abc123-uc.a.run.app", fetcher=f),
        {
            "iss": "https://accounts.google.com",
            "sub": "110169484474386276334",
            "aud": "https://orders-abc123-uc.a.run.app",
            "azp": "110169484474386276334",
            "email": "caller@project.iam.gserviceaccount.com",
            "email_verified": True,
        },
        (set(), set(), "110169484474386276334"),
        id="google",
    ),
    pytest.param(
        lambda f: providers.google("https://orders-abc123-uc.a.run.app", fetcher=f),
        {
            "iss": "accounts.google.com",
            "sub": "110169484474386276334",
            "aud": "https://orders-abc123-uc.a.run.app",
            "azp": "110169484474386276334",
        },
        (set(), set(), "110169484474386276334"),
        id="google-short-iss",
    ),
]


@pytest.mark.parametrize(("build", "claims", "expected"), GOOD)
def test_a_provider_token_verifies_through_the_core(
    local: LocalIssuer,
    fetcher: ProviderFetcher,
    build: Build,
    claims: dict[str, Any],
    expected: tuple[set[str], set[str], str],
) -> None:
    """A realistic token of each provider verifies; scopes, roles, client come from its claims."""
    verifier = Verifier([build(fetcher)])
    result = verifier.verify(mint(local, claims))
    assert (set(result.scopes), set(result.roles), result.client_id) == expected


@pytest.mark.parametrize(("build", "claims", "expected"), GOOD)
def test_a_provider_token_verifies_through_flask(
    local: LocalIssuer,
    fetcher: ProviderFetcher,
    build: Build,
    claims: dict[str, Any],
    expected: tuple[set[str], set[str], str],
) -> None:
    """Flask's BearerGuard with a provider's Verifier answers 200 with the token's claims."""
    app = Flask(__name__)
    BearerGuard(app, verifier=Verifier([build(fetcher)]))

    @app.get("/me")
    def me() -> dict[str, Any]:
        claims = g.claims
        return {"scopes": sorted(claims.scopes), "client": claims.client_id}

    response = app.test_client().get(
        "/me", headers={"Authorization": f"Bearer {mint(local, claims)}"}
    )
    assert (response.status_code, response.json) == (
        200,
        {"scopes": sorted(expected[0]), "client": expected[2]},
    )


@pytest.mark.parametrize(("build", "claims", "expected"), GOOD)
def test_a_provider_token_verifies_through_wsgi(
    local: LocalIssuer,
    fetcher: ProviderFetcher,
    build: Build,
    claims: dict[str, Any],
    expected: tuple[set[str], set[str], str],
) -> None:
    """The WSGI middleware with a provider's Verifier passes the request to the app."""
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append(environ["bearerguard.claims"].sub)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    wsgi = BearerAuthMiddleware(app, verifier=Verifier([build(fetcher)]))
    status = call_wsgi(wsgi, mint(local, claims))
    assert (status, seen) == ("200 OK", [claims["sub"]])


def call_wsgi(app: Any, token: str, headers_out: dict[str, str] | None = None) -> str:
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> None:
        statuses.append(status)
        if headers_out is not None:
            headers_out.update((name.lower(), value) for name, value in headers)

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
    }
    b"".join(app(environ, start_response))
    return statuses[0]


# (build, claims of a token that must be refused, the reason the description names,
#  the URLs that may be fetched for it)
TRAPS: list[Any] = [
    pytest.param(
        lambda f: providers.entra(TID, API, fetcher=f),
        {
            "iss": f"https://login.microsoftonline.com/{OTHER_TID}/v2.0",
            "aud": API,
            "tid": OTHER_TID,
            "ver": "2.0",
        },
        f"token iss is of tenant {OTHER_TID}, not an allowed tenant",
        set(),
        id="entra-tenant-not-allowed",
    ),
    pytest.param(
        lambda f: providers.entra("organizations", API, allowed_tenants={TID}, fetcher=f),
        {
            "iss": f"https://login.microsoftonline.com/{OTHER_TID}/v2.0",
            "aud": API,
            "tid": OTHER_TID,
            "ver": "2.0",
        },
        f"token iss is of tenant {OTHER_TID}, not an allowed tenant",
        set(),
        id="entra-multi-tenant-not-allowed",
    ),
    pytest.param(
        lambda f: providers.entra("organizations", API, allowed_tenants={TID}, fetcher=f),
        {
            "iss": f"https://login.microsoftonline.com/{TID}/v2.0",
            "aud": API,
            "tid": OTHER_TID,
            "ver": "2.0",
        },
        "tid: the token's tenant is not the tenant in its iss",
        {"https://login.microsoftonline.com/organizations/discovery/v2.0/keys"},
        id="entra-tid-disagrees-with-iss",
    ),
    pytest.param(
        lambda f: providers.entra("common", API, allowed_tenants=providers.ANY_TENANT, fetcher=f),
        {
            "iss": f"https://login.microsoftonline.com/{TID}/v2.0",
            "aud": API,
            "tid": OTHER_TID,
            "ver": "2.0",
        },
        "tid: the token's tenant is not the tenant in its iss",
        {"https://login.microsoftonline.com/common/discovery/v2.0/keys"},
        id="entra-any-tenant-tid-disagrees-with-iss",
    ),
    pytest.param(
        lambda f: providers.entra("common", API, allowed_tenants=providers.ANY_TENANT, fetcher=f),
        {"iss": f"https://sts.windows.net/{TID}/", "aud": API, "tid": TID, "ver": "1.0"},
        "token is a v1.0 token",
        set(),
        id="entra-any-tenant-v1-where-only-v2",
    ),
    pytest.param(
        lambda f: providers.entra("common", API, allowed_tenants=providers.ANY_TENANT, fetcher=f),
        {"iss": "https://login.microsoftonline.com/contoso.com/v2.0", "aud": API},
        "token iss is not a trusted issuer",
        set(),
        id="entra-any-tenant-iss-without-a-tenant-id",
    ),
    pytest.param(
        lambda f: providers.entra(TID, API, fetcher=f),
        {"iss": f"https://sts.windows.net/{TID}/", "aud": API, "tid": TID, "ver": "1.0"},
        "token is a v1.0 token (iss https://sts.windows.net/"
        f"{TID}/); this API accepts v2.0 tokens only",
        set(),
        id="entra-v1-where-only-v2",
    ),
    pytest.param(
        lambda f: providers.entra(TID, API, versions=(1, 2), fetcher=f),
        {"iss": f"https://sts.windows.net/{TID}/", "aud": API, "tid": TID, "ver": "2.0"},
        "ver: a token with a v1.0 iss must have ver '1.0'",
        {f"https://login.microsoftonline.com/{TID}/discovery/v2.0/keys"},
        id="entra-ver-disagrees-with-iss",
    ),
    pytest.param(
        lambda f: providers.cognito("us-east-1", POOL, client_ids=["1example23456789"], fetcher=f),
        {
            "iss": COGNITO_ISS,
            "sub": "aaaaaaaa-bbbb-cccc-dddd-example",
            "aud": "1example23456789",
            "token_use": "id",
            "cognito:username": "alice",
            "email": "alice@example.com",
        },
        "token_use: an ID token, not an access token",
        {f"{COGNITO_ISS}/.well-known/openid-configuration", f"{COGNITO_ISS}/jwks.json"},
        id="cognito-id-token",
    ),
    pytest.param(
        lambda f: providers.cognito("us-east-1", POOL, client_ids=["1example23456789"], fetcher=f),
        {"iss": COGNITO_ISS, "client_id": "another-app-client", "token_use": "access"},
        "client_id: not an accepted value",
        {f"{COGNITO_ISS}/.well-known/openid-configuration", f"{COGNITO_ISS}/jwks.json"},
        id="cognito-other-client",
    ),
    pytest.param(
        lambda f: providers.keycloak(
            "https://sso.example.com", "shop", client_id="orders-api", fetcher=f
        ),
        {
            "iss": "https://sso.example.com/realms/shop",
            "aud": "account",
            "typ": "Bearer",
            "azp": "billing-frontend",
        },
        "azp: the token was issued to another client, not 'orders-api'",
        {
            "https://sso.example.com/realms/shop/.well-known/openid-configuration",
            "https://sso.example.com/realms/shop/jwks.json",
        },
        id="keycloak-other-client",
    ),
    pytest.param(
        lambda f: providers.keycloak(
            "https://sso.example.com", "shop", client_id="orders-api", fetcher=f
        ),
        {
            "iss": "https://sso.example.com/realms/shop",
            "aud": "orders-api",
            "typ": "ID",
            "azp": "orders-api",
        },
        "typ: not an accepted value",
        {
            "https://sso.example.com/realms/shop/.well-known/openid-configuration",
            "https://sso.example.com/realms/shop/jwks.json",
        },
        id="keycloak-id-token",
    ),
    pytest.param(
        lambda f: providers.okta("example.okta.com", "api://default", fetcher=f),
        {
            "iss": "https://example.okta.com/oauth2/aus1a2b3c4d5e6f7g8h9",
            "aud": "api://default",
            "cid": "0oa1b2c3d4e5f6g7h8i9",
        },
        "token of Okta authorization server 'aus1a2b3c4d5e6f7g8h9'; "
        "this API trusts authorization server 'default'",
        set(),
        id="okta-other-authorization-server",
    ),
    pytest.param(
        lambda f: providers.okta("example.okta.com", "api://default", fetcher=f),
        {"iss": "https://example.okta.com", "aud": "api://default", "cid": "0oa1b2c3d4e5f6g7h8i9"},
        "token of Okta's org authorization server (https://example.okta.com)",
        set(),
        id="okta-org-authorization-server",
    ),
    pytest.param(
        lambda f: providers.auth0("example.eu.auth0.com", "https://api.example.com", fetcher=f),
        {
            "iss": "https://example.eu.auth0.com/",
            "aud": "https://example.eu.auth0.com/userinfo",
            "azp": "my-client-id",
            "scope": "openid profile",
        },
        "aud: the token is for Auth0's userinfo endpoint "
        "(https://example.eu.auth0.com/userinfo) only, not this API",
        {
            "https://example.eu.auth0.com/.well-known/openid-configuration",
            "https://example.eu.auth0.com/jwks.json",
        },
        id="auth0-userinfo-audience",
    ),
    pytest.param(
        lambda f: providers.google("https://orders-abc123-uc.a.run.app", fetcher=f),
        {"iss": "https://accounts.google.com", "aud": "https://billing-uc.a.run.app"},
        "aud: token is not meant for this audience",
        {"https://www.googleapis.com/oauth2/v3/certs"},
        id="google-other-service",
    ),
]


@pytest.mark.parametrize(("build", "claims", "reason", "fetched"), TRAPS)
def test_a_provider_trap_is_refused_through_the_core(
    local: LocalIssuer,
    fetcher: ProviderFetcher,
    build: Build,
    claims: dict[str, Any],
    reason: str,
    fetched: set[str],
) -> None:
    """Each trap is an InvalidToken naming the reason; only the configured provider is fetched."""
    verifier = Verifier([build(fetcher)])
    with pytest.raises(InvalidToken) as raised:
        verifier.verify(mint(local, {"sub": "someone", **claims}))
    assert reason in str(raised.value)
    assert set(fetcher.counts) == fetched
    assert all(count == 1 for count in fetcher.counts.values())


@pytest.mark.parametrize(("build", "claims", "reason", "fetched"), TRAPS)
def test_a_provider_trap_is_refused_through_flask_with_401(
    local: LocalIssuer,
    fetcher: ProviderFetcher,
    build: Build,
    claims: dict[str, Any],
    reason: str,
    fetched: set[str],
) -> None:
    """Flask answers each trap 401 invalid_token with a description naming the reason."""
    app = Flask(__name__)
    BearerGuard(app, verifier=Verifier([build(fetcher)]))

    @app.get("/orders")
    @require_scopes("orders:read")
    def orders() -> dict[str, Any]:
        return {}

    token = mint(local, {"sub": "someone", **claims})
    response = app.test_client().get("/orders", headers={"Authorization": f"Bearer {token}"})
    challenge = response.headers["WWW-Authenticate"]
    assert response.status_code == 401
    assert 'error="invalid_token"' in challenge
    assert reason in challenge
    assert "someone" not in challenge  # the token's sub: never quoted
    assert set(fetcher.counts) == fetched


@pytest.mark.parametrize(("build", "claims", "reason", "fetched"), TRAPS)
def test_a_provider_trap_is_refused_through_wsgi_with_401(
    local: LocalIssuer,
    fetcher: ProviderFetcher,
    build: Build,
    claims: dict[str, Any],
    reason: str,
    fetched: set[str],
) -> None:
    """The WSGI middleware answers each trap 401 invalid_token with the reason."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    wsgi = BearerAuthMiddleware(app, verifier=Verifier([build(fetcher)]))
    headers: dict[str, str] = {}
    status = call_wsgi(wsgi, mint(local, {"sub": "someone", **claims}), headers)
    assert status.startswith("401")
    assert 'error="invalid_token"' in headers["www-authenticate"]
    assert reason in headers["www-authenticate"]
    assert set(fetcher.counts) == fetched


@pytest.mark.parametrize(
    ("build", "urls"),
    [
        pytest.param(
            lambda f: providers.auth0("example.eu.auth0.com", "https://api.example.com", fetcher=f),
            ["https://example.eu.auth0.com/"],
            id="auth0",
        ),
        pytest.param(
            lambda f: providers.entra(TID, API, versions=(1, 2), fetcher=f),
            [f"https://sts.windows.net/{TID}/", f"https://login.microsoftonline.com/{TID}/v2.0"],
            id="entra",
        ),
        pytest.param(
            lambda f: providers.okta(
                "example.okta.com", "api://x", authorization_server="aus1", fetcher=f
            ),
            ["https://example.okta.com/oauth2/aus1"],
            id="okta",
        ),
        pytest.param(
            lambda f: providers.keycloak(
                "https://sso.example.com/", "shop", audience="orders-api", fetcher=f
            ),
            ["https://sso.example.com/realms/shop"],
            id="keycloak",
        ),
        pytest.param(
            lambda f: providers.cognito("eu-west-1", "eu-west-1_Xy9", client_ids=["c1"], fetcher=f),
            ["https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Xy9"],
            id="cognito",
        ),
        pytest.param(
            lambda f: providers.google("https://svc.example.com", fetcher=f),
            ["https://accounts.google.com", "accounts.google.com"],
            id="google",
        ),
    ],
)
def test_a_provider_issuer_has_its_issuer_urls_and_fetches_nothing_when_built(
    fetcher: ProviderFetcher, build: Build, urls: list[str]
) -> None:
    """The issuer URLs are the provider's; building makes no network call."""
    built = build(fetcher)
    issuers = list(built) if isinstance(built, providers.IssuerGroup) else [built]
    assert [i.url for i in issuers] == urls
    assert fetcher.counts == Counter()


def test_entra_versions_share_one_key_set(fetcher: ProviderFetcher) -> None:
    """v1.0 and v2.0 issuers of one tenant share the tenant's key set (one fetch serves both)."""
    v1, v2 = providers.entra(TID, API, versions=(1, 2), fetcher=fetcher)
    assert v1.keys is v2.keys


def test_entra_multi_tenant_issuers_share_one_key_set(fetcher: ProviderFetcher) -> None:
    """A multi-tenant application has one issuer per allowed tenant and version, one key set."""
    issuers = providers.entra(
        "organizations", API, versions=(1, 2), allowed_tenants={TID, OTHER_TID}, fetcher=fetcher
    )
    assert sorted(i.url for i in issuers) == sorted(
        [
            f"https://sts.windows.net/{TID}/",
            f"https://login.microsoftonline.com/{TID}/v2.0",
            f"https://sts.windows.net/{OTHER_TID}/",
            f"https://login.microsoftonline.com/{OTHER_TID}/v2.0",
        ]
    )
    assert len({id(i.keys) for i in issuers}) == 1


def test_entra_one_key_fetch_serves_every_allowed_tenant(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """Tokens of two allowed tenants verify with one JWKS fetch between them."""
    verifier = Verifier(
        [providers.entra("organizations", API, allowed_tenants={TID, OTHER_TID}, fetcher=fetcher)]
    )
    for tid in (TID, OTHER_TID):
        iss = f"https://login.microsoftonline.com/{tid}/v2.0"
        verifier.verify(mint(local, {"iss": iss, "aud": API, "tid": tid, "ver": "2.0"}))
    assert fetcher.counts == Counter(
        {"https://login.microsoftonline.com/organizations/discovery/v2.0/keys": 1}
    )


def test_google_issuers_share_one_key_set(fetcher: ProviderFetcher) -> None:
    """Both iss forms of Google share Google's key set."""
    long, short = providers.google("https://svc.example.com", fetcher=fetcher)
    assert long.keys is short.keys


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda: providers.entra("organizations", API),
            "is a multi-tenant application: pass allowed_tenants=",
            id="entra-organizations-without-allowed-tenants",
        ),
        pytest.param(
            lambda: providers.entra("common", API, allowed_tenants=set()),
            "allowed_tenants is empty",
            id="entra-common-no-tenants",
        ),
        pytest.param(
            lambda: providers.entra("common", API, allowed_tenants={"contoso.com"}),
            "a tenant must be a tenant ID",
            id="entra-allowed-tenant-not-an-id",
        ),
        pytest.param(
            lambda: providers.entra(TID, API, allowed_tenants={TID}),
            "allowed_tenants is only for",
            id="entra-allowed-tenants-single-tenant",
        ),
        pytest.param(
            lambda: providers.entra("contoso.onmicrosoft.com", API),
            "a tenant must be a tenant ID",
            id="entra-domain-name",
        ),
        pytest.param(
            lambda: providers.entra(TID, API, versions=(3,)), "versions must be", id="entra-v3"
        ),
        pytest.param(
            lambda: providers.auth0("https://example.auth0.com", "https://api"),
            "domain must be a host name",
            id="auth0-url-as-domain",
        ),
        pytest.param(
            lambda: providers.auth0("example.auth0.com", "https://example.auth0.com/userinfo"),
            "not 'https://example.auth0.com/userinfo'",
            id="auth0-userinfo-audience",
        ),
        pytest.param(
            lambda: providers.keycloak("https://sso.example.com", "shop"),
            "needs audience= ",
            id="keycloak-nothing-binds",
        ),
        pytest.param(
            lambda: providers.cognito("us-east-1", POOL, client_ids=[]),
            "client_ids must list",
            id="cognito-no-clients",
        ),
        pytest.param(
            lambda: providers.cognito("us-east-1", POOL, client_ids="app"),
            "client_ids must be a list",
            id="cognito-client-ids-string",
        ),
        pytest.param(
            lambda: providers.okta("example.okta.com", "api://default", ttl=3),
            "unknown option(s) ttl",
            id="unknown-option",
        ),
    ],
)
def test_a_provider_misconfiguration_is_refused_at_construction(
    build: Callable[[], Any], message: str
) -> None:
    """A configuration that cannot match the provider's tokens is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        build()


def test_provider_options_reach_the_issuer_and_its_validator(fetcher: ProviderFetcher) -> None:
    """algorithms= pins the issuer's algorithms, leeway= the validator's clock skew."""
    issuer = providers.okta(
        "example.okta.com", "api://default", algorithms=["RS256"], leeway=5, fetcher=fetcher
    )
    assert issuer.algorithms == frozenset({"RS256"})
    assert issuer.validator is not None
    assert issuer.validator.leeway == 5


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            lambda **o: providers.entra("organizations", API, allowed_tenants={TID}, **o),
            id="entra",
        ),
        pytest.param(lambda **o: providers.google("https://svc.example.com", **o), id="google"),
    ],
)
def test_group_options_reach_every_member(build: Callable[..., Any]) -> None:
    """A group's options reach each member: algorithms=, leeway=, policy= on the shared keys."""
    policy = KeySetPolicy(timeout=2.0)
    group = build(algorithms=["RS256"], leeway=5, policy=policy)
    assert group.keys.policy is policy
    for member in group:
        assert member.algorithms == frozenset({"RS256"})
        assert member.validator.leeway == 5


def test_a_refusal_description_quotes_nothing_of_the_token_but_its_issuer(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """An Okta token of another server: the 401 names the server, never sub, cid or aud."""
    verifier = Verifier([providers.okta("example.okta.com", "api://default", fetcher=fetcher)])
    claims = {
        "iss": "https://example.okta.com/oauth2/aus1a2b3c4d5e6f7g8h9",
        "sub": "alice@example.com",
        "aud": "api://secret-audience",
        "cid": "0oaSECRETCLIENT",
    }
    with pytest.raises(InvalidToken) as raised:
        verifier.verify(mint(local, claims))
    description = raised.value.description
    assert "aus1a2b3c4d5e6f7g8h9" in description
    assert not any(claims[k] in description for k in ("sub", "aud", "cid"))


def test_an_okta_server_name_that_is_not_an_id_is_not_quoted(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """An iss path that is not a server ID (too long, odd characters): the plain refusal."""
    verifier = Verifier([providers.okta("example.okta.com", "api://default", fetcher=fetcher)])
    for server in ("a" * 65, "aus1/../x", "aus<script>"):
        iss = f"https://example.okta.com/oauth2/{server}"
        with pytest.raises(InvalidToken) as raised:
            verifier.verify(mint(local, {"iss": iss, "aud": "api://default"}))
        assert raised.value.description == "token iss is not a trusted issuer"
