"""claims_type= on the provider profiles: the class their tokens are returned as.

It takes effect in Issuer.verify_and_validate (and an IssuerGroup's), in
Verifier(issuers=[...]) and in the adapters' issuers= setting; a different
claims_type given to the verifier or the adapter is a start-up error.
Token shapes: as in test_profiles (each provider's public token reference).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask, g

from bearerguard import (
    AccessClaims,
    ConfigurationError,
    Issuer,
    Validator,
    Verifier,
    claim,
    providers,
)
from bearerguard import flask as bg_flask
from bearerguard._settings import GuardSettings
from bearerguard.testing import LocalIssuer

from .support import ProviderFetcher, mint

TID = "9188040d-6c67-4c5b-b112-36a304b66dad"
API = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
POOL = "us-east-1_Ab12Cd34E"
COGNITO_ISS = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderClaims(AccessClaims):
    """An application's claims class: the Entra ID tenant and Cognito's username."""

    tid: str | None = None
    username: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BillingClaims(AccessClaims):
    """Another application's claims class."""

    department: str | None = claim("https://example.com/department", default=None)


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
            "https://login.microsoftonline.com/common/discovery/v2.0/keys",
            "https://www.googleapis.com/oauth2/v3/certs",
        },
    )


Profile = Callable[..., "Issuer | providers.IssuerGroup"]

# (profile taking fetcher= and options, claims of a good token)
PROFILES: list[Any] = [
    pytest.param(
        lambda **o: providers.auth0("example.eu.auth0.com", "https://api.example.com", **o),
        {"iss": "https://example.eu.auth0.com/", "aud": "https://api.example.com", "azp": "c"},
        id="auth0",
    ),
    pytest.param(
        lambda **o: providers.entra(TID, API, **o),
        {
            "iss": f"https://login.microsoftonline.com/{TID}/v2.0",
            "aud": API,
            "tid": TID,
            "ver": "2.0",
        },
        id="entra",
    ),
    pytest.param(
        lambda **o: providers.entra("common", API, allowed_tenants=providers.ANY_TENANT, **o),
        {
            "iss": f"https://login.microsoftonline.com/{TID}/v2.0",
            "aud": API,
            "tid": TID,
            "ver": "2.0",
        },
        id="entra-any-tenant",
    ),
    pytest.param(
        lambda **o: providers.okta("example.okta.com", "api://default", **o),
        {"iss": "https://example.okta.com/oauth2/default", "aud": "api://default", "cid": "c"},
        id="okta",
    ),
    pytest.param(
        lambda **o: providers.keycloak("https://sso.example.com", "shop", audience="orders", **o),
        {"iss": "https://sso.example.com/realms/shop", "aud": "orders", "azp": "orders"},
        id="keycloak",
    ),
    pytest.param(
        lambda **o: providers.cognito("us-east-1", POOL, client_ids=["app"], **o),
        {"iss": COGNITO_ISS, "client_id": "app", "token_use": "access", "username": "ann"},
        id="cognito",
    ),
    pytest.param(
        lambda **o: providers.google("https://svc.example.com", **o),
        {"iss": "https://accounts.google.com", "aud": "https://svc.example.com"},
        id="google",
    ),
]


@pytest.mark.parametrize(("profile", "claims"), PROFILES)
def test_a_verifier_returns_the_profiles_claims_type(
    local: LocalIssuer, fetcher: ProviderFetcher, profile: Profile, claims: dict[str, Any]
) -> None:
    """claims_type=OrderClaims on the profile: Verifier([profile]).verify returns OrderClaims."""
    verifier = Verifier([profile(fetcher=fetcher, claims_type=OrderClaims)])
    result = verifier.verify(mint(local, {"sub": "ann", **claims}))
    assert (type(result), verifier.claims_type) == (OrderClaims, OrderClaims)


@pytest.mark.parametrize(("profile", "claims"), PROFILES)
def test_verify_and_validate_returns_the_profiles_claims_type(
    local: LocalIssuer, fetcher: ProviderFetcher, profile: Profile, claims: dict[str, Any]
) -> None:
    """The profile's own verify_and_validate returns its claims_type unless told otherwise."""
    built = profile(fetcher=fetcher, claims_type=OrderClaims)
    token = mint(local, {"sub": "ann", **claims})
    _, default = built.verify_and_validate(token)
    _, asked = built.verify_and_validate(token, AccessClaims)
    assert (type(default), type(asked), built.claims_type) == (
        OrderClaims,
        AccessClaims,
        OrderClaims,
    )


