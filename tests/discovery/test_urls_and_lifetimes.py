"""check_url and cache_lifetime: the pure parts of discovery."""

from __future__ import annotations

import pytest

from bearerguard import ConfigurationError
from bearerguard._discovery import cache_lifetime, check_url


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
