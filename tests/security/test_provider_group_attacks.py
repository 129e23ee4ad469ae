"""Provider groups under attack: tenant confusion with Entra ID's ANY_TENANT.

With ``allowed_tenants=providers.ANY_TENANT`` every tenant's tokens are signed
with one key set, so anyone can get a validly signed token from a tenant of
their own. What keeps tenants apart is the ``iss`` (one per tenant and token
version, RFC 8725 §3.8) and ``tid``; each case is a validly signed token
whose ``iss``/``tid``/``ver`` try to pass for something they are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bearerguard import InvalidClaims, InvalidToken, IssuerMismatch, Verifier, providers
from bearerguard.testing import LocalIssuer

from ..providers.support import ProviderFetcher, mint

TID = "5f2b7c1e-8d4a-4e6b-9a3c-1d7e0f9b2c48"
OTHER_TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
API = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
LOGIN = "https://login.microsoftonline.com"
KEYS = {
    f"{LOGIN}/common/discovery/v2.0/keys",
    f"{LOGIN}/organizations/discovery/v2.0/keys",
}
UNTRUSTED = "token iss is not a trusted issuer"


@pytest.fixture(scope="module")
def local() -> Iterator[LocalIssuer]:
    with LocalIssuer() as issuer:
        yield issuer


def _v2(tenant: str, **claims: Any) -> dict[str, Any]:
    return {
        "iss": f"{LOGIN}/{tenant}/v2.0",
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "aud": API,
        "azp": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "tid": tenant,
        "scp": "Orders.Read",
        "ver": "2.0",
        **claims,
    }


@pytest.mark.parametrize(
    ("claims", "error", "description"),
    [
        pytest.param(
            _v2(OTHER_TID, tid=TID),
            InvalidClaims,
            "tid: the token's tenant is not the tenant in its iss",
            id="tid-of-another-tenant",
        ),
        pytest.param(
            _v2(OTHER_TID, tid=None),
            InvalidClaims,
            "tid: required claim is missing",
            id="no-tid",
        ),
        pytest.param(
            _v2(OTHER_TID, ver="1.0"),
            InvalidClaims,
            "ver: a token with a v2.0 iss must have ver '2.0'",
            id="v2-iss-with-v1-ver",
        ),
        pytest.param(
            _v2(OTHER_TID, iss=f"{LOGIN}/{OTHER_TID.upper()}/v2.0", tid=OTHER_TID.upper()),
            IssuerMismatch,
            UNTRUSTED,
            id="tenant-id-in-upper-case",
        ),
        pytest.param(
            _v2(OTHER_TID, iss=f"{LOGIN}/{{tenantid}}/v2.0", tid="{tenantid}"),
            IssuerMismatch,
            UNTRUSTED,
            id="the-template-itself",
        ),
        pytest.param(
            _v2(OTHER_TID, iss=f"{LOGIN}/common/v2.0", tid="common"),
            IssuerMismatch,
            UNTRUSTED,
            id="tenant-named-common",
        ),
        pytest.param(
            _v2(OTHER_TID, iss=f"{LOGIN}/{OTHER_TID}/v2.0/"),
            IssuerMismatch,
            UNTRUSTED,
            id="trailing-slash",
        ),
        pytest.param(
            _v2(OTHER_TID, iss=f"{LOGIN}/{OTHER_TID}/v2.0/../../{TID}/v2.0"),
            IssuerMismatch,
            UNTRUSTED,
            id="dot-segments",
        ),
        pytest.param(
            _v2(OTHER_TID, iss=f"https://login.microsoftonline.com.evil.example/{OTHER_TID}/v2.0"),
            IssuerMismatch,
            UNTRUSTED,
            id="look-alike-host",
        ),
        pytest.param(
            _v2(OTHER_TID, iss=f"http://login.microsoftonline.com/{OTHER_TID}/v2.0"),
            IssuerMismatch,
            UNTRUSTED,
            id="plain-http",
        ),
    ],
)
def test_tenant_confusion_is_refused_with_any_tenant(
    local: LocalIssuer, claims: dict[str, Any], error: type[InvalidToken], description: str
) -> None:
    """ANY_TENANT accepts each tenant as itself, never as another or as no tenant."""
    fetcher = ProviderFetcher(local, KEYS)
    group = providers.entra("common", API, allowed_tenants=providers.ANY_TENANT, fetcher=fetcher)
    token = mint(local, {k: v for k, v in claims.items() if v is not None})
    with pytest.raises(error) as caught:
        Verifier([group]).verify(token)
    assert type(caught.value) is error
    assert caught.value.description == description


def test_a_v1_token_is_refused_where_only_v2_is_accepted(local: LocalIssuer) -> None:
    """versions=(2,): the v1.0 iss of the same tenant (sts.windows.net) is another issuer."""
    fetcher = ProviderFetcher(local, KEYS)
    group = providers.entra("common", API, allowed_tenants=providers.ANY_TENANT, fetcher=fetcher)
    token = mint(local, _v2(OTHER_TID, iss=f"https://sts.windows.net/{OTHER_TID}/", ver="1.0"))
    with pytest.raises(IssuerMismatch) as caught:
        Verifier([group]).verify(token)
    assert caught.value.description.startswith("token is a v1.0 token")


def test_a_listed_tenant_does_not_admit_another(local: LocalIssuer) -> None:
    """allowed_tenants={TID}: a token of another tenant is refused naming its tenant."""
    fetcher = ProviderFetcher(local, KEYS)
    group = providers.entra("organizations", API, allowed_tenants={TID}, fetcher=fetcher)
    with pytest.raises(IssuerMismatch) as caught:
        Verifier([group]).verify(mint(local, _v2(OTHER_TID)))
    assert caught.value.description == (
        f"token iss is of tenant {OTHER_TID}, not an allowed tenant"
    )
    assert fetcher.counts == {}  # refused before any key was fetched
