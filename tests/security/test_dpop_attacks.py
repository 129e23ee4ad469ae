"""DPoP (RFC 9449) under attack: proofs an RFC-literate attacker would try, each refused.

The attacker holds a key of their own (so every proof below is validly
signed) and, where stated, a captured token or proof of the victim's. Each
case names the trick (RFC 9449 §4.3, §11) and states the exact refusal; the
adapter cases check that a hostile proof is a 401 in every adapter, never a
server error.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bearerguard import (
    DPoPPolicy,
    DPoPRequest,
    InvalidDPoPProof,
    InvalidToken,
    KeySetUnavailable,
    MemoryReplayCache,
    RedisReplayCache,
    UseDPoPNonce,
    Validator,
)
from bearerguard._encoding import b64url_encode
from bearerguard._issuer import Issuer
from bearerguard.keyset import KeySetPolicy
from bearerguard.testing import DPoPKey, LocalIssuer
from bearerguard.verifier import Verifier

from ..adapters.cases import AUDIENCE, REALM
from ..dpop.clients import ADAPTERS, open_dpop_client
from ..issuing.redis_server import redis_server
from .support import TrapServer

URL = "https://api.example.com/orders"
ALGS = 'algs="ES256 ES384 ES512 PS256 PS384 PS512 RS256 EdDSA Ed25519"'


@pytest.fixture(scope="module")
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=AUDIENCE) as running:
        yield running


@pytest.fixture(scope="module")
def key() -> DPoPKey:
    """The attacker's own key: every proof below verifies with it."""
    return DPoPKey()


def _verifier(issuer: LocalIssuer, **options: Any) -> Verifier[Any]:
    source = Issuer.from_oidc(
        issuer.url,
        validator=Validator(aud=AUDIENCE),
        policy=KeySetPolicy(require_https=False),
        lazy=True,
    )
    return Verifier([source], dpop="allowed", **options)


