"""Introspected tokens through every adapter: scopes checked, the same 401 and 503 bytes."""

from __future__ import annotations

from typing import Any

import pytest

from bearerguard import ConfigurationError, Introspection
from bearerguard._settings import GuardSettings
from tests.adapters.apps import ADAPTERS, open_client
from tests.adapters.cases import SCOPE, SCOPED_PATH, TOKEN_PATH, Observed

from .authserver import API_SECRET, AUDIENCE, AuthServer
from .conftest import introspection_for

INACTIVE = Observed(
    401,
    {
        "content-type": "application/json",
        "content-length": "67",
        "cache-control": "no-store",
        "www-authenticate": 'Bearer error="invalid_token", error_description="token is not active"',
    },
    b'{"error":"invalid_token","error_description":"token is not active"}',
)
UNAVAILABLE = Observed(
    503,
    {
        "content-type": "application/json",
        "content-length": "89",
        "cache-control": "no-store",
        "retry-after": "10",
    },
    b'{"error":"temporarily_unavailable","error_description":"token introspection unavailable"}',
)


def _bearer(token: str) -> list[bytes]:
    return [f"Bearer {token}".encode()]


def _settings(server: AuthServer) -> GuardSettings:
    return GuardSettings(
        oauth2=server.url, audience=AUDIENCE, introspection=introspection_for(server)
    )


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_every_adapter_accepts_an_active_token_and_checks_its_scopes(
    adapter: str, auth_server: AuthServer
) -> None:
    """200 with the granted scope, 403 insufficient_scope without it; one request per token."""
    writer = auth_server.issue(scope=f"read {SCOPE}")
    reader = auth_server.issue(scope="read")
    with open_client(adapter, _settings(auth_server)) as send:
        accepted = send(SCOPED_PATH, "", _bearer(writer))
        assert (accepted.status, accepted.body) == (200, b"app")
        refused = send(SCOPED_PATH, "", _bearer(reader))
        assert refused.status == 403
        assert refused.headers["www-authenticate"] == (
            'Bearer error="insufficient_scope", '
            'error_description="missing scope: write", scope="write"'
        )
        assert send(TOKEN_PATH, "", _bearer(reader)).body == b"app"
    assert auth_server.counts["introspect"] == 2


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_every_adapter_answers_an_inactive_token_with_the_same_401(
    adapter: str, auth_server: AuthServer
) -> None:
    token = auth_server.issue()
    auth_server.tokens[token].revoked = True
    with open_client(adapter, _settings(auth_server)) as send:
        assert send(TOKEN_PATH, "", _bearer(token)) == INACTIVE


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("fault", ["500", "garbage"])
def test_every_adapter_answers_a_failing_endpoint_with_503_and_retry_after(
    adapter: str, fault: str, auth_server: AuthServer
) -> None:
    token = auth_server.issue()
    auth_server.fault = fault
    with open_client(adapter, _settings(auth_server)) as send:
        assert send(TOKEN_PATH, "", _bearer(token)) == UNAVAILABLE


def test_settings_file_mapping_builds_the_introspection(auth_server: AuthServer) -> None:
    """Django's BEARERGUARD["INTROSPECTION"] (and Flask's config) may be a mapping of fields."""
    settings = GuardSettings.from_mapping(
        {
            "OAUTH2": auth_server.url,
            "AUDIENCE": AUDIENCE,
            "INTROSPECTION": {
                "ISSUER": auth_server.url,
                "CLIENT_ID": "orders-api-post",
                "CLIENT_SECRET": API_SECRET,
                "CLIENT_AUTH": "client_secret_post",
                "CACHE_TTL": 5,
            },
        }
    )
    assert isinstance(settings.introspection, Introspection)
    assert settings.introspection.cache_ttl == 5.0
    verifier = settings.build_verifier()
    assert verifier.introspection == settings.introspection
    assert verifier.verify(auth_server.issue()).client_id == "app"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        pytest.param(
            {"INTROSPECTION": {"ISSUER": "https://as.example", "CLIENT": "x"}},
            "INTROSPECTION: unknown Introspection field CLIENT",
            id="unknown-field",
        ),
        pytest.param(
            {"INTROSPECTION": "https://as.example"},
            "introspection= must be a bearerguard.Introspection",
            id="not-a-mapping",
        ),
    ],
)
def test_settings_file_mistakes_are_named(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        GuardSettings.from_mapping({"OAUTH2": "https://as.example", "AUDIENCE": "api", **mapping})


def test_introspection_goes_on_the_verifier_when_one_is_given(auth_server: AuthServer) -> None:
    """verifier= already decides introspection: both at once is a configuration error."""
    verifier = _settings(auth_server).build_verifier()
    with pytest.raises(ConfigurationError, match="remove introspection="):
        GuardSettings(verifier=verifier, introspection=introspection_for(auth_server))


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_introspection_alone_is_a_source_of_tokens(adapter: str, auth_server: AuthServer) -> None:
    """No oidc/oauth2/jwks_uri: every token is introspected, checked against audience=."""
    settings = GuardSettings(audience=AUDIENCE, introspection=introspection_for(auth_server))
    assert settings.issuer_urls == (auth_server.url,)
    token = auth_server.issue(scope=SCOPE)
    other = auth_server.issue(scope=SCOPE)
    auth_server.tokens[other].aud = ["api://billing"]
    with open_client(adapter, settings) as send:
        assert send(SCOPED_PATH, "", _bearer(token)).body == b"app"
        refused = send(TOKEN_PATH, "", _bearer(other))
        assert refused.status == 401
        assert "aud: token is not meant for this audience" in refused.headers["www-authenticate"]
    assert auth_server.counts["metadata"] == 1  # the introspection endpoint, found once


def test_no_source_of_tokens_names_introspection() -> None:
    with pytest.raises(ConfigurationError, match=r"introspection=Introspection\(\.\.\.\)"):
        GuardSettings(audience=AUDIENCE)
