"""Property-based fuzzing of the parsers: tokens, JWKS documents, discovery, ``Authorization``.

The property throughout: on hostile input, the only exceptions that escape
are bearerguard's own (the ones adapters turn into 400/401/503), and nothing
hostile is ever accepted. ``tests/core/test_properties.py`` fuzzes the pure
parsers on arbitrary input; these go through the verifier with real keys,
through the key set's fetch path, and compare the token decoder's fast path
with its strict one.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st

from bearerguard import FetchResponse, fetch_jwks_from_oauth2, fetch_jwks_from_oidc
from bearerguard import _jws as jws
from bearerguard._encoding import b64url_encode, json_object, object_fast
from bearerguard._errors import (
    BearerGuardError,
    InvalidRequest,
    InvalidToken,
    KeySetUnavailable,
    MalformedToken,
    MissingToken,
    TokenTooLarge,
)
from bearerguard._http import bearer_token
from bearerguard.keyset import KeySetPolicy, RemoteKeySet
from tests.support.clock import FakeClock

from .catalogue import DROP
from .conftest import World
from .strategies import (
    assembled,
    json_texts,
    json_values,
    jwk_variants,
    mutated,
    plausible_tokens,
)
from .support import keyring, octets

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- tokens ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_tokens(world: World) -> list[str]:
    """One valid token per algorithm family."""
    f = world.forge
    return [
        f.issuer.mint(sub="user-42"),
        f.signed_with("rsa-ps256", "PS256"),
        f.signed_with("ec-p256", "ES256"),
        f.signed_with("ed25519", "EdDSA"),
    ]


def _pieces(token: str) -> list[str]:
    return [p for p in (token, *token.split(".")) if len(p) > 12]


@FUZZ
@given(data=st.data())
def test_a_mutated_token_is_refused_with_an_invalid_token_error(
    world: World, base_tokens: list[str], data: st.DataObject
) -> None:
    """Edits anywhere in a valid token: refused (401 family), never crash, never accepted."""
    original = data.draw(st.sampled_from(base_tokens))
    token = data.draw(mutated(original))
    assume(token != original)
    with pytest.raises(InvalidToken) as info:
        world.profiles["default"].verifier.verify(token)
    text = f"{info.value} {info.value.description}"
    assert not [piece for piece in _pieces(token) if piece in text]


_HEADER_NAMES = [
    "alg",
    "kid",
    "typ",
    "crit",
    "b64",
    "jku",
    "jwk",
    "x5u",
    "x5c",
    "cty",
    "zip",
    "enc",
]


@FUZZ
@given(extra=st.dictionaries(st.sampled_from(_HEADER_NAMES), json_values, max_size=4))
def test_header_members_can_only_refuse_a_correctly_signed_token(
    world: World, extra: dict[str, Any]
) -> None:
    """A token signed RS256 by a trusted key, header members added at will: accepted only when
    the header is exactly what that signature and key allow (jku/jwk/x5u/x5c change nothing)."""
    f = world.forge
    header = {**f.header(), **extra}
    token = f.token(f.keys.rsa, header=header, alg="RS256")
    try:
        claims = world.profiles["default"].verifier.verify(token)
    except InvalidToken as error:
        event(f"refused: {type(error).__name__}")
        return
    event("accepted")
    assert claims.sub == "user-42"
    assert header["alg"] == "RS256"
    assert header.get("kid") in ("rsa", None)
    assert "crit" not in header
    assert header.get("b64", True) is True
    assert header.get("typ") is None or str(header["typ"]).lower() in (
        "at+jwt",
        "application/at+jwt",
        "jwt",
        "application/jwt",
    )


def _outcome(call: Any) -> tuple[Any, ...]:
    try:
        header, payload, signing_input, signature, alg, kid = call()
    except BearerGuardError as error:
        return ("error", type(error), error.description)
    return ("ok", dict(header), payload, signing_input, signature, alg, kid)


@FUZZ
@given(data=st.data())
def test_fast_and_strict_token_parsers_agree(base_tokens: list[str], data: st.DataObject) -> None:
    """The decoder's fast path returns what the strict path returns, or the same error.

    A parser differential is a bypass waiting to happen (RFC 8725 §2.6): the
    fast path must never accept what the strict one refuses, nor read it
    differently.
    """
    token = data.draw(
        st.one_of(
            st.sampled_from(base_tokens).flatmap(mutated),
            plausible_tokens(),
            plausible_tokens(),
            assembled(),
            st.text(alphabet="eyJAB-_.=+/ \x00", max_size=60),
        )
    )
    fast = _outcome(lambda: jws.parse(token))
    strict = _outcome(lambda: jws._parse_strict(token))
    event(f"{strict[0]}: {strict[1].__name__ if strict[0] == 'error' else 'parsed'}")
    assert fast == strict


# -- RFC 7493 §2.1: strings of escaped UTF-16 code units ------------------------------------

# Each piece: ("u", unit) is written as a \\uXXXX escape, ("\\", 0x5C) as an escaped
# backslash, ("", unit) as the character itself; so "\\\\ud800" (a backslash, then
# the letters u, d, 8, 0, 0) arises as well as a real escape.
_PIECES = st.lists(
    st.one_of(
        st.tuples(st.just("u"), st.integers(0xD800, 0xDFFF)),  # surrogates, paired by chance
        st.tuples(st.just("u"), st.sampled_from([0xD83D, 0xDE00, 0xDBFF, 0xDC00])),
        st.tuples(st.just("u"), st.integers(0, 0xFFFF)),
        st.tuples(st.just("\\"), st.just(0x5C)),
        st.tuples(st.just(""), st.sampled_from([ord(c) for c in "ud8Dc0"])),
    ),
    max_size=8,
)


def _spelled(pieces: list[tuple[str, int]], upper: bool) -> str:
    escape = "\\u%04X" if upper else "\\u%04x"
    return "".join(
        escape % unit if kind == "u" else "\\\\" if kind == "\\" else chr(unit)
        for kind, unit in pieces
    )


# Where the escaped string goes in the object, and how to read it back.
_PLACES: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
    "value": ('"s":"{}"', lambda obj: obj["s"]),
    "name": ('"{}x":1', lambda obj: next(name for name in obj if name != "iss")[:-1]),
    "nested": ('"o":{{"a":["{}"]}}', lambda obj: obj["o"]["a"][0]),
}


@FUZZ
@given(pieces=_PIECES, place=st.sampled_from(sorted(_PLACES)), upper=st.booleans())
@example(pieces=[("u", 0xD83D), ("u", 0xDE00)], place="value", upper=False)
@example(pieces=[("u", 0xD800)], place="name", upper=True)
@example(pieces=[("u", 0xDE00), ("u", 0xD83D)], place="nested", upper=False)
@example(pieces=[("\\", 0x5C), *(("", ord(c)) for c in "ud800")], place="value", upper=False)
@example(
    pieces=[("u", 0xD800), ("\\", 0x5C), *(("", ord(c)) for c in "udc00")],
    place="value",
    upper=False,
)
def test_escaped_code_units_are_accepted_exactly_when_they_are_utf16_text(
    pieces: list[tuple[str, int]], place: str, upper: bool
) -> None:
    """A JSON string of escapes and letters parses iff its code units are well-formed UTF-16.

    Python's UTF-16 codec is the oracle. The decoder's fast and strict paths,
    for a bare JSON object and for a token carrying it, agree with it and with
    each other.
    """
    units = [unit for _, unit in pieces]
    escaped = _spelled(pieces, upper)
    template, read = _PLACES[place]
    data = ('{"iss":"x",' + template.format(escaped) + "}").encode()
    try:
        text: str | None = b"".join(u.to_bytes(2, "big") for u in units).decode("utf-16-be")
    except UnicodeDecodeError:
        text = None
    token = ".".join(b64url_encode(part) for part in (b'{"alg":"ES256"}', data, b"sig"))
    fast, strict = _outcome(lambda: jws.parse(token)), _outcome(lambda: jws._parse_strict(token))
    assert fast == strict
    if text is None:
        event("refused")
        assert object_fast(data) is None
        with pytest.raises(MalformedToken, match="unpaired surrogate"):
            json_object(data, "token payload")
        assert strict[:2] == ("error", MalformedToken)
    else:
        event("accepted")
        assert read(json_object(data)) == text
        assert object_fast(data) == json_object(data)
        assert strict[0] == "ok"


# -- JWKS and discovery through the fetch path -----------------------------------------------


class ScriptedFetcher:
    """A fetcher that answers from a script (no network at all) and records the URLs asked."""

    def __init__(self, *responses: FetchResponse) -> None:
        self._responses = list(responses)
        self.urls: list[str] = []

    def __call__(
        self, url: str, *, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> FetchResponse:
        self.urls.append(url)
        if not self._responses:
            return FetchResponse(404, {}, b"")
        return self._responses.pop(0)


def _good_jwks() -> list[dict[str, str]]:
    return keyring().trusted_jwks()


_HEADER_VALUES = st.one_of(
    st.sampled_from(["max-age=300", "no-store", "max-age=-1", "max-age=99999999999", '"x"']),
    st.text(max_size=20),
)
headers = st.dictionaries(
    st.sampled_from(["cache-control", "etag", "age", "content-type", "location"]),
    _HEADER_VALUES,
    max_size=3,
)
_jwks_documents = st.lists(jwk_variants(_good_jwks()), max_size=4).map(
    lambda keys: octets({"keys": keys})
)
jwks_bodies = st.one_of(
    _jwks_documents,
    _jwks_documents,
    _jwks_documents,
    json_values.map(lambda v: json.dumps(v).encode()),
    json_texts,
)
responses = st.builds(
    FetchResponse,
    status=st.one_of(
        st.just(200),
        st.just(200),
        st.sampled_from([304, 302, 404, 429, 500]),
        st.integers(100, 599),
    ),
    headers=headers,
    body=jwks_bodies,
)
JWKS_URL = "http://127.0.0.1:9/jwks.json"  # never contacted: the fetcher is scripted


@FUZZ
@given(response=responses)
def test_any_jwks_response_gives_keys_or_a_fetch_error(response: FetchResponse) -> None:
    """Whatever the JWKS endpoint answers: usable keys, or KeySetUnavailable (503); no crash."""
    keyset = RemoteKeySet(JWKS_URL, fetcher=ScriptedFetcher(response), clock=FakeClock())
    try:
        keyset.refresh()
    except KeySetUnavailable:
        event("refused")
        assert keyset.status().state == "empty"
        return
    event("keys")
    keys = keyset.get_keys(None)
    assert keys
    assert response.status == 200


@pytest.mark.slow
@FUZZ
@given(response=responses)
def test_a_bad_refresh_never_empties_the_key_set(response: FetchResponse) -> None:
    """After one good fetch, any second answer leaves usable keys (old or new)."""
    good = FetchResponse(200, {"etag": '"v1"'}, octets({"keys": _good_jwks()}))
    clock = FakeClock()
    keyset = RemoteKeySet(JWKS_URL, fetcher=ScriptedFetcher(good, response), clock=clock)
    keyset.refresh()
    clock.advance(10_000)
    with contextlib.suppress(KeySetUnavailable):
        keyset.refresh()
    assert len(keyset.get_keys(None)) >= 1
    assert keyset.status().state in ("fresh", "stale")


def _metadata_strategy() -> st.SearchStrategy[dict[str, Any]]:
    issuer = st.sampled_from(["<issuer>", "<issuer>/", "https://login.attacker.invalid", DROP])
    uris = st.one_of(
        st.sampled_from(
            [
                "http://127.0.0.1:9/jwks.json",
                "https://keys.example.invalid/jwks.json",
                "http://keys.example.invalid/jwks.json",
                "http://user:pw@127.0.0.1:9/jwks",
                "http://127.0.0.1:9/jwks#frag",
                "ftp://127.0.0.1/jwks",
                "/relative/jwks.json",
                "http://[::1]:9/jwks",
                "http://127.0.0.1:99999/jwks",
            ]
        ),
        st.text(max_size=30),
        json_values,
    )
    return st.fixed_dictionaries(
        {"issuer": issuer, "jwks_uri": uris}, optional={"extra": json_values}
    )


def _metadata_response(document: dict[str, Any], issuer: str) -> FetchResponse:
    replaced = {
        k: (v.replace("<issuer>", issuer) if isinstance(v, str) else v)
        for k, v in document.items()
        if v is not DROP
    }
    return FetchResponse(200, {}, json.dumps(replaced).encode())


ISSUER = "http://127.0.0.1:9"


@FUZZ
@given(document=_metadata_strategy(), jwks=responses)
def test_any_discovery_document_gives_keys_or_a_discovery_error(
    document: dict[str, Any], jwks: FetchResponse
) -> None:
    """The key set's lazy discovery: the exact issuer and a checked jwks_uri, or a 503 error."""
    fetcher = ScriptedFetcher(_metadata_response(document, ISSUER), jwks)
    keyset = RemoteKeySet.from_oidc(
        ISSUER, fetcher=fetcher, clock=FakeClock(), policy=KeySetPolicy()
    )
    try:
        keyset.refresh()
    except KeySetUnavailable:
        event("refused")
        return
    event("keys")
    assert document["issuer"] == "<issuer>"
    assert fetcher.urls[1] == document["jwks_uri"]


