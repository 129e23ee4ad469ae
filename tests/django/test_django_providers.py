"""BEARERGUARD["ISSUERS"]: identity provider profiles in a Django project."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from bearerguard import AccessClaims, providers
from bearerguard.testing import LocalIssuer
from tests.providers.support import ProviderFetcher, mint

ROLES_URLCONF = "tests.django.testapp_roles"
POOL = "us-east-1_Ab12Cd34E"
COGNITO_ISS = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
# Amazon Cognito's access token and ID token (Cognito developer guide:
# "Understanding the access token", "Understanding the identity (ID) token").
ACCESS = {
    "iss": COGNITO_ISS,
    "sub": "ann",
    "client_id": "1example23456789",
    "token_use": "access",
    "cognito:groups": ["admin"],
}
ID_TOKEN = {**ACCESS, "client_id": None, "aud": "1example23456789", "token_use": "id"}


@pytest.fixture
def fetcher(local_issuer: LocalIssuer, configure: Callable[..., None]) -> ProviderFetcher:
    serving = ProviderFetcher(local_issuer, set())
    cognito = providers.cognito("us-east-1", POOL, client_ids=["1example23456789"], fetcher=serving)
    configure(ROOT_URLCONF=ROLES_URLCONF, BEARERGUARD={"ISSUERS": [cognito]})
    return serving


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        pytest.param(ACCESS, 200, id="access-token"),
        pytest.param(ID_TOKEN, 401, id="id-token"),
    ],
)
def test_issuers_setting_drives_django_views_and_drf(
    local_issuer: LocalIssuer, fetcher: ProviderFetcher, claims: dict[str, object], status: int
) -> None:
    """A Cognito access token with group admin passes require_roles; its ID token is 401."""
    headers = {"Authorization": f"Bearer {mint(local_issuer, dict(claims))}"}
    view = Client().get("/admin", headers=headers)
    drf = Client().get("/drf/admin", headers=headers)
    assert (view.status_code, drf.status_code) == (status, status)
    if status == 401:
        assert "token_use: an ID token, not an access token" in view.headers["WWW-Authenticate"]


def test_issuers_setting_beside_oidc_is_refused(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """ISSUERS with OIDC: ImproperlyConfigured naming the setting to remove."""
    from bearerguard.django._conf import get_config

    cognito = providers.cognito("us-east-1", POOL, client_ids=["c"])
    configure(BEARERGUARD={"ISSUERS": [cognito], "OIDC": local_issuer.url})
    with pytest.raises(ImproperlyConfigured, match="remove oidc="):
        get_config()


def test_issuers_setting_takes_an_issuer_group(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """ISSUERS=[providers.google(...)] (an IssuerGroup): both iss forms pass the views."""
    serving = ProviderFetcher(local_issuer, {"https://www.googleapis.com/oauth2/v3/certs"})
    google = providers.google("https://orders.example", fetcher=serving)
    configure(ROOT_URLCONF=ROLES_URLCONF, BEARERGUARD={"ISSUERS": [google]})
    statuses = []
    for iss in ("https://accounts.google.com", "accounts.google.com"):
        claims = {"iss": iss, "sub": "svc", "aud": "https://orders.example", "roles": ["admin"]}
        headers = {"Authorization": f"Bearer {mint(local_issuer, claims)}"}
        statuses.append(Client().get("/admin", headers=headers).status_code)
    assert statuses == [403, 403]  # verified; Google ID tokens carry no roles


def test_a_claims_type_beside_a_profile_built_for_another_is_refused(
    configure: Callable[..., None],
) -> None:
    """CLAIMS_TYPE differing from the profile's claims_type: ImproperlyConfigured naming both."""
    from bearerguard.django._conf import get_config

    okta = providers.okta("example.okta.com", "api://default", claims_type=OrderClaims)
    configure(BEARERGUARD={"ISSUERS": [okta], "CLAIMS_TYPE": BillingClaims})
    with pytest.raises(ImproperlyConfigured, match=r"BillingClaims .* claims_type=OrderClaims"):
        get_config()


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderClaims(AccessClaims):
    """An application's claims class."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BillingClaims(AccessClaims):
    """Another application's claims class."""
