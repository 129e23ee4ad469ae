"""bearerguard.flask.current_claims(): the verified claims, of the type the caller names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

from bearerguard import AccessClaims, ConfigurationError, claim
from bearerguard.flask import BearerGuard, current_claims
from bearerguard.testing import LocalIssuer

from .cases import AUDIENCE


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantClaims(AccessClaims):
    tenant: str = claim("tenant", default="public")


def make_app(issuer: LocalIssuer, **options: Any) -> Flask:
    app = Flask(__name__)
    BearerGuard(app, oidc=issuer.url, audience=AUDIENCE, **options)

    @app.get("/subject")
    def subject() -> dict[str, Any]:
        claims = current_claims()
        return {"sub": None if claims is None else claims.sub}

    @app.get("/tenant")
    def tenant() -> dict[str, Any]:
        claims = current_claims(TenantClaims)
        return {"tenant": None if claims is None else claims.tenant}

    return app


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_current_claims_are_the_verified_claims(local_issuer: LocalIssuer) -> None:
    """current_claims() is g.claims: the claims of the request's verified token."""
    client = make_app(local_issuer).test_client()
    response = client.get("/subject", headers=bearer(local_issuer.mint(sub="fay")))
    assert response.json == {"sub": "fay"}


def test_current_claims_without_a_token_is_none(local_issuer: LocalIssuer) -> None:
    """With required=False an anonymous request reaches the view; current_claims() is None."""
    client = make_app(local_issuer, required=False).test_client()
    assert client.get("/subject").json == {"sub": None}


def test_current_claims_with_the_configured_claims_type(local_issuer: LocalIssuer) -> None:
    """current_claims(TenantClaims) returns the claims BearerGuard built with that type."""
    client = make_app(local_issuer, claims_type=TenantClaims).test_client()
    response = client.get("/tenant", headers=bearer(local_issuer.mint(tenant="acme")))
    assert response.json == {"tenant": "acme"}


def test_current_claims_of_another_type_names_the_setting(local_issuer: LocalIssuer) -> None:
    """Asking for a claims type BearerGuard does not build is a configuration error."""
    app = make_app(local_issuer)
    app.testing = True  # let the error reach the test instead of a 500 page
    with pytest.raises(ConfigurationError) as raised:
        app.test_client().get("/tenant", headers=bearer(local_issuer.mint()))
    assert str(raised.value) == (
        "current_claims(TenantClaims) returns TenantClaims but the verified claims are "
        "AccessClaims: set BearerGuard's claims_type to TenantClaims, or pass "
        "claims_type=AccessClaims"
    )


def test_current_claims_refuses_a_type_that_is_no_claims_class() -> None:
    """claims_type must be a claims class; the message says so before any request is read."""
    with pytest.raises(ConfigurationError) as raised:
        current_claims(dict)  # type: ignore[type-var]
    assert str(raised.value) == (
        "current_claims: claims_type= must be a subclass of bearerguard.AccessClaims "
        "(or StandardClaims)"
    )
