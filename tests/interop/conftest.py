"""A real authorization server for the interop tests: panva's oidc-provider on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .oidc_provider_server import OIDCProvider, oidc_provider_server


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OIDCProvider]:
    """panva's oidc-provider, running for the whole session (see :class:`OIDCProvider`).

    Its ``issuer`` serves a real discovery document; ``token(resource=..., scope=...)``
    gets an RFC 9068 JWT access token by the client-credentials grant;
    ``dpop_request(method, url)`` a DPoP-bound token and a proof for that request, made
    by panva's ``dpop`` package; ``user_token(acr_values=..., max_age=..., login_age=...)``
    a user's token from the authorization-code flow, carrying ``acr`` and ``auth_time``
    (RFC 9470 step-up). For token introspection (RFC 7662): POST to
    ``introspection_endpoint`` with HTTP Basic ``introspection_client_id`` /
    ``introspection_client_secret`` and ``token=`` an opaque token, which
    ``token(resource=oidc_provider.opaque_resource)`` gives (oidc-provider introspects
    no JWT access token). Skips without node or without
    ``npm ci --prefix tests/interop/oidc_provider``; fails instead when
    ``BEARERGUARD_REQUIRE_NODE=1``.
    """
    with oidc_provider_server() as provider:
        yield provider
