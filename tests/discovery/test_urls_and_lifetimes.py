"""The pure parts of discovery: URL policy, the well-known locations, cache lifetimes."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from bearerguard import ConfigurationError, PublicJWK
from bearerguard._caching import cache_lifetime
from bearerguard._urls import (
    check_url,
    oauth2_metadata_url,
    oidc_metadata_url,
    resource_metadata_url,
)
from bearerguard.issuing._wellknown import WellKnownEndpoints
from tests.support.keys import public_jwk


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://login.example.com/keys", id="https"),
        pytest.param("http://127.0.0.1:8080/keys", id="loopback-v4"),
        pytest.param("http://[::1]:8080/keys", id="loopback-v6"),
        pytest.param("http://localhost/keys", id="localhost"),
    ],
)
def test_check_url_accepts(url: str) -> None:
    assert check_url(url, "jwks_uri") == url


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://login.example.com/keys", id="plain-http"),
        pytest.param("http://127.0.0.1.example.com/keys", id="loopback-lookalike"),
        pytest.param("ftp://login.example.com/keys", id="ftp"),
        pytest.param("/keys", id="relative"),
        pytest.param("", id="empty"),
        pytest.param("https://user:secret@login.example.com/keys", id="credentials"),
        pytest.param("https://login.example.com/keys#frag", id="fragment"),
    ],
)
def test_check_url_rejects(url: str) -> None:
    with pytest.raises(ConfigurationError):
        check_url(url, "jwks_uri")


def test_check_url_allows_plain_http_when_told() -> None:
    assert check_url("http://keys.internal/jwks", "jwks_uri", require_https=False)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({}, None, id="none"),
        pytest.param({"cache-control": "max-age=60"}, 60.0, id="max-age"),
        pytest.param({"cache-control": "public,max-age=60,must-revalidate"}, 60.0, id="listed"),
        pytest.param({"cache-control": "max-age=60", "age": "15"}, 45.0, id="age"),
        pytest.param({"cache-control": "max-age=60", "age": "junk"}, 60.0, id="bad-age"),
        pytest.param({"cache-control": "max-age=60", "age": "90"}, 0.0, id="older"),
        pytest.param({"cache-control": "no-store"}, 0.0, id="no-store"),
        pytest.param({"cache-control": "max-age=-5"}, None, id="negative"),
        pytest.param({"cache-control": "max-age=1.5"}, None, id="fraction"),
        pytest.param({"cache-control": "s-maxage=60"}, None, id="shared-only"),
        pytest.param({"cache-control": "max-age=99999999999999"}, 2.0**31, id="capped"),
    ],
)
def test_cache_lifetime(headers: dict[str, str], expected: float | None) -> None:
    assert cache_lifetime(headers) == expected


WELL_KNOWN = [
    pytest.param(
        "https://idp.example",
        "https://idp.example/.well-known/openid-configuration",
        "https://idp.example/.well-known/oauth-authorization-server",
        id="no-path",
    ),
    pytest.param(
        "https://idp.example/",
        "https://idp.example/.well-known/openid-configuration",
        "https://idp.example/.well-known/oauth-authorization-server",
        id="trailing-slash",
    ),
    pytest.param(
        "https://idp.example/tenant-a",
        "https://idp.example/tenant-a/.well-known/openid-configuration",
        "https://idp.example/.well-known/oauth-authorization-server/tenant-a",
        id="path",
    ),
    pytest.param(
        "http://127.0.0.1:8080/realms/main/",
        "http://127.0.0.1:8080/realms/main/.well-known/openid-configuration",
        "http://127.0.0.1:8080/.well-known/oauth-authorization-server/realms/main",
        id="port-and-nested-path",
    ),
]


@pytest.mark.parametrize(("issuer", "oidc", "oauth2"), WELL_KNOWN)
def test_metadata_urls_append_for_oidc_and_insert_for_rfc8414(
    issuer: str, oidc: str, oauth2: str
) -> None:
    """OIDC Discovery §4 appends the well-known path; RFC 8414 §3.1 inserts it before the path."""
    assert (oidc_metadata_url(issuer), oauth2_metadata_url(issuer)) == (oidc, oauth2)


@pytest.mark.parametrize(("issuer", "oidc", "oauth2"), WELL_KNOWN)
def test_the_issuing_side_serves_where_the_verifying_side_looks(
    issuer: str, oidc: str, oauth2: str
) -> None:
    """WellKnownEndpoints serves both documents at the paths of the URLs discovery fetches."""
    key = PublicJWK.from_dict(public_jwk("k1"))
    endpoints = WellKnownEndpoints(issuer=issuer, keys=[key], require_https=False)
    served = set(endpoints.paths)
    assert {urlsplit(oidc).path, urlsplit(oauth2).path} <= served


@pytest.mark.parametrize(
    ("resource", "url"),
    [
        pytest.param(
            "https://api.example", "https://api.example/.well-known/oauth-protected-resource",
            id="no-path",
        ),
        pytest.param(
            "https://api.example/v1/", "https://api.example/.well-known/oauth-protected-resource/v1",
            id="path",
        ),
        pytest.param(
            "https://api.example/v1?tenant=a",
            "https://api.example/.well-known/oauth-protected-resource/v1?tenant=a",
            id="query-stays-last",
        ),
    ],
)  # fmt: skip
def test_resource_metadata_url_inserts_the_well_known_path(resource: str, url: str) -> None:
    """RFC 9728 §3.1: between the host and the path; a query stays at the end."""
    assert resource_metadata_url(resource) == url
