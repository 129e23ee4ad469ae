"""DPoP in every adapter: each RFC 9449 §4.3 check refuses with the same bytes everywhere.

Starlette, FastAPI, Flask, plain WSGI, Django under WSGI and ASGI, and Django
REST framework serve ``/token`` with ``dpop="allowed"`` and ``external_url``;
each case sends one request and states the exact status, ``WWW-Authenticate``
and body. A proof that fails a check gets 401 ``invalid_dpop_proof`` with a
``DPoP`` challenge naming the accepted ``algs``; a token error gets the
RFC 6750 code in the challenge of the scheme the token came with.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from bearerguard import MemoryReplayCache
from bearerguard.testing import DPoPKey, LocalIssuer

from ..adapters.cases import AUDIENCE, REALM, SUB, TEXT
from .clients import ADAPTERS, Answer, Headers, Send, open_dpop_client

EXTERNAL = "https://api.example.com"
URL = EXTERNAL + "/token"
ALGS = 'algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 EdDSA Ed25519"'


def mapping(issuer_url: str, **extra: Any) -> dict[str, Any]:
    """The DPoP tests' settings as upper-case keys; one replay cache for every request."""
    return {
        "OIDC": issuer_url,
        "AUDIENCE": AUDIENCE,
        "REALM": REALM,
        "DPOP": "allowed",
        "EXTERNAL_URL": EXTERNAL,
        "DPOP_POLICY": {"REPLAY_CACHE": MemoryReplayCache()},
        **extra,
    }


def refused(code: str, description: str, *, scheme: str = "DPoP", status: int = 401) -> Answer:
    """The exact refusal: *code* and *description* in a *scheme* challenge and the body."""
    params = [f'realm="{REALM}"', f'error="{code}"', f'error_description="{description}"']
    if scheme == "DPoP":
        challenge = "DPoP " + ", ".join([*params, ALGS])
    else:
        challenge = "Bearer " + ", ".join(params)
    body = json.dumps({"error": code, "error_description": description}, separators=(",", ":"))
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "cache-control": "no-store",
        "www-authenticate": challenge,
    }
    return Answer(status, headers, body.encode())


def proof_refused(description: str) -> Answer:
    return refused("invalid_dpop_proof", description)


ACCEPTED = Answer(200, {"content-type": TEXT, "content-length": str(len(SUB))}, SUB.encode())


@dataclass
class Client:
    """The keys and tokens a case builds its request from."""

    key: DPoPKey
    other: DPoPKey
    bound: str  # bound to key
    plain: str  # no cnf

    def proof(self, **options: Any) -> str:
        method = options.pop("method", "GET")
        url = options.pop("url", URL)
        options.setdefault("access_token", self.bound)
        return self.key.proof(method, url, **options)

    def dpop(self, *proofs: str, token: str | None = None) -> Headers:
        return [("Authorization", f"DPoP {token or self.bound}"), *(("DPoP", p) for p in proofs)]


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unsigned(c: Client, alg: str) -> str:
    """A proof with *alg* ("none", "HS256") built by hand: header and claims, a dummy signature."""
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": c.key.jwk}
    claims = {"jti": "x", "htm": "GET", "htu": URL, "iat": int(time.time())}
    signature = "" if alg == "none" else "c2lnbmF0dXJl"
    return f"{_b64(header)}.{_b64(claims)}.{signature}"


Build = Callable[[Client], Headers]

