"""Step-up authentication (RFC 9470) under attack: tokens that look strong or recent enough.

Each case is a token from the trusted issuer that must not satisfy an
endpoint's ``acr_values`` / ``max_age``: a look-alike ``acr``, an ``acr`` or
``auth_time`` of the wrong type, an authentication time that lies in the
future, and a token whose earlier, cached verification must not stand in for
the endpoint's own check.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bearerguard import InsufficientUserAuthentication, InvalidClaims, Validator, require_auth
from bearerguard import starlette as bg_starlette
from bearerguard._issuer import Issuer
from bearerguard.testing import LocalIssuer
from bearerguard.verifier import Verifier

AUDIENCE = "api://payments"
NOW = 1_900_000_000.0


@pytest.fixture(scope="module")
def idp() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=AUDIENCE) as issuer:
        yield issuer


def _verifier(idp: LocalIssuer) -> Verifier[Any]:
    return Verifier([Issuer.from_oidc(idp.url, validator=Validator(aud=AUDIENCE), lazy=True)])


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        pytest.param({"acr": ["mfa"]}, "acr: must be a string", id="acr-array"),
        pytest.param({"acr": 2}, "acr: must be a string", id="acr-number"),
        pytest.param(
            {"auth_time": str(int(time.time()))},
            "auth_time: must be a NumericDate (seconds since the epoch)",
            id="auth-time-string",
        ),
        pytest.param(
            {"auth_time": True},
            "auth_time: must be a NumericDate (seconds since the epoch)",
            id="auth-time-boolean",
        ),
    ],
)
def test_step_up_claims_of_the_wrong_type_refuse_the_token(
    idp: LocalIssuer, claims: dict[str, Any], message: str
) -> None:
    """acr and auth_time of the wrong JSON type: the token itself is refused (401)."""
    with pytest.raises(InvalidClaims) as caught:
        _verifier(idp).verify(idp.mint(**claims))
    assert caught.value.description == message


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        pytest.param(
            {"acr": "MFA", "auth_time": NOW},
            "acr: authentication context is not one of acr_values",
            id="acr-other-case",
        ),
        pytest.param(
            {"acr": "mfa-lite", "auth_time": NOW},
            "acr: authentication context is not one of acr_values",
            id="acr-with-a-suffix",
        ),
        pytest.param(
            {"acr": " mfa", "auth_time": NOW},
            "acr: authentication context is not one of acr_values",
            id="acr-with-a-space",
        ),
        pytest.param(
            {"acr": "mfa", "auth_time": NOW + 120 * 86400},
            "auth_time: authentication is in the future",
            id="auth-time-months-ahead",
        ),
        pytest.param(
            {"acr": "mfa", "auth_time": NOW + 361},
            "auth_time: authentication is in the future",
            id="auth-time-ahead-by-more-than-max-age",
        ),
        pytest.param(
            {"acr": "mfa", "auth_time": NOW - 361},
            "auth_time: authentication is older than max_age",
            id="auth-time-too-old",
        ),
    ],
)
def test_look_alike_authentication_does_not_satisfy_the_endpoint(
    claims: dict[str, Any], message: str
) -> None:
    """acr_values="mfa", max_age=300 (60 s leeway): each token falls short, naming why."""
    from bearerguard import AccessClaims

    verified = AccessClaims.from_payload({"iss": "https://as.example.com", **claims})
    with pytest.raises(InsufficientUserAuthentication) as caught:
        require_auth(verified, acr_values="mfa", max_age=300, now=NOW)
    assert caught.value.description == message
    assert (caught.value.acr_values, caught.value.max_age) == (("mfa",), 300)


@pytest.mark.parametrize(
    "auth_time",
    [
        pytest.param(NOW + 360, id="ahead-by-max-age-and-leeway"),
        pytest.param(NOW - 360, id="old-within-the-leeway"),
    ],
)
def test_clock_skew_within_the_leeway_is_accepted(auth_time: float) -> None:
    """Clock skew passes both ways: auth_time at most max_age + leeway ahead or behind."""
    from bearerguard import AccessClaims

    verified = AccessClaims.from_payload(
        {"iss": "https://as.example.com", "acr": "mfa", "auth_time": auth_time}
    )
    require_auth(verified, acr_values="mfa", max_age=300, now=NOW)


async def _sub(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.user.claims.sub)


def test_a_cached_token_is_checked_again_by_the_step_up_endpoint(idp: LocalIssuer) -> None:
    """A token verified (and cached) for an ordinary route is refused by a step-up route."""
    app = Starlette(
        routes=[
            Route("/orders", _sub),
            Route("/payments", bg_starlette.require_auth(acr_values="mfa", max_age=300)(_sub)),
        ]
    )
    app.add_middleware(bg_starlette.JWTAuth, oidc=idp.url, audience=AUDIENCE)
    token = idp.mint(sub="mallory", acr="pwd", auth_time=int(time.time()) - 3600)
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/orders", headers=headers).text == "mallory"
        refused = client.get("/payments", headers=headers)
    description = (
        "acr: authentication context is not one of acr_values; "
        "auth_time: authentication is older than max_age"
    )
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == (
        f'Bearer error="insufficient_user_authentication", error_description="{description}", '
        'acr_values="mfa", max_age="300"'
    )
    assert json.loads(refused.content)["error"] == "insufficient_user_authentication"
