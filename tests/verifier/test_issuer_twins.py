"""Issuer's async twins give exactly what its sync methods give, keys from a real JWKS server.

``aunsafe_verify`` and ``averify_and_validate`` share their checks with
``unsafe_verify`` and ``verify_and_validate``; only the key lookup awaits. Each
case here runs both ways against the same HTTP server on 127.0.0.1. The
``assert_type`` lines are checked by mypy: the claims type chosen is the type
returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from bearerguard import (
    JWS,
    AccessClaims,
    AlgorithmNotAllowed,
    BearerGuardError,
    ConfigurationError,
    ExpiredToken,
    InvalidSignature,
    Issuer,
    IssuerMismatch,
    KeySetUnavailable,
    RequestsFetcher,
    UnknownKey,
    Validator,
)
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from tests.support.jwks_server import JWKSServer, Reply
from tests.support.keys import AUDIENCE, bogus_token, jwks, mint

if TYPE_CHECKING:
    from typing_extensions import assert_type
else:

    def assert_type(value: object, _type: object) -> object:
        return value


V = Validator(aud=AUDIENCE)
T0 = 1_700_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantClaims(AccessClaims):
    """An application's claims class: AccessClaims plus a custom claim."""

    tenant: str | None = None


@pytest.fixture
def make_issuer(server: JWKSServer, fetcher: RequestsFetcher) -> Callable[..., Issuer]:
    """An Issuer named after the server, keys {k1} from its /jwks (fetched on first use)."""
    server.set_json("/jwks", jwks("k1"))

    def make(validator: Validator | None = V, **kwargs: Any) -> Issuer:
        keys = RemoteKeySet(server.url("/jwks"), policy=KeySetPolicy(timeout=2.0), fetcher=fetcher)
        return Issuer(server.base_url, keys, validator, **kwargs)

    return make


def run(coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run(coroutine)


def test_averify_and_validate_returns_access_claims_by_default(
    server: JWKSServer, make_issuer: Callable[..., Issuer]
) -> None:
    """Without a claims type the claims are AccessClaims, typed so for mypy."""
    issuer = make_issuer()

    async def main() -> AccessClaims:
        jws, claims = await issuer.averify_and_validate(mint("k1", iss=server.base_url))
        assert_type(jws, JWS)
        assert_type(claims, AccessClaims)
        return claims

    claims = run(main())
    assert type(claims) is AccessClaims
    assert (claims.iss, claims.sub) == (server.base_url, "user-1")
    assert [r.path for r in server.requests] == ["/jwks"]


def test_averify_and_validate_returns_the_claims_type_asked_for(
    server: JWKSServer, make_issuer: Callable[..., Issuer]
) -> None:
    """With claims_type the claims are that class, typed so for mypy."""
    issuer = make_issuer()
    token = mint("k1", iss=server.base_url, tenant="acme")

    async def main() -> TenantClaims:
        _, claims = await issuer.averify_and_validate(token, TenantClaims)
        assert_type(claims, TenantClaims)
        return claims

    claims = run(main())
    assert type(claims) is TenantClaims
    assert claims.tenant == "acme"
    _, sync_claims = issuer.verify_and_validate(token, TenantClaims)
    assert_type(sync_claims, TenantClaims)
    assert sync_claims == claims


def test_averify_and_validate_honours_now(
    server: JWKSServer, make_issuer: Callable[..., Issuer]
) -> None:
    """``now`` is the time the claims are checked at: expired from exp + leeway (60 s) on."""
    token = mint("k1", iss=server.base_url, iat=T0, exp=T0 + 60)
    issuer = make_issuer()
    _, claims = run(issuer.averify_and_validate(token, now=T0 + 119))
    assert claims.exp == T0 + 60
    with pytest.raises(ExpiredToken):
        run(issuer.averify_and_validate(token, now=T0 + 120))


def test_averify_and_validate_without_validator_fails_before_any_request(
    server: JWKSServer, make_issuer: Callable[..., Issuer]
) -> None:
    """An issuer without a validator refuses at once, fetching nothing."""
    issuer = make_issuer(validator=None)
    with pytest.raises(ConfigurationError, match="has no validator"):
        run(issuer.averify_and_validate(mint("k1", iss=server.base_url)))
    assert server.count() == 0


# -- the twins agree ---------------------------------------------------------------------


def _outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """("ok", payload) or ("error", exception class, description)."""
    try:
        result = call()
    except BearerGuardError as exc:
        return ("error", type(exc), exc.description)
    jws = result[0] if isinstance(result, tuple) else result
    return ("ok", jws.payload)


CASES = [
    pytest.param(lambda base: mint("k1", iss=base), None, None, id="valid"),
    pytest.param(lambda base: mint("k1", iss=base, exp=T0), None, ExpiredToken, id="expired-token"),
    pytest.param(
        lambda base: mint("k1", iss=base + "/other"), None, IssuerMismatch, id="other-iss"
    ),
    pytest.param(lambda base: mint("k9", iss=base), None, UnknownKey, id="unknown-kid"),
    pytest.param(
        lambda base: bogus_token("k1", iss=base), None, InvalidSignature, id="bad-signature"
    ),
    pytest.param(
        lambda base: mint("k1", iss=base),
        {"algorithms": ["ES256"]},
        AlgorithmNotAllowed,
        id="algorithm-not-allowed",
    ),
]


@pytest.mark.parametrize(("make_token", "options", "error"), CASES)
@pytest.mark.parametrize(
    ("sync", "async_"),
    [
        pytest.param("unsafe_verify", "aunsafe_verify", id="unsafe_verify"),
        pytest.param("verify_and_validate", "averify_and_validate", id="verify_and_validate"),
    ],
)
def test_the_async_twin_gives_what_the_sync_method_gives(
    server: JWKSServer,
    make_issuer: Callable[..., Issuer],
    make_token: Callable[[str], str],
    options: dict[str, Any] | None,
    error: type[BearerGuardError] | None,
    sync: str,
    async_: str,
) -> None:
    """Same token, same issuer: the same payload or the same error, both ways."""
    token = make_token(server.base_url)
    if sync == "unsafe_verify" and error is ExpiredToken:
        error = None  # unsafe_verify checks no time claims
    issuer = make_issuer(**(options or {}))
    sync_outcome = _outcome(lambda: getattr(issuer, sync)(token))
    async_outcome = _outcome(lambda: run(getattr(issuer, async_)(token)))
    assert async_outcome == sync_outcome
    assert async_outcome[0] == ("ok" if error is None else "error")
    if error is not None:
        assert async_outcome[1] is error


def test_both_twins_answer_503_when_the_keys_cannot_be_fetched(
    server: JWKSServer, make_issuer: Callable[..., Issuer]
) -> None:
    """A JWKS server answering 503 makes both twins raise KeySetUnavailable."""
    server.set("/jwks", Reply(status=503, body=b"maintenance"))
    token = mint("k1", iss=server.base_url)
    with pytest.raises(KeySetUnavailable):
        make_issuer().verify_and_validate(token)
    with pytest.raises(KeySetUnavailable):
        run(make_issuer().averify_and_validate(token))
