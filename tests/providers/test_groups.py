"""providers.IssuerGroup: what entra() and google() return, accepted wherever an Issuer is.

Also the multi-tenant Microsoft Entra ID opt-in ``allowed_tenants=providers.ANY_TENANT``.
Token shapes: Microsoft identity platform "Access token claims reference" (``iss``
per tenant and version, ``tid``, ``ver``) and Google "Authenticating
service-to-service" (both ``iss`` forms).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, g
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bearerguard import (
    AccessClaims,
    ConfigurationError,
    InvalidClaims,
    Issuer,
    IssuerMismatch,
    Validator,
    Verifier,
    providers,
)
from bearerguard import flask as bg_flask
from bearerguard import starlette as bg_starlette
from bearerguard._settings import GuardSettings
from bearerguard.testing import FakeProvider, LocalIssuer

from .support import ProviderFetcher, mint

TID = "5f2b7c1e-8d4a-4e6b-9a3c-1d7e0f9b2c48"
CONSUMERS = "9188040d-6c67-4c5b-b112-36a304b66dad"  # the personal Microsoft accounts tenant
OTHER_TID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
API = "6e74172b-be56-4843-9ff4-e66a39bb12e3"
SERVICE = "https://orders-abc123-uc.a.run.app"
KEYS = {
    "common": "https://login.microsoftonline.com/common/discovery/v2.0/keys",
    "organizations": "https://login.microsoftonline.com/organizations/discovery/v2.0/keys",
    "tenant": f"https://login.microsoftonline.com/{TID}/discovery/v2.0/keys",
    "google": "https://www.googleapis.com/oauth2/v3/certs",
}


@pytest.fixture(scope="module")
def local() -> Iterator[LocalIssuer]:
    with LocalIssuer() as issuer:
        yield issuer


@pytest.fixture
def fetcher(local: LocalIssuer) -> ProviderFetcher:
    return ProviderFetcher(local, set(KEYS.values()))


def v2(tid: str, **claims: Any) -> dict[str, Any]:
    """An Entra ID v2.0 access token's claims for tenant *tid*."""
    return {
        "iss": f"https://login.microsoftonline.com/{tid}/v2.0",
        "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "aud": API,
        "azp": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "tid": tid,
        "scp": "Orders.Read",
        "ver": "2.0",
        **claims,
    }


KEYS_ONE = Issuer("https://keys.example", []).keys  # one key source for several issuers
GOOGLE = {"iss": "accounts.google.com", "sub": "110169484474386276334", "aud": SERVICE}


# -- the object ------------------------------------------------------------------------


def test_entra_and_google_return_an_issuer_group(fetcher: ProviderFetcher) -> None:
    """entra() and google() give an IssuerGroup: iterable members sharing one key set."""
    entra = providers.entra(TID, API, versions=(1, 2), fetcher=fetcher)
    google = providers.google(SERVICE, fetcher=fetcher)
    assert isinstance(entra, providers.IssuerGroup)
    assert isinstance(google, providers.IssuerGroup)
    assert [i.url for i in google] == ["https://accounts.google.com", "accounts.google.com"]
    assert google.urls == ("https://accounts.google.com", "accounts.google.com")
    assert entra.urls == (
        f"https://sts.windows.net/{TID}/",
        f"https://login.microsoftonline.com/{TID}/v2.0",
    )
    assert len(entra) == 2
    assert all(member.keys is entra.keys for member in entra)