def _raw_proof(key: DPoPKey, header: bytes, payload: bytes) -> str:
    """A proof of exactly these header and payload octets, signed ES256 by *key*."""
    signing_input = b64url_encode(header) + "." + b64url_encode(payload)
    private: Any = key._private
    r, s = decode_dss_signature(private.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64url_encode(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


ProofOf = Callable[[DPoPKey, str], str]  # (key, token) -> the DPoP header value


def _proof(method: str = "GET", url: str = URL, **options: Any) -> ProofOf:
    return lambda key, token: key.proof(method, url, access_token=token, **options)


def _duplicate_jwk(key: DPoPKey, token: str) -> str:
    other = DPoPKey()
    jwks = json.dumps(other.jwk), json.dumps(key.jwk)
    header = f'{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwks[0]},"jwk":{jwks[1]}}}'.encode()
    payload = {
        "jti": "duplicate-jwk",
        "htm": "GET",
        "htu": URL,
        "iat": int(time.time()),
        "ath": _ath(token),
    }
    return _raw_proof(key, header, json.dumps(payload).encode())


def _header(alg: str, jwk: dict[str, str]) -> bytes:
    return json.dumps({"typ": "dpop+jwt", "alg": alg, "jwk": jwk}).encode()


def _payload(token: str) -> bytes:
    claims = {"jti": "raw", "htm": "GET", "htu": URL, "iat": int(time.time()), "ath": _ath(token)}
    return json.dumps(claims).encode()


def _ath(token: str) -> str:
    return b64url_encode(hashlib.sha256(token.encode("ascii")).digest())


@pytest.mark.parametrize(
    ("proof_of", "message"),
    [
        pytest.param(
            _proof(headers={"jwk": {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}}),
            "DPoP proof jwk: JWK carries private key members; refusing it",
            id="jwk-symmetric-with-k",
        ),
        pytest.param(
            _proof(headers={"jwk": {"kty": "oct"}}),
            "DPoP proof jwk: unsupported kty 'oct'",
            id="jwk-symmetric-kty",
        ),
        pytest.param(
            lambda key, token: key.proof(
                "GET", URL, access_token=token, headers={"jwk": DPoPKey().jwk}
            ),
            "DPoP proof signature verification failed",
            id="jwk-of-another-key",
        ),
        pytest.param(
            _duplicate_jwk,
            "DPoP proof: token header: duplicate JSON member name 'jwk'",
            id="jwk-named-twice",
        ),
        pytest.param(
            lambda key, token: _raw_proof(
                key, _header("ES256", DPoPKey("RS256").jwk), _payload(token)
            ),
            "DPoP proof algorithm 'ES256' does not fit its jwk",
            id="alg-es256-with-an-rsa-jwk",
        ),
        pytest.param(
            lambda key, token: _raw_proof(key, _header("EdDSA", key.jwk), _payload(token)),
            "DPoP proof algorithm 'EdDSA' does not fit its jwk",
            id="alg-eddsa-with-an-ec-jwk",
        ),
        pytest.param(
            _proof(url="https://api.example.com/x%2F..%2Forders"),
            "DPoP proof htu does not match the request URL",
            id="htu-encoded-slashes-are-no-segments",
        ),
        pytest.param(
            _proof(headers={"crit": ["exp"]}),
            "DPoP proof: token declares critical header extensions",
            id="crit-header",
        ),
        pytest.param(
            _proof(url="https://attacker@api.example.com/orders"),
            "DPoP proof htu does not match the request URL",
            id="htu-userinfo",
        ),
        pytest.param(
            _proof(url="https://api.example.com:8443/orders"),
            "DPoP proof htu does not match the request URL",
            id="htu-other-port",
        ),
        pytest.param(
            _proof(url="https://api.example.com/orders/../admin"),
            "DPoP proof htu does not match the request URL",
            id="htu-dot-segments-elsewhere",
        ),
        pytest.param(
            _proof(url="https://api.example.com/ORDERS"),
            "DPoP proof htu does not match the request URL",
            id="htu-path-case",
        ),
        pytest.param(
            _proof(url="https://api.example.com.attacker.example/orders"),
            "DPoP proof htu does not match the request URL",
            id="htu-host-suffix",
        ),
        pytest.param(
            _proof(url="http://api.example.com/orders"),
            "DPoP proof htu does not match the request URL",
            id="htu-http-for-https",
        ),
        pytest.param(
            _proof(claims={"htu": ["https://api.example.com/orders"]}),
            "DPoP proof htu does not match the request URL",
            id="htu-array",
        ),
        pytest.param(
            _proof(method="get"),
            "DPoP proof htm does not match the request method",
            id="htm-lower-case",
        ),
        pytest.param(
            _proof(claims={"iat": True}),
            "DPoP proof iat is missing or not a number",
            id="iat-boolean",
        ),
        pytest.param(
            _proof(claims={"iat": str(int(time.time()))}),
            "DPoP proof iat is missing or not a number",
            id="iat-string",
        ),
        pytest.param(
            _proof(claims={"iat": 10**30}),
            "DPoP proof iat is in the future",
            id="iat-huge",
        ),
        pytest.param(
            _proof(claims={"jti": ""}),
            "DPoP proof jti is missing or not a short string",
            id="jti-empty",
        ),
        pytest.param(
            _proof(claims={"jti": 7}),
            "DPoP proof jti is missing or not a short string",
            id="jti-number",
        ),
        pytest.param(
            _proof(claims={"jti": "j" * 257}),
            "DPoP proof jti is missing or not a short string",
            id="jti-huge",
        ),
        pytest.param(
            lambda key, token: key.proof("GET", URL, access_token=token, claims={"ath": "é" * 43}),
            "DPoP proof ath does not match the access token",
            id="ath-non-ascii",
        ),
        pytest.param(
            lambda key, token: key.proof(
                "GET", URL, access_token=token, claims={"ath": _ath(token) + "="}
            ),
            "DPoP proof ath does not match the access token",
            id="ath-padded",
        ),
        pytest.param(
            lambda key, token: key.proof(
                "GET", URL, access_token=token, claims={"ath": [_ath(token)]}
            ),
            "DPoP proof ath does not match the access token",
            id="ath-array",
        ),
        pytest.param(
            lambda key, token: "  " + key.proof("GET", URL, access_token=token) + "x" * 9000,
            "DPoP proof is larger than 8192 bytes",
            id="huge-proof",
        ),
    ],
)
def test_hostile_proof_is_refused(
    issuer: LocalIssuer, key: DPoPKey, proof_of: ProofOf, message: str
) -> None:
    """A validly signed proof that breaks one RFC 9449 §4.3 rule is refused naming that rule."""
    verifier = _verifier(issuer)
    token = issuer.mint(cnf=key.cnf)
    request = DPoPRequest("GET", URL, (proof_of(key, token),))
    with pytest.raises(InvalidDPoPProof) as caught:
        verifier.verify(token, dpop=request)
    assert caught.value.description == message


def test_key_headers_in_a_proof_are_never_fetched(issuer: LocalIssuer, key: DPoPKey) -> None:
    """jku and x5u in a proof's header are not followed: the key is the jwk header's alone."""
    trap = TrapServer()
    try:
        verifier = _verifier(issuer)
        token = issuer.mint(cnf=key.cnf)
        proof = key.proof(
            "GET",
            URL,
            access_token=token,
            headers={"jku": trap.url("/jwks"), "x5u": trap.url("/cert")},
        )
        assert verifier.verify(token, dpop=DPoPRequest("GET", URL, (proof,))).sub
        time.sleep(0.1)  # a fetch in flight would have connected by now
        assert trap.connections == 0
    finally:
        trap.close()


def test_proof_of_the_right_key_for_a_token_bound_to_another_is_refused(
    issuer: LocalIssuer, key: DPoPKey
) -> None:
    """A stolen token used with the thief's own, otherwise perfect proof: cnf.jkt decides."""
    victim = DPoPKey()
    token = issuer.mint(cnf=victim.cnf)
    with pytest.raises(InvalidToken) as caught:
        _verifier(issuer).verify(
            token, dpop=DPoPRequest("GET", URL, (key.proof("GET", URL, access_token=token),))
        )
    assert caught.value.description == "DPoP proof key does not match the token's cnf.jkt"


def test_proof_id_reused_for_another_token_is_refused(issuer: LocalIssuer, key: DPoPKey) -> None:
    """One jti per key, whatever token the second proof names (RFC 9449 §11.1)."""
    verifier = _verifier(issuer)
    first, second = issuer.mint(cnf=key.cnf), issuer.mint(cnf=key.cnf, sub="other")
    verifier.verify(
        first, dpop=DPoPRequest("GET", URL, (key.proof("GET", URL, access_token=first, jti="j1"),))
    )
    again = key.proof("GET", URL, access_token=second, jti="j1", iat=time.time() - 1)
    with pytest.raises(InvalidDPoPProof) as caught:
        verifier.verify(second, dpop=DPoPRequest("GET", URL, (again,)))
    assert caught.value.description == "DPoP proof has been used before (jti replay)"


def test_refused_proof_does_not_burn_its_id(issuer: LocalIssuer, key: DPoPKey) -> None:
    """A proof refused for another reason is not recorded: an attacker cannot pre-spend ids."""
    verifier = _verifier(issuer)
    token = issuer.mint(cnf=key.cnf)
    wrong = key.proof("POST", URL, access_token=token, jti="kept")
    with pytest.raises(InvalidDPoPProof):
        verifier.verify(token, dpop=DPoPRequest("GET", URL, (wrong,)))
    right = key.proof("GET", URL, access_token=token, jti="kept")
    assert verifier.verify(token, dpop=DPoPRequest("GET", URL, (right,))).sub


def test_flooding_the_replay_cache_does_not_reopen_a_used_proof(issuer: LocalIssuer) -> None:
    """A client filling the in-memory replay cache with its own valid proofs cannot make it
    forget a victim's proof and then replay that proof within its iat window."""
    policy = DPoPPolicy(replay_cache=MemoryReplayCache(max_entries=3))
    verifier = _verifier(issuer, dpop_policy=policy)
    victim, mallory = DPoPKey(), DPoPKey()
    victim_token, mallory_token = issuer.mint(cnf=victim.cnf), issuer.mint(cnf=mallory.cnf)
    captured = DPoPRequest("GET", URL, (victim.proof("GET", URL, access_token=victim_token),))
    verifier.verify(victim_token, dpop=captured)
    for _ in range(3):
        own = mallory.proof("GET", URL, access_token=mallory_token)
        verifier.verify(mallory_token, dpop=DPoPRequest("GET", URL, (own,)))
    with pytest.raises(InvalidDPoPProof):
        verifier.verify(victim_token, dpop=captured)
    time.sleep(1.1)  # proofs' iat are whole seconds: a fresh one ends its window later
    fresh = victim.proof("GET", URL, access_token=victim_token)
    assert verifier.verify(victim_token, dpop=DPoPRequest("GET", URL, (fresh,))).sub


@pytest.mark.parametrize(
    "nonce",
    [
        pytest.param("é" * 32, id="non-ascii"),
        pytest.param(None, id="missing"),
        pytest.param("A" * 32, id="made-up"),
        pytest.param("other-secret", id="another-servers-secret"),
        pytest.param("old", id="three-windows-old"),
    ],
)
def test_proof_without_a_current_nonce_gets_a_nonce_challenge(
    issuer: LocalIssuer, key: DPoPKey, nonce: str | None
) -> None:
    """With server nonces on (RFC 9449 §8), any other nonce is answered use_dpop_nonce."""
    policy = DPoPPolicy(nonce_secret=b"n" * 32, nonce_lifetime=60, replay_cache=MemoryReplayCache())
    now = time.time()
    if nonce == "other-secret":
        nonce = DPoPPolicy(nonce_secret=b"m" * 32, nonce_lifetime=60).nonce(now)
    elif nonce == "old":
        nonce = policy.nonce(now - 180)
    verifier = _verifier(issuer, dpop_policy=policy)
    token = issuer.mint(cnf=key.cnf)
    proof = key.proof("GET", URL, access_token=token, nonce=nonce)
    with pytest.raises(UseDPoPNonce) as caught:
        verifier.verify(token, dpop=DPoPRequest("GET", URL, (proof,)))
    assert caught.value.description == "DPoP proof needs the server's current nonce"
    assert caught.value.nonce == policy.nonce(now)


@pytest.mark.redis
def test_proof_replayed_after_a_restart_is_refused(
    issuer: LocalIssuer, key: DPoPKey, tmp_path: Any
) -> None:
    """Proofs remembered in Redis outlive the process: a new verifier refuses a used proof."""
    with redis_server(tmp_path) as redis_url:
        token = issuer.mint(cnf=key.cnf)
        request = DPoPRequest("GET", URL, (key.proof("GET", URL, access_token=token),))
        before = _verifier(issuer, redis_url=redis_url)
        assert before.verify(token, dpop=request).sub
        after = _verifier(  # the restarted process: nothing of the first one's memory
            issuer, dpop_policy=DPoPPolicy(replay_cache=RedisReplayCache(redis_url))
        )
        with pytest.raises(InvalidDPoPProof) as caught:
            after.verify(token, dpop=request)
    assert caught.value.description == "DPoP proof has been used before (jti replay)"


# -- through every adapter --------------------------------------------------------


def _mapping(issuer_url: str) -> dict[str, Any]:
    return {
        "OIDC": issuer_url,
        "AUDIENCE": AUDIENCE,
        "REALM": REALM,
        "DPOP": "allowed",
        "EXTERNAL_URL": "https://api.example.com",
        "DPOP_POLICY": {"REPLAY_CACHE": MemoryReplayCache()},
    }


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_non_ascii_ath_is_a_401_in_every_adapter(
    issuer: LocalIssuer, key: DPoPKey, adapter: str
) -> None:
    """An ath of non-ASCII characters (JSON escapes in an ASCII proof) is refused, never a 500."""
    token = issuer.mint(cnf=key.cnf)
    proof = key.proof(
        "GET", "https://api.example.com/token", access_token=token, claims={"ath": "é" * 43}
    )
    with open_dpop_client(adapter, _mapping(issuer.url)) as send:
        answer = send("GET", "/token", [("Authorization", f"DPoP {token}"), ("DPoP", proof)])
    description = "DPoP proof ath does not match the access token"
    assert answer.status == 401
    assert answer.headers["www-authenticate"] == (
        f'DPoP realm="{REALM}", error="invalid_dpop_proof", '
        f'error_description="{description}", {ALGS}'
    )


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize(
    "schemes",
    [
        pytest.param(("Bearer", "DPoP"), id="bearer-then-dpop"),
        pytest.param(("DPoP", "Bearer"), id="dpop-then-bearer"),
        pytest.param(("DPoP", "DPoP"), id="dpop-twice"),
    ],
)
def test_two_authorization_headers_are_a_400_in_every_adapter(
    issuer: LocalIssuer, key: DPoPKey, adapter: str, schemes: tuple[str, str]
) -> None:
    """Two credentials (RFC 6750 §3.1), whatever their schemes: 400 invalid_request."""
    token = issuer.mint(cnf=key.cnf)
    proof = key.proof("GET", "https://api.example.com/token", access_token=token)
    headers = [("Authorization", f"{scheme} {token}") for scheme in schemes]
    with open_dpop_client(adapter, _mapping(issuer.url)) as send:
        answer = send("GET", "/token", [*headers, ("DPoP", proof)])
    assert answer.status == 400
    assert 'error="invalid_request"' in answer.headers["www-authenticate"]


# -- the request URL, without external_url ----------------------------------------

HOST_ADAPTERS = ("starlette", "fastapi", "flask", "wsgi")  # Django refuses such hosts itself


@pytest.mark.parametrize("adapter", HOST_ADAPTERS)
@pytest.mark.parametrize(
    ("host", "htu"),
    [
        pytest.param("api.example.com#", "http://api.example.com/", id="fragment-hides-the-path"),
        pytest.param("api.example.com?", "http://api.example.com/", id="query-hides-the-path"),
        pytest.param(
            "api.example.com/v2", "http://api.example.com/v2/token", id="path-prefix-in-host"
        ),
        pytest.param(
            "victim@api.example.com", "http://api.example.com/token", id="userinfo-in-host"
        ),
    ],
)
def test_host_header_cannot_move_the_url_a_proof_is_checked_against(
    issuer: LocalIssuer, key: DPoPKey, adapter: str, host: str, htu: str
) -> None:
    """Without external_url, a Host that is not host[:port] matches no htu (RFC 9449 §4.3)."""
    token = issuer.mint(cnf=key.cnf)
    proof = key.proof("GET", htu, access_token=token)  # e.g. one captured for another path
    mapping = {**_mapping(issuer.url), "EXTERNAL_URL": None}
    with open_dpop_client(adapter, mapping) as send:
        answer = send(
            "GET", "/token", [("Host", host), ("Authorization", f"DPoP {token}"), ("DPoP", proof)]
        )
    description = "DPoP proof htu does not match the request URL"
    assert answer.status == 401
    assert answer.headers["www-authenticate"] == (
        f'DPoP realm="{REALM}", error="invalid_dpop_proof", '
        f'error_description="{description}", {ALGS}'
    )


@pytest.mark.parametrize("adapter", HOST_ADAPTERS)
@pytest.mark.parametrize(
    "host",
    [
        pytest.param("api.example.com", id="name"),
        pytest.param("API.Example.com:8080", id="name-and-port"),
        pytest.param("[::1]:8080", id="ipv6-and-port"),
    ],
)
def test_host_header_of_host_and_port_is_the_request_url(
    issuer: LocalIssuer, key: DPoPKey, adapter: str, host: str
) -> None:
    """Without external_url, the request's own Host names the URL the proof must be for."""
    token = issuer.mint(cnf=key.cnf)
    proof = key.proof("GET", f"http://{host}/token", access_token=token)
    mapping = {**_mapping(issuer.url), "EXTERNAL_URL": None}
    with open_dpop_client(adapter, mapping) as send:
        answer = send(
            "GET", "/token", [("Host", host), ("Authorization", f"DPoP {token}"), ("DPoP", proof)]
        )
    assert answer.status == 200


# -- a replay cache that cannot answer ---------------------------------------------


def _dead_redis_cache() -> RedisReplayCache:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # Port 9 (discard) on loopback: connection refused at once, and not retried.
    client = redis.Redis(host="127.0.0.1", port=9, retry=Retry(NoBackoff(), 0))
    return RedisReplayCache(client)


def test_replay_cache_client_that_fails_refuses_with_503(issuer: LocalIssuer, key: DPoPKey) -> None:
    """RedisReplayCache(your own client) with Redis down: 503, never a skipped check or a crash."""
    verifier = _verifier(issuer, dpop_policy=DPoPPolicy(replay_cache=_dead_redis_cache()))
    token = issuer.mint(cnf=key.cnf)
    with pytest.raises(KeySetUnavailable) as caught:
        verifier.verify(
            token, dpop=DPoPRequest("GET", URL, (key.proof("GET", URL, access_token=token),))
        )
    assert (caught.value.status, caught.value.retry_after) == (503, 5)
    assert caught.value.description == "DPoP replay cache unavailable"


@pytest.mark.parametrize("adapter", ["starlette", "flask"])
def test_replay_cache_client_that_fails_is_a_503_in_adapters(
    issuer: LocalIssuer, key: DPoPKey, adapter: str
) -> None:
    """The same through an adapter: 503 with Retry-After, not a server error."""
    token = issuer.mint(cnf=key.cnf)
    proof = key.proof("GET", "https://api.example.com/token", access_token=token)
    mapping = {**_mapping(issuer.url), "DPOP_POLICY": {"REPLAY_CACHE": _dead_redis_cache()}}
    with open_dpop_client(adapter, mapping) as send:
        answer = send("GET", "/token", [("Authorization", f"DPoP {token}"), ("DPoP", proof)])
    assert answer.status == 503


def test_token_whose_jkt_is_not_ascii_is_refused(issuer: LocalIssuer, key: DPoPKey) -> None:
    """A cnf.jkt that cannot be a thumbprint (non-ASCII) matches no proof: 401, not a crash."""
    token = issuer.mint(cnf={"jkt": "é" * 43})
    proof = key.proof("GET", URL, access_token=token)
    with pytest.raises(InvalidToken) as caught:
        _verifier(issuer).verify(token, dpop=DPoPRequest("GET", URL, (proof,)))
    assert caught.value.description == "token is not DPoP-bound (no cnf.jkt) but was sent as DPoP"
