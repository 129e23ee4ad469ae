"""DPoP (RFC 9449) with independent implementations: oidc-provider's bound tokens, panva's proofs.

Each token is DPoP-bound by panva's oidc-provider (``cnf.jkt``) to a key that
panva's ``dpop`` package made, and each proof is signed by that package
(``dpop_request.mjs``); bearerguard only verifies.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bearerguard import (
    AccessClaims,
    DPoPRequest,
    InvalidDPoPProof,
    InvalidToken,
    Issuer,
    PublicJWK,
    Validator,
)
from bearerguard.verifier import Verifier

from .oidc_provider_server import OIDCProvider

pytestmark = pytest.mark.slow  # a Node.js server and its subprocesses

URL = "https://api.bearerguard.test/orders"


@pytest.fixture
def verifier(oidc_provider: OIDCProvider) -> Verifier[AccessClaims]:
    """DPoP required; a fresh replay cache per test."""
    validator = Validator(aud=oidc_provider.resource, rfc9068=True)
    issuer = Issuer.from_oidc(oidc_provider.issuer, validator=validator, lazy=True)
    return Verifier([issuer], dpop="required")


@pytest.fixture(scope="module")
def bound(oidc_provider: OIDCProvider) -> dict[str, Any]:
    """A DPoP-bound token and a proof for ``GET URL``, made by panva's code."""
    return oidc_provider.dpop_request("GET", URL)


def test_its_bound_token_and_panvas_proof_are_accepted(
    verifier: Verifier[AccessClaims], bound: dict[str, Any], oidc_provider: OIDCProvider
) -> None:
    """oidc-provider's cnf.jkt is the RFC 7638 thumbprint of the key panva's proof carries."""
    claims = verifier.verify(bound["access_token"], dpop=DPoPRequest("GET", URL, (bound["proof"],)))
    assert claims.client_id == oidc_provider.client_id
    assert claims.raw["cnf"] == {"jkt": PublicJWK.from_dict(bound["jwk"]).thumbprint()}


def test_a_replayed_proof_is_refused(
    verifier: Verifier[AccessClaims], bound: dict[str, Any]
) -> None:
    """The same proof twice: the second is a replay (RFC 9449 §11.1)."""
    request = DPoPRequest("GET", URL, (bound["proof"],))
    verifier.verify(bound["access_token"], dpop=request)
    with pytest.raises(InvalidDPoPProof, match="jti"):
        verifier.verify(bound["access_token"], dpop=request)


@pytest.mark.parametrize(
    ("method", "url", "message"),
    [
        pytest.param("GET", "https://api.bearerguard.test/refunds", "htu", id="another-path"),
        pytest.param("GET", "https://evil.example/orders", "htu", id="another-host"),
        pytest.param("POST", URL, "htm", id="another-method"),
    ],
)
def test_a_proof_for_another_request_is_refused(
    verifier: Verifier[AccessClaims], bound: dict[str, Any], method: str, url: str, message: str
) -> None:
    """panva's proof names GET URL; any other request is refused."""
    with pytest.raises(InvalidDPoPProof, match=message):
        verifier.verify(bound["access_token"], dpop=DPoPRequest(method, url, (bound["proof"],)))


def test_a_proof_made_for_another_token_is_refused(
    verifier: Verifier[AccessClaims], bound: dict[str, Any], oidc_provider: OIDCProvider
) -> None:
    """A proof's ath binds it to its token: with another bound token it is refused."""
    other = oidc_provider.dpop_request("GET", URL)
    with pytest.raises(InvalidDPoPProof, match="ath does not match"):
        verifier.verify(other["access_token"], dpop=DPoPRequest("GET", URL, (bound["proof"],)))


def test_a_proof_by_another_key_is_refused(
    verifier: Verifier[AccessClaims], bound: dict[str, Any]
) -> None:
    """A valid proof (right request, right ath) by a key other than cnf.jkt's is refused."""
    with pytest.raises(InvalidToken, match=r"does not match the token's cnf\.jkt"):
        verifier.verify(
            bound["access_token"], dpop=DPoPRequest("GET", URL, (bound["foreign_proof"],))
        )


def test_the_bound_token_without_its_proof_is_refused(
    verifier: Verifier[AccessClaims], bound: dict[str, Any]
) -> None:
    """dpop="required": the token alone (as a Bearer token) is refused."""
    with pytest.raises(InvalidToken, match="DPoP scheme and a proof"):
        verifier.verify(bound["access_token"])


# -- through an adapter ----------------------------------------------------------------------


@pytest.fixture
def api(oidc_provider: OIDCProvider) -> Iterator[Any]:
    """A Starlette API behind JWTAuth(dpop="required"), served as https://api.bearerguard.test."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bearerguard import starlette as bg_starlette

    from ..adapters.apps import TestClient

    async def orders(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.user.claims.client_id)

    app = Starlette(routes=[Route("/orders", orders)])
    app.add_middleware(
        bg_starlette.JWTAuth,
        oidc=oidc_provider.issuer,
        audience=oidc_provider.resource,
        dpop="required",
    )
    with TestClient(app, base_url="https://api.bearerguard.test") as client:
        yield client


def test_an_api_accepts_the_token_and_proof_then_refuses_the_replay(
    api: Any, oidc_provider: OIDCProvider
) -> None:
    """DPoP token + panva's proof → 200; the same request again → 401 invalid_dpop_proof."""
    made = oidc_provider.dpop_request("GET", URL)
    headers = {"Authorization": f"DPoP {made['access_token']}", "DPoP": made["proof"]}
    first = api.get("/orders", headers=headers)
    assert (first.status_code, first.text) == (200, oidc_provider.client_id)
    replayed = api.get("/orders", headers=headers)
    assert replayed.status_code == 401
    assert replayed.headers["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')