def test_a_group_verifies_and_validates_a_token_of_either_member(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """group.verify_and_validate picks the member by iss: both Google iss forms verify."""
    google = providers.google(SERVICE, fetcher=fetcher)
    for iss in ("https://accounts.google.com", "accounts.google.com"):
        jws, claims = google.verify_and_validate(mint(local, {**GOOGLE, "iss": iss}))
        assert (claims.iss, type(claims), jws.payload["iss"]) == (iss, AccessClaims, iss)
    assert fetcher.counts == Counter({KEYS["google"]: 1})


def test_a_group_unsafe_verify_checks_signature_and_iss_only(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """unsafe_verify accepts a token for another audience (no claim checks), as Issuer's does."""
    google = providers.google(SERVICE, fetcher=fetcher)
    jws = google.unsafe_verify(mint(local, {**GOOGLE, "aud": "https://other.example"}))
    assert jws.payload["aud"] == "https://other.example"


def test_a_group_refuses_a_token_of_an_iss_it_does_not_have_before_any_fetch(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """An iss outside the group: IssuerMismatch naming the reason, no key fetch."""
    entra = providers.entra(TID, API, fetcher=fetcher)
    with pytest.raises(IssuerMismatch, match=f"token iss is of tenant {OTHER_TID}, not an allowed"):
        entra.verify_and_validate(mint(local, v2(OTHER_TID)))
    assert fetcher.counts == Counter()


def test_a_group_has_the_async_twins(local: LocalIssuer, fetcher: ProviderFetcher) -> None:
    """averify_and_validate and aunsafe_verify verify like their sync twins."""
    google = providers.google(SERVICE, fetcher=fetcher)
    token = mint(local, GOOGLE)

    async def both() -> tuple[str | None, Any]:
        _, claims = await google.averify_and_validate(token)
        jws = await google.aunsafe_verify(token)
        return claims.iss, jws.payload["iss"]

    assert asyncio.run(both()) == ("accounts.google.com", "accounts.google.com")


def test_an_issuer_group_can_be_built_from_issuers_sharing_one_key_set() -> None:
    """IssuerGroup(issuers): the members, their URLs, their shared key source."""
    keys: list[Any] = []
    one = Issuer("https://a.example", keys, Validator(aud="api"))
    two = Issuer("a.example", one.keys, Validator(aud="api"))
    group = providers.IssuerGroup([one, two])
    assert (list(group), group.urls, group.keys) == (
        [one, two],
        ("https://a.example", "a.example"),
        one.keys,
    )
    assert repr(group) == "IssuerGroup(['https://a.example', 'a.example'])"


@pytest.mark.parametrize(
    ("issuers", "message"),
    [
        pytest.param([], "IssuerGroup needs at least one Issuer", id="empty"),
        pytest.param("https://a.example", "takes a list of bearerguard.Issuer", id="a-string"),
        pytest.param(
            ["https://a.example"], "must be bearerguard.Issuer objects, got str", id="a-url"
        ),
        pytest.param(
            [Issuer("https://a.example", []), Issuer("https://b.example", [])],
            "must share one key source",
            id="different-keys",
        ),
        pytest.param(
            [
                Issuer("https://a.example", KEYS_ONE, claims_type=AccessClaims),
                Issuer("a.example", KEYS_ONE),
            ],
            "must have the same claims_type",
            id="different-claims-types",
        ),
        pytest.param(
            [Issuer("https://a.example", KEYS_ONE), Issuer("https://a.example", KEYS_ONE)],
            "issuer 'https://a.example' is given twice",
            id="the-same-url-twice",
        ),
    ],
)
def test_an_issuer_group_refuses_what_is_not_one_providers_issuers(
    issuers: Any, message: str
) -> None:
    """A group holds Issuers of one key set; anything else is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        providers.IssuerGroup(issuers)


# -- accepted wherever an Issuer is ---------------------------------------------------


def test_a_verifier_takes_a_group_and_the_old_tuple(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """Verifier(issuers=[group]), Verifier(issuers=[tuple(group)]) and issuers=[tuple(group)]
    trust the same issuers."""
    group = providers.google(SERVICE, fetcher=fetcher)
    assert Verifier([group]).issuers == Verifier([tuple(group)]).issuers == tuple(group)
    assert GuardSettings(issuers=[tuple(group)]).build_verifier().issuers == tuple(group)
    assert Verifier([group]).verify(mint(local, GOOGLE)).aud == (SERVICE,)


def test_the_issuers_setting_keeps_a_group_and_lists_its_urls(fetcher: ProviderFetcher) -> None:
    """GuardSettings(issuers=[group]): its URLs are the settings' issuer URLs (RFC 9728)."""
    settings = GuardSettings(
        issuers=[providers.entra("common", API, allowed_tenants=providers.ANY_TENANT)],
        resource="https://api.example.com",
    )
    assert settings.issuer_urls == ("https://login.microsoftonline.com/{tenantid}/v2.0",)


def test_flask_takes_a_group_in_its_issuers_config(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """BEARERGUARD_ISSUERS=[entra(organizations, ANY_TENANT)]: a token of any tenant is 200."""
    app = Flask(__name__)
    app.config.update(
        BEARERGUARD_ISSUERS=[
            providers.entra(
                "organizations", API, allowed_tenants=providers.ANY_TENANT, fetcher=fetcher
            )
        ]
    )
    bg_flask.BearerGuard(app)

    @app.get("/me")
    def me() -> str:
        return str(g.claims.raw["tid"])

    client = app.test_client()
    for tid in (TID, OTHER_TID):
        response = client.get("/me", headers={"Authorization": f"Bearer {mint(local, v2(tid))}"})
        assert (response.status_code, response.get_data(as_text=True)) == (200, tid)
    assert fetcher.counts == Counter({KEYS["organizations"]: 1})


def test_starlette_takes_a_group_in_issuers(local: LocalIssuer, fetcher: ProviderFetcher) -> None:
    """JWTAuth(issuers=[google(...)]): the short iss form passes, another audience is 401."""

    async def me(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.user.claims.iss)

    app = Starlette(routes=[Route("/me", me)])
    app.add_middleware(bg_starlette.JWTAuth, issuers=[providers.google(SERVICE, fetcher=fetcher)])
    with TestClient(app) as client:
        ok = client.get("/me", headers={"Authorization": f"Bearer {mint(local, GOOGLE)}"})
        other = mint(local, {**GOOGLE, "aud": "https://billing.example"})
        refused = client.get("/me", headers={"Authorization": f"Bearer {other}"})
    assert (ok.status_code, ok.text) == (200, "accounts.google.com")
    assert refused.status_code == 401


# -- any tenant --------------------------------------------------------------------------


def test_any_tenant_accepts_every_tenant_with_one_key_fetch(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """allowed_tenants=ANY_TENANT: tokens of two tenants verify; one JWKS fetch serves both."""
    verifier = Verifier(
        [providers.entra("common", API, allowed_tenants=providers.ANY_TENANT, fetcher=fetcher)]
    )
    tenants = [verifier.verify(mint(local, v2(tid))).raw["tid"] for tid in (TID, OTHER_TID)]
    assert tenants == [TID, OTHER_TID]
    assert fetcher.counts == Counter({KEYS["common"]: 1})


def test_any_tenant_with_v1_accepts_the_sts_issuer_of_any_tenant(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """versions=(1,) with ANY_TENANT: a v1.0 token (sts.windows.net) of any tenant verifies."""
    group = providers.entra(
        "organizations",
        "api://orders",
        versions=(1,),
        allowed_tenants=providers.ANY_TENANT,
        fetcher=fetcher,
    )
    claims = {
        "iss": f"https://sts.windows.net/{OTHER_TID}/",
        "sub": "l3_roISQU222bULS9yi2k0XpqpOiMz5H3ZACo1GeXA",
        "aud": "api://orders",
        "appid": "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "tid": OTHER_TID,
        "ver": "1.0",
    }
    assert Verifier([group]).verify(mint(local, claims)).client_id == claims["appid"]
    assert group.urls == ("https://sts.windows.net/{tenantid}/",)
    assert list(group) == []


def test_any_tenant_still_requires_this_apis_audience(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """ANY_TENANT does not widen the audience: a token for another API is refused."""
    group = providers.entra("common", API, allowed_tenants=providers.ANY_TENANT, fetcher=fetcher)
    with pytest.raises(InvalidClaims, match="aud: token is not meant for this audience"):
        Verifier([group]).verify(mint(local, v2(TID, aud="api://other")))


def test_a_fake_entra_with_any_tenant_fetches_once_for_every_tenant() -> None:
    """FakeProvider counts: two tenants' tokens cost one JWKS request, a foreign iss none."""
    with FakeProvider.entra("organizations", allowed_tenants=providers.ANY_TENANT) as fake:
        verifier = Verifier([fake.profile()])
        with pytest.raises(IssuerMismatch, match="token iss is not a trusted issuer"):
            verifier.verify(fake.mint(iss="https://login.example.com/tenant/v2.0"))
        assert fake.counts == {}
        verifier.verify(fake.mint())
        verifier.verify(fake.mint(tid=OTHER_TID))
        assert fake.counts == {"/organizations/discovery/v2.0/keys": 1}


@pytest.mark.parametrize(
    "tenant",
    [pytest.param("organizations", id="organizations"), pytest.param("common", id="common")],
)
def test_a_multi_tenant_entra_without_a_choice_names_both_options(tenant: str) -> None:
    """Neither allowed_tenants nor ANY_TENANT: the error names both ways to choose."""
    with pytest.raises(ConfigurationError) as raised:
        providers.entra(tenant, API)
    assert "allowed_tenants={...}" in str(raised.value)
    assert "allowed_tenants=providers.ANY_TENANT" in str(raised.value)


def test_any_tenant_is_only_for_a_multi_tenant_application() -> None:
    """ANY_TENANT with a single tenant ID is a ConfigurationError."""
    with pytest.raises(ConfigurationError, match="allowed_tenants is only for"):
        providers.entra(TID, API, allowed_tenants=providers.ANY_TENANT)


def test_any_tenant_metrics_name_the_template_not_each_tenant(
    local: LocalIssuer, fetcher: ProviderFetcher
) -> None:
    """With meter_provider=, tokens of any tenant count under the {tenantid} template,
    and the group's one key-set fetch is reported."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    group = providers.entra("common", API, allowed_tenants=providers.ANY_TENANT, fetcher=fetcher)
    verifier = Verifier([group], meter_provider=MeterProvider(metric_readers=[reader]))
    for tid in (TID, OTHER_TID):
        verifier.verify(mint(local, v2(tid)))
    with pytest.raises(InvalidClaims):
        verifier.verify(mint(local, v2(TID, aud="api://other")))
    data = reader.get_metrics_data()
    assert data is not None
    issuers = {
        point.attributes["bearerguard.issuer"]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "bearerguard.verifications"
        for point in metric.data.data_points
        if point.attributes and "bearerguard.issuer" in point.attributes
    }
    assert issuers == {"https://login.microsoftonline.com/{tenantid}/v2.0"}
    fetches = [
        (dict(point.attributes or {}), getattr(point, "value", None))
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "bearerguard.keyset.fetches"
        for point in metric.data.data_points
    ]
    assert fetches == [({"bearerguard.jwks_uri": KEYS["common"]}, 1)]


def test_a_bare_group_where_a_list_belongs_is_refused(fetcher: ProviderFetcher) -> None:
    """Verifier(group) / issuers=group: a ConfigurationError asking for a list, not its members."""
    group = providers.entra("common", API, allowed_tenants=providers.ANY_TENANT, fetcher=fetcher)
    with pytest.raises(ConfigurationError, match=re.escape("Verifier([providers.google(...)])")):
        Verifier(group)
    with pytest.raises(ConfigurationError, match="issuers= must be a list of issuers"):
        GuardSettings(issuers=group)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tenant", "accepted"),
    [
        pytest.param("organizations", False, id="organizations"),
        pytest.param("common", True, id="common"),
    ],
)
def test_any_tenant_of_organizations_refuses_personal_accounts(
    local: LocalIssuer, fetcher: ProviderFetcher, tenant: str, accepted: bool
) -> None:
    """ "organizations" with ANY_TENANT refuses the personal-accounts tenant, with no fetch;
    "common" accepts it."""
    verifier = Verifier(
        [providers.entra(tenant, API, allowed_tenants=providers.ANY_TENANT, fetcher=fetcher)]
    )
    token = mint(local, v2(CONSUMERS))
    if accepted:
        assert verifier.verify(token).raw["tid"] == CONSUMERS
        return
    with pytest.raises(IssuerMismatch) as raised:
        verifier.verify(token)
    assert raised.value.description == (
        f"token iss is of tenant {CONSUMERS}, personal Microsoft accounts; "
        "'organizations' accepts work and school accounts only"
    )
    assert fetcher.counts == Counter()
