"""LocalIssuer: real discovery and JWKS over HTTP on 127.0.0.1, minting, rotation, faults, log."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from bearerguard import (
    ConfigurationError,
    ExpiredToken,
    FetchError,
    Issuer,
    UnknownKey,
    Validator,
    parse_jwks,
)
from bearerguard.issuing import Client
from bearerguard.testing import Fault, KeyPool, LocalIssuer
from tests.support.clock import FakeClock

T0 = 1_700_000_000.0
AUD = "api://orders"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=T0)


@pytest.fixture
def local_issuer(clock: FakeClock) -> Iterator[LocalIssuer]:
    with LocalIssuer(audience=AUD, clock=clock) as local:
        yield local


def _get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=5)


def _verify(local: LocalIssuer, token: str, **validator: Any) -> Any:
    verifier = Issuer(local.url, parse_jwks(_get(local.jwks_uri).json()),
                      Validator(aud=AUD, **validator))  # fmt: skip
    return verifier.verify_and_validate(token, now=T0 + 1)[1]


def _payload(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


# -- serving ----------------------------------------------------------------------------------


def test_serves_oidc_discovery(local_issuer: LocalIssuer) -> None:
    response = _get(local_issuer.oidc_url)
    assert response.status_code == 200
    assert response.json() == {
        "issuer": local_issuer.url,
        "token_endpoint": local_issuer.url + "/token",
        "jwks_uri": local_issuer.url + "/.well-known/jwks.json",
        "response_types_supported": ["none"],
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
    assert response.headers["Cache-Control"] == "public, max-age=300"


@pytest.mark.parametrize(
    ("kty", "which", "metadata_class"),
    [
        pytest.param("RSA", "oauth2_url", AuthorizationServerMetadata, id="rsa-rfc8414"),
        pytest.param("RSA", "oidc_url", OpenIDProviderMetadata, id="rsa-oidc"),
        pytest.param("EC", "oauth2_url", AuthorizationServerMetadata, id="ec-rfc8414"),
    ],
)
def test_served_metadata_passes_authlib_validation(
    clock: FakeClock, kty: str, which: str, metadata_class: type[AuthorizationServerMetadata]
) -> None:
    """OIDC Discovery wants RS256 among the algorithms, so EC keys validate as RFC 8414 only."""
    with LocalIssuer(kty=kty, clock=clock) as local:
        metadata_class(_get(getattr(local, which)).json()).validate()


def test_token_endpoint_issues_tokens_that_verify_and_follow_rotation() -> None:
    client = Client(client_id="batch", client_secret="s3cret", scopes=("orders:read",))
    with LocalIssuer(audience=AUD, clients=[client]) as local:
        local.publish_next_key()  # the safe rotation flow: the next key is published first
        verifier = Issuer.from_oidc(local.url, validator=Validator(aud=AUD, rfc9068=True))
        for _ in range(2):
            response = requests.post(
                local.token_endpoint, data={"grant_type": "client_credentials"},
                auth=("batch", "s3cret"), timeout=5,
            )  # fmt: skip
            token = response.json()["access_token"]
            assert jwt.get_unverified_header(token)["kid"] == local.kid
            assert verifier.verify_and_validate(token)[1].client_id == "batch"
            local.rotate()
        assert local.count(local.token_path) == 2


def test_serves_rfc8414_metadata_and_the_jwks(local_issuer: LocalIssuer) -> None:
    assert _get(local_issuer.oauth2_url).json()["issuer"] == local_issuer.url
    jwks = _get(local_issuer.jwks_uri)
    assert [k["kid"] for k in jwks.json()["keys"]] == [local_issuer.kid]
    assert jwks.headers["Content-Type"] == "application/json"


def test_listens_on_loopback_only(local_issuer: LocalIssuer) -> None:
    assert local_issuer.url == f"http://127.0.0.1:{local_issuer.port}"
    assert local_issuer._server is not None
    assert local_issuer._server.server_address[0] == "127.0.0.1"


def test_issuer_with_a_path(clock: FakeClock) -> None:
    with LocalIssuer(path="/tenant-a", clock=clock) as local:
        assert local.url.endswith("/tenant-a")
        assert local.oidc_path == "/tenant-a/.well-known/openid-configuration"
        assert local.oauth2_path == "/.well-known/oauth-authorization-server/tenant-a"
        assert _get(local.oidc_url).json()["issuer"] == local.url
        assert _get(local.oauth2_url).json()["jwks_uri"] == local.jwks_uri


@pytest.mark.parametrize("discover", [Issuer.from_oidc, Issuer.from_oauth2], ids=["oidc", "oauth2"])
def test_minted_tokens_verify_through_discovery(local_issuer: LocalIssuer, discover: Any) -> None:
    verifier = discover(local_issuer.url, validator=Validator(aud=AUD, rfc9068=True))
    token = local_issuer.mint(sub="user-42", scopes=["orders:read"])
    _, claims = verifier.verify_and_validate(token, now=T0 + 1)
    assert (claims.sub, claims.scopes, claims.client_id) == (
        "user-42",
        frozenset({"orders:read"}),
        "test-client",
    )


@pytest.mark.parametrize(
    ("kty", "alg"), [("RSA", "RS256"), ("EC", "ES256"), ("OKP", "EdDSA")], ids=["rsa", "ec", "okp"]
)
def test_minted_tokens_verify_with_pyjwt_given_the_jwks(kty: str, alg: str) -> None:
    with LocalIssuer(audience=AUD, kty=kty) as local:
        client = jwt.PyJWKClient(local.jwks_uri)
        token = local.mint(sub="user-42")
        key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=[alg], audience=AUD, issuer=local.url)
        assert claims["sub"] == "user-42"


# -- minting ----------------------------------------------------------------------------------


def test_mint_defaults(local_issuer: LocalIssuer) -> None:
    token = local_issuer.mint()
    payload = _payload(token)
    assert payload == {
        "iss": local_issuer.url,
        "sub": "test-user",
        "aud": AUD,
        "iat": int(T0),
        "exp": int(T0) + 300,
        "jti": payload["jti"],
        "client_id": "test-client",
    }
    assert jwt.get_unverified_header(token) == {
        "alg": "RS256",
        "kid": local_issuer.kid,
        "typ": "at+jwt",
    }


def test_mint_with_claims(local_issuer: LocalIssuer) -> None:
    token = local_issuer.mint(
        sub="user-42",
        scopes=["orders:read", "orders:write"],
        expires_in=60,
        audience=[AUD, "api://billing"],
        client_id="web-app",
        tenant="acme",
        jti=None,
    )
    assert _payload(token) == {
        "iss": local_issuer.url,
        "sub": "user-42",
        "aud": [AUD, "api://billing"],
        "iat": int(T0),
        "exp": int(T0) + 60,
        "client_id": "web-app",
        "scope": "orders:read orders:write",
        "tenant": "acme",
    }


def test_negative_expires_in_mints_an_expired_token(local_issuer: LocalIssuer) -> None:
    with pytest.raises(ExpiredToken):
        _verify(local_issuer, local_issuer.mint(expires_in=-120))


def test_mint_can_edit_the_header(local_issuer: LocalIssuer) -> None:
    token = local_issuer.mint(headers={"typ": "JWT", "kid": None})
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT"}
    untyped = local_issuer.mint(headers={"typ": None})
    assert jwt.get_unverified_header(untyped) == {"alg": "RS256", "kid": local_issuer.kid}


def test_mint_refuses_an_unknown_kid(local_issuer: LocalIssuer) -> None:
    with pytest.raises(ConfigurationError) as info:
        local_issuer.mint(kid="nope")
    assert info.value.description == "this issuer holds no key 'nope'"


# -- keys -------------------------------------------------------------------------------------


def test_rotate_keeps_the_old_key_published(local_issuer: LocalIssuer) -> None:
    old_kid = local_issuer.kid
    old_token = local_issuer.mint()
    new_kid = local_issuer.rotate()
    assert new_kid != old_kid
    assert local_issuer.kid == new_kid
    assert [k.kid for k in local_issuer.keys] == [new_kid, old_kid]
    assert jwt.get_unverified_header(local_issuer.mint())["kid"] == new_kid
    assert _verify(local_issuer, old_token).sub == "test-user"


def test_rotate_can_drop_the_old_key(local_issuer: LocalIssuer) -> None:
    old_token = local_issuer.mint()
    local_issuer.rotate(keep_old=False)
    assert len(local_issuer.keys) == 1
    with pytest.raises(UnknownKey):
        _verify(local_issuer, old_token)


def test_publish_next_key_publishes_before_signing(local_issuer: LocalIssuer) -> None:
    active = local_issuer.kid
    upcoming = local_issuer.publish_next_key()
    assert local_issuer.publish_next_key() == upcoming
    assert [k.kid for k in local_issuer.keys] == [active, upcoming]
    assert local_issuer.kid == active
    assert local_issuer.rotate() == upcoming


def test_drop_key_hides_a_key_that_still_signs(local_issuer: LocalIssuer) -> None:
    new_kid = local_issuer.rotate()
    local_issuer.drop_key()
    assert new_kid not in [k["kid"] for k in _get(local_issuer.jwks_uri).json()["keys"]]
    with pytest.raises(UnknownKey):
        _verify(local_issuer, local_issuer.mint())
    local_issuer.restore_key(new_kid)
    assert _verify(local_issuer, local_issuer.mint()).sub == "test-user"


def test_sign_with_a_retired_key_by_kid(local_issuer: LocalIssuer) -> None:
    old_kid = local_issuer.kid
    local_issuer.rotate()
    assert jwt.get_unverified_header(local_issuer.mint(kid=old_kid))["kid"] == old_kid


def test_running_issuers_never_share_a_key() -> None:
    pool = KeyPool()
    with LocalIssuer(key_pool=pool) as a, LocalIssuer(key_pool=pool) as b:
        kids = {a.kid, b.kid}
        assert len(kids) == 2
    with LocalIssuer(key_pool=pool) as c:
        assert c.kid in kids  # given back, then lent again


# -- faults -----------------------------------------------------------------------------------


def test_force_status_on_one_path_for_some_requests(local_issuer: LocalIssuer) -> None:
    local_issuer.force_status(503, local_issuer.jwks_path, times=2)
    failed = _get(local_issuer.jwks_uri)
    assert (failed.status_code, failed.json()) == (503, {"error": "injected fault", "status": 503})
    assert failed.headers["Cache-Control"] == "no-store"
    assert "ETag" not in failed.headers
    assert _get(local_issuer.oidc_url).status_code == 200
    assert [_get(local_issuer.jwks_uri).status_code for _ in range(2)] == [503, 200]


def test_force_status_everywhere_until_cleared(local_issuer: LocalIssuer) -> None:
    local_issuer.force_status(500)
    assert [_get(u).status_code for u in (local_issuer.oidc_url, local_issuer.jwks_uri)] == [
        500,
        500,
    ]
    with pytest.raises(FetchError):
        Issuer.from_oidc(local_issuer.url, validator=Validator(aud=AUD))
    local_issuer.clear_faults()
    assert _get(local_issuer.jwks_uri).status_code == 200


def test_delay_holds_the_response(local_issuer: LocalIssuer) -> None:
    local_issuer.delay(0.3, local_issuer.jwks_path, times=1)
    started = time.monotonic()
    assert _get(local_issuer.jwks_uri).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_a_client_that_gave_up_is_not_an_error(
    local_issuer: LocalIssuer, capfd: pytest.CaptureFixture[str]
) -> None:
    """A delayed answer to a client that timed out prints nothing and serves the next one."""
    local_issuer.delay(0.5, local_issuer.jwks_path, times=3)
    for _ in range(3):
        with pytest.raises(requests.Timeout):
            requests.get(local_issuer.jwks_uri, timeout=0.05)
    time.sleep(0.8)  # the delayed answers are written to closed connections
    assert _get(local_issuer.jwks_uri).status_code == 200
    assert "Traceback" not in capfd.readouterr().err


def test_delay_is_cut_short_by_stop(clock: FakeClock) -> None:
    local = LocalIssuer(clock=clock).start()
    local.delay(30)
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            _get(local.jwks_uri)
        except requests.RequestException as exc:  # the server went away: fine
            errors.append(exc)

    thread = threading.Thread(target=fetch)
    thread.start()
    time.sleep(0.2)  # let the request reach the delay (it is logged only once answered)
    started = time.monotonic()
    local.stop()
    thread.join(timeout=10)
    assert time.monotonic() - started < 5


def test_malformed_json(local_issuer: LocalIssuer) -> None:
    local_issuer.serve_malformed_json(local_issuer.jwks_path)
    response = _get(local_issuer.jwks_uri)
    assert (response.status_code, response.content) == (200, b'{"keys": [{"kty": "RSA", "n": ')
    with pytest.raises(FetchError):
        Issuer.from_oidc(local_issuer.url, validator=Validator(aud=AUD))


def test_override_headers(local_issuer: LocalIssuer) -> None:
    local_issuer.override(
        local_issuer.jwks_path, headers={"Cache-Control": "max-age=5", "ETag": None}
    )
    response = _get(local_issuer.jwks_uri)
    assert response.headers["Cache-Control"] == "max-age=5"
    assert "ETag" not in response.headers
    assert [k["kid"] for k in response.json()["keys"]] == [local_issuer.kid]


def test_override_body_keeps_the_document_headers(local_issuer: LocalIssuer) -> None:
    local_issuer.override(local_issuer.jwks_path, body={"keys": []})
    response = _get(local_issuer.jwks_uri)
    assert response.json() == {"keys": []}
    assert response.headers["Cache-Control"] == "public, max-age=300"


def test_conditional_request_gets_304(local_issuer: LocalIssuer) -> None:
    etag = _get(local_issuer.jwks_uri).headers["ETag"]
    response = _get(local_issuer.jwks_uri, **{"If-None-Match": etag})
    assert (response.status_code, response.content) == (304, b"")
    local_issuer.override(local_issuer.jwks_path, headers={"ETag": '"v2"'})
    assert _get(local_issuer.jwks_uri, **{"If-None-Match": etag}).status_code == 200
    assert _get(local_issuer.jwks_uri, **{"If-None-Match": '"v2"'}).status_code == 304


def test_inject_a_combined_fault(local_issuer: LocalIssuer) -> None:
    local_issuer.inject(Fault(status=429, headers={"Retry-After": "7"}, body="slow down"))
    response = _get(local_issuer.oidc_url)
    assert (response.status_code, response.text) == (429, "slow down")
    assert response.headers["Retry-After"] == "7"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"status": 99}, "status must be an HTTP status code (100-599)", id="status"),
        pytest.param({"delay": -1}, "delay must be a non-negative number of seconds", id="delay"),
        pytest.param({"times": 0}, "times must be a positive integer or None", id="times"),
        pytest.param(
            {"headers": {"X": "a\r\nSet-Cookie: x"}},
            "header names and values must not contain line breaks",
            id="header-injection",
        ),
    ],
)
def test_faults_are_validated(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        Fault(**options)
    assert info.value.description == message


# -- request log ------------------------------------------------------------------------------


def test_request_log_records_each_request(local_issuer: LocalIssuer) -> None:
    before = time.time()
    _get(local_issuer.jwks_uri + "?x=1", **{"X-Probe": "yes"})
    requests.head(local_issuer.oidc_url, timeout=5)
    requests.post(local_issuer.jwks_uri, timeout=5)
    log = local_issuer.requests
    assert [(r.method, r.path, r.query, r.status) for r in log] == [
        ("GET", local_issuer.jwks_path, "x=1", 200),
        ("HEAD", local_issuer.oidc_path, "", 200),
        ("POST", local_issuer.jwks_path, "", 405),
    ]
    assert log[0].header("X-Probe") == "yes"
    assert before <= log[0].time <= log[1].time <= log[2].time <= time.time()
    assert local_issuer.counts == {local_issuer.jwks_path: 2, local_issuer.oidc_path: 1}
    assert (local_issuer.count(local_issuer.jwks_path), local_issuer.count()) == (2, 3)
    local_issuer.clear_log()
    assert (local_issuer.requests, local_issuer.count()) == ([], 0)


def test_request_log_is_thread_safe(local_issuer: LocalIssuer) -> None:
    threads = [threading.Thread(target=_get, args=(local_issuer.jwks_uri,)) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert local_issuer.count(local_issuer.jwks_path) == 24
    assert len(local_issuer.requests) == 24


def test_discovery_fetches_are_counted(local_issuer: LocalIssuer) -> None:
    Issuer.from_oidc(local_issuer.url, validator=Validator(aud=AUD))
    assert local_issuer.counts == {local_issuer.oidc_path: 1, local_issuer.jwks_path: 1}


# -- lifecycle --------------------------------------------------------------------------------


def test_stop_closes_the_port_and_is_idempotent(clock: FakeClock) -> None:
    local = LocalIssuer(clock=clock).start()
    port = local.port
    assert local.start() is local
    local.stop()
    local.stop()
    assert not local.running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_not_started_issuer_refuses_to_mint() -> None:
    local = LocalIssuer()
    with pytest.raises(ConfigurationError) as info:
        local.mint()
    assert info.value.description == "the LocalIssuer is not running; call start()"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"path": "tenant"}, "path must be empty or like '/tenant' (no trailing '/')",
                     id="relative-path"),
        pytest.param({"path": "/t/"}, "path must be empty or like '/tenant' (no trailing '/')",
                     id="trailing-slash"),
        pytest.param({"port": 70000}, "port must be 0 (any free port) or a port number",
                     id="port"),
    ],
)  # fmt: skip
def test_options_are_validated(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        LocalIssuer(**options)
    assert info.value.description == message


def test_a_stopped_issuer_can_start_again(clock: FakeClock) -> None:
    local = LocalIssuer(audience=AUD, clock=clock).start()
    local.stop()
    with local:
        assert _get(local.oidc_url).json()["issuer"] == local.url
        assert _verify(local, local.mint()).sub == "test-user"
