"""Introspection in Django: BEARERGUARD["INTROSPECTION"] as a mapping, through Django's client."""

from __future__ import annotations

from collections.abc import Callable

from tests.django.conftest import configure

from .authserver import API_SECRET, AUDIENCE, AuthServer

__all__ = ["configure"]  # the fixture, for the tests below


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_django_accepts_an_active_token_and_refuses_an_inactive_one(
    auth_server: AuthServer, configure: Callable[..., None]
) -> None:
    """The scopes of an active answer reach require_scopes (200, 403 without one);
    active: false is 401; a failing endpoint 503 with Retry-After."""
    from django.test import Client

    configure(
        BEARERGUARD={
            "OAUTH2": auth_server.url,
            "AUDIENCE": AUDIENCE,
            "INTROSPECTION": {
                "ISSUER": auth_server.url,
                "CLIENT_ID": "orders-api",
                "CLIENT_SECRET": API_SECRET,
            },
        }
    )
    token = auth_server.issue(scope="read write")
    ok = Client().get("/decorated/two", headers=_bearer(token))
    assert ok.status_code == 200
    assert (ok.json()["username"], ok.json()["scopes"]) == ("app", ["read", "write"])
    reader = auth_server.issue(scope="read")
    assert Client().get("/decorated/two", headers=_bearer(reader)).status_code == 403
    refused = Client().get("/decorated/token", headers=_bearer("never-issued"))
    assert refused.status_code == 401
    assert refused["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="token is not active"'
    )
    auth_server.fault = "500"
    unavailable = Client().get("/decorated/token", headers=_bearer(auth_server.issue()))
    assert (unavailable.status_code, unavailable["Retry-After"]) == (503, "10")
