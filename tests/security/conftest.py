"""The suite's world: three local issuers, a trap, the keyring, and every profile's clients.

Built once per session (keys and issuers take about a second); tests that
break an issuer (tests/security/test_faults.py) start their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from bearerguard import Issuer, Validator
from bearerguard._settings import GuardSettings
from bearerguard.testing import LocalIssuer
from bearerguard.verifier import Verifier

from .apps import REALM, Send, open_clients
from .catalogue import AUDIENCE, CLIENT_ID, PROFILES, Forge
from .support import TrapServer, keyring


@dataclass
class Profile:
    """One verifier configuration, the adapter settings around it, and each adapter's client."""

    verifier: Verifier[Any]
    settings: GuardSettings
    clients: dict[str, Send]


@dataclass
class World:
    forge: Forge
    trap: TrapServer
    profiles: dict[str, Profile]
    tokens: dict[str, str]

    def token(self, attack: Any) -> str:
        """The attack's token, built once (ECDSA signatures are randomised)."""
        if attack.id not in self.tokens:
            self.tokens[attack.id] = attack.build(self.forge)
        return self.tokens[attack.id]


def _verifier(*issuers: LocalIssuer, rfc9068: bool = False) -> Verifier[Any]:
    return Verifier(
        [
            Issuer.from_oidc(
                issuer.url, validator=Validator(aud=AUDIENCE, rfc9068=rfc9068), lazy=True
            )
            for issuer in issuers
        ]
    )


@pytest.fixture(scope="session")
def world() -> Iterator[World]:
    keys = keyring()
    with ExitStack() as stack:
        main = stack.enter_context(LocalIssuer(audience=AUDIENCE, client_id=CLIENT_ID))
        twin_a = stack.enter_context(LocalIssuer(audience=AUDIENCE, client_id=CLIENT_ID))
        twin_b = stack.enter_context(LocalIssuer(audience=AUDIENCE, client_id=CLIENT_ID))
        trap = TrapServer()
        stack.callback(trap.close)
        # The catalogue issuer publishes its own key and one key of every type.
        main.override(main.jwks_path, body={"keys": [main.keys[0].to_dict(), *keys.trusted_jwks()]})
        # Twin B publishes its own key under twin A's kid.
        twin_b.override(
            twin_b.jwks_path, body={"keys": [{**twin_b.keys[0].to_dict(), "kid": twin_a.kid}]}
        )
        verifiers = {
            "default": _verifier(main),
            "rfc9068": _verifier(main, rfc9068=True),
            "twins": _verifier(twin_a, twin_b),
            "only-a": _verifier(twin_a),
        }
        assert set(verifiers) == set(PROFILES)
        profiles = {}
        for name, verifier in verifiers.items():
            settings = GuardSettings(verifier=verifier, realm=REALM)
            django = {"VERIFIER": verifier, "REALM": REALM}
            clients = stack.enter_context(open_clients(settings, django))
            profiles[name] = Profile(verifier, settings, clients)
        forge = Forge(keys=keys, issuer=main, twin_a=twin_a, twin_b=twin_b, trap=trap)
        yield World(forge=forge, trap=trap, profiles=profiles, tokens={})
