"""claim_sources= in the adapters' settings: where scopes, roles and the client come from."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g

from bearerguard import ClaimSources, ConfigurationError, Validator
from bearerguard import flask as bg_flask
from bearerguard._settings import GuardSettings
from bearerguard.testing import LocalIssuer

from .cases import AUDIENCE


def test_claim_sources_reach_the_verifier(local_issuer: LocalIssuer) -> None:
    """The settings' sources are the validator's: roles from Keycloak's realm_access."""
    sources = ClaimSources(roles="/realm_access/roles", client_id="azp")
    settings = GuardSettings(oidc=local_issuer.url, audience=AUDIENCE, claim_sources=sources)
    verifier = settings.build_verifier()
    (issuer,) = verifier.issuers
    assert issuer.validator is not None
    assert issuer.validator.claim_sources is sources
    token = local_issuer.mint(roles=["top"], realm_access={"roles": ["realm"]}, azp="web")
    claims = verifier.verify(token)
    assert (claims.roles, claims.client_id) == (frozenset({"realm"}), "web")


def test_flask_reads_claim_sources_from_its_config(local_issuer: LocalIssuer) -> None:
    """BEARERGUARD_CLAIM_SOURCES as a mapping (a settings file) drives require_roles."""
    app = Flask(__name__)
    app.config.update(
        BEARERGUARD_OIDC=local_issuer.url,
        BEARERGUARD_AUDIENCE=AUDIENCE,
        BEARERGUARD_CLAIM_SOURCES={"ROLES": ["cognito:groups"]},
    )
    bg_flask.BearerGuard(app)

    @app.get("/admin")
    @bg_flask.require_roles("admin")
    def admin() -> str:
        return str(g.claims.sub)

    client = app.test_client()
    groups: dict[str, Any] = {"cognito:groups": ["admin"]}
    grouped = local_issuer.mint(sub="ann", **groups)
    with_roles = local_issuer.mint(sub="ann", roles=["admin"])
    ok = client.get("/admin", headers={"Authorization": f"Bearer {grouped}"})
    refused = client.get("/admin", headers={"Authorization": f"Bearer {with_roles}"})
    assert (ok.status_code, ok.get_data()) == (200, b"ann")
    assert refused.status_code == 403
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", error_description="missing role: admin"'
    )


@pytest.mark.parametrize(
    ("options", "match"),
    [
        pytest.param(
            {"validator": Validator(aud=AUDIENCE), "claim_sources": ClaimSources()},
            "set claim_sources on the Validator",
            id="with-validator",
        ),
        pytest.param(
            {"audience": AUDIENCE, "claim_sources": {"roles": "groups"}},
            "claim_sources= must be a bearerguard.ClaimSources",
            id="a-plain-dict",
        ),
    ],
)
def test_claim_sources_that_cannot_apply_are_configuration_errors(
    local_issuer: LocalIssuer, options: dict[str, Any], match: str
) -> None:
    """claim_sources= with a ready validator, or not a ClaimSources: refused at start-up."""
    with pytest.raises(ConfigurationError, match=match):
        GuardSettings(oidc=local_issuer.url, **options)


def test_claim_sources_with_a_ready_verifier_is_a_configuration_error(
    local_issuer: LocalIssuer,
) -> None:
    """A ready Verifier holds its issuers' sources already."""
    verifier = GuardSettings(oidc=local_issuer.url, audience=AUDIENCE).build_verifier()
    with pytest.raises(ConfigurationError, match="claim_sources="):
        GuardSettings(verifier=verifier, claim_sources=ClaimSources())


def test_an_unknown_claim_sources_key_names_the_setting(local_issuer: LocalIssuer) -> None:
    """A typo in a settings file's CLAIM_SOURCES is an error naming the key."""
    with pytest.raises(ConfigurationError, match="BEARERGUARD_CLAIM_SOURCES: unknown key"):
        GuardSettings.from_mapping(
            {
                "BEARERGUARD_OIDC": local_issuer.url,
                "BEARERGUARD_AUDIENCE": AUDIENCE,
                "BEARERGUARD_CLAIM_SOURCES": {"GROUPS": ["g"]},
            },
            prefix="BEARERGUARD_",
        )