def test_the_claims_type_fields_are_filled_from_the_token(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """OrderClaims.tid of an Entra ID token is the token's tid."""
    verifier = Verifier([providers.entra(TID, API, fetcher=fetcher, claims_type=OrderClaims)])
    token = mint(
        local,
        {
            "iss": f"https://login.microsoftonline.com/{TID}/v2.0",
            "aud": API,
            "tid": TID,
            "ver": "2.0",
        },
    )
    claims = verifier.verify(token)
    assert isinstance(claims, OrderClaims)
    assert claims.tid == TID


@pytest.mark.parametrize(
    "wrong",
    [
        pytest.param(dict, id="not-a-claims-class"),
        pytest.param(OrderClaims(), id="an-instance"),
        pytest.param("myapp.OrderClaims", id="a-dotted-path"),
    ],
)
@pytest.mark.parametrize(("profile", "claims"), PROFILES)
def test_a_wrong_claims_type_names_what_to_pass(
    profile: Profile, claims: dict[str, Any], wrong: Any
) -> None:
    """claims_type= that is not a claims class: a ConfigurationError saying what to pass."""
    with pytest.raises(
        ConfigurationError,
        match=re.escape(
            "claims_type must be a claims class, a subclass of bearerguard.AccessClaims"
        ),
    ):
        profile(claims_type=wrong)


def test_a_verifier_claims_type_that_differs_from_the_profiles_is_refused(
    fetcher: ProviderFetcher,
) -> None:
    """Verifier(claims_type=BillingClaims) with a profile built for OrderClaims: start-up error."""
    okta = providers.okta("example.okta.com", "api://default", claims_type=OrderClaims)
    with pytest.raises(ConfigurationError) as raised:
        Verifier([okta], BillingClaims)
    assert str(raised.value) == (
        "claims_type conflict: BillingClaims was given to the verifier (or the adapter's "
        "claims_type setting) but issuer 'https://example.okta.com/oauth2/default' was built "
        "with claims_type=OrderClaims; set it in one place"
    )


def test_a_verifier_claims_type_equal_to_the_profiles_is_accepted() -> None:
    """The same class in both places is no conflict."""
    okta = providers.okta("example.okta.com", "api://default", claims_type=OrderClaims)
    assert Verifier([okta], OrderClaims).claims_type is OrderClaims


def test_profiles_with_different_claims_types_in_one_verifier_are_refused(
    fetcher: ProviderFetcher,
) -> None:
    """Two profiles naming different claims types: a verifier returns one class, so refused."""
    okta = providers.okta("example.okta.com", "api://default", claims_type=OrderClaims)
    google = providers.google("https://svc.example.com", claims_type=BillingClaims)
    with pytest.raises(ConfigurationError, match="the issuers were built with different claims"):
        Verifier([okta, google])


def test_a_plain_issuer_beside_a_profile_takes_the_profiles_claims_type(
    fetcher: ProviderFetcher,
) -> None:
    """An issuer without claims_type does not conflict: the verifier uses the profile's."""
    okta = providers.okta("example.okta.com", "api://default", claims_type=OrderClaims)
    plain = providers.auth0("example.eu.auth0.com", "https://api.example.com")
    assert Verifier([plain, okta]).claims_type is OrderClaims


def test_the_issuers_setting_uses_the_profiles_claims_type(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """Flask BEARERGUARD_ISSUERS with a profile's claims_type: g.claims is that class."""
    app = Flask(__name__)
    app.config.update(
        BEARERGUARD_ISSUERS=[
            providers.cognito(
                "us-east-1", POOL, client_ids=["app"], fetcher=fetcher, claims_type=OrderClaims
            )
        ]
    )
    bg_flask.BearerGuard(app)

    @app.get("/me")
    def me() -> str:
        return f"{type(g.claims).__name__} {g.claims.username}"

    token = mint(
        local,
        {
            "iss": COGNITO_ISS,
            "sub": "ann",
            "client_id": "app",
            "token_use": "access",
            "username": "ann",
        },
    )
    response = app.test_client().get("/me", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.get_data(as_text=True)) == (200, "OrderClaims ann")


def test_an_adapter_claims_type_that_differs_from_the_profiles_is_a_start_up_error() -> None:
    """BEARERGUARD_CLAIMS_TYPE beside a profile built for another class: BearerGuard(app) fails."""
    app = Flask(__name__)
    app.config.update(
        BEARERGUARD_ISSUERS=[
            providers.okta("example.okta.com", "api://default", claims_type=OrderClaims)
        ],
        BEARERGUARD_CLAIMS_TYPE=BillingClaims,
    )
    with pytest.raises(ConfigurationError, match="claims_type conflict: BillingClaims"):
        bg_flask.BearerGuard(app)


def test_the_settings_claims_type_conflict_is_refused_when_the_verifier_is_built() -> None:
    """GuardSettings(issuers=[profile], claims_type=Other).build_verifier(): the same error."""
    okta = providers.okta("example.okta.com", "api://default", claims_type=OrderClaims)
    settings = GuardSettings(issuers=[okta], claims_type=BillingClaims)
    with pytest.raises(ConfigurationError, match="claims_type conflict"):
        settings.build_verifier()


def test_an_issuer_built_with_a_claims_type_returns_it_by_default(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """Issuer(..., claims_type=OrderClaims): verify_and_validate returns OrderClaims unasked."""
    keys = providers.google("https://svc.example.com", fetcher=fetcher).keys
    issuer = Issuer(
        "accounts.google.com",
        keys,
        Validator(aud="https://svc.example.com"),
        claims_type=OrderClaims,
    )
    token = mint(local, {"iss": "accounts.google.com", "aud": "https://svc.example.com"})
    assert type(issuer.verify_and_validate(token)[1]) is OrderClaims


@pytest.mark.parametrize(
    "wrong", [pytest.param(dict, id="a-class"), pytest.param("OrderClaims", id="a-name")]
)
def test_an_issuer_claims_type_that_is_not_a_claims_class_is_refused(wrong: Any) -> None:
    """Issuer(claims_type=...) must be a StandardClaims subclass; the error says what to pass."""
    with pytest.raises(ConfigurationError, match=re.escape("e.g. claims_type=AccessClaims")):
        Issuer("https://a.example", [], claims_type=wrong)
