"""Identity-provider faults: the verifier keeps its last good keys or answers 503; never 401/500.

Every test runs a fresh :class:`~bearerguard.testing.LocalIssuer` whose JWKS is
reached through a :class:`~security.support.RelayServer` (which adds the
socket-level faults the issuer's switches cannot make: resets, hang-ups, cut
and trickled bodies). The verifier's key set runs on a frozen clock, so
lifetimes and cooldowns move only when a test says so, and fetches go through
a fetcher fenced to 127.0.0.1.

* cold start (no keys yet) under a fault: the core raises
  ``KeySetUnavailable``; every adapter answers 503 with ``Retry-After``;
* warm keys (expired, so a refresh is due) under a JWKS fault: the good token
  is still accepted everywhere, the key set says it is serving stale keys and
  why, and recovers once the fault clears.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from bearerguard import Issuer, Validator
from bearerguard._errors import KeySetUnavailable
from bearerguard._settings import GuardSettings
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from bearerguard.testing import LocalIssuer
from bearerguard.verifier import Verifier
from tests.support.clock import FakeClock

from .apps import ADAPTERS, REALM, Answer, Send, expected_answer, open_clients
from .support import (
    KnownKeyPool,
    LoopbackOnlyFetcher,
    RelayServer,
    TrapServer,
    b64,
    keyring,
    rsa_jwk_with_private_members,
    wait_until,
    weak_rsa_jwk,
)

AUDIENCE = "api://faults"
TIMEOUT = 0.5  # the key set's fetch timeout: short, so timeouts cost half a second
COOLDOWN = 30
EXTERNAL = "https://jwks.attacker.invalid/jwks.json"  # never resolved: the fetcher is fenced


@dataclass
class Rig:
    idp: LocalIssuer
    relay: RelayServer
    trap: TrapServer
    fetcher: LoopbackOnlyFetcher
    clock: FakeClock
    keyset: RemoteKeySet
    verifier: Verifier[Any]
    settings: GuardSettings
    clients: dict[str, Send]
    token: str

    def metadata(self) -> dict[str, Any]:
        """The issuer's discovery document as the verifier is given it."""
        document: dict[str, Any] = requests.get(self.idp.oidc_url, timeout=5).json()
        return document

    def settle(self) -> None:
        """Wait for a fetch in progress to finish (the caller may have stopped waiting)."""
        assert wait_until(lambda: not self.keyset.status().fetching, timeout=10)

    def every_adapter(self) -> dict[str, Answer]:
        return {name: self.clients[name]([b"Bearer " + self.token.encode()]) for name in ADAPTERS}


@pytest.fixture
def rig() -> Iterator[Rig]:
    with ExitStack() as stack:
        idp = stack.enter_context(
            LocalIssuer(audience=AUDIENCE, key_pool=KnownKeyPool(*keyring().idp_rsa))
        )
        relay = RelayServer(idp.port)
        stack.callback(relay.close)
        trap = TrapServer()
        stack.callback(trap.close)
        fetcher = LoopbackOnlyFetcher()
        stack.callback(fetcher.close)
        # Discovery straight from the issuer; its jwks_uri leads through the relay.
        document = requests.get(idp.oidc_url, timeout=5).json()
        idp.override(idp.oidc_path, body={**document, "jwks_uri": relay.url(idp.jwks_path)})
        clock = FakeClock()
        keyset = RemoteKeySet.from_oidc(
            idp.url,
            policy=KeySetPolicy(timeout=TIMEOUT, cooldown=COOLDOWN),
            fetcher=fetcher,
            clock=clock,
        )
        verifier = Verifier([Issuer(idp.url, keyset, Validator(aud=AUDIENCE))])
        settings = GuardSettings(verifier=verifier, realm=REALM)
        clients = stack.enter_context(
            open_clients(settings, {"VERIFIER": verifier, "REALM": REALM})
        )
        token = idp.mint(sub="user-1")
        yield Rig(idp, relay, trap, fetcher, clock, keyset, verifier, settings, clients, token)


# -- the faults ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One way the identity provider misbehaves, and what the key set must say about it."""

    id: str
    apply: Callable[[Rig], None]
    cause: str  # found in the key set's last_error once the failed fetch has finished
    waits_out_the_timeout: bool = False  # then the test takes about a second: marked slow

    def param(self) -> Any:
        marks = [pytest.mark.slow] if self.waits_out_the_timeout else []
        return pytest.param(self, id=self.id, marks=marks)


