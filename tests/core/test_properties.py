"""Property tests: on arbitrary input the parsers raise only bearerguard's own errors.

A parser that lets a ``TypeError``, ``KeyError``, ``UnicodeError`` or
``RecursionError`` escape turns a hostile token into a 500 instead of a 401;
these properties pin that every failure is an ``InvalidToken`` for tokens and
an ``InvalidKey`` for key sets.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bearerguard import AccessClaims, InvalidKey, Issuer, PublicJWK, parse_jwks
from bearerguard._errors import InvalidClaims, InvalidToken
from bearerguard._jws import decode

from .conftest import Keys
from .helpers import NOW, b64, make_token

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)

ALGS = ["RS256", "PS512", "ES256", "ES512", "EdDSA", "Ed448", "none", "HS256", "None", ""]
headers = st.fixed_dictionaries(
    {"alg": st.sampled_from(ALGS) | json_values},
    optional={
        "kid": st.sampled_from(["rsa", "p256", "ed25519"]) | json_values,
        "typ": st.sampled_from(["at+jwt", "JWT", "dpop+jwt"]) | json_values,
        "crit": json_values,
        "b64": json_values,
        "jwk": json_values,
    },
)
CLAIM_NAMES = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "azp", "scope", "scp", "amr"]
payloads = st.dictionaries(
    st.sampled_from(CLAIM_NAMES) | st.text(max_size=6), json_values, max_size=8
)
segments = st.binary(max_size=120).map(b64)
token_alphabet = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n\x00é",
    max_size=200,
)


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.slow
@SETTINGS
@given(token=st.text(max_size=300) | token_alphabet)
def test_decode_arbitrary_text_raises_only_invalid_token(token: str) -> None:
    """Any string: decode succeeds or raises an InvalidToken."""
    with contextlib.suppress(InvalidToken):
        decode(token)


@SETTINGS
@given(h=segments, p=segments, s=segments)
def test_decode_arbitrary_segments_raises_only_invalid_token(h: str, p: str, s: str) -> None:
    """Three arbitrary base64url segments: decode succeeds or raises an InvalidToken."""
    with contextlib.suppress(InvalidToken):
        decode(f"{h}.{p}.{s}")


@SETTINGS
@given(header=headers | json_values, payload=payloads | json_values, sig=st.binary(max_size=140))
def test_verify_arbitrary_json_token_raises_only_invalid_token(
    issuer: Issuer, header: Any, payload: Any, sig: bytes
) -> None:
    """Arbitrary JSON header and payload, unsigned: the full pipeline raises only InvalidToken."""
    token = make_token(_dump(header), _dump(payload), signature=sig or b"\x00")
    with contextlib.suppress(InvalidToken):
        issuer.verify_and_validate(token, now=NOW)


@SETTINGS
@given(payload=payloads)
def test_signed_arbitrary_claims_raise_only_invalid_token(
    issuer: Issuer, keys: Keys, payload: dict[str, Any]
) -> None:
    """Correctly signed tokens with arbitrary claims: claims typing never crashes."""
    payload = {"iss": "https://issuer.example.com", **payload}
    token = make_token({"alg": "ES256", "kid": "p256"}, _dump(payload), keys.p256)
    with contextlib.suppress(InvalidToken):
        issuer.verify_and_validate(token, now=NOW)


@SETTINGS
@given(payload=st.dictionaries(st.text(max_size=10), json_values, max_size=10))
def test_access_claims_from_arbitrary_payload_raise_only_invalid_claims(
    payload: dict[str, Any],
) -> None:
    """AccessClaims.from_payload on any JSON object gives claims or InvalidClaims."""
    with contextlib.suppress(InvalidClaims):
        AccessClaims.from_payload(payload)


b64_members = st.binary(max_size=80).map(b64) | st.binary(min_size=255, max_size=258).map(b64)
jwk_like = st.fixed_dictionaries(
    {"kty": st.sampled_from(["RSA", "EC", "OKP", "oct", "rsa"]) | json_values},
    optional={
        "n": b64_members | json_values,
        "e": st.sampled_from(["AQAB", "Aw", "AQ", "AA", ""]) | b64_members,
        "crv": st.sampled_from(["P-256", "P-384", "P-521", "Ed25519", "Ed448", "X25519"])
        | json_values,
        "x": st.binary(min_size=31, max_size=58).map(b64) | json_values,
        "y": st.binary(min_size=31, max_size=67).map(b64) | json_values,
        "kid": json_values,
        "use": st.sampled_from(["sig", "enc"]) | json_values,
        "alg": st.sampled_from(["RS256", "ES256", "EdDSA", "HS256"]) | json_values,
        "key_ops": json_values,
        "d": b64_members,
    },
)


@SETTINGS
@given(jwk=jwk_like | json_values)
def test_public_jwk_from_arbitrary_dict_raises_only_invalid_key(jwk: Any) -> None:
    """PublicJWK.from_dict on anything: a key or InvalidKey."""
    try:
        key = PublicJWK.from_dict(jwk)
    except InvalidKey:
        return
    assert key.kty in {"RSA", "EC", "OKP"}


@SETTINGS
@given(entries=st.lists(jwk_like | json_values, max_size=5))
def test_parse_jwks_with_arbitrary_entries_skips_bad_ones(entries: list[Any]) -> None:
    """A well-formed document never raises: each bad entry is skipped."""
    keys = parse_jwks({"keys": entries})
    assert all(isinstance(k, PublicJWK) for k in keys)
    assert len(keys) <= len(entries)


@SETTINGS
@given(document=st.text(max_size=200) | st.binary(max_size=200) | json_values.map(json.dumps))
def test_parse_jwks_on_arbitrary_text_raises_only_invalid_key(document: str | bytes) -> None:
    """JSON text or bytes of any shape: a key list or InvalidKey."""
    with contextlib.suppress(InvalidKey):
        parse_jwks(document)


@SETTINGS
@given(document=json_values)
def test_parse_jwks_on_arbitrary_json_value_raises_only_invalid_key(document: Any) -> None:
    """Any decoded JSON value as the document: a key list or InvalidKey."""
    with contextlib.suppress(InvalidKey):
        parse_jwks(document)
