"""Token introspection (RFC 7662) through the core Verifier, against a real Authlib server."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from bearerguard import (
    ConfigurationError,
    ExpiredToken,
    Introspection,
    IntrospectionUnavailable,
    InvalidClaims,
    InvalidToken,
    Issuer,
    IssuerMismatch,
    TokenTooLarge,
    Validator,
    Verifier,
)
from bearerguard.testing import LocalIssuer

from .authserver import API_SECRET, AUDIENCE, AuthServer, Token
from .conftest import MakeVerifier, introspection_for


@pytest.mark.parametrize(
    ("client_id", "client_auth"),
    [
        pytest.param("orders-api", "client_secret_basic", id="client_secret_basic"),
        pytest.param("orders-api-post", "client_secret_post", id="client_secret_post"),
        pytest.param("orders-api-jwt", "private_key_jwt", id="private_key_jwt"),
    ],
)
def test_active_token_becomes_typed_claims_with_each_client_auth_method(
    auth_server: AuthServer, make_verifier: MakeVerifier, client_id: str, client_auth: str
) -> None:
    """Each RFC 7662 §2.1 client authentication works; the answer maps to AccessClaims."""
    token = auth_server.issue(scope="orders:read orders:write")
    if client_auth == "private_key_jwt":
        credentials: dict[str, Any] = {
            "private_key": auth_server.private_key_pem(),
            "client_secret": None,
        }
    else:
        credentials = {"client_secret": API_SECRET}
    verifier = make_verifier(client_id=client_id, client_auth=client_auth, **credentials)

    claims = verifier.verify(token)

    assert claims.scopes == frozenset({"orders:read", "orders:write"})
    assert claims.client_id == "app"
    assert claims.sub == "app"
    assert claims.iss == auth_server.url
    assert claims.aud == (AUDIENCE,)
    issued = auth_server.tokens[token]
    assert claims.exp == issued.issued_at + issued.expires_in
    assert claims.iat == issued.issued_at
    assert auth_server.counts["introspect"] == 1


@pytest.mark.parametrize(
    "revoked", [pytest.param(False, id="unknown"), pytest.param(True, id="revoked")]
)
def test_inactive_answer_is_401_invalid_token(
    auth_server: AuthServer, make_verifier: MakeVerifier, revoked: bool
) -> None:
    """``active: false`` (unknown or revoked token) → InvalidToken, 401 invalid_token."""
    token = auth_server.issue()
    if revoked:
        auth_server.tokens[token].revoked = True
    else:
        token = "never-issued-" + token
    with pytest.raises(InvalidToken, match=r"^token is not active$") as caught:
        make_verifier().verify(token)
    assert type(caught.value) is InvalidToken
    assert (caught.value.status, caught.value.code) == (401, "invalid_token")


def test_answer_past_its_exp_is_refused_as_expired(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """An active answer whose ``exp`` has passed (leeway included) → ExpiredToken (401)."""
    token = auth_server.issue()
    exp = auth_server.tokens[token].issued_at + auth_server.tokens[token].expires_in
    with pytest.raises(ExpiredToken, match="exp: token has expired"):
        make_verifier().verify(token, now=exp + 61)


def test_answer_for_another_audience_is_refused(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """The validator's audience applies to introspected tokens as to JWTs."""
    token = auth_server.issue()
    auth_server.tokens[token].aud = ["api://billing"]
    with pytest.raises(InvalidClaims, match="aud: token is not meant for this audience"):
        make_verifier().verify(token)


