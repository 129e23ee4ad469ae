"""Token introspection (RFC 7662) under attack: answers that must not admit a token.

An endpoint on 127.0.0.1 answers whatever each case sets: the answers a
confused, misconfigured or impersonated authorization server could give
(RFC 7662 §4: the resource server still checks what the token is for).
Each case states the exact refusal; an answer that is not a well-formed
introspection response is the server's fault (503), never a 401 and never
an accepted token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bearerguard import (
    ExpiredToken,
    Introspection,
    IntrospectionUnavailable,
    InvalidClaims,
    InvalidToken,
    IssuerMismatch,
    Validator,
    Verifier,
)
from tests.issuing.redis_server import redis_server

AUDIENCE = "api://orders"
TOKEN = "opaque-token-of-the-victim"
NOT_BOOLEAN = "the answer's active member is not a boolean"
BOUND_AS_BEARER = "cnf: sender-constrained token presented as a bearer token"


class Endpoint:
    """An introspection endpoint on 127.0.0.1 that answers the body it is given."""

    def __init__(self) -> None:
        self.body: bytes = b"{}"
        self.tokens: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                outer.tokens.append(self.rfile.read(length).decode())
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(outer.body)))
                self.end_headers()
                self.wfile.write(outer.body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture(scope="module")
def endpoint() -> Iterator[Endpoint]:
    server = Endpoint()
    yield server
    server.close()


def _verifier(endpoint: Endpoint, **options: Any) -> Verifier[Any]:
    introspection = Introspection(
        issuer=endpoint.url,
        endpoint=endpoint.url + "/introspect",
        client_id="orders-api",
        client_secret="orders-api-secret",
        validator=Validator(aud=AUDIENCE),
        cache_ttl=0,
        **options,
    )
    return Verifier([], introspection=introspection)


def _good(endpoint: Endpoint, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    answer: dict[str, Any] = {
        "active": True,
        "iss": endpoint.url,
        "sub": "alice",
        "aud": AUDIENCE,
        "client_id": "app",
        "scope": "orders:read",
        "iat": now - 10,
        "exp": now + 600,
    }
    answer.update(changes)
    return {name: value for name, value in answer.items() if value is not None}


def test_a_well_formed_active_answer_is_accepted(endpoint: Endpoint) -> None:
    """The baseline the cases below break one member of."""
    endpoint.body = json.dumps(_good(endpoint)).encode()
    assert _verifier(endpoint).verify(TOKEN).sub == "alice"


@pytest.mark.parametrize(
    ("answer_of", "error", "description"),
    [
        pytest.param(
            lambda e: _good(e, active="true"),
            IntrospectionUnavailable,
            NOT_BOOLEAN,
            id="active-string",
        ),
        pytest.param(
            lambda e: _good(e, active=1), IntrospectionUnavailable, NOT_BOOLEAN, id="active-one"
        ),
        pytest.param(
            lambda e: _good(e, active=None),
            IntrospectionUnavailable,
            NOT_BOOLEAN,
            id="active-missing",
        ),
        pytest.param(
            lambda e: _good(e, iss="https://other-as.example.com"),
            IssuerMismatch,
            "introspection answer names another issuer",
            id="another-issuer",
        ),
        pytest.param(
            lambda e: _good(e, aud="api://payments"),
            InvalidClaims,
            "aud: token is not meant for this audience",
            id="another-audience",
        ),
        pytest.param(
            lambda e: _good(e, aud=None),
            InvalidClaims,
            "aud: required claim is missing",
            id="no-audience",
        ),
        pytest.param(
            lambda e: _good(e, exp=int(time.time()) - 3600),
            ExpiredToken,
            "exp: token has expired",
            id="expired",
        ),
        pytest.param(
            lambda e: _good(e, cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
            InvalidClaims,
            BOUND_AS_BEARER,
            id="dpop-bound-answer-as-bearer",
        ),
        pytest.param(
            lambda e: _good(e, cnf={"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
            InvalidClaims,
            BOUND_AS_BEARER,
            id="certificate-bound-answer-without-mtls",
        ),
        pytest.param(
            lambda e: _good(e, scope=42),
            IntrospectionUnavailable,
            None,
            id="scope-of-the-wrong-type",
        ),
        pytest.param(
            lambda e: _good(e, sub=42),
            IntrospectionUnavailable,
            None,
            id="sub-of-the-wrong-type",
        ),
        pytest.param(lambda e: [_good(e)], IntrospectionUnavailable, None, id="answer-is-an-array"),
    ],
)
def test_hostile_answer_admits_no_token(
    endpoint: Endpoint,
    answer_of: Any,
    error: type[Exception],
    description: str | None,
) -> None:
    """Each answer is refused with the exact error: 401 for the token, 503 for a bad answer."""
    endpoint.body = json.dumps(answer_of(endpoint)).encode()
    with pytest.raises(error) as caught:
        _verifier(endpoint).verify(TOKEN)
    assert type(caught.value) is error
    if description is not None:
        assert description in caught.value.description  # type: ignore[attr-defined]
    assert caught.value.status == (503 if error is IntrospectionUnavailable else 401)  # type: ignore[attr-defined]


def test_active_named_twice_is_not_an_answer(endpoint: Endpoint) -> None:
    """{"active": false, "active": true}: parsers disagree on it, so it is refused (503)."""
    good = json.dumps(_good(endpoint))
    endpoint.body = ('{"active": false, ' + good[1:]).encode()
    with pytest.raises(IntrospectionUnavailable):
        _verifier(endpoint).verify(TOKEN)


def test_inactive_answer_for_one_token_is_not_reused_for_another(endpoint: Endpoint) -> None:
    """Answers are cached per token (a hash of it): an attacker's tokens share nothing."""
    verifier = Verifier(
        [],
        introspection=Introspection(
            issuer=endpoint.url,
            endpoint=endpoint.url + "/introspect",
            client_id="orders-api",
            client_secret="orders-api-secret",
            validator=Validator(aud=AUDIENCE),
            cache_ttl=60,
        ),
    )
    endpoint.body = json.dumps(_good(endpoint)).encode()
    assert verifier.verify(TOKEN).sub == "alice"
    endpoint.body = json.dumps({"active": False}).encode()
    with pytest.raises(InvalidToken) as caught:
        verifier.verify(TOKEN + "x")
    assert caught.value.description == "token is not active"
    assert verifier.verify(TOKEN).sub == "alice"  # its own answer, from the cache