def _jwks(**override: Any) -> Callable[[Rig], None]:
    return lambda rig: rig.idp.override(rig.idp.jwks_path, **override)


def _jwks_status(code: int) -> Callable[[Rig], None]:
    return lambda rig: rig.idp.force_status(code, rig.idp.jwks_path)


def _jwks_keys(*make: Callable[[Rig], dict[str, Any]]) -> Callable[[Rig], None]:
    return lambda rig: rig.idp.override(
        rig.idp.jwks_path, body={"keys": [build(rig) for build in make]}
    )


def _relay(mode: Any) -> Callable[[Rig], None]:
    def apply(rig: Rig) -> None:
        rig.relay.mode = mode

    return apply


def _public(rig: Rig, **changes: Any) -> dict[str, Any]:
    return {**rig.idp.keys[0].to_dict(), **changes}


def _private(rig: Rig) -> dict[str, Any]:
    return rsa_jwk_with_private_members(keyring().idp_rsa[0], rig.idp.kid)


_HTML = "<!doctype html><html><body><h1>503 Service Unavailable</h1></body></html>"

JWKS_FAULTS = [
    *(
        Fault(
            f"http-{code}",
            _jwks_status(code),
            f"HTTP {code}",
        )
        for code in (500, 502, 503, 504, 404)
    ),
    Fault(
        "http-429-with-retry-after",
        _jwks(status=429, headers={"Retry-After": "120"}, body={"error": "slow down"}),
        "HTTP 429",
    ),
    Fault(
        "timeout",
        lambda rig: rig.idp.delay(3 * TIMEOUT + 1, rig.idp.jwks_path),
        f"timed out after {TIMEOUT:g}s",
        waits_out_the_timeout=True,
    ),
    Fault("connection-reset", _relay("reset"), "failed: ConnectionError"),
    Fault("closed-without-an-answer", _relay("hangup"), "failed: ConnectionError"),
    Fault("answer-that-is-not-http", _relay("garbage"), "failed: ConnectionError"),
    Fault("body-shorter-than-its-content-length", _relay("truncate"), "failed: "),
    Fault(
        "body-trickled-byte-by-byte",
        _relay("trickle"),
        f"took longer than {TIMEOUT:g}s",
        waits_out_the_timeout=True,
    ),
    Fault(
        "cut-off-json",
        lambda rig: rig.idp.serve_malformed_json(rig.idp.jwks_path),
        "not valid UTF-8 JSON",
    ),
    Fault(
        "oversized-body",
        _jwks(body=b'{"keys":[],"padding":"' + b"x" * 300_000 + b'"}'),
        "larger than 262144 bytes",
    ),
    Fault(
        "oversized-declared-length",
        # No ETag: a matching If-None-Match would get a body-less 304 instead.
        _jwks(headers={"Content-Length": "999999999", "ETag": None}),
        "larger than 262144 bytes",
    ),
    Fault(
        "html-error-page-with-status-200",
        _jwks(body=_HTML, headers={"Content-Type": "text/html; charset=utf-8"}),
        "not valid UTF-8 JSON",
    ),
    Fault("empty-body", _jwks(body=b""), "not valid UTF-8 JSON"),
    Fault("json-array-instead-of-jwks", _jwks(body=[{"keys": []}]), "not a JSON object"),
    Fault("keys-not-an-array", _jwks(body={"keys": {"kty": "RSA"}}), "no 'keys' array"),
    Fault("no-keys", _jwks(body={"keys": []}), "no usable signing key"),
    Fault("private-signing-key-published", _jwks_keys(_private), "no usable signing key"),
    Fault(
        "weak-rsa-1024-key",
        _jwks_keys(lambda rig: weak_rsa_jwk(keyring().weak_rsa, rig.idp.kid)),
        "no usable signing key",
    ),
    Fault(
        "rsa-exponent-1",
        _jwks_keys(lambda rig: _public(rig, e="AQ")),
        "no usable signing key",
    ),
    Fault(
        "ec-point-not-on-the-curve",
        _jwks_keys(
            lambda rig: {
                "kty": "EC",
                "crv": "P-256",
                "kid": rig.idp.kid,
                "x": b64(b"\x01" * 32),
                "y": b64(b"\x02" * 32),
            }
        ),
        "no usable signing key",
    ),
    Fault(
        "ed25519-small-order-point",
        _jwks_keys(
            lambda rig: {
                "kty": "OKP",
                "crv": "Ed25519",
                "kid": rig.idp.kid,
                "x": b64(b"\x01" + bytes(31)),
            }
        ),
        "no usable signing key",
    ),
    Fault(
        "symmetric-oct-key",
        _jwks_keys(
            lambda rig: {"kty": "oct", "kid": rig.idp.kid, "alg": "HS256", "k": b64(b"s" * 32)}
        ),
        "no usable signing key",
    ),
    Fault(
        "signing-key-marked-for-encryption",
        _jwks_keys(lambda rig: _public(rig, use="enc")),
        "no usable signing key",
    ),
    Fault(
        "redirect-to-another-host",
        lambda rig: rig.idp.override(
            rig.idp.jwks_path, status=302, headers={"Location": rig.trap.url("/jwks.json")}
        ),
        "redirected (HTTP 302)",
    ),
    Fault(
        "redirect-to-an-external-name",
        _jwks(status=301, headers={"Location": EXTERNAL}),
        "redirected (HTTP 301)",
    ),
]