def test_answer_naming_another_issuer_is_refused(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """An answer whose ``iss`` is not the configured issuer → IssuerMismatch (401)."""
    token = auth_server.issue()
    auth_server.tokens[token].extra["iss"] = "https://other.example.com"
    with pytest.raises(IssuerMismatch, match="introspection answer names another issuer"):
        make_verifier().verify(token)


def test_answer_without_aud_is_refused_by_the_default_validator(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """``aud`` is optional in RFC 7662 but required by Validator(aud=...): 401, not a pass."""
    token = auth_server.issue()
    auth_server.tokens[token].aud = None
    auth_server.tokens[token].extra["aud"] = None
    with pytest.raises(InvalidClaims, match="aud: required claim is missing"):
        make_verifier().verify(token)


# -- the endpoint failing: 503 with Retry-After, never 401, never a pass -------------------


@pytest.mark.parametrize(
    ("fault", "options", "message"),
    [
        pytest.param("500", {}, "answered HTTP 500", id="http-500"),
        pytest.param("garbage", {}, "introspection answer", id="not-json"),
        pytest.param("oversized", {}, "is larger than 65536 bytes", id="oversized"),
        pytest.param("wrong_types", {}, "members of the wrong type", id="exp-as-string"),
        pytest.param("slow", {"timeout": 0.2}, "0.2s", id="slow"),
        pytest.param(None, {"endpoint": "moved"}, r"redirected \(HTTP 307\)", id="redirect"),
        pytest.param(None, {"endpoint": "closed-port"}, "failed: ConnectionError", id="down"),
    ],
)
def test_endpoint_failure_is_503_with_retry_after(
    auth_server: AuthServer,
    make_verifier: MakeVerifier,
    fault: str | None,
    options: dict[str, Any],
    message: str,
) -> None:
    """Timeout, 5xx, non-JSON, oversized, wrong types, redirect, refused connection → 503."""
    token = auth_server.issue()
    auth_server.fault = fault
    if fault == "slow":
        auth_server.delay = 1.0
    if options.get("endpoint") == "moved":
        options = {"endpoint": auth_server.url + "/moved"}
    elif options.get("endpoint") == "closed-port":
        with AuthServer() as gone:
            closed = gone.introspection_endpoint
        options = {"endpoint": closed}
    with pytest.raises(IntrospectionUnavailable, match=message) as caught:
        make_verifier(**options).verify(token)
    assert (caught.value.status, caught.value.retry_after) == (503, 10)
    if options.get("endpoint", "").endswith("/moved"):
        assert (auth_server.counts["moved"], auth_server.counts["introspect"]) == (1, 0)


def test_metadata_without_introspection_endpoint_is_503_and_retried_later(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """RFC 8414 metadata lacking introspection_endpoint: 503 naming the fix; while the
    failure is fresh, requests fail at once instead of refetching the metadata."""
    auth_server.publish_introspection_endpoint = False
    verifier = make_verifier()
    for _ in range(3):
        with pytest.raises(IntrospectionUnavailable, match=r"no introspection_endpoint; or"):
            verifier.verify(auth_server.issue())
    assert auth_server.counts["metadata"] == 1
    assert auth_server.counts["introspect"] == 0


def test_configured_endpoint_needs_no_metadata(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    auth_server.publish_introspection_endpoint = False
    verifier = make_verifier(endpoint=auth_server.introspection_endpoint)
    assert verifier.verify(auth_server.issue()).client_id == "app"
    assert auth_server.counts["metadata"] == 0


def test_failed_answer_is_not_cached(auth_server: AuthServer, make_verifier: MakeVerifier) -> None:
    """After a 500, the next request asks again and succeeds."""
    token = auth_server.issue()
    verifier = make_verifier()
    auth_server.fault = "500"
    with pytest.raises(IntrospectionUnavailable):
        verifier.verify(token)
    auth_server.fault = None
    assert verifier.verify(token).scopes == frozenset({"orders:read"})
    assert auth_server.counts["introspect"] == 2


def test_credentials_refused_by_the_endpoint_are_503_and_an_error_log(
    auth_server: AuthServer, make_verifier: MakeVerifier, caplog: pytest.LogCaptureFixture
) -> None:
    """Our credentials wrong (endpoint 401) → 503, and an ERROR naming what to fix."""
    token = auth_server.issue()
    caplog.set_level(logging.ERROR, logger="bearerguard.introspection")
    with pytest.raises(IntrospectionUnavailable, match=r"refused this API's credentials"):
        make_verifier(client_secret="not-the-secret-9f3").verify(token)
    [record] = [r for r in caplog.records if r.name == "bearerguard.introspection"]
    assert record.levelno == logging.ERROR
    text = record.getMessage()
    assert "HTTP 401 ('invalid_client')" in text
    assert "client_id='orders-api'" in text
    assert "client_auth='client_secret_basic'" in text
    assert "not-the-secret-9f3" not in text


def test_token_over_the_size_cap_is_refused_without_a_call(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """A token larger than the verifier's cap is 401 before any introspection request."""
    with pytest.raises(TokenTooLarge):
        make_verifier().verify("x" * (16 * 1024 + 1))
    assert auth_server.counts["introspect"] == 0


# -- the cache --------------------------------------------------------------------------------


def test_cached_answer_is_served_without_calling_the_endpoint(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """A repeated token within cache_ttl makes no second request."""
    token = auth_server.issue()
    verifier = make_verifier()
    first = verifier.verify(token)
    assert verifier.verify(token) == first
    assert auth_server.counts["introspect"] == 1


def test_inactive_answer_is_cached_too(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """An unknown token asked twice costs one request (a flood of garbage is bounded)."""
    verifier = make_verifier()
    for _ in range(2):
        with pytest.raises(InvalidToken, match="not active"):
            verifier.verify("garbage-token")
    assert auth_server.counts["introspect"] == 1


def test_answer_is_asked_again_after_cache_ttl(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """Past cache_ttl the endpoint is asked again (a revocation is seen then)."""
    token = auth_server.issue()
    verifier = make_verifier(cache_ttl=30)
    t = time.time()
    verifier.verify(token, now=t)
    verifier.verify(token, now=t + 29)
    assert auth_server.counts["introspect"] == 1
    auth_server.tokens[token].revoked = True
    with pytest.raises(InvalidToken, match="not active"):
        verifier.verify(token, now=t + 31)
    assert auth_server.counts["introspect"] == 2


def test_answer_is_not_cached_past_its_exp(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """An answer expiring before cache_ttl is asked again once its exp has passed."""
    token = auth_server.issue()
    record = auth_server.tokens[token]
    exp = record.issued_at + record.expires_in
    verifier = make_verifier(cache_ttl=3600)
    verifier.verify(token, now=exp - 10)
    verifier.verify(token, now=exp + 1)  # within the leeway: still valid, but asked again
    assert auth_server.counts["introspect"] == 2


def test_cache_ttl_zero_asks_every_time(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    token = auth_server.issue()
    verifier = make_verifier(cache_ttl=0)
    verifier.verify(token)
    verifier.verify(token)
    assert auth_server.counts["introspect"] == 2


def test_memory_cache_is_bounded(auth_server: AuthServer, make_verifier: MakeVerifier) -> None:
    """cache_size answers at most: the least recently used one is asked again."""
    first, second = auth_server.issue(), auth_server.issue()
    verifier = make_verifier(cache_size=1)
    verifier.verify(first)
    verifier.verify(second)
    verifier.verify(first)
    assert auth_server.counts["introspect"] == 3


# -- single flight ----------------------------------------------------------------------------


def test_concurrent_threads_make_one_request(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """16 threads verifying one new token at once → one introspection request."""
    token = auth_server.issue()
    verifier = make_verifier()
    auth_server.gate = threading.Event()
    results: list[Any] = []

    def verify() -> None:
        results.append(verifier.verify(token))

    threads = [threading.Thread(target=verify) for _ in range(16)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while auth_server.counts["introspect"] == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)  # the others join the flight (or, later, hit the cache)
    auth_server.gate.set()
    for thread in threads:
        thread.join(10)
    assert len(results) == 16
    assert {claims.client_id for claims in results} == {"app"}
    assert auth_server.counts["introspect"] == 1


def test_concurrent_tasks_make_one_request(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """16 asyncio tasks verifying one new token at once → one request, loop never blocked."""
    token = auth_server.issue()
    verifier = make_verifier()
    auth_server.delay = 0.2

    async def main() -> tuple[list[Any], int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        results = await asyncio.gather(*(verifier.averify(token) for _ in range(16)))
        ticker.cancel()
        return list(results), ticks

    results, ticks = asyncio.run(main())
    assert {claims.scopes for claims in results} == {frozenset({"orders:read"})}
    assert auth_server.counts["introspect"] == 1
    assert ticks >= 5  # the event loop kept running while the endpoint was slow


# -- RFC 9701 signed answers ----------------------------------------------------------------


def test_signed_answer_is_verified_with_the_servers_keys(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """jwt_response=True: the RFC 9701 JWT is verified (ES256, the AS's JWKS) and mapped."""
    token = auth_server.issue(scope="orders:read")
    claims = make_verifier(jwt_response=True).verify(token)
    assert claims.scopes == frozenset({"orders:read"})
    assert claims.client_id == "app"


def test_tampered_signed_answer_is_refused_with_503(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """A signed answer whose payload was changed (scope widened) is never accepted."""
    token = auth_server.issue(scope="orders:read")
    auth_server.fault = "tamper"
    with pytest.raises(IntrospectionUnavailable, match="signature verification failed"):
        make_verifier(jwt_response=True).verify(token)


def test_plain_json_answer_is_refused_when_a_signed_one_is_required(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    auth_server.fault = "garbage"  # answers application/json whatever was asked
    with pytest.raises(IntrospectionUnavailable, match="did not send a signed answer"):
        make_verifier(jwt_response=True).verify(auth_server.issue())


def test_signed_answers_need_an_issuer_with_the_servers_keys(auth_server: AuthServer) -> None:
    with pytest.raises(ConfigurationError, match="add an Issuer for"):
        Verifier(
            [],
            introspection=introspection_for(
                auth_server, jwt_response=True, validator=Validator(aud=AUDIENCE)
            ),
        )


# -- modes --------------------------------------------------------------------------------------


def test_verifier_without_issuers_introspects_every_token(auth_server: AuthServer) -> None:
    """Verifier([], introspection=...) with its own validator: opaque-only APIs."""
    verifier = Verifier(
        [], introspection=introspection_for(auth_server, validator=Validator(aud=AUDIENCE))
    )
    assert verifier.verify(auth_server.issue()).client_id == "app"


def _jwt_setup(
    auth_server: AuthServer, local: LocalIssuer, mode: str, *, revoked: bool
) -> tuple[str, Verifier[Any]]:
    """A JWT of *local* that the authorization server also knows (revoked or not)."""
    jwt = local.mint(scopes=["orders:read"])
    record = Token(jwt, "app", "orders:read", int(time.time()), 300, sub="test-user")
    record.revoked = revoked
    auth_server.tokens[jwt] = record
    issuers = [
        Issuer.from_oidc(local.url, validator=Validator(aud=AUDIENCE), lazy=True),
        Issuer.from_oauth2(auth_server.url, validator=Validator(aud=AUDIENCE), lazy=True),
    ]
    return jwt, Verifier(issuers, introspection=introspection_for(auth_server, mode=mode))


def test_jwt_of_a_configured_issuer_is_not_introspected_in_opaque_mode(
    auth_server: AuthServer,
) -> None:
    """In "opaque" mode a JWT of a configured issuer is verified locally, with no request."""
    with LocalIssuer(audience=AUDIENCE) as local:
        jwt, verifier = _jwt_setup(auth_server, local, "opaque", revoked=True)
        assert verifier.verify(jwt).scopes == frozenset({"orders:read"})
    assert auth_server.counts["introspect"] == 0


def test_revoked_jwt_is_refused_in_always_mode(auth_server: AuthServer) -> None:
    """In "always" mode a valid JWT the authorization server says is inactive → 401."""
    with LocalIssuer(audience=AUDIENCE) as local:
        jwt, verifier = _jwt_setup(auth_server, local, "always", revoked=True)
        with pytest.raises(InvalidToken, match=r"^token is not active$"):
            verifier.verify(jwt)
    assert auth_server.counts["introspect"] == 1


def test_active_jwt_in_always_mode_returns_its_verified_claims(auth_server: AuthServer) -> None:
    """In "always" mode the claims are the JWT's own (signed), once introspection says active."""
    with LocalIssuer(audience=AUDIENCE) as local:
        jwt, verifier = _jwt_setup(auth_server, local, "always", revoked=False)
        claims = verifier.verify(jwt)
        assert (claims.iss, claims.sub) == (local.url, "test-user")
    assert auth_server.counts["introspect"] == 1


def test_forged_jwt_is_refused_locally_before_any_request_in_always_mode(
    auth_server: AuthServer,
) -> None:
    """The "always" mode verifies a JWT first: a bad signature is 401 and costs no request."""
    with LocalIssuer(audience=AUDIENCE) as local:
        jwt = local.mint()
        forged = jwt[:-4] + ("AAAA" if not jwt.endswith("AAAA") else "BBBB")
        verifier = Verifier(
            [Issuer.from_oidc(local.url, validator=Validator(aud=AUDIENCE), lazy=True)],
            introspection=introspection_for(
                auth_server, mode="always", validator=Validator(aud=AUDIENCE)
            ),
        )
        with pytest.raises(InvalidToken):
            verifier.verify(forged)
    assert auth_server.counts["introspect"] == 0


# -- configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"issuer": "http://as.example.com"}, "must use https", id="http-issuer"),
        pytest.param({"endpoint": "http://as.example.com/i"}, "must use https", id="http-endpoint"),
        pytest.param({"client_id": ""}, "needs client_id=", id="no-client-id"),
        pytest.param({"client_secret": None}, "needs client_secret=", id="no-secret"),
        pytest.param({"mode": "sometimes"}, "mode must be one of opaque, always", id="mode"),
        pytest.param({"client_auth": "tls_client_auth"}, "client_auth must be one of", id="auth"),
        pytest.param(
            {"client_auth": "private_key_jwt"}, "remove client_secret=", id="jwt-with-secret"
        ),
        pytest.param(
            {"client_auth": "private_key_jwt", "client_secret": None},
            "needs private_key=",
            id="jwt-without-key",
        ),
        pytest.param(
            {"client_auth": "private_key_jwt", "client_secret": None, "private_key": "nope"},
            "not an unencrypted PEM private key",
            id="jwt-bad-key",
        ),
        pytest.param({"cache_ttl": -1}, "cache_ttl", id="negative-ttl"),
        pytest.param({"timeout": 0}, "timeout", id="zero-timeout"),
        pytest.param({"cache_size": -1}, "cache_size must be a non-negative integer", id="size"),
        pytest.param({"jwt_response": "yes"}, "jwt_response must be True or False", id="jwt-flag"),
    ],
)
def test_configuration_errors_say_what_to_fix(options: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {
        "issuer": "https://as.example.com",
        "client_id": "orders-api",
        "client_secret": "s",
    }
    values.update(options)
    with pytest.raises(ConfigurationError, match=message):
        Introspection(**values)


def test_secret_is_not_in_the_repr() -> None:
    config = Introspection(
        issuer="https://as.example.com", client_id="api", client_secret="hunter2"
    )
    assert "hunter2" not in repr(config)


def test_private_key_jwt_picks_the_algorithm_of_the_key(auth_server: AuthServer) -> None:
    config = introspection_for(
        auth_server,
        client_id="orders-api-jwt",
        client_auth="private_key_jwt",
        client_secret=None,
        private_key=auth_server.private_key_pem(),
    )
    assert config.signing_alg == "ES256"
    with pytest.raises(ConfigurationError, match="'RS256' does not fit the P-256 private key"):
        introspection_for(
            auth_server,
            client_auth="private_key_jwt",
            client_secret=None,
            private_key=auth_server.private_key_pem(),
            signing_alg="RS256",
        )


def test_validator_is_needed_without_a_matching_issuer(auth_server: AuthServer) -> None:
    with pytest.raises(ConfigurationError, match=r"Introspection\(validator=\.\.\.\) is needed"):
        Verifier([], introspection=introspection_for(auth_server))


def _jwt_client(server: AuthServer, **options: Any) -> dict[str, Any]:
    return {
        "client_id": "orders-api-jwt",
        "client_auth": "private_key_jwt",
        "client_secret": None,
        "private_key": server.private_key_pem(),
        **options,
    }


def test_private_key_jwt_signs_a_fresh_assertion_for_each_request(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """The server refuses a reused jti (RFC 7523 §3): two requests, two assertions."""
    verifier = make_verifier(**_jwt_client(auth_server))
    for _ in range(2):
        assert verifier.verify(auth_server.issue()).client_id == "app"
    assert auth_server.counts["introspect"] == 2


def test_private_key_jwt_assertion_audience_is_configurable(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """assertion_audience= replaces the endpoint URL in aud; this server then refuses it."""
    verifier = make_verifier(**_jwt_client(auth_server, assertion_audience="https://elsewhere"))
    with pytest.raises(IntrospectionUnavailable, match="refused this API's credentials"):
        verifier.verify(auth_server.issue())


def test_cache_clear_forgets_the_answers_in_memory(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    token = auth_server.issue()
    verifier = make_verifier()
    verifier.verify(token)
    verifier.cache_clear()
    verifier.verify(token)
    assert auth_server.counts["introspect"] == 2


def test_cache_info_counts_the_jwts_verified_beside_introspection(auth_server: AuthServer) -> None:
    """With introspection=, the verified-token cache still serves JWTs (and says so)."""
    with LocalIssuer(audience=AUDIENCE) as local:
        jwt = local.mint()
        verifier = Verifier(
            [Issuer.from_oidc(local.url, validator=Validator(aud=AUDIENCE), lazy=True)],
            introspection=introspection_for(auth_server, validator=Validator(aud=AUDIENCE)),
        )
        verifier.verify(jwt)
        verifier.verify(jwt)
    info = verifier.cache_info()
    assert (info.hits, info.misses, info.size) == (1, 1, 1)


def test_async_requests_leave_the_default_executor_free(
    auth_server: AuthServer, make_verifier: MakeVerifier
) -> None:
    """While an endpoint hangs, asyncio.to_thread work of the app still runs: asyncio
    callers' requests have threads of their own, not the event loop's default executor."""
    token = auth_server.issue()
    verifier = make_verifier()
    auth_server.gate = threading.Event()

    async def main() -> Any:
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(1))
        pending = asyncio.create_task(verifier.averify(token))
        for _ in range(500):
            if auth_server.counts["introspect"]:
                break
            await asyncio.sleep(0.01)
        assert await asyncio.wait_for(asyncio.to_thread(lambda: 42), 5) == 42
        assert auth_server.gate is not None
        auth_server.gate.set()
        return await pending

    assert asyncio.run(main()).client_id == "app"
