"""Refusal reports: what is read from a refused token, the log line's level, the rate limit."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from typing import Any

import pytest

from bearerguard import (
    ConfigurationError,
    GuardSettings,
    InsufficientScope,
    InvalidSignature,
    IssuerMismatch,
    KeySetUnavailable,
    Refusal,
)
from bearerguard._refusals import RefusalReporter, describe

LOGGER = "bearerguard.refusals"
ISSUER = "https://login.example.com"


def b64(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def token(header: dict[str, Any], payload: dict[str, Any], signature: str = "c2lnbmF0dXJl") -> str:
    return f"{b64(header)}.{b64(payload)}.{signature}"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


def test_describe_reads_iss_aud_kid_alg_unverified_and_fingerprints_the_token() -> None:
    """The unverified values, the first 8 hex digits of SHA-256; the issuers only on mismatch."""
    raw = token({"alg": "RS256", "kid": "k1"}, {"iss": "https://x.example", "aud": ["a", "b"]})
    refusal = describe(IssuerMismatch("token issuer is not trusted"), raw, (ISSUER,))
    assert refusal == Refusal(
        status=401,
        code="invalid_token",
        description="token issuer is not trusted",
        unverified_issuer="https://x.example",
        unverified_audience="a b",
        unverified_key_id="k1",
        unverified_algorithm="RS256",
        fingerprint=hashlib.sha256(raw.encode()).hexdigest()[:8],
        configured_issuers=(ISSUER,),
    )
    assert describe(InvalidSignature("bad"), raw, (ISSUER,)).configured_issuers == ()


@pytest.mark.parametrize(
    ("kid", "logged"),
    [
        pytest.param("a\nb\r\x1b[31m", "a\\nb\\r\\x1b[31m", id="control-characters-escaped"),
        pytest.param('x" alg="none', 'x\\" alg=\\"none', id="quotes-escaped"),
        pytest.param("k" * 500, "k" * 63 + "…", id="capped-at-64"),
        pytest.param(7, "7", id="not-a-string"),
    ],
)
def test_unverified_values_are_escaped_and_capped(kid: object, logged: str) -> None:
    """Attacker-controlled header values cannot forge log lines or grow them."""
    raw = token({"alg": "RS256", "kid": kid}, {})
    assert describe(InvalidSignature("bad"), raw).unverified_key_id == logged


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("not a token", id="no-dots"),
        pytest.param("!!!.???.sig", id="not-base64url"),
        pytest.param(f"{b64([1, 2])}.{b64('x')}.sig", id="not-objects"),
        pytest.param("e30." + "A" * 20000 + ".sig", id="too-large-to-parse"),
    ],
)
def test_an_unparsable_token_is_only_fingerprinted(raw: str) -> None:
    refusal = describe(InvalidSignature("bad"), raw)
    assert refusal.fingerprint is not None
    assert (refusal.unverified_issuer, refusal.unverified_key_id) == (None, None)


@pytest.mark.parametrize(
    ("error", "level"),
    [
        pytest.param(InvalidSignature("bad"), logging.INFO, id="401-info"),
        pytest.param(InsufficientScope(["a"], ["a"]), logging.INFO, id="403-info"),
        pytest.param(KeySetUnavailable("down"), logging.WARNING, id="503-warning"),
    ],
)
def test_default_levels(error: Exception, level: int, caplog: pytest.LogCaptureFixture) -> None:
    """INFO for 401 and 403, WARNING for 503."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    settings = GuardSettings(oidc=ISSUER, audience="api")
    settings.render(error)  # type: ignore[arg-type]
    assert [r.levelno for r in caplog.records if r.name == LOGGER] == [level]


def test_refusal_log_level_sets_the_level_of_401_and_403(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    settings = GuardSettings(oidc=ISSUER, audience="api", refusal_log_level="DEBUG")
    settings.render(InvalidSignature("bad"))
    settings.render(KeySetUnavailable("down"))
    assert [r.levelno for r in caplog.records if r.name == LOGGER] == [
        logging.DEBUG,
        logging.WARNING,
    ]


@pytest.mark.parametrize("level", ["LOUD", 1.5, True])
def test_an_unknown_log_level_is_a_configuration_error(level: object) -> None:
    with pytest.raises(ConfigurationError, match="refusal_log_level="):
        GuardSettings(oidc=ISSUER, audience="api", refusal_log_level=level)  # type: ignore[arg-type]


def test_on_refusal_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="on_refusal= must be a callable"):
        GuardSettings(oidc=ISSUER, audience="api", on_refusal="not callable")  # type: ignore[arg-type]


def on_refusal_target(refusal: Refusal) -> None:
    """Named by a dotted path in the settings-file test."""


def test_on_refusal_from_a_settings_file_is_a_dotted_path() -> None:
    settings = GuardSettings.from_mapping(
        {"OIDC": ISSUER, "AUDIENCE": "api", "ON_REFUSAL": f"{__name__}.on_refusal_target"}
    )
    assert settings.on_refusal is on_refusal_target


def test_rate_limit_logs_a_burst_then_one_summary_line(caplog: pytest.LogCaptureFixture) -> None:
    """A token bucket: *burst* lines at once, then *rate* a second; the dropped are counted."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    clock = FakeClock()
    reporter = RefusalReporter(rate=2.0, burst=3, clock=clock)
    error = InvalidSignature("bad")
    for _ in range(10):
        reporter.report(error, None, ())
    assert messages(caplog) == ["refused 401 invalid_token: bad"] * 3
    caplog.clear()
    clock.now += 0.5  # one line's worth at 2 a second
    reporter.report(error, None, ())
    reporter.report(error, None, ())
    assert messages(caplog) == [
        "7 refusals not logged (rate limit)",
        "refused 401 invalid_token: bad",
    ]


def test_the_hook_sees_every_refusal_even_when_lines_are_dropped() -> None:
    seen: list[Refusal] = []
    reporter = RefusalReporter(rate=1.0, burst=1, clock=FakeClock(), hook=seen.append)
    for _ in range(5):
        reporter.report(InvalidSignature("bad"), None, ())
    assert len(seen) == 5