def _metadata(**changes: Any) -> Callable[[Rig], None]:
    def apply(rig: Rig) -> None:
        document = {**rig.metadata(), **changes}
        document = {k: v for k, v in document.items() if v is not None}
        rig.idp.override(rig.idp.oidc_path, body=document)

    return apply


DISCOVERY_FAULTS = [
    Fault(
        "discovery-http-500",
        lambda rig: rig.idp.force_status(500, rig.idp.oidc_path),
        "HTTP 500",
    ),
    Fault(
        "discovery-timeout",
        lambda rig: rig.idp.delay(3 * TIMEOUT + 1, rig.idp.oidc_path),
        "timed out",
        waits_out_the_timeout=True,
    ),
    Fault(
        "discovery-cut-off-json",
        lambda rig: rig.idp.serve_malformed_json(rig.idp.oidc_path),
        "not valid UTF-8 JSON",
    ),
    Fault(
        "discovery-redirect-to-another-host",
        lambda rig: rig.idp.override(
            rig.idp.oidc_path, status=302, headers={"Location": rig.trap.url("/.well-known/x")}
        ),
        "redirected (HTTP 302)",
    ),
    Fault(
        "discovery-issuer-with-trailing-slash",
        lambda rig: _metadata(issuer=rig.idp.url + "/")(rig),
        "names issuer",
    ),
    Fault(
        "discovery-issuer-of-another-tenant",
        lambda rig: _metadata(issuer=rig.idp.url + "/tenant-b")(rig),
        "names issuer",
    ),
    Fault(
        "discovery-issuer-of-another-host",
        _metadata(issuer="https://login.attacker.invalid"),
        "names issuer",
    ),
    Fault("discovery-without-issuer", _metadata(issuer=None), "names issuer 'None'"),
    Fault("discovery-without-jwks-uri", _metadata(jwks_uri=None), "has no jwks_uri"),
    Fault(
        "discovery-jwks-uri-plain-http-on-another-host",
        _metadata(jwks_uri="http://jwks.attacker.invalid/jwks.json"),
        "must use https",
    ),
    Fault(
        "discovery-jwks-uri-with-credentials",
        lambda rig: _metadata(jwks_uri=f"http://user:secret@127.0.0.1:{rig.idp.port}/jwks")(rig),
        "must not contain credentials",
    ),
    Fault(
        "discovery-html-page",
        lambda rig: rig.idp.override(
            rig.idp.oidc_path, body=_HTML, headers={"Content-Type": "text/html"}
        ),
        "not valid UTF-8 JSON",
    ),
]


def _unavailable(rig: Rig) -> Answer:
    return expected_answer(KeySetUnavailable("keys", retry_after=COOLDOWN), None, rig.settings)


def _assert_nothing_else_contacted(rig: Rig) -> None:
    assert rig.trap.connections == 0
    assert rig.fetcher.refused == []


