"""Step-up authentication (RFC 9470) against oidc-provider: challenge, new sign-in, retry.

oidc-provider's authorization-code flow signs its test user in with the
``acr_values`` the request asks for, and its access tokens carry that ``acr``
and the ``auth_time`` of the sign-in (RFC 9068 §2.2.1). A Flask API requires a
multi-factor sign-in at most five minutes old; the client reads the 401
challenge, asks the server for exactly what it names, and retries.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from flask import Flask, g

from bearerguard import AccessClaims, Issuer, Validator
from bearerguard.flask import BearerGuard, require_auth
from bearerguard.verifier import Verifier

from .oidc_provider_server import OIDCProvider

pytestmark = pytest.mark.slow  # a Node.js server and its subprocesses

MFA = "urn:bearerguard:mfa"
PASSWORD = "urn:bearerguard:password"
# RFC 7235 §2.1 auth-param, quoted form (bearerguard quotes every parameter).
_PARAM = re.compile(r'([a-z_]+)="([^"]*)"')


@pytest.fixture(scope="module")
def client(oidc_provider: OIDCProvider) -> Any:
    app = Flask(__name__)
    BearerGuard(app, oidc=oidc_provider.issuer, audience=oidc_provider.resource)

    @app.post("/transfers")
    @require_auth(acr_values=MFA, max_age=300)
    def transfer() -> dict[str, Any]:
        return {"by": g.claims.sub, "acr": g.claims.acr}

    return app.test_client()


def _send(client: Any, token: str) -> Any:
    return client.post("/transfers", headers={"Authorization": f"Bearer {token}"})


def test_its_user_tokens_carry_acr_and_auth_time(oidc_provider: OIDCProvider) -> None:
    """acr and auth_time from oidc-provider reach the claims as the sign-in set them."""
    verifier: Verifier[AccessClaims] = Verifier(
        [Issuer.from_oidc(oidc_provider.issuer, validator=Validator(aud=oidc_provider.resource))]
    )
    before = time.time()
    claims = verifier.verify(oidc_provider.user_token(acr_values=MFA, login_age=600))
    assert (claims.sub, claims.acr) == (oidc_provider.account, MFA)
    assert claims.auth_time is not None
    assert before - 602 <= claims.auth_time <= time.time() - 598


def test_a_password_sign_in_steps_up_to_mfa_as_the_challenge_says(
    client: Any, oidc_provider: OIDCProvider
) -> None:
    """401 names acr_values and max_age; a token asked for with exactly those is accepted."""
    refused = _send(client, oidc_provider.user_token(acr_values=PASSWORD))
    assert refused.status_code == 401
    challenge = refused.headers["WWW-Authenticate"]
    assert challenge == (
        'Bearer error="insufficient_user_authentication", '
        'error_description="acr: authentication context is not one of acr_values", '
        f'acr_values="{MFA}", max_age="300"'
    )
    asked = dict(_PARAM.findall(challenge))
    stepped_up = oidc_provider.user_token(
        acr_values=asked["acr_values"], max_age=int(asked["max_age"])
    )
    accepted = _send(client, stepped_up)
    assert (accepted.status_code, accepted.get_json()) == (
        200,
        {"by": oidc_provider.account, "acr": MFA},
    )


def test_an_old_mfa_sign_in_is_refused_as_too_old(client: Any, oidc_provider: OIDCProvider) -> None:
    """The right acr an hour ago: 401, the age described, the same parameters to ask for."""
    refused = _send(client, oidc_provider.user_token(acr_values=MFA, login_age=3600))
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_user_authentication", '
        'error_description="auth_time: authentication is older than max_age", '
        f'acr_values="{MFA}", max_age="300"'
    )


def test_a_client_credentials_token_cannot_step_up(
    client: Any, oidc_provider: OIDCProvider
) -> None:
    """No user, no acr: a client-credentials token is refused, both claims missing."""
    refused = _send(client, oidc_provider.token())
    assert refused.status_code == 401
    assert refused.get_json() == {
        "error": "insufficient_user_authentication",
        "error_description": (
            "acr: required claim is missing (acr_values is set); "
            "auth_time: required claim is missing (max_age is set)"
        ),
    }
