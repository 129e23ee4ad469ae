"""fetch_jwks / fetch_jwks_from_oidc / fetch_jwks_from_oauth2 against a real local server."""

from __future__ import annotations

import json
import time

import pytest

from bearerguard import (
    ConfigurationError,
    DiscoveryError,
    FetchError,
    RequestsFetcher,
    fetch_jwks,
    fetch_jwks_from_oauth2,
    fetch_jwks_from_oidc,
)
from tests.support.jwks_server import JWKSServer, Reply
from tests.support.keys import jwks, public_jwk

OIDC = "/.well-known/openid-configuration"


def test_fetch_jwks_returns_the_keys(server: JWKSServer, fetcher: RequestsFetcher) -> None:
    server.set_json("/jwks.json", jwks("k1", "k2"))
    keys = fetch_jwks(server.url("/jwks.json"), fetcher=fetcher)
    assert ([k.kid for k in keys], server.count()) == (["k1", "k2"], 1)


def test_fetch_jwks_with_the_default_fetcher(server: JWKSServer) -> None:
    server.set_json("/jwks.json", jwks("k1"))
    assert [k.kid for k in fetch_jwks(server.url("/jwks.json"))] == ["k1"]


def test_fetch_jwks_asks_for_json(server: JWKSServer, fetcher: RequestsFetcher) -> None:
    server.set_json("/jwks.json", jwks("k1"))
    fetch_jwks(server.url("/jwks.json"), fetcher=fetcher)
    assert server.requests[0].headers["accept"] == "application/json"


def test_fetch_jwks_skips_one_bad_key(server: JWKSServer, fetcher: RequestsFetcher) -> None:
    server.set_json("/jwks.json", {"keys": [{"kty": "RSA", "n": "AQAB"}, public_jwk("k1")]})
    assert [k.kid for k in fetch_jwks(server.url("/jwks.json"), fetcher=fetcher)] == ["k1"]


def _padded(size: int) -> bytes:
    return json.dumps({"keys": [public_jwk("k1")], "pad": "x" * size}).encode()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        pytest.param(Reply(body=b"<html>"), "not valid UTF-8 JSON", id="non-json"),
        pytest.param(Reply(body=b"[1, 2]"), "not a JSON object", id="json-array"),
        pytest.param(Reply(status=404, body=b"{}"), "answered HTTP 404", id="404"),
        pytest.param(Reply(status=500, body=b"{}"), "answered HTTP 500", id="500"),
        pytest.param(Reply(body=_padded(300_000)), "larger than 262144 bytes", id="oversized"),
        pytest.param(
            Reply(body=_padded(300_000), content_length=False),
            "larger than 262144 bytes",
            id="oversized-without-content-length",
        ),
        pytest.param(
            Reply(status=302, headers={"Location": "/other.json"}),
            "redirects are not followed",
            id="redirect",
        ),
        pytest.param(Reply(body=b'{"keys": []}'), "no usable signing key", id="empty-set"),
        pytest.param(Reply(body=b'{"nokeys": []}'), "no 'keys' array", id="no-keys-member"),
        pytest.param(Reply(body=b'{"keys": [], "keys": []}'), "duplicate", id="duplicate-members"),
    ],
)
def test_fetch_jwks_failures_raise_fetch_error(
    server: JWKSServer, fetcher: RequestsFetcher, reply: Reply, message: str
) -> None:
    server.set("/jwks.json", reply)
    server.set_json("/other.json", jwks("k1"))
    with pytest.raises(FetchError, match=message) as caught:
        fetch_jwks(server.url("/jwks.json"), fetcher=fetcher)
    assert caught.value.status == 503
    assert (server.count("/jwks.json"), server.count("/other.json")) == (1, 0)


def test_fetch_jwks_size_cap_is_configurable(server: JWKSServer, fetcher: RequestsFetcher) -> None:
    server.set_json("/jwks.json", jwks("k1", "k2", "k3"))  # about 1.4 KB
    with pytest.raises(FetchError, match="larger than 1024 bytes"):
        fetch_jwks(server.url("/jwks.json"), fetcher=fetcher, max_bytes=1024)


def test_fetch_jwks_times_out(server: JWKSServer, fetcher: RequestsFetcher) -> None:
    server.set("/jwks.json", Reply(hang=True))
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch_jwks(server.url("/jwks.json"), fetcher=fetcher, timeout=0.2)
    assert time.monotonic() - started < 1.2  # 0.2 s plus generous scheduling slack


def test_fetch_jwks_refuses_plain_http_off_loopback() -> None:
    with pytest.raises(ConfigurationError, match="must use https"):
        fetch_jwks("http://keys.example.com/jwks.json")