def _ec_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.mark.redis
@pytest.mark.parametrize(
    "credentials",
    [
        pytest.param({"client_secret": "orders-api-secret"}, id="client-secret"),
        pytest.param(
            {"client_auth": "private_key_jwt", "private_key": _ec_pem()}, id="private-key-jwt"
        ),
    ],
)
def test_an_answer_planted_in_redis_admits_no_token(
    endpoint: Endpoint,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    credentials: dict[str, Any],
) -> None:
    """A well-formed active answer written into Redis by someone else is ignored: the endpoint
    decides. The fleet's records carry a MAC under a key from the API's own credentials."""
    import redis

    endpoint.body = json.dumps({"active": False}).encode()  # the server knows no such token
    config = Introspection(
        issuer=endpoint.url,
        endpoint=endpoint.url + "/introspect",
        client_id="orders-api",
        validator=Validator(aud=AUDIENCE),
        cache_ttl=60,
        **credentials,
    )
    token = "made-up-by-whoever-can-write-redis"
    scope = hashlib.sha256(f"{endpoint.url}\0orders-api".encode()).hexdigest()[:16]
    name = f"bearerguard:introspection:{scope}:" + hashlib.sha256(token.encode()).hexdigest()
    planted = {"active": True, "sub": "admin", "aud": AUDIENCE, "exp": int(time.time()) + 30}
    with redis_server(tmp_path) as url:
        client = redis.Redis.from_url(url)
        client.set(name, json.dumps({"until": time.time() + 30, "answer": planted}), px=30_000)
        client.close()
        caplog.set_level(logging.WARNING, logger="bearerguard.introspection")
        with pytest.raises(InvalidToken) as caught:
            Verifier([], introspection=config, redis_url=url).verify(token)
    assert caught.value.description == "token is not active"
    assert any("unusable introspection answer in Redis" in r.getMessage() for r in caplog.records)


@pytest.mark.redis
def test_the_fleets_own_answers_are_still_shared(endpoint: Endpoint, tmp_path: Path) -> None:
    """Two verifiers with the same credentials: the second takes the first's answer."""
    endpoint.body = json.dumps(_good(endpoint)).encode()
    config = Introspection(
        issuer=endpoint.url,
        endpoint=endpoint.url + "/introspect",
        client_id="orders-api",
        client_secret="orders-api-secret",
        validator=Validator(aud=AUDIENCE),
        cache_ttl=60,
    )
    token = "shared-between-processes"
    with redis_server(tmp_path) as url:
        assert Verifier([], introspection=config, redis_url=url).verify(token).sub == "alice"
        endpoint.body = json.dumps({"active": False}).encode()
        assert Verifier([], introspection=config, redis_url=url).verify(token).sub == "alice"
