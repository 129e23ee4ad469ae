"""Fixtures: a real Authlib authorization server on 127.0.0.1 and verifiers that ask it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bearerguard import AccessClaims, Introspection, Issuer, Revocations, Validator, Verifier

from .authserver import API_SECRET, AUDIENCE, AuthServer

MakeVerifier = Callable[..., Verifier[AccessClaims]]


@pytest.fixture
def auth_server() -> Iterator[AuthServer]:
    """A running authorization server (client credentials tokens, RFC 7662 endpoint)."""
    with AuthServer() as server:
        yield server


def introspection_for(server: AuthServer, **options: Any) -> Introspection:
    """``Introspection`` as the ``orders-api`` client (client_secret_basic), with *options*."""
    values: dict[str, Any] = {
        "issuer": server.url,
        "client_id": "orders-api",
        "client_secret": API_SECRET,
    }
    values.update(options)
    return Introspection(**values)


@pytest.fixture
def make_verifier(auth_server: AuthServer) -> MakeVerifier:
    """``make_verifier(**introspection_options)``: a Verifier whose issuer is the server."""

    def make(
        *, redis_url: str | None = None, revocations: Revocations | None = None, **options: Any
    ) -> Verifier[AccessClaims]:
        issuer = Issuer.from_oauth2(auth_server.url, validator=Validator(aud=AUDIENCE), lazy=True)
        return Verifier(
            [issuer],
            introspection=introspection_for(auth_server, **options),
            redis_url=redis_url,
            revocations=revocations,
        )

    return make