def test_fetch_jwks_from_oidc_returns_issuer_uri_and_keys(
    server: JWKSServer, fetcher: RequestsFetcher
) -> None:
    server.set_json(OIDC, {"issuer": server.base_url, "jwks_uri": server.url("/keys")})
    server.set_json("/keys", jwks("k1"))
    found = fetch_jwks_from_oidc(server.base_url, fetcher=fetcher)
    assert (found.issuer, found.jwks_uri, [k.kid for k in found.keys]) == (
        server.base_url,
        server.url("/keys"),
        ["k1"],
    )
    assert found.metadata["jwks_uri"] == server.url("/keys")
    assert [r.path for r in server.requests] == [OIDC, "/keys"]


def test_fetch_jwks_from_oidc_with_trailing_slash_issuer(
    server: JWKSServer, fetcher: RequestsFetcher
) -> None:
    issuer = server.base_url + "/"
    server.set_json(OIDC, {"issuer": issuer, "jwks_uri": server.url("/keys")})
    server.set_json("/keys", jwks("k1"))
    assert fetch_jwks_from_oidc(issuer, fetcher=fetcher).issuer == issuer


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param({"issuer": "{base}/", "jwks_uri": "{base}/keys"}, "names issuer", id="slash"),
        pytest.param(
            {"issuer": "https://evil.example.com", "jwks_uri": "{base}/keys"},
            "names issuer",
            id="other-issuer",
        ),
        pytest.param({"jwks_uri": "{base}/keys"}, "names issuer", id="no-issuer"),
        pytest.param({"issuer": "{base}"}, "has no jwks_uri", id="no-jwks-uri"),
        pytest.param({"issuer": "{base}", "jwks_uri": 7}, "has no jwks_uri", id="jwks-uri-number"),
        pytest.param(
            {"issuer": "{base}", "jwks_uri": "http://keys.example.com/keys"},
            "must use https",
            id="jwks-uri-plain-http",
        ),
    ],
)
def test_fetch_jwks_from_oidc_rejects_bad_metadata(
    server: JWKSServer, fetcher: RequestsFetcher, document: dict[str, object], message: str
) -> None:
    doc = {
        k: v.format(base=server.base_url) if isinstance(v, str) else v for k, v in document.items()
    }
    server.set_json(OIDC, doc)
    server.set_json("/keys", jwks("k1"))
    with pytest.raises(DiscoveryError, match=message):
        fetch_jwks_from_oidc(server.base_url, fetcher=fetcher)
    assert [r.path for r in server.requests] == [OIDC]


def test_fetch_jwks_from_oidc_metadata_404(server: JWKSServer, fetcher: RequestsFetcher) -> None:
    with pytest.raises(FetchError, match="answered HTTP 404"):
        fetch_jwks_from_oidc(server.base_url, fetcher=fetcher)


def test_fetch_jwks_from_oidc_metadata_not_json(
    server: JWKSServer, fetcher: RequestsFetcher
) -> None:
    server.set(OIDC, Reply(body=b"<!doctype html>"))
    with pytest.raises(FetchError, match="not valid UTF-8 JSON"):
        fetch_jwks_from_oidc(server.base_url, fetcher=fetcher)


@pytest.mark.parametrize(
    ("path", "metadata_path"),
    [
        pytest.param("", "/.well-known/oauth-authorization-server", id="no-path"),
        pytest.param(
            "/tenant-a", "/.well-known/oauth-authorization-server/tenant-a", id="path-insertion"
        ),
        pytest.param(
            "/realms/main/",
            "/.well-known/oauth-authorization-server/realms/main",
            id="nested-path-trailing-slash",
        ),
    ],
)
def test_fetch_jwks_from_oauth2_follows_rfc8414_well_known(
    server: JWKSServer, fetcher: RequestsFetcher, path: str, metadata_path: str
) -> None:
    issuer = server.base_url + path
    server.set_json(metadata_path, {"issuer": issuer, "jwks_uri": server.url("/keys")})
    server.set_json("/keys", jwks("k1"))
    found = fetch_jwks_from_oauth2(issuer, fetcher=fetcher)
    assert (found.issuer, [k.kid for k in found.keys]) == (issuer, ["k1"])
    assert [r.path for r in server.requests] == [metadata_path, "/keys"]


def test_fetch_jwks_from_oauth2_issuer_mismatch(
    server: JWKSServer, fetcher: RequestsFetcher
) -> None:
    server.set_json(
        "/.well-known/oauth-authorization-server/a",
        {"issuer": server.url("/b"), "jwks_uri": server.url("/keys")},
    )
    with pytest.raises(DiscoveryError, match="names issuer"):
        fetch_jwks_from_oauth2(server.url("/a"), fetcher=fetcher)