@pytest.mark.parametrize("fault", [f.param() for f in JWKS_FAULTS + DISCOVERY_FAULTS])
def test_cold_start_under_an_idp_fault_is_503_with_retry_after(rig: Rig, fault: Fault) -> None:
    """No keys yet and the IdP misbehaves: 503 + Retry-After from the core and every adapter."""
    fault.apply(rig)
    with pytest.raises(KeySetUnavailable) as info:
        rig.verifier.verify(rig.token)
    assert type(info.value) is KeySetUnavailable
    assert info.value.retry_after == COOLDOWN
    rig.settle()
    assert fault.cause in (rig.keyset.status().last_error or "")
    answers = rig.every_adapter()
    assert answers == dict.fromkeys(ADAPTERS, _unavailable(rig))
    # One attempt per cooldown, whatever the number of requests.
    assert rig.keyset.status().failures == 1
    _assert_nothing_else_contacted(rig)


@pytest.mark.parametrize("fault", [f.param() for f in JWKS_FAULTS])
def test_warm_keys_survive_an_idp_fault_and_recover(rig: Rig, fault: Fault) -> None:
    """Expired keys and a failing refresh: the good token is still accepted, until the IdP heals."""
    assert rig.verifier.verify(rig.token).sub == "user-1"
    rig.clock.advance(301)  # past the JWKS max-age (300 s): a refresh is due
    fault.apply(rig)
    assert rig.verifier.verify(rig.token).sub == "user-1"
    rig.settle()
    status = rig.keyset.status()
    assert (status.state, status.failures) == ("stale", 1)
    assert fault.cause in (status.last_error or "")
    accepted = expected_answer(None, "user-1", rig.settings)
    assert rig.every_adapter() == dict.fromkeys(ADAPTERS, accepted)
    # Still failing after the cooldown: another attempt, still the old keys.
    rig.clock.advance(COOLDOWN + 1)
    assert rig.verifier.verify(rig.token).sub == "user-1"
    rig.settle()
    assert rig.keyset.status().failures == 2
    # The IdP heals: the next attempt succeeds and the keys are fresh again.
    rig.idp.clear_faults()
    rig.relay.mode = "pass"
    rig.clock.advance(COOLDOWN + 1)
    assert rig.verifier.verify(rig.token).sub == "user-1"
    rig.settle()
    status = rig.keyset.status()
    assert (status.state, status.last_error) == ("fresh", None)
    _assert_nothing_else_contacted(rig)


def test_slow_idp_within_the_timeout_is_fine(rig: Rig) -> None:
    rig.idp.delay(TIMEOUT / 3, rig.idp.jwks_path)
    assert rig.every_adapter() == dict.fromkeys(
        ADAPTERS, expected_answer(None, "user-1", rig.settings)
    )


def test_a_caller_waits_for_a_hung_idp_no_longer_than_the_timeout(rig: Rig) -> None:
    """The request path is bounded by the key set's timeout (generous margin for slow CI)."""
    rig.idp.delay(10, rig.idp.jwks_path)
    started = time.monotonic()
    with pytest.raises(KeySetUnavailable):
        rig.verifier.verify(rig.token)
    assert time.monotonic() - started < TIMEOUT + 2


def test_rate_limited_idp_is_asked_once_per_cooldown(rig: Rig) -> None:
    """429 with Retry-After: many requests, one JWKS fetch; Retry-After counts down the cooldown."""
    rig.idp.override(rig.idp.jwks_path, status=429, headers={"Retry-After": "120"})
    for _ in range(3):
        answers = rig.every_adapter()
        assert {a.status for a in answers.values()} == {503}
    rig.clock.advance(10)
    answers = rig.every_adapter()
    assert {a.headers["retry-after"] for a in answers.values()} == {str(COOLDOWN - 10)}
    assert rig.relay.seen[rig.idp.jwks_path] == 1


def test_redirect_is_never_followed_whoever_it_points_at(rig: Rig) -> None:
    """A JWKS redirect to the trap (another port of 127.0.0.1) or a remote name is not followed."""
    for location in (rig.trap.url("/jwks.json"), EXTERNAL, "//jwks.attacker.invalid/jwks"):
        rig.idp.override(rig.idp.jwks_path, status=307, headers={"Location": location})
        rig.clock.advance(COOLDOWN + 1)
        with pytest.raises(KeySetUnavailable):
            rig.verifier.verify(rig.token)
        rig.settle()
    assert rig.keyset.status().failures == 3
    _assert_nothing_else_contacted(rig)