CASES: list[Any] = [
    pytest.param(lambda c: c.dpop(c.proof()), ACCEPTED, id="valid-proof"),
    pytest.param(lambda c: [("Authorization", f"Bearer {c.plain}")], ACCEPTED, id="plain-bearer"),
    pytest.param(
        lambda c: c.dpop(c.proof(url=URL + "?page=2#top")), ACCEPTED, id="htu-query-ignored"
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(url="HTTPS://API.example.com:443/./token")),
        ACCEPTED,
        id="htu-normalised",
    ),
    pytest.param(
        lambda c: c.dpop(),
        proof_refused("DPoP proof is missing (send one DPoP header)"),
        id="no-proof",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(), c.proof()),
        proof_refused("more than one DPoP header"),
        id="two-dpop-headers",
    ),
    pytest.param(
        lambda c: c.dpop("not-a-jws"),
        proof_refused("DPoP proof: token is not a compact JWS (three dot-separated segments)"),
        id="not-a-jws",
    ),
    pytest.param(
        lambda c: c.dpop("A" * 9000),
        proof_refused("DPoP proof is larger than 8192 bytes"),
        id="oversized-proof",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(headers={"typ": "JWT"})),
        proof_refused("DPoP proof typ must be dpop+jwt"),
        id="typ-not-dpop",
    ),
    pytest.param(
        lambda c: c.dpop(_unsigned(c, "none")),
        proof_refused(
            "DPoP proof: alg 'none' is the 'none' algorithm (an unsecured JWS), never accepted"
        ),
        id="alg-none",
    ),
    pytest.param(
        lambda c: c.dpop(_unsigned(c, "HS256")),
        proof_refused("DPoP proof: algorithm 'HS256' is not allowed"),
        id="alg-hs256",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(headers={"jwk": None})),
        proof_refused("DPoP proof header has no jwk object"),
        id="no-jwk",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(headers={"jwk": {**c.key.jwk, "d": "AAAA"}})),
        proof_refused("DPoP proof jwk: JWK carries private key members; refusing it"),
        id="private-key-in-jwk",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(headers={"jwk": c.other.jwk})),
        proof_refused("DPoP proof signature verification failed"),
        id="signed-by-another-key",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(method="POST")),
        proof_refused("DPoP proof htm does not match the request method"),
        id="proof-for-another-method",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(url=EXTERNAL + "/admin")),
        proof_refused("DPoP proof htu does not match the request URL"),
        id="proof-for-another-url",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(url="http://api.example.com/token")),
        proof_refused("DPoP proof htu does not match the request URL"),
        id="proof-for-another-scheme",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(iat=time.time() + 120)),
        proof_refused("DPoP proof iat is in the future"),
        id="iat-in-the-future",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(iat=time.time() - 600)),
        proof_refused("DPoP proof is too old (iat)"),
        id="iat-too-old",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(claims={"iat": None})),
        proof_refused("DPoP proof iat is missing or not a number"),
        id="no-iat",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(claims={"jti": None})),
        proof_refused("DPoP proof jti is missing or not a short string"),
        id="no-jti",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(access_token=c.plain)),
        proof_refused("DPoP proof ath does not match the access token"),
        id="ath-of-another-token",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(claims={"ath": None})),
        proof_refused("DPoP proof ath does not match the access token"),
        id="no-ath",
    ),
    pytest.param(
        lambda c: c.dpop(c.other.proof("GET", URL, access_token=c.bound)),
        refused("invalid_token", "DPoP proof key does not match the token's cnf.jkt"),
        id="jkt-mismatch",
    ),
    pytest.param(
        lambda c: [("Authorization", f"Bearer {c.bound}")],
        refused(
            "invalid_token", "DPoP-bound token presented without a DPoP proof", scheme="Bearer"
        ),
        id="bound-token-stripped-to-bearer",
    ),
    pytest.param(
        lambda c: [("Authorization", f"Bearer {c.bound}"), ("DPoP", c.proof())],
        refused(
            "invalid_token", "DPoP-bound token presented without a DPoP proof", scheme="Bearer"
        ),
        id="bound-token-as-bearer-with-proof",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(access_token=c.plain), token=c.plain),
        refused("invalid_token", "token is not DPoP-bound (no cnf.jkt) but was sent as DPoP"),
        id="unbound-token-as-dpop",
    ),
    pytest.param(
        lambda c: c.dpop(c.proof(), token=c.bound[:-4] + "AAAA"),
        refused("invalid_token", "signature verification failed"),
        id="forged-token-dpop-challenge",
    ),
]


@pytest.fixture(scope="module")
def client(local_issuer: LocalIssuer, client_key: DPoPKey, other_key: DPoPKey) -> Client:
    bound = local_issuer.mint(sub=SUB, cnf=client_key.cnf)
    return Client(client_key, other_key, bound, local_issuer.mint(sub=SUB))


@pytest.fixture(scope="module")
def clients(local_issuer: LocalIssuer) -> Iterator[dict[str, Send]]:
    settings = mapping(local_issuer.url)
    with ExitStack() as stack:
        yield {name: stack.enter_context(open_dpop_client(name, settings)) for name in ADAPTERS}


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize(("build", "expected"), CASES)
def test_adapter_answers_each_dpop_case(
    adapter: str, build: Build, expected: Answer, client: Client, clients: dict[str, Send]
) -> None:
    """Status, WWW-Authenticate and body are exactly the case's, in every adapter."""
    assert clients[adapter]("GET", "/token", build(client)) == expected


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_replayed_proof_is_refused(adapter: str, client: Client, clients: dict[str, Send]) -> None:
    """RFC 9449 §11.1: a proof accepted once is refused the second time."""
    headers = client.dpop(client.proof())
    assert clients[adapter]("GET", "/token", headers) == ACCEPTED
    assert clients[adapter]("GET", "/token", headers) == proof_refused(
        "DPoP proof has been used before (jti replay)"
    )


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_missing_scope_of_a_dpop_token_is_a_dpop_challenge(
    adapter: str, client: Client, clients: dict[str, Send]
) -> None:
    """RFC 9449 §7.1: 403 insufficient_scope for a DPoP-bound token, in the DPoP scheme."""
    proof = client.key.proof("GET", EXTERNAL + "/scoped", access_token=client.bound)
    answer = clients[adapter]("GET", "/scoped", client.dpop(proof))
    expected = refused("insufficient_scope", "missing scope: write", status=403)
    challenge = expected.headers["www-authenticate"].replace(", algs=", ', scope="write", algs=')
    assert answer == Answer(403, {**expected.headers, "www-authenticate": challenge}, expected.body)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_no_credentials_offers_both_schemes(adapter: str, clients: dict[str, Send]) -> None:
    """RFC 9449 §7.1: with DPoP allowed, a request without a token is offered Bearer and DPoP."""
    body = b'{"error":"unauthorized","error_description":"bearer token required"}'
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "cache-control": "no-store",
        "www-authenticate": f'Bearer realm="{REALM}", DPoP {ALGS}',
    }
    assert clients[adapter]("GET", "/token", []) == Answer(401, headers, body)


HOSTILE = [
    pytest.param("\u00ff\u00fe.\u00e9.x", id="latin-1-bytes"),
    pytest.param(" ", id="blank"),
    pytest.param("a.b.c", id="three-dots-no-json"),
    pytest.param("e30.e30.e30", id="empty-objects"),
    pytest.param("x" * 20_000, id="huge"),
]


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_dpop_header_is_a_401(
    adapter: str, value: str, client: Client, clients: dict[str, Send]
) -> None:
    """Garbage in the DPoP header is 401 invalid_dpop_proof, never a 500."""
    answer = clients[adapter]("GET", "/token", client.dpop(value))
    assert answer.status == 401
    assert json.loads(answer.body)["error"] == "invalid_dpop_proof"
