"""Access tokens from panva's oidc-provider, an independent authorization server, verified.

The tokens are RFC 9068 JWTs (ES256, ``typ`` ``at+jwt``) issued by the
client-credentials grant for a resource indicator (RFC 8707); bearerguard finds
the keys through the server's own discovery document.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from bearerguard import (
    AccessClaims,
    InvalidClaims,
    InvalidSignature,
    InvalidToken,
    Issuer,
    MalformedToken,
    Validator,
)
from bearerguard.verifier import Verifier, require_scopes

from .oidc_provider_server import REQUEST_TIMEOUT, OIDCProvider

pytestmark = pytest.mark.slow  # a Node.js server and its subprocesses


@pytest.fixture(scope="module")
def verifier(oidc_provider: OIDCProvider) -> Verifier[AccessClaims]:
    """Trusts the provider for its main resource, the strict RFC 9068 profile on."""
    validator = Validator(aud=oidc_provider.resource, rfc9068=True)
    return Verifier([Issuer.from_oidc(oidc_provider.issuer, validator=validator, lazy=True)])


def _edit_payload(token: str, **changes: Any) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    edited = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{edited}.{signature}"


def test_its_jwt_access_token_is_verified(
    oidc_provider: OIDCProvider, verifier: Verifier[AccessClaims]
) -> None:
    """An oidc-provider access token passes every RFC 9068 check; its claims map as documented."""
    claims = verifier.verify(oidc_provider.token(scope="api:read api:write"))
    assert claims.iss == oidc_provider.issuer
    assert claims.aud == (oidc_provider.resource,)
    assert claims.sub == oidc_provider.client_id  # client credentials: the client is the subject
    assert claims.client_id == oidc_provider.client_id
    assert claims.scopes == frozenset({"api:read", "api:write"})
    require_scopes(claims, "api:read", "api:write")


def test_the_discovery_document_is_the_servers_own(oidc_provider: OIDCProvider) -> None:
    """Issuer.from_oidc read oidc-provider's document: the key set is its jwks_uri."""
    assert oidc_provider.discovery["issuer"] == oidc_provider.issuer
    keys = requests.get(oidc_provider.jwks_uri, timeout=REQUEST_TIMEOUT).json()["keys"]
    assert {key["alg"] for key in keys} == {"RS256", "ES256"}


@pytest.mark.parametrize(
    ("tamper", "error", "message"),
    [
        pytest.param(
            lambda token: _edit_payload(token, scope="api:read api:write"),
            InvalidSignature,
            "signature",
            id="scope-added",
        ),
        pytest.param(
            lambda token: _edit_payload(token, sub="someone-else"),
            InvalidSignature,
            "signature",
            id="sub-changed",
        ),
        pytest.param(
            lambda token: token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
            InvalidSignature,
            "signature",
            id="signature-changed",
        ),
        pytest.param(
            lambda token: token.rsplit(".", 1)[0] + ".",
            MalformedToken,
            "empty segment",
            id="signature-removed",
        ),
    ],
)
def test_a_tampered_token_is_refused(
    oidc_provider: OIDCProvider,
    verifier: Verifier[AccessClaims],
    tamper: Any,
    error: type[InvalidToken],
    message: str,
) -> None:
    """Any change to a signed oidc-provider token breaks it."""
    with pytest.raises(error, match=message):
        verifier.verify(tamper(oidc_provider.token()))


def test_a_token_for_another_resource_is_refused(
    oidc_provider: OIDCProvider, verifier: Verifier[AccessClaims]
) -> None:
    """A valid token whose aud is another resource indicator is not for this API."""
    token = oidc_provider.token(resource=oidc_provider.other_resource)
    with pytest.raises(InvalidClaims, match="aud"):
        verifier.verify(token)


def test_an_opaque_token_is_refused_as_malformed(
    oidc_provider: OIDCProvider, verifier: Verifier[AccessClaims]
) -> None:
    """An opaque token (another resource's format) is no JWS: refused before any key lookup."""
    with pytest.raises(MalformedToken):
        verifier.verify(oidc_provider.token(resource=oidc_provider.opaque_resource))


def test_a_dpop_bound_token_is_refused_as_a_bearer_token(
    oidc_provider: OIDCProvider, verifier: Verifier[AccessClaims]
) -> None:
    """A token bound to a DPoP key (cnf.jkt) is useless without its proof: refused as Bearer."""
    bound = oidc_provider.dpop_request("GET", "https://api.bearerguard.test/orders")
    assert bound["token_type"] == "DPoP"
    with pytest.raises(InvalidToken, match="cnf"):
        verifier.verify(bound["access_token"])


def test_the_introspection_client_can_introspect_opaque_tokens(
    oidc_provider: OIDCProvider,
) -> None:
    """The fixture's confidential client gets RFC 7662 answers for the opaque tokens."""
    token = oidc_provider.token(resource=oidc_provider.opaque_resource)
    auth = (oidc_provider.introspection_client_id, oidc_provider.introspection_client_secret)

    def introspect(value: str) -> dict[str, Any]:
        response = requests.post(
            oidc_provider.introspection_endpoint,
            data={"token": value},
            auth=auth,
            timeout=REQUEST_TIMEOUT,
        )
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    active = introspect(token)
    assert (active["active"], active["client_id"], active["aud"], active["scope"]) == (
        True,
        oidc_provider.client_id,
        oidc_provider.opaque_resource,
        "api:read",
    )
    assert introspect("not-a-token-it-issued") == {"active": False}


# -- through an adapter ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(oidc_provider: OIDCProvider) -> Iterator[Any]:
    """A Starlette API behind JWTAuth configured with oidc= and audience= only."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from bearerguard import starlette as bg_starlette

    from ..adapters.apps import TestClient

    @bg_starlette.require_scopes("api:read")
    async def orders(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.user.claims.client_id)

    app = Starlette(routes=[Route("/orders", orders)])
    app.add_middleware(
        bg_starlette.JWTAuth, oidc=oidc_provider.issuer, audience=oidc_provider.resource
    )
    with TestClient(app) as client:
        yield client


def test_an_api_accepts_its_token_end_to_end(api: Any, oidc_provider: OIDCProvider) -> None:
    """JWTAuth with only oidc= and audience= accepts oidc-provider's token."""
    token = oidc_provider.token()
    response = api.get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, response.text) == (200, oidc_provider.client_id)


def test_an_api_refuses_a_token_for_another_resource_end_to_end(
    api: Any, oidc_provider: OIDCProvider
) -> None:
    """401 invalid_token naming aud: the token was for another resource server."""
    token = oidc_provider.token(resource=oidc_provider.other_resource)
    response = api.get("/orders", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="aud: ')
