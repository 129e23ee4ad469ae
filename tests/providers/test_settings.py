"""issuers= in the adapters' settings (Django "ISSUERS", Flask BEARERGUARD_ISSUERS)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, g
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bearerguard import ClaimSources, ConfigurationError, Issuer, Validator, Verifier, providers
from bearerguard import flask as bg_flask
from bearerguard import starlette as bg_starlette
from bearerguard._settings import GuardSettings
from bearerguard.testing import LocalIssuer

from .support import ProviderFetcher, mint

POOL = "us-east-1_Ab12Cd34E"
COGNITO_ISS = f"https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
# Amazon Cognito's access token and ID token ("Understanding the access token",
# "Understanding the identity (ID) token" in the Cognito developer guide).
ACCESS = {
    "iss": COGNITO_ISS,
    "sub": "aaaaaaaa-bbbb-cccc-dddd-example",
    "client_id": "1example23456789",
    "token_use": "access",
    "scope": "orders/read",
    "cognito:groups": ["admin"],
}
ID_TOKEN = {
    "iss": COGNITO_ISS,
    "sub": "aaaaaaaa-bbbb-cccc-dddd-example",
    "aud": "1example23456789",
    "token_use": "id",
    "cognito:groups": ["admin"],
}


@pytest.fixture(scope="module")
def local() -> Iterator[LocalIssuer]:
    with LocalIssuer() as issuer:
        yield issuer


@pytest.fixture
def fetcher(local: LocalIssuer) -> ProviderFetcher:
    return ProviderFetcher(local, {"https://www.googleapis.com/oauth2/v3/certs"})


def cognito(fetcher: ProviderFetcher) -> Issuer:
    return providers.cognito("us-east-1", POOL, client_ids=["1example23456789"], fetcher=fetcher)


def test_issuers_setting_builds_a_verifier_of_those_issuers(fetcher: ProviderFetcher) -> None:
    """issuers= takes Issuers and provider tuples; the verifier trusts each of their URLs."""
    google = providers.google("https://svc.example.com", fetcher=fetcher)
    settings = GuardSettings(issuers=[cognito(fetcher), google])
    verifier = settings.build_verifier()
    assert [i.url for i in verifier.issuers] == [
        COGNITO_ISS,
        "https://accounts.google.com",
        "accounts.google.com",
    ]
    assert settings.issuer_urls == tuple(i.url for i in verifier.issuers)
    assert fetcher.counts == {}


def test_flask_reads_issuers_from_its_config(local: LocalIssuer, fetcher: ProviderFetcher) -> None:
    """BEARERGUARD_ISSUERS: a Cognito access token passes require_roles, its ID token is 401."""
    app = Flask(__name__)
    app.config.update(BEARERGUARD_ISSUERS=[cognito(fetcher)])
    bg_flask.BearerGuard(app)

    @app.get("/admin")
    @bg_flask.require_roles("admin")
    def admin() -> str:
        return str(g.claims.client_id)

    client = app.test_client()
    ok = client.get("/admin", headers={"Authorization": f"Bearer {mint(local, ACCESS)}"})
    refused = client.get("/admin", headers={"Authorization": f"Bearer {mint(local, ID_TOKEN)}"})
    assert (ok.status_code, ok.get_data()) == (200, b"1example23456789")
    assert refused.status_code == 401
    assert "token_use: an ID token, not an access token" in refused.headers["WWW-Authenticate"]


def test_starlette_takes_issuers(local: LocalIssuer, fetcher: ProviderFetcher) -> None:
    """JWTAuth(issuers=[...]): the Cognito access token passes, its ID token is 401."""

    async def me(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.user.claims.client_id)

    app = Starlette(routes=[Route("/me", me)])
    app.add_middleware(bg_starlette.JWTAuth, issuers=[cognito(fetcher)])
    with TestClient(app) as client:
        ok = client.get("/me", headers={"Authorization": f"Bearer {mint(local, ACCESS)}"})
        refused = client.get("/me", headers={"Authorization": f"Bearer {mint(local, ID_TOKEN)}"})
    assert (ok.status_code, ok.text) == (200, "1example23456789")
    assert refused.status_code == 401
    assert "token_use: an ID token, not an access token" in refused.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(
            {"oidc": "https://login.example.com"},
            "issuers= already hold their keys and claim policy; remove oidc=",
            id="oidc",
        ),
        pytest.param(
            {"oauth2": "https://login.example.com"},
            "remove oauth2=",
            id="oauth2",
        ),
        pytest.param(
            {"jwks_uri": "https://login.example.com/jwks", "issuer": "https://login.example.com"},
            "remove jwks_uri=, issuer=",
            id="jwks_uri",
        ),
        pytest.param({"audience": "api://orders"}, "remove audience=", id="audience"),
        pytest.param(
            {"claim_sources": ClaimSources(roles="groups")},
            "remove claim_sources=",
            id="claim_sources",
        ),
        pytest.param(
            {"validator": Validator(aud="api://orders")}, "remove validator=", id="validator"
        ),
    ],
)
def test_issuers_setting_is_refused_beside_what_the_issuers_hold(
    fetcher: ProviderFetcher, extra: dict[str, Any], message: str
) -> None:
    """A setting the issuers already decide is a ConfigurationError naming it."""
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        GuardSettings(issuers=[cognito(fetcher)], **extra)


def test_issuers_setting_is_refused_beside_verifier(fetcher: ProviderFetcher) -> None:
    """verifier= and issuers= together: the verifier already holds its issuers."""
    verifier = Verifier([cognito(fetcher)])
    with pytest.raises(ConfigurationError, match=re.escape("remove issuers=")):
        GuardSettings(verifier=verifier, issuers=[cognito(fetcher)])


@pytest.mark.parametrize(
    ("issuers", "message"),
    [
        pytest.param([], "issuers= is empty", id="empty"),
        pytest.param(["https://login.example.com"], "got str", id="a-url"),
        pytest.param("https://login.example.com", "must be a list of issuers", id="a-string"),
    ],
)
def test_issuers_setting_must_hold_issuers(issuers: Any, message: str) -> None:
    """issuers= holds Issuer objects (or provider tuples), at least one."""
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        GuardSettings(issuers=issuers)


def test_an_issuer_without_validator_is_refused_in_issuers() -> None:
    """An Issuer with no claim policy cannot verify tokens: refused at configuration."""
    bare = Issuer("https://login.example.com", [])
    with pytest.raises(ConfigurationError, match="has no validator"):
        GuardSettings(issuers=[bare])