def test_opted_in_redirects_still_refuse_plain_http_off_loopback(rig: Rig) -> None:
    """follow_redirects=True checks each target like the configured URL, before any request."""
    keyset = RemoteKeySet(
        rig.relay.url(rig.idp.jwks_path),
        policy=KeySetPolicy(timeout=TIMEOUT, follow_redirects=True),
        fetcher=rig.fetcher,
        clock=rig.clock,
    )
    rig.idp.override(
        rig.idp.jwks_path, status=302, headers={"Location": "http://jwks.attacker.invalid/k"}
    )
    with pytest.raises(KeySetUnavailable):
        keyset.get_keys(None)
    assert wait_until(lambda: not keyset.status().fetching)
    assert "must use https" in (keyset.status().last_error or "")
    _assert_nothing_else_contacted(rig)


def test_jwks_labelled_with_another_content_type_is_still_parsed_strictly(rig: Rig) -> None:
    """The body decides, not the label: a valid JWKS served as text/plain is used (RFC 7517 §8.5
    registers application/jwk-set+json, but providers also use application/json and text/plain)."""
    rig.idp.override(rig.idp.jwks_path, headers={"Content-Type": "text/plain"})
    assert rig.verifier.verify(rig.token).sub == "user-1"


def test_good_key_beside_unusable_ones_is_used(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    """One bad JWK is skipped, not fatal: private, weak, oct and enc keys beside the real one."""
    keys = [
        rsa_jwk_with_private_members(keyring().idp_rsa[1], "leaked"),
        weak_rsa_jwk(keyring().weak_rsa, "weak"),
        {"kty": "oct", "kid": "oct", "k": b64(b"s" * 32)},
        _public(rig, kid="enc", use="enc"),
        rig.idp.keys[0].to_dict(),
    ]
    rig.idp.override(rig.idp.jwks_path, body={"keys": keys})
    with caplog.at_level(logging.DEBUG, logger="bearerguard.jwk"):
        assert rig.verifier.verify(rig.token).sub == "user-1"
    skipped = [r for r in caplog.records if r.name == "bearerguard.jwk"]
    # The enc key is expected beside signing keys (Keycloak publishes one): debug, not warning.
    assert [r.levelno for r in skipped] == [logging.WARNING] * 3 + [logging.DEBUG]
    assert rig.keyset.status().kids == (rig.idp.kid,)


def test_private_key_material_never_reaches_answers_or_logs(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    """A JWKS that leaks the signing key: refused, and its private members appear nowhere."""
    leaked = _private(rig)
    rig.idp.override(rig.idp.jwks_path, body={"keys": [leaked]})
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(KeySetUnavailable) as info:
            rig.verifier.verify(rig.token)
        rig.settle()
        answers = rig.every_adapter()
    seen = [info.value.description, str(rig.keyset.status()), caplog.text]
    seen += [a.body.decode() + str(a.headers) for a in answers.values()]
    for member in ("d", "p", "q", "dp", "dq", "qi"):
        assert not any(leaked[member][:24] in text for text in seen), member


def test_token_of_a_freshly_rotated_key_during_an_outage_is_503_not_401(rig: Rig) -> None:
    """The IdP rotates (new key published), then its JWKS endpoint fails: 503, never 401.

    Past the unknown-kid cooldown, so the verifier does try to learn the new key.
    """
    assert rig.verifier.verify(rig.token).sub == "user-1"
    rig.idp.rotate()
    rig.idp.force_status(503, rig.idp.jwks_path)
    rig.clock.advance(COOLDOWN + 1)
    rig.token = rig.idp.mint(sub="user-1")
    with pytest.raises(KeySetUnavailable) as info:
        rig.verifier.verify(rig.token)
    assert info.value.retry_after == COOLDOWN
    rig.settle()
    # Within the cooldown after that failed attempt: still 503, from every adapter.
    assert rig.every_adapter() == dict.fromkeys(ADAPTERS, _unavailable(rig))
    # The IdP heals: after the cooldown the new key is fetched and the token accepted.
    rig.idp.clear_faults()
    rig.clock.advance(COOLDOWN + 1)
    assert rig.every_adapter() == dict.fromkeys(
        ADAPTERS, expected_answer(None, "user-1", rig.settings)
    )
