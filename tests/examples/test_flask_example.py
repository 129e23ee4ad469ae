"""examples/flask_app, configured from the environment, against a real local issuer."""

from __future__ import annotations

from typing import Any

import pytest
from examples.flask_app.app import config_from_env, create_app

from bearerguard import ConfigurationError
from bearerguard.testing import LocalIssuer

AUDIENCE = "api://orders"


@pytest.fixture
def client(local_issuer: LocalIssuer, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("BEARERGUARD_OIDC", local_issuer.url)
    monkeypatch.setenv("BEARERGUARD_AUDIENCE", AUDIENCE)
    return create_app().test_client()


@pytest.mark.parametrize(
    ("path", "scopes", "status"),
    [
        pytest.param("/health", None, 200, id="public-route"),
        pytest.param("/me", None, 401, id="token-route-without-token"),
        pytest.param("/me", [], 200, id="token-route"),
        pytest.param("/orders", ["profile"], 403, id="scoped-route-without-scope"),
        pytest.param("/orders", ["orders:read"], 200, id="scoped-route"),
    ],
)
def test_routes(
    client: Any, local_issuer: LocalIssuer, path: str, scopes: list[str] | None, status: int
) -> None:
    """A public route, a token route and a scoped route."""
    headers = {}
    if scopes is not None:
        token = local_issuer.mint(sub="alice", scopes=scopes, audience=AUDIENCE)
        headers = {"Authorization": f"Bearer {token}"}
    assert client.get(path, headers=headers).status_code == status


def test_me_answer(client: Any, local_issuer: LocalIssuer) -> None:
    """The token route answers the claims it saw in g.claims."""
    token = local_issuer.mint(sub="alice", scopes=["b", "a"], audience=AUDIENCE)
    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json == {"sub": "alice", "scopes": ["a", "b"]}


def test_config_from_env() -> None:
    """BEARERGUARD_* variables become config keys of the same name, JSON decoded."""
    env = {"BEARERGUARD_AUDIENCE": "api://orders", "BEARERGUARD_REQUIRED": "true", "X": "1"}
    assert config_from_env(env) == {
        "BEARERGUARD_AUDIENCE": "api://orders",
        "BEARERGUARD_REQUIRED": True,
    }


def test_missing_configuration_fails_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without an issuer in the environment, create_app says what to set."""
    for name in ("OIDC", "OAUTH2", "JWKS_URI", "ISSUER"):
        monkeypatch.delenv(f"BEARERGUARD_{name}", raising=False)
    monkeypatch.setenv("BEARERGUARD_AUDIENCE", AUDIENCE)
    with pytest.raises(ConfigurationError, match="no token issuer configured"):
        create_app()
