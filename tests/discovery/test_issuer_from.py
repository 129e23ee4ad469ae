"""Issuer.from_jwks_url / from_oidc / from_oauth2: a RemoteKeySet, eager or lazy."""

from __future__ import annotations

import pytest

from bearerguard import (
    ConfigurationError,
    DiscoveryError,
    FetchError,
    Issuer,
    RequestsFetcher,
    Validator,
)
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from tests.support.jwks_server import JWKSServer
from tests.support.keys import AUDIENCE, jwks, mint

OIDC = "/.well-known/openid-configuration"
V = Validator(aud=AUDIENCE)


@pytest.fixture
def idp(server: JWKSServer) -> JWKSServer:
    server.set_json(OIDC, {"issuer": server.base_url, "jwks_uri": server.url("/keys")})
    server.set_json(
        "/.well-known/oauth-authorization-server",
        {"issuer": server.base_url, "jwks_uri": server.url("/keys")},
    )
    server.set_json("/keys", jwks("k1"))
    return server


def test_from_oidc_fetches_eagerly_by_default(idp: JWKSServer, fetcher: RequestsFetcher) -> None:
    issuer = Issuer.from_oidc(idp.base_url, validator=V, fetcher=fetcher)
    assert [r.path for r in idp.requests] == [OIDC, "/keys"]
    assert isinstance(issuer.keys, RemoteKeySet)
    assert issuer.url == idp.base_url
    issuer.verify_and_validate(mint("k1", iss=idp.base_url))
    assert idp.count() == 2


def test_from_oidc_lazy_makes_no_request_until_the_first_token(
    idp: JWKSServer, fetcher: RequestsFetcher
) -> None:
    issuer = Issuer.from_oidc(idp.base_url, validator=V, fetcher=fetcher, lazy=True)
    assert idp.count() == 0
    issuer.verify_and_validate(mint("k1", iss=idp.base_url))
    assert idp.count() == 2


def test_from_oidc_eager_issuer_mismatch_raises_discovery_error(
    idp: JWKSServer, fetcher: RequestsFetcher
) -> None:
    idp.set_json(OIDC, {"issuer": idp.base_url + "/", "jwks_uri": idp.url("/keys")})
    with pytest.raises(DiscoveryError, match="names issuer"):
        Issuer.from_oidc(idp.base_url, validator=V, fetcher=fetcher)


def test_from_oauth2_eager(idp: JWKSServer, fetcher: RequestsFetcher) -> None:
    issuer = Issuer.from_oauth2(idp.base_url, validator=V, fetcher=fetcher)
    assert [r.path for r in idp.requests] == ["/.well-known/oauth-authorization-server", "/keys"]
    assert issuer.url == idp.base_url


def test_from_jwks_url_eager_failure_raises_fetch_error(
    idp: JWKSServer, fetcher: RequestsFetcher
) -> None:
    with pytest.raises(FetchError, match="HTTP 404"):
        Issuer.from_jwks_url(idp.url("/missing"), issuer=idp.base_url, fetcher=fetcher)


def test_from_jwks_url_lazy(idp: JWKSServer, fetcher: RequestsFetcher) -> None:
    issuer = Issuer.from_jwks_url(
        idp.url("/keys"), issuer=idp.base_url, validator=V, fetcher=fetcher, lazy=True
    )
    assert idp.count() == 0
    issuer.verify_and_validate(mint("k1", iss=idp.base_url))
    assert [r.path for r in idp.requests] == ["/keys"]


def test_policy_is_passed_to_the_key_set(idp: JWKSServer, fetcher: RequestsFetcher) -> None:
    policy = KeySetPolicy(cooldown=5, default_ttl=120)
    issuer = Issuer.from_oidc(idp.base_url, policy=policy, fetcher=fetcher, lazy=True)
    assert isinstance(issuer.keys, RemoteKeySet)
    assert issuer.keys.policy is policy


def test_legacy_keywords_override_the_policy(idp: JWKSServer) -> None:
    issuer = Issuer.from_oidc(
        idp.base_url,
        policy=KeySetPolicy(cooldown=5),
        timeout=1.0,
        max_bytes=4096,
        lazy=True,
    )
    assert isinstance(issuer.keys, RemoteKeySet)
    assert issuer.keys.policy == KeySetPolicy(cooldown=5, timeout=1.0, max_bytes=4096)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"policy": {"cooldown": 5}}, id="policy-not-a-KeySetPolicy"),
        pytest.param({"timeout": -1}, id="bad-timeout"),
        pytest.param({"lazy": "yes"}, id="lazy-not-bool"),
        pytest.param({"algorithms": ["HS256"]}, id="hmac-algorithm"),
    ],
)
def test_bad_configuration_fails_before_any_request(
    idp: JWKSServer, kwargs: dict[str, object]
) -> None:
    with pytest.raises(ConfigurationError):
        # Values of the wrong type on purpose: their refusal is the test.
        Issuer.from_oidc(idp.base_url, **kwargs)  # type: ignore[arg-type]
    assert idp.count() == 0


def test_plain_http_issuer_off_loopback_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="must use https"):
        Issuer.from_oidc("http://login.example.com", lazy=True)
