"""Issuer's two-step API (decode, then verify) and its static key source.

``Issuer.decode`` parses a token under the issuer's size cap and algorithm
allow-list; ``verify_decoded`` (the issuer's own keys) and ``check_signature``
(keys the caller looked up) finish the job. Each step refuses exactly what
``unsafe_verify`` refuses, with the same error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from bearerguard import (
    AlgorithmNotAllowed,
    BearerGuardError,
    ConfigurationError,
    InvalidSignature,
    Issuer,
    IssuerMismatch,
    PublicJWK,
    StaticKeySet,
    TokenTooLarge,
    UnknownKey,
)

from .conftest import Keys
from .helpers import ISSUER, access_payload, expect_error, make_token


def es256(keys: Keys, **payload: Any) -> str:
    return make_token({"alg": "ES256", "kid": "p256"}, access_payload(**payload), keys.p256)


def test_decode_then_verify_decoded_gives_what_unsafe_verify_gives(
    issuer: Issuer, keys: Keys
) -> None:
    """decode + verify_decoded: the same verified JWS as unsafe_verify, by the key of the kid."""
    token = es256(keys)
    decoded = issuer.decode(token)
    assert (decoded.alg, decoded.kid, decoded.payload["iss"]) == ("ES256", "p256", ISSUER)
    jws = issuer.verify_decoded(decoded, len(token))
    assert jws.key.kid == "p256"
    assert (jws.header, jws.payload) == (decoded.header, decoded.payload)
    assert jws.payload == issuer.unsafe_verify(token).payload


def test_check_signature_uses_the_keys_it_is_given(issuer: Issuer, keys: Keys) -> None:
    """check_signature verifies with the caller's keys, not the issuer's key source."""
    decoded = issuer.decode(es256(keys))
    mine = PublicJWK.from_key(keys.p256.public_key(), kid="p256")
    assert issuer.check_signature(decoded, [mine]).key is mine
    with pytest.raises(UnknownKey):
        issuer.check_signature(decoded, [])


def _signed_by_the_attacker(keys: Keys) -> str:
    header = {"alg": "RS256", "kid": "rsa"}
    return make_token(header, access_payload(), keys.rsa_attacker)


@pytest.mark.parametrize(
    ("make", "options", "error"),
    [
        pytest.param(es256, {"algorithms": ["RS256"]}, AlgorithmNotAllowed, id="alg-not-allowed"),
        pytest.param(es256, {"max_token_size": 256}, TokenTooLarge, id="over-the-size-cap"),
        pytest.param(
            lambda keys: es256(keys, iss="https://other.example.com"),
            {},
            IssuerMismatch,
            id="other-iss",
        ),
        pytest.param(
            lambda keys: make_token({"alg": "ES256", "kid": "gone"}, access_payload(), keys.p256),
            {},
            UnknownKey,
            id="unknown-kid",
        ),
        pytest.param(_signed_by_the_attacker, {}, InvalidSignature, id="bad-signature"),
    ],
)
def test_the_two_steps_refuse_what_unsafe_verify_refuses(
    keys: Keys,
    make: Callable[[Keys], str],
    options: dict[str, Any],
    error: type[BearerGuardError],
) -> None:
    """decode then verify_decoded raises unsafe_verify's error, at the step that checks it."""
    issuer = Issuer(ISSUER, keys.jwks(), **options)
    token = make(keys)
    expect_error(lambda: issuer.unsafe_verify(token), error, token=token)
    expect_error(
        lambda: issuer.verify_decoded(issuer.decode(token), len(token)), error, token=token
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(lambda jwks: Issuer("", jwks), "issuer url", id="empty-url"),
        pytest.param(
            lambda jwks: Issuer(ISSUER, jwks, "api://orders"),  # type: ignore[arg-type]
            "validator must be a bearerguard.Validator",
            id="validator-not-a-Validator",
        ),
        pytest.param(
            lambda jwks: Issuer(ISSUER, jwks, algorithms=["HS256"]),
            "algorithms must be chosen from",
            id="hmac-algorithm",
        ),
        pytest.param(
            lambda jwks: Issuer(ISSUER, jwks, algorithms=[]),
            "algorithms must be chosen from",
            id="no-algorithm",
        ),
        pytest.param(
            lambda jwks: Issuer(ISSUER, jwks, max_token_size=255),
            "max_token_size must be an integer of at least 256",
            id="max-token-size-too-small",
        ),
        pytest.param(
            lambda jwks: Issuer(ISSUER, jwks, max_token_size=True),
            "max_token_size must be an integer of at least 256",
            id="max-token-size-bool",
        ),
        pytest.param(
            lambda jwks: Issuer.from_jwks_url(
                ISSUER + "/jwks",
                issuer=ISSUER,
                policy={"timeout": 1},  # type: ignore[arg-type]
                lazy=True,
            ),
            "policy must be a KeySetPolicy",
            id="policy-not-a-KeySetPolicy",
        ),
        pytest.param(
            lambda jwks: Issuer.from_oidc(ISSUER, lazy="yes"),  # type: ignore[arg-type]
            "lazy must be True or False",
            id="lazy-not-a-bool",
        ),
    ],
)
def test_bad_configuration_is_refused_at_construction(
    keys: Keys, build: Callable[[list[PublicJWK]], Issuer], message: str
) -> None:
    """Each wrong argument is a ConfigurationError saying what to fix, before any request."""
    with pytest.raises(ConfigurationError, match=message):
        build(keys.jwks())


# -- the static key source ----------------------------------------------------------------


def test_a_list_of_keys_becomes_a_static_key_set(keys: Keys) -> None:
    """An Issuer given a list of keys holds them as a StaticKeySet, sync and async alike."""
    jwks = keys.jwks()
    source = Issuer(ISSUER, jwks).keys
    assert isinstance(source, StaticKeySet)
    assert len(source) == len(jwks)
    assert source.keys == tuple(jwks)
    assert [k.kid for k in source.get_keys("p256")] == ["p256"]
    assert asyncio.run(source.aget_keys("p256")) == source.get_keys("p256")
    assert asyncio.run(source.aget_keys(None)) == tuple(jwks)
    assert asyncio.run(source.aget_keys("gone")) == ()


def test_a_static_key_set_holds_only_public_jwks(keys: Keys) -> None:
    """Anything but PublicJWK objects is a configuration error."""
    with pytest.raises(ConfigurationError, match="PublicJWK"):
        StaticKeySet([keys.p256.public_key()])  # type: ignore[list-item]
