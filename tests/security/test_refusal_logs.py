"""Refusal reports through every adapter: the log line, the on_refusal hook, and no token in either.

Each adapter gets settings with an ``on_refusal`` hook (Django: ``ON_REFUSAL``)
that collects the :class:`~bearerguard.Refusal` objects; the log lines are
read with caplog from the ``"bearerguard.refusals"`` logger.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from bearerguard import GuardSettings, Refusal
from bearerguard._refusals import format_refusal

from .apps import ADAPTERS, REALM, Send, open_clients
from .catalogue import CATALOGUE
from .conftest import World
from .test_attack_catalogue import authorization, leaks

LOGGER = "bearerguard.refusals"


@dataclass
class Reporting:
    clients: dict[str, dict[str, Send]]  # profile -> adapter -> send
    seen: list[Refusal]


@pytest.fixture(scope="module")
def reporting(world: World) -> Iterator[Reporting]:
    """Every profile's clients, each adapter with an on_refusal hook collecting into one list."""
    seen: list[Refusal] = []
    with ExitStack() as stack:
        clients = {}
        for name, profile in world.profiles.items():
            settings = GuardSettings(verifier=profile.verifier, realm=REALM, on_refusal=seen.append)
            django = {"VERIFIER": profile.verifier, "REALM": REALM, "ON_REFUSAL": seen.append}
            clients[name] = stack.enter_context(open_clients(settings, django))
        yield Reporting(clients, seen)


@pytest.fixture
def fresh(world: World) -> Iterator[Reporting]:
    """The default profile's clients with a hook, and a full rate-limit bucket."""
    seen: list[Refusal] = []
    verifier = world.profiles["default"].verifier
    settings = GuardSettings(verifier=verifier, realm=REALM, on_refusal=seen.append)
    django = {"VERIFIER": verifier, "REALM": REALM, "ON_REFUSAL": seen.append}
    with open_clients(settings, django) as clients:
        yield Reporting({"default": clients}, seen)


def test_no_refusal_line_or_report_repeats_a_token_or_a_signature(
    world: World, reporting: Reporting, caplog: pytest.LogCaptureFixture
) -> None:
    """Every attack through every adapter: the log lines and the reports hold no token piece."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    tokens = []
    refused = 0
    for attack in CATALOGUE:
        token = world.token(attack)
        tokens.append(token)
        for adapter in ADAPTERS:
            reporting.seen.clear()
            answer = reporting.clients[attack.profile][adapter](authorization(token))
            if answer.status >= 400:
                refused += 1
                assert len(reporting.seen) == 1, (attack.id, adapter)
                refusal = reporting.seen[0]
                assert refusal.status == answer.status
                text = format_refusal(refusal) + repr(refusal)
                assert leaks(text, token) == [], (attack.id, adapter)
            else:
                assert reporting.seen == [], (attack.id, adapter)
    assert refused > len(CATALOGUE)  # most attacks are refused by every adapter
    lines = [record.getMessage() for record in caplog.records if record.name == LOGGER]
    assert lines
    everything = "\n".join(lines)
    for token in tokens:
        assert leaks(everything, token) == []


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_issuer_mismatch_logs_one_line_with_the_unverified_header_and_the_configured_issuers(
    world: World, fresh: Reporting, adapter: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One INFO line: code, reason, unverified iss/aud/kid/alg, fingerprint, configured issuers."""
    forge = world.forge
    token = forge.token(iss="https://other.example.com")
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    fresh.seen.clear()
    answer = fresh.clients["default"][adapter](authorization(token))
    assert answer.status == 401
    records = [record for record in caplog.records if record.name == LOGGER]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.INFO
    fingerprint = hashlib.sha256(token.encode()).hexdigest()[:8]
    (refusal,) = fresh.seen
    assert refusal.code == "invalid_token"
    assert refusal.unverified_issuer == "https://other.example.com"
    assert refusal.unverified_algorithm == "RS256"
    assert refusal.fingerprint == fingerprint
    assert refusal.configured_issuers == (forge.issuer.url,)
    assert record.getMessage() == format_refusal(refusal)
    message = record.getMessage()
    assert message.startswith("refused 401 invalid_token: ")
    assert f"token sha256:{fingerprint}" in message
    assert 'unverified iss="https://other.example.com"' in message
    assert f"configured issuers: {forge.issuer.url}" in message


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_request_without_a_token_logs_the_401_without_token_details(
    fresh: Reporting, adapter: str, caplog: pytest.LogCaptureFixture
) -> None:
    """No token: one INFO line naming the 401 and its reason, and a report with no fingerprint."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    fresh.seen.clear()
    answer = fresh.clients["default"][adapter]([])
    assert answer.status == 401
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(messages) == 1
    assert messages[0].startswith("refused 401 (no error code): ")
    (refusal,) = fresh.seen
    assert (refusal.status, refusal.code, refusal.fingerprint) == (401, None, None)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_a_hook_that_raises_is_logged_and_the_refusal_is_unchanged(
    world: World, adapter: str, caplog: pytest.LogCaptureFixture
) -> None:
    """on_refusal raising: the same answer as without a hook; the exception is logged."""

    def broken(refusal: Refusal) -> None:
        raise RuntimeError("hook failed")

    profile = world.profiles["default"]
    token = world.forge.token(iss="https://other.example.com")
    settings = GuardSettings(verifier=profile.verifier, realm=REALM, on_refusal=broken)
    django = {"VERIFIER": profile.verifier, "REALM": REALM, "ON_REFUSAL": broken}
    expected = profile.clients[adapter](authorization(token))
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    with open_clients(settings, django) as clients:
        answer = clients[adapter](authorization(token))
    assert answer == expected
    failures = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == [
        "on_refusal hook raised; the refusal was sent unchanged"
    ]
    assert failures[0].exc_info is not None
