"""Introspection against panva's oidc-provider (the tests/interop harness) on 127.0.0.1.

A second, independent authorization server: its opaque token (issued for the
opaque resource by the client credentials grant) is introspected by the
confidential resource-server client with ``client_secret_basic``, the endpoint
found by OpenID Connect discovery (oidc-provider publishes no RFC 8414
document). Skips like the interop tests when node or the harness is missing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bearerguard import Introspection, InvalidToken, Issuer, Validator, Verifier
from tests.interop.oidc_provider_server import OIDCProvider, oidc_provider_server


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCProvider]:
    with oidc_provider_server() as running:
        yield running


def test_opaque_token_of_oidc_provider_is_introspected(provider: OIDCProvider) -> None:
    token = provider.token(resource=provider.opaque_resource, scope="api:read")
    assert token.count(".") != 2  # opaque, not a JWT
    verifier = Verifier(
        [
            Issuer.from_oidc(
                provider.issuer, validator=Validator(aud=provider.opaque_resource), lazy=True
            )
        ],
        introspection=Introspection(
            issuer=provider.issuer,
            client_id=provider.introspection_client_id,
            client_secret=provider.introspection_client_secret,
        ),
    )
    claims = verifier.verify(token)
    assert claims.scopes == frozenset({"api:read"})
    assert claims.client_id == provider.client_id
    assert claims.iss == provider.issuer
    assert claims.aud == (provider.opaque_resource,)
    assert verifier.introspection is not None


def test_unknown_token_is_inactive_at_oidc_provider(provider: OIDCProvider) -> None:
    verifier = Verifier(
        [],
        introspection=Introspection(
            issuer=provider.issuer,
            client_id=provider.introspection_client_id,
            client_secret=provider.introspection_client_secret,
            validator=Validator(aud=provider.opaque_resource),
        ),
    )
    with pytest.raises(InvalidToken, match=r"^token is not active$"):
        verifier.verify("an-opaque-token-this-server-never-issued")
