"""DPoP interop with a real authorization server: panva's oidc-provider and ``dpop`` package.

oidc-provider on 127.0.0.1 issues a DPoP-bound access token (``cnf.jkt``) to a
client whose proofs panva's ``dpop`` package makes; bearerguard verifies the
token and the proof, in the core and through Starlette's ``JWTAuth``. Skips
without node (see ``tests/interop``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bearerguard import DPoPRequest, InvalidDPoPProof, InvalidToken, Issuer, Validator
from bearerguard.keyset import KeySetPolicy
from bearerguard.verifier import Verifier

from ..interop.oidc_provider_server import OIDCProvider, oidc_provider_server

URL = "https://api.bearerguard.test/orders"


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCProvider]:
    with oidc_provider_server() as running:
        yield running


@pytest.fixture
def verifier(provider: OIDCProvider) -> Verifier[Any]:
    issuer = Issuer.from_oidc(
        provider.issuer,
        validator=Validator(aud=provider.resource),
        policy=KeySetPolicy(require_https=False),
        lazy=True,
    )
    return Verifier([issuer], dpop="allowed")


def test_oidc_provider_dpop_token_with_panva_proof_is_accepted(
    provider: OIDCProvider, verifier: Verifier[Any]
) -> None:
    """oidc-provider's DPoP-bound token with a proof from panva's dpop package verifies."""
    bound = provider.dpop_request("GET", URL)
    claims = verifier.verify(bound["access_token"], dpop=DPoPRequest("GET", URL, bound["proof"]))
    assert claims.client_id == provider.client_id
    assert set(claims.raw["cnf"]) == {"jkt"}


def test_panva_proof_replayed_is_refused(provider: OIDCProvider, verifier: Verifier[Any]) -> None:
    """The same panva proof a second time is a replay."""
    bound = provider.dpop_request("GET", URL)
    request = DPoPRequest("GET", URL, bound["proof"])
    verifier.verify(bound["access_token"], dpop=request)
    with pytest.raises(InvalidDPoPProof, match=r"^DPoP proof has been used before \(jti replay\)$"):
        verifier.verify(bound["access_token"], dpop=request)


def test_panva_proof_for_another_method_is_refused(
    provider: OIDCProvider, verifier: Verifier[Any]
) -> None:
    """A panva proof made for GET does not authorise a DELETE."""
    bound = provider.dpop_request("GET", URL)
    with pytest.raises(InvalidDPoPProof, match=r"^DPoP proof htm does not match"):
        verifier.verify(bound["access_token"], dpop=DPoPRequest("DELETE", URL, bound["proof"]))


def test_oidc_provider_dpop_token_as_bearer_is_refused(
    provider: OIDCProvider, verifier: Verifier[Any]
) -> None:
    """With DPoP allowed, oidc-provider's bound token stripped to a bearer token is refused."""
    bound = provider.dpop_request("GET", URL)
    with pytest.raises(InvalidToken, match=r"^DPoP-bound token presented without a DPoP proof$"):
        verifier.verify(bound["access_token"])


def test_starlette_api_accepts_oidc_provider_dpop_request(provider: OIDCProvider) -> None:
    """End to end: JWTAuth(dpop="required", external_url=...) serves the panva client."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bearerguard.starlette import JWTAuth

    from ..adapters.apps import TestClient

    async def orders(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.user.claims.client_id)

    app = Starlette(routes=[Route("/orders", orders)])
    app.add_middleware(
        JWTAuth,
        oidc=provider.issuer,
        audience=provider.resource,
        dpop="required",
        external_url="https://api.bearerguard.test",
    )
    bound = provider.dpop_request("GET", URL)
    headers = {"Authorization": f"DPoP {bound['access_token']}", "DPoP": bound["proof"]}
    with TestClient(app) as client:
        first = client.get("/orders", headers=headers)
        again = client.get("/orders", headers=headers)
    assert (first.status_code, first.text) == (200, provider.client_id)
    assert again.status_code == 401
    assert again.headers["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')
