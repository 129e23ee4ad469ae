"""The DPoP settings as each framework spells them: Flask's app.config keys, keywords."""

from __future__ import annotations

from typing import Any

from flask import Flask, g

from bearerguard import DPoPPolicy, MemoryReplayCache
from bearerguard.flask import BearerGuard
from bearerguard.testing import DPoPKey, LocalIssuer

from ..adapters.cases import AUDIENCE

URL = "https://api.example.com/orders"


def _flask(config: dict[str, Any], **options: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    BearerGuard(app, **options)

    @app.get("/orders")
    def orders() -> dict[str, str]:
        return {"sub": g.claims.sub}

    return app


def test_flask_config_keys_turn_dpop_on(local_issuer: LocalIssuer, client_key: DPoPKey) -> None:
    """BEARERGUARD_DPOP, BEARERGUARD_DPOP_POLICY (a mapping) and BEARERGUARD_EXTERNAL_URL."""
    app = _flask(
        {
            "BEARERGUARD_OIDC": local_issuer.url,
            "BEARERGUARD_AUDIENCE": AUDIENCE,
            "BEARERGUARD_DPOP": "required",
            "BEARERGUARD_DPOP_POLICY": {"ALGORITHMS": ["ES256"], "MAX_AGE": 60},
            "BEARERGUARD_EXTERNAL_URL": "https://api.example.com",
        }
    )
    token = local_issuer.mint(dpop_key=client_key)
    proof = client_key.proof("GET", URL, access_token=token)
    client = app.test_client()
    ok = client.get("/orders", headers={"Authorization": f"DPoP {token}", "DPoP": proof})
    assert ok.json == {"sub": "test-user"}
    refused = client.get("/orders")
    assert refused.headers["WWW-Authenticate"] == 'DPoP algs="ES256"'


def test_keywords_take_a_ready_policy(local_issuer: LocalIssuer, client_key: DPoPKey) -> None:
    """BearerGuard(app, dpop=..., dpop_policy=DPoPPolicy(...)) uses that policy's replay cache."""
    cache = MemoryReplayCache()
    app = _flask(
        {},
        oidc=local_issuer.url,
        audience=AUDIENCE,
        dpop="allowed",
        dpop_policy=DPoPPolicy(replay_cache=cache),
        external_url="https://api.example.com",
    )
    token = local_issuer.mint(dpop_key=client_key)
    proof = client_key.proof("GET", URL, access_token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    assert app.test_client().get("/orders", headers=headers).status_code == 200
    assert len(cache) == 1
