"""bearerguard.flask through Flask's test client."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g

from bearerguard import ConfigurationError
from bearerguard._settings import GuardSettings
from bearerguard.flask import BearerGuard, BearerGuardState, require_scopes, require_token
from bearerguard.testing import LocalIssuer

from .cases import AUDIENCE, NO_TOKEN_BODY, REALM


def make_app(config: dict[str, Any] | None = None, **options: Any) -> tuple[Flask, BearerGuard]:
    app = Flask(__name__)
    app.config.update(config or {})
    guard = BearerGuard(**options)
    guard.init_app(app)

    @app.get("/open")
    def open_view() -> dict[str, Any]:
        return {"claims": None if g.claims is None else g.claims.sub}

    @app.get("/me")
    @require_token
    def me() -> dict[str, Any]:
        return {"sub": g.claims.sub}

    @app.get("/orders")
    @require_scopes("orders:read")
    def orders() -> dict[str, Any]:
        return {"orders": [], "owner": g.claims.sub}

    @app.get("/async-orders")
    @require_scopes("orders:read")
    async def async_orders() -> dict[str, Any]:
        return {"orders": [], "owner": g.claims.sub}

    return app, guard


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_init_app_reads_the_app_config(local_issuer: LocalIssuer) -> None:
    """BEARERGUARD_* config keys configure the guard; state lives in app.extensions."""
    app, _ = make_app({"BEARERGUARD_OIDC": local_issuer.url, "BEARERGUARD_AUDIENCE": AUDIENCE})
    state = app.extensions["bearerguard"]
    assert isinstance(state, BearerGuardState)
    assert state.settings.oidc == (local_issuer.url,)
    client = app.test_client()
    response = client.get("/me", headers=bearer(local_issuer.mint(sub="alice")))
    assert (response.status_code, response.json) == (200, {"sub": "alice"})


def test_keyword_settings_override_the_config(local_issuer: LocalIssuer) -> None:
    """BearerGuard(app, audience=...) wins over BEARERGUARD_AUDIENCE."""
    app, _ = make_app(
        {"BEARERGUARD_OIDC": local_issuer.url, "BEARERGUARD_AUDIENCE": "api://stale"},
        audience=AUDIENCE,
    )
    response = app.test_client().get("/me", headers=bearer(local_issuer.mint(sub="bob")))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "scopes", "status", "body"),
    [
        pytest.param("/orders", ["orders:read"], 200, {"orders": [], "owner": "u"}, id="granted"),
        pytest.param(
            "/orders",
            ["read"],
            403,
            {"error": "insufficient_scope", "error_description": "missing scope: orders:read"},
            id="refused",
        ),
        pytest.param(
            "/async-orders", ["orders:read"], 200, {"orders": [], "owner": "u"}, id="async-view"
        ),
    ],
)
def test_require_scopes(
    local_issuer: LocalIssuer, path: str, scopes: list[str], status: int, body: dict[str, Any]
) -> None:
    """@require_scopes lets the view run only with every scope (sync and async views)."""
    app, _ = make_app(oidc=local_issuer.url, audience=AUDIENCE, realm=REALM)
    response = app.test_client().get(
        path, headers=bearer(local_issuer.mint(sub="u", scopes=scopes))
    )
    assert (response.status_code, response.json) == (status, body)


def test_optional_authentication(local_issuer: LocalIssuer) -> None:
    """required=False: g.claims is None for anonymous requests; @require_token answers 401."""
    app, _ = make_app(oidc=local_issuer.url, audience=AUDIENCE, realm=REALM, required=False)
    client = app.test_client()
    assert client.get("/open").json == {"claims": None}
    assert client.get("/open", headers=bearer(local_issuer.mint(sub="carol"))).json == {
        "claims": "carol"
    }
    refused = client.get("/me")
    assert (refused.status_code, refused.data, refused.headers["WWW-Authenticate"]) == (
        401,
        NO_TOKEN_BODY,
        f'Bearer realm="{REALM}"',
    )
    assert client.get("/open", headers=bearer("bad")).status_code == 401


def test_public_paths(local_issuer: LocalIssuer) -> None:
    """A public path is not authenticated: g.claims stays None even with a token."""
    app, _ = make_app(oidc=local_issuer.url, audience=AUDIENCE, public_paths=["/open"])
    client = app.test_client()
    assert client.get("/open", headers=bearer("garbage")).json == {"claims": None}
    assert client.get("/me").status_code == 401


def test_one_guard_several_apps(local_issuer: LocalIssuer) -> None:
    """init_app on two apps gives each its own state (the Flask extension pattern)."""
    guard = BearerGuard(oidc=local_issuer.url, audience=AUDIENCE)
    first, second = Flask("first"), Flask("second")
    guard.init_app(first)
    guard.init_app(second)
    assert BearerGuard.state(first) is not BearerGuard.state(second)


def test_metadata_route(local_issuer: LocalIssuer) -> None:
    """resource= adds the public RFC 9728 route; HEAD works, POST is 405."""
    app, _ = make_app(oidc=local_issuer.url, audience=AUDIENCE, resource="https://api.example.com")
    client = app.test_client()
    document = client.get("/.well-known/oauth-protected-resource")
    assert (document.status_code, document.get_json()) == (
        200,
        {
            "resource": "https://api.example.com",
            "authorization_servers": [local_issuer.url],
            "bearer_methods_supported": ["header"],
        },
    )
    assert document.headers["Cache-Control"] == "public, max-age=3600"
    assert client.head("/.well-known/oauth-protected-resource").status_code == 200
    assert client.post("/.well-known/oauth-protected-resource").status_code == 405


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda url: BearerGuard(
                Flask("x"), settings=GuardSettings(oidc=url, audience=AUDIENCE), realm="r"
            ),
            "settings= or keyword settings, not both",
            id="settings-and-keywords",
        ),
        pytest.param(
            lambda url: BearerGuard(Flask("x"), oidc=url),
            "audience= is required",
            id="missing-audience",
        ),
        pytest.param(
            lambda url: BearerGuard(oidc=url, audience=AUDIENCE).init_app(_initialised(url)),
            "already initialised",
            id="twice-on-one-app",
        ),
    ],
)
def test_configuration_errors(local_issuer: LocalIssuer, build: Any, message: str) -> None:
    """Mistakes fail at start-up with a message that says what to fix."""
    with pytest.raises(ConfigurationError, match=message):
        build(local_issuer.url)


def _initialised(url: str) -> Flask:
    app = Flask("y")
    BearerGuard(app, oidc=url, audience=AUDIENCE)
    return app


def test_config_typo_is_refused(local_issuer: LocalIssuer) -> None:
    """BEARERGUARD_AUDIANCE (a typo) is an error, not a silently ignored key."""
    app = Flask(__name__)
    app.config.update({"BEARERGUARD_OIDC": local_issuer.url, "BEARERGUARD_AUDIANCE": AUDIENCE})
    with pytest.raises(ConfigurationError, match="BEARERGUARD_AUDIANCE"):
        BearerGuard(app)


def test_decorator_without_the_extension() -> None:
    """A decorated view in an app without BearerGuard fails loudly (500), never runs."""
    app = Flask(__name__)

    @app.get("/x")
    @require_token
    def view() -> str:  # pragma: no cover - must not run
        return "ran"

    app.config["TESTING"] = True
    with pytest.raises(ConfigurationError, match="not initialised"):
        app.test_client().get("/x")


def test_rotation_announced_ahead_needs_no_fetch(bearerguard_issuer: LocalIssuer) -> None:
    """Safe rotation: the next key is published first, so new tokens verify at once."""
    bearerguard_issuer.publish_next_key()
    app, _ = make_app(oidc=bearerguard_issuer.url, audience=AUDIENCE)
    client = app.test_client()
    assert client.get("/me", headers=bearer(bearerguard_issuer.mint())).status_code == 200
    bearerguard_issuer.rotate()
    assert client.get("/me", headers=bearer(bearerguard_issuer.mint())).status_code == 200
    assert bearerguard_issuer.count(bearerguard_issuer.jwks_path) == 1


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param(
            {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
            200,
            id="cors-preflight-gets-flasks-own-options-answer",
        ),
        pytest.param({"Origin": "https://app.example"}, 401, id="options-without-acrm-refused"),
        pytest.param({"Access-Control-Request-Method": "GET"}, 401, id="options-without-origin"),
    ],
)
def test_cors_preflight_of_a_route_without_options(
    local_issuer: LocalIssuer, headers: dict[str, str], status: int
) -> None:
    """Flask answers a preflight itself (no view runs) without a token; other OPTIONS get 401."""
    app, _ = make_app(oidc=local_issuer.url, audience=AUDIENCE)
    response = app.test_client().options("/orders", headers=headers)
    assert response.status_code == status


def test_cors_preflight_does_not_open_a_scoped_view(local_issuer: LocalIssuer) -> None:
    """A view that handles OPTIONS itself is authenticated: a preflight without a token gets 401."""
    app, _ = make_app(oidc=local_issuer.url, audience=AUDIENCE)

    @app.route("/custom", methods=["OPTIONS"])
    @require_scopes("orders:read")
    def custom() -> dict[str, Any]:
        return {"secret": True}

    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET"}
    response = app.test_client().options("/custom", headers=preflight)
    assert response.status_code == 401
