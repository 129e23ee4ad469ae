"""Verifier: several issuers, routing by the unverified iss, no network for strangers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from bearerguard import (
    AccessClaims,
    AlgorithmNotAllowed,
    ConfigurationError,
    ExpiredToken,
    InvalidSignature,
    Issuer,
    IssuerMismatch,
    KeySetUnavailable,
    MalformedToken,
    PublicJWK,
    RequestsFetcher,
    TokenTooLarge,
    UnknownKey,
    Validator,
)
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from bearerguard.verifier import Verifier
from tests.support.jwks_server import JWKSServer, Reply
from tests.support.keys import AUDIENCE, bogus_token, jwks, mint, private_key

V = Validator(aud=AUDIENCE)


@pytest.fixture
def two(server: JWKSServer, fetcher: RequestsFetcher) -> Callable[[], Verifier[AccessClaims]]:
    """Issuers {base}/a (key ka) and {base}/b (key kb), lazily fetched from one server."""
    server.set_json("/a/jwks", jwks("ka"))
    server.set_json("/b/jwks", jwks("kb"))

    def make() -> Verifier[AccessClaims]:
        return Verifier(
            [
                Issuer.from_jwks_url(
                    server.url("/a/jwks"),
                    issuer=server.url("/a"),
                    validator=V,
                    fetcher=fetcher,
                    lazy=True,
                ),
                Issuer.from_jwks_url(
                    server.url("/b/jwks"),
                    issuer=server.url("/b"),
                    validator=V,
                    fetcher=fetcher,
                    lazy=True,
                ),
            ]
        )

    return make


def test_token_is_verified_with_its_own_issuers_keys_only(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]
) -> None:
    claims = two().verify(mint("kb", iss=server.url("/b")))
    assert (claims.iss, claims.sub) == (server.url("/b"), "user-1")
    assert [r.path for r in server.requests] == ["/b/jwks"]


def test_averify_is_the_async_twin(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]
) -> None:
    claims = asyncio.run(two().averify(mint("ka", iss=server.url("/a"))))
    assert claims.iss == server.url("/a")
    assert [r.path for r in server.requests] == ["/a/jwks"]


@pytest.mark.parametrize(
    "iss",
    [
        pytest.param("https://stranger.example.com", id="unknown-issuer"),
        pytest.param("{base}/a/", id="trailing-slash"),
        pytest.param("{base}/A", id="case-differs"),
        pytest.param("{base}", id="prefix"),
        pytest.param(None, id="missing-iss"),
        pytest.param(["{base}/a"], id="iss-array"),
        pytest.param(7, id="iss-number"),
    ],
)
def test_untrusted_iss_is_rejected_without_any_request(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]], iss: object
) -> None:
    if isinstance(iss, str):
        token = mint("ka", iss=iss.format(base=server.base_url))  # correctly signed
    elif isinstance(iss, list):
        token = bogus_token("ka", iss=[i.format(base=server.base_url) for i in iss])
    else:
        token = bogus_token("ka") if iss is None else bogus_token("ka", iss=iss)
    with pytest.raises(IssuerMismatch) as caught:
        two().verify(token)
    assert (caught.value.code, caught.value.status) == ("invalid_token", 401)
    assert server.count() == 0


def test_untrusted_iss_is_rejected_without_any_request_async(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]
) -> None:
    with pytest.raises(IssuerMismatch):
        asyncio.run(two().averify(mint("ka", iss="https://stranger.example.com")))
    assert server.count() == 0


def test_malformed_token_is_rejected_without_any_request(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]
) -> None:
    with pytest.raises(MalformedToken):
        two().verify("not.a-token")
    assert server.count() == 0


def test_token_claiming_a_but_signed_by_b_has_no_key_in_a(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]
) -> None:
    """iss picks the key set, never the key: b's kid is unknown in a's set."""
    with pytest.raises(UnknownKey):
        two().verify(mint("kb", iss=server.url("/a")))
    assert [r.path for r in server.requests] == ["/a/jwks"]


def test_token_claiming_a_with_as_kid_but_bs_signature_fails(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]
) -> None:
    with pytest.raises(InvalidSignature):
        two().verify(mint("kb", kid="ka", iss=server.url("/a")))


def test_expired_token_raises_expired_token(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]
) -> None:
    now = int(time.time())
    token = mint("ka", iss=server.url("/a"), iat=now - 7200, exp=now - 3600)
    with pytest.raises(ExpiredToken):
        two().verify(token)


def test_now_is_honoured(server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]) -> None:
    token = mint("ka", iss=server.url("/a"), iat=1_000_000, exp=1_003_600)
    assert two().verify(token, now=1_001_000).exp == 1_003_600


def test_unreachable_keys_raise_key_set_unavailable(
    server: JWKSServer, fetcher: RequestsFetcher
) -> None:
    server.set("/jwks", Reply(status=503))
    verifier = Verifier(
        [
            Issuer(
                server.base_url,
                RemoteKeySet(server.url("/jwks"), fetcher=fetcher),
                V,
            )
        ]
    )
    with pytest.raises(KeySetUnavailable) as caught:
        verifier.verify(mint("k1", iss=server.base_url))
    assert caught.value.status == 503
    assert server.count() == 1


@dataclass(frozen=True, slots=True, kw_only=True)
class AppClaims(AccessClaims):
    email: str | None = None
    tenant: tuple[str, ...] = field(default=())


def test_claims_type_is_returned(server: JWKSServer, fetcher: RequestsFetcher) -> None:
    server.set_json("/jwks", jwks("k1"))
    issuer = Issuer(server.base_url, RemoteKeySet(server.url("/jwks"), fetcher=fetcher), V)
    verifier = Verifier([issuer], AppClaims)
    claims = verifier.verify(mint("k1", iss=server.base_url, email="a@example.com"))
    assert type(claims) is AppClaims
    assert claims.email == "a@example.com"


def _static(url: str, key: str, **kwargs: Any) -> Issuer:
    jwk = PublicJWK.from_key(private_key(key).public_key(), kid=key)
    return Issuer(url, [jwk], V, **kwargs)


def test_issuer_algorithm_allow_list_applies_after_routing() -> None:
    verifier = Verifier(
        [
            _static("https://a.example.com", "ka", algorithms=["PS256"]),
            _static("https://b.example.com", "kb"),
        ]
    )
    with pytest.raises(AlgorithmNotAllowed):
        verifier.verify(mint("ka", iss="https://a.example.com"))
    assert verifier.verify(mint("kb", iss="https://b.example.com")).iss == "https://b.example.com"


def test_issuer_size_cap_applies_after_routing() -> None:
    verifier = Verifier(
        [
            _static("https://a.example.com", "ka", max_token_size=600),
            _static("https://b.example.com", "kb"),
        ]
    )
    with pytest.raises(TokenTooLarge):
        verifier.verify(mint("ka", iss="https://a.example.com", pad="x" * 300))
    assert verifier.verify(mint("kb", iss="https://b.example.com", pad="x" * 300))


def test_token_over_every_cap_is_rejected_before_routing() -> None:
    verifier = Verifier([_static("https://a.example.com", "ka")])
    with pytest.raises(TokenTooLarge):
        verifier.verify(mint("ka", iss="https://a.example.com", pad="x" * 20_000))


def test_verifier_never_fetches_for_a_flood_of_strangers(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]
) -> None:
    verifier = two()
    for i in range(1000):
        with pytest.raises(IssuerMismatch):
            verifier.verify(bogus_token(f"k{i}", iss=f"https://evil{i}.example.com"))
    assert server.count() == 0


def test_accessors() -> None:
    a, b = _static("https://a.example.com", "ka"), _static("https://b.example.com", "kb")
    verifier = Verifier([a, b])
    assert (verifier.issuers, verifier.claims_type) == ((a, b), AccessClaims)
    assert repr(verifier) == "Verifier(['https://a.example.com', 'https://b.example.com'])"


def _no_validator() -> Issuer:
    jwk = PublicJWK.from_key(private_key("ka").public_key(), kid="ka")
    return Issuer("https://a.example.com", [jwk])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda: Verifier([]), "at least one", id="no-issuers"),
        pytest.param(
            lambda: Verifier([_static("https://a.example.com", "ka")] * 2),
            "configured twice",
            id="duplicate-url",
        ),
        pytest.param(
            lambda: Verifier(
                [_static("https://a.example.com", "ka"), _static("https://a.example.com", "kb")]
            ),
            "configured twice",
            id="duplicate-url-different-keys",
        ),
        pytest.param(lambda: Verifier([_no_validator()]), "no validator", id="missing-validator"),
        # The last three are ill-typed on purpose: their refusal at run time is the test.
        pytest.param(
            lambda: Verifier(["https://a.example.com"]),  # type: ignore[list-item]
            "Issuer objects",
            id="str",
        ),
        pytest.param(
            lambda: Verifier(_static("https://a.example.com", "ka")),  # type: ignore[call-overload]
            "list of Issuer",
            id="single-issuer-not-a-list",
        ),
        pytest.param(
            lambda: Verifier([_static("https://a.example.com", "ka")], dict),  # type: ignore[type-var]
            "StandardClaims",
            id="claims-type-not-claims",
        ),
    ],
)
def test_bad_configuration_is_refused_at_construction(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_construction_makes_no_request(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]
) -> None:
    two()
    assert server.count() == 0


def test_one_cold_fetch_per_issuer_for_500_concurrent_tasks(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]
) -> None:
    server.set_json("/a/jwks", jwks("ka"), delay=0.2)
    server.set_json("/b/jwks", jwks("kb"), delay=0.2)
    verifier = two()
    tokens = [mint("ka", iss=server.url("/a")), mint("kb", iss=server.url("/b"))]

    async def main() -> None:
        await asyncio.gather(*(verifier.averify(tokens[i % 2]) for i in range(500)))

    asyncio.run(main())
    assert (server.count("/a/jwks"), server.count("/b/jwks")) == (1, 1)


def test_default_policy_key_sets_are_independent_per_issuer(
    server: JWKSServer, two: Callable[[], Verifier[AccessClaims]]
) -> None:
    verifier = two()
    a, b = (i.keys for i in verifier.issuers)
    assert isinstance(a, RemoteKeySet)
    assert isinstance(b, RemoteKeySet)
    assert a is not b
    assert a.policy == b.policy == KeySetPolicy()
