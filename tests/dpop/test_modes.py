"""The dpop= modes, server nonces and the request URL, in every adapter.

``dpop="off"`` keeps bearerguard's answers as they were (a bound token is
refused, the DPoP scheme is not a credential); ``"required"`` accepts only
DPoP-bound tokens with a proof and challenges with ``DPoP`` alone; with
``nonce_secret`` a proof must carry a current server nonce (RFC 9449 §8).
Without ``external_url`` the ``htu`` is checked against the request's own
scheme and ``Host``; ``Forwarded`` and ``X-Forwarded-*`` are never believed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from bearerguard import MemoryReplayCache
from bearerguard._dpop import DPoPNonces
from bearerguard.testing import DPoPKey, LocalIssuer

from ..adapters.cases import REALM, SUB
from .clients import ADAPTERS, Answer, Send, open_dpop_client
from .test_adapters import ACCEPTED, ALGS, URL, mapping, proof_refused, refused

SECRET = "n" * 32
DEAD_REDIS = "redis://127.0.0.1:9/0"


def _missing(challenge: str) -> Answer:
    body = b'{"error":"unauthorized","error_description":"bearer token required"}'
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "cache-control": "no-store",
        "www-authenticate": challenge,
    }
    return Answer(401, headers, body)


@pytest.fixture(scope="module")
def tokens(local_issuer: LocalIssuer, client_key: DPoPKey) -> dict[str, str]:
    return {
        "bound": local_issuer.mint(sub=SUB, cnf=client_key.cnf),
        "plain": local_issuer.mint(sub=SUB),
    }


@pytest.fixture(scope="module")
def modes(local_issuer: LocalIssuer) -> Iterator[dict[tuple[str, str], Send]]:
    """Each adapter under each configuration, by (configuration, adapter)."""
    settings: dict[str, dict[str, Any]] = {
        "off": mapping(local_issuer.url, DPOP="off", DPOP_POLICY=None, EXTERNAL_URL=None),
        "required": mapping(local_issuer.url, DPOP="required"),
        "nonces": mapping(
            local_issuer.url,
            DPOP_POLICY={"REPLAY_CACHE": MemoryReplayCache(), "NONCE_SECRET": SECRET},
        ),
        "host": mapping(local_issuer.url, EXTERNAL_URL=None),
        # redis_url= remembers proofs in Redis; nothing listens on port 9.
        "redis-down": mapping(local_issuer.url, DPOP_POLICY=None, REDIS_URL=DEAD_REDIS),
    }
    with ExitStack() as stack:
        yield {
            (name, adapter): stack.enter_context(
                open_dpop_client(adapter, {k: v for k, v in config.items() if v is not None})
            )
            for name, config in settings.items()
            for adapter in ADAPTERS
        }


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_off_mode_refuses_a_bound_token_as_before(
    adapter: str, modes: dict[tuple[str, str], Send], tokens: dict[str, str]
) -> None:
    """dpop="off": a DPoP-bound token sent as Bearer is refused as a sender-constrained token."""
    send = modes["off", adapter]
    headers = [("Authorization", f"Bearer {tokens['bound']}")]
    description = "cnf: sender-constrained token presented as a bearer token"
    expected = refused("invalid_token", description, scheme="Bearer")
    assert send("GET", "/token", headers) == expected


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_off_mode_takes_the_dpop_scheme_for_no_credentials(
    adapter: str,
    modes: dict[tuple[str, str], Send],
    tokens: dict[str, str],
    client_key: DPoPKey,
) -> None:
    """dpop="off": the DPoP scheme is another scheme, so no bearer credentials (RFC 6750 §3.1)."""
    proof = client_key.proof("GET", URL, access_token=tokens["bound"])
    headers = [("Authorization", f"DPoP {tokens['bound']}"), ("DPoP", proof)]
    assert modes["off", adapter]("GET", "/token", headers) == _missing(f'Bearer realm="{REALM}"')


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_required_mode_refuses_a_bearer_token(
    adapter: str, modes: dict[tuple[str, str], Send], tokens: dict[str, str]
) -> None:
    """dpop="required": a plain bearer token is refused, with a DPoP challenge."""
    headers = [("Authorization", f"Bearer {tokens['plain']}")]
    expected = refused("invalid_token", "token must be presented with the DPoP scheme and a proof")
    assert modes["required", adapter]("GET", "/token", headers) == expected


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_required_mode_accepts_a_bound_token_with_its_proof(
    adapter: str,
    modes: dict[tuple[str, str], Send],
    tokens: dict[str, str],
    client_key: DPoPKey,
) -> None:
    """dpop="required": a DPoP-bound token with a valid proof is accepted."""
    proof = client_key.proof("GET", URL, access_token=tokens["bound"])
    headers = [("Authorization", f"DPoP {tokens['bound']}"), ("DPoP", proof)]
    assert modes["required", adapter]("GET", "/token", headers) == ACCEPTED


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_required_mode_challenges_with_dpop_only(
    adapter: str, modes: dict[tuple[str, str], Send]
) -> None:
    """dpop="required": no credentials → one DPoP challenge with algs."""
    expected = _missing(f'DPoP realm="{REALM}", {ALGS}')
    assert modes["required", adapter]("GET", "/token", []) == expected


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_proof_without_nonce_gets_use_dpop_nonce(
    adapter: str,
    modes: dict[tuple[str, str], Send],
    tokens: dict[str, str],
    client_key: DPoPKey,
) -> None:
    """RFC 9449 §8: 401 use_dpop_nonce, the current nonce in DPoP-Nonce; a retry with it passes."""
    send = modes["nonces", adapter]
    proof = client_key.proof("GET", URL, access_token=tokens["bound"])
    answer = send("GET", "/token", [("Authorization", f"DPoP {tokens['bound']}"), ("DPoP", proof)])
    nonce = DPoPNonces(SECRET.encode(), 300.0).current(time.time())
    description = "DPoP proof needs the server's current nonce"
    expected = refused("use_dpop_nonce", description)
    assert answer == Answer(401, {**expected.headers, "dpop-nonce": nonce}, expected.body)
    retry = client_key.proof("GET", URL, access_token=tokens["bound"], nonce=nonce)
    headers = [("Authorization", f"DPoP {tokens['bound']}"), ("DPoP", retry)]
    assert send("GET", "/token", headers) == ACCEPTED


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_proof_with_a_made_up_nonce_gets_use_dpop_nonce(
    adapter: str,
    modes: dict[tuple[str, str], Send],
    tokens: dict[str, str],
    client_key: DPoPKey,
) -> None:
    """A nonce the servers did not issue is refused like a missing one."""
    proof = client_key.proof("GET", URL, access_token=tokens["bound"], nonce="A" * 32)
    headers = [("Authorization", f"DPoP {tokens['bound']}"), ("DPoP", proof)]
    answer = modes["nonces", adapter]("GET", "/token", headers)
    assert (answer.status, json.loads(answer.body)["error"]) == (401, "use_dpop_nonce")


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_htu_is_the_request_host_without_external_url(
    adapter: str,
    modes: dict[tuple[str, str], Send],
    tokens: dict[str, str],
    client_key: DPoPKey,
) -> None:
    """Without external_url, a proof for the request's own scheme and Host is accepted."""
    proof = client_key.proof("GET", "http://testserver/token", access_token=tokens["bound"])
    headers = [("Authorization", f"DPoP {tokens['bound']}"), ("DPoP", proof)]
    assert modes["host", adapter]("GET", "/token", headers) == ACCEPTED


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_forwarded_headers_never_choose_the_htu(
    adapter: str,
    modes: dict[tuple[str, str], Send],
    tokens: dict[str, str],
    client_key: DPoPKey,
) -> None:
    """X-Forwarded-Host/-Proto and Forwarded do not make a proof for another host pass."""
    proof = client_key.proof("GET", "https://evil.example/token", access_token=tokens["bound"])
    headers = [
        ("Authorization", f"DPoP {tokens['bound']}"),
        ("DPoP", proof),
        ("X-Forwarded-Host", "evil.example"),
        ("X-Forwarded-Proto", "https"),
        ("Forwarded", "host=evil.example;proto=https"),
    ]
    expected = proof_refused("DPoP proof htu does not match the request URL")
    assert modes["host", adapter]("GET", "/token", headers) == expected


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_replay_cache_down_is_503_never_accepted(
    adapter: str,
    modes: dict[tuple[str, str], Send],
    tokens: dict[str, str],
    client_key: DPoPKey,
) -> None:
    """redis_url= and Redis down: the proof cannot be checked for replay, so 503 + Retry-After."""
    proof = client_key.proof("GET", URL, access_token=tokens["bound"])
    headers = [("Authorization", f"DPoP {tokens['bound']}"), ("DPoP", proof)]
    body = (
        b'{"error":"temporarily_unavailable","error_description":"DPoP replay cache unavailable"}'
    )
    expected = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "cache-control": "no-store",
        "retry-after": "5",
    }
    answer = modes["redis-down", adapter]("GET", "/token", headers)
    assert answer == Answer(503, expected, body)
