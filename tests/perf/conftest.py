"""ES256 keys (fast to sign with), token minting and a key source the tests can edit."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from bearerguard import Issuer, PublicJWK, Validator
from tests.support.fixtures import clock, fetcher, server

__all__ = ["clock", "fetcher", "server"]

ISS = "https://issuer.example.com"
AUD = "api://orders"
T0 = 1_700_000_000
_serial = itertools.count()


class EditableKeys:
    """A key source whose keys a test changes, counting the lookups."""

    def __init__(self, *keys: PublicJWK) -> None:
        self.keys = list(keys)
        self.lookups = 0

    def get_keys(self, kid: str | None) -> Sequence[PublicJWK]:
        self.lookups += 1
        return tuple(k for k in self.keys if kid is None or k.kid == kid)

    async def aget_keys(self, kid: str | None) -> Sequence[PublicJWK]:
        return self.get_keys(kid)


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, ec.EllipticCurvePrivateKey]:
    """P-256 keys by kid."""
    return {kid: ec.generate_private_key(ec.SECP256R1()) for kid in ("k1", "k2", "k3")}


def jwk_of(signing_keys: dict[str, ec.EllipticCurvePrivateKey], kid: str) -> PublicJWK:
    return PublicJWK.from_key(signing_keys[kid].public_key(), kid=kid)


Mint = Callable[..., str]


@pytest.fixture
def mint(signing_keys: dict[str, ec.EllipticCurvePrivateKey]) -> Mint:
    """``mint(kid="k1", signer=None, **claims)``: an ES256 token, distinct every call.

    Valid from T0 for an hour; *signer* (a kid) signs with another key than
    the header's kid says.
    """

    def make(kid: str = "k1", signer: str | None = None, **claims: Any) -> str:
        payload: dict[str, Any] = {
            "iss": ISS,
            "aud": AUD,
            "sub": "user-1",
            "iat": T0,
            "exp": T0 + 3600,
            "jti": f"t-{next(_serial)}",
            "scope": "orders:read",
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(
            payload, signing_keys[signer or kid], algorithm="ES256", headers={"kid": kid}
        )

    return make


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The kid of every signature check the Verifier runs (Issuer.find_key calls)."""
    calls: list[str | None] = []
    real = Issuer.find_key

    def counting(
        alg: str, kid: str | None, keys: Sequence[PublicJWK], signing_input: bytes, sig: bytes
    ) -> PublicJWK:
        calls.append(kid)
        return real(alg, kid, keys, signing_input, sig)

    monkeypatch.setattr(Issuer, "find_key", staticmethod(counting))
    return calls


def issuer_with(source: EditableKeys, validator: Validator | None = None) -> Issuer:
    return Issuer(ISS, source, validator or Validator(aud=AUD))
