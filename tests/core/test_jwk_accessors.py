"""PublicJWK's typed accessors: each key answers to its own kind only."""

from __future__ import annotations

import pytest

from bearerguard import PublicJWK

from .conftest import Keys


@pytest.mark.parametrize(
    ("kid", "kind"),
    [
        pytest.param("rsa", "rsa", id="rsa"),
        pytest.param("p256", "ecdsa", id="p256"),
        pytest.param("ed25519", "eddsa", id="ed25519"),
        pytest.param("ed448", "eddsa", id="ed448"),
    ],
)
def test_exactly_one_typed_accessor_returns_the_key(keys: Keys, kid: str, kind: str) -> None:
    """rsa(), ecdsa() and eddsa() return the key for its own kind and None for the others."""
    jwk = PublicJWK.from_key(keys.kids[kid].public_key(), kid=kid)
    got = {name: getattr(jwk, name)() for name in ("rsa", "ecdsa", "eddsa")}
    assert got == {name: jwk.key if name == kind else None for name in got}