_BAD_PORT = {"issuer": "<issuer>", "jwks_uri": "http://127.0.0.1:x/jwks.json"}
_BAD_IPV6 = {"issuer": "<issuer>", "jwks_uri": "http://[::1/jwks.json"}


@FUZZ
@example(document=_BAD_IPV6, jwks=FetchResponse(200, {}, b"{}"), oauth2=False)
@example(document=_BAD_PORT, jwks=FetchResponse(500, {}, b""), oauth2=True)
@given(document=_metadata_strategy(), jwks=responses, oauth2=st.booleans())
def test_one_shot_discovery_raises_only_bearerguard_errors(
    document: dict[str, Any], jwks: FetchResponse, oauth2: bool
) -> None:
    """fetch_jwks_from_oidc/oauth2 (the discovery functions) on any metadata: keys or our error.

    The examples are the inputs that once escaped as ValueError from urllib.parse.
    """
    fetcher = ScriptedFetcher(_metadata_response(document, ISSUER), jwks)
    discover = fetch_jwks_from_oauth2 if oauth2 else fetch_jwks_from_oidc
    try:
        result = discover(ISSUER, fetcher=fetcher)
    except BearerGuardError:
        return
    assert result.issuer == ISSUER
    assert result.keys


# -- the Authorization header ----------------------------------------------------------------

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_credentials = st.tuples(
    st.sampled_from(["Bearer", "bearer", "BeArEr"]),
    st.sampled_from([" ", "  ", " \t"]),
    st.from_regex(r"[A-Za-z0-9\-._~+/]{1,40}={0,2}", fullmatch=True),
    st.sampled_from(["", " ", "\t", " x", ","]),
).map("".join)
_header_text = st.one_of(
    _credentials,
    _credentials,
    st.text(max_size=40),
    st.tuples(
        st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", "DPoP", "", "Bearer,"]),
        st.sampled_from([" ", "  ", "\t", "", ", "]),
        st.text(alphabet="abcXYZ019-._~+/=, \t\u00e9", max_size=30),
    ).map("".join),
)
_header_values = st.one_of(
    st.none(),
    _header_text,
    _header_text.map(lambda s: s.encode("utf-8")),
    st.binary(max_size=40),
    st.lists(st.one_of(_header_text, st.binary(max_size=20)), max_size=3),
)


@FUZZ
@given(value=_header_values, other=st.booleans(), max_size=st.sampled_from([16, 64, 16384]))
def test_authorization_header_gives_a_b64token_or_a_request_error(
    value: Any, other: bool, max_size: int
) -> None:
    """Any header value(s): the b64token it carries, or a MissingToken/InvalidRequest refusal."""
    try:
        token = bearer_token(value, other_credentials=other, max_size=max_size)
    except (MissingToken, InvalidRequest, TokenTooLarge) as error:
        event(type(error).__name__)
        return
    event("token")
    assert _B64TOKEN.fullmatch(token)
    assert not other
    raw = value[0] if isinstance(value, list) else value
    assert token in (raw.decode("ascii") if isinstance(raw, bytes) else raw)


@FUZZ
@given(values=headers)
def test_any_cache_headers_give_a_lifetime_within_the_policy_bounds(values: dict[str, str]) -> None:
    policy = KeySetPolicy()
    assert policy.min_ttl <= policy.lifetime(values) <= policy.max_ttl
