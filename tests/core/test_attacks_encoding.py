"""Attacks on the token's encoding: base64url, JSON, structure and size.

Each lax spelling below decodes, under a lenient parser, to the same bytes as
the genuine token (or to a parser-dependent value), which is how signature
checks and claim checks come to disagree. bearerguard accepts one spelling only.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import pytest

from bearerguard import Issuer, MalformedToken, PublicJWK, TokenTooLarge, UnsupportedToken
from bearerguard._jws import DEFAULT_MAX_TOKEN_SIZE, decode
from bearerguard.verifier import Verifier

from .conftest import Keys
from .helpers import NOW, access_payload, b64, expect_error, load, make_token

A2 = load("rfc7515_a2_rs256.json")
TOKEN = A2["token"]
HEADER64, PAYLOAD64, SIG64 = TOKEN.split(".")


@pytest.fixture(scope="module")
def joe() -> Issuer:
    """The issuer of the RFC 7515 A.2 token, whose encoding the attacks below bend."""
    return Issuer("joe", [PublicJWK.from_dict(A2["jwk"])])


def _lax_b64(segment: str) -> bytes:
    """What a lenient decoder makes of a segment: any alphabet, padding, trailing bits."""
    cleaned = "".join(segment.split()).rstrip("=").replace("+", "-").replace("/", "_")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


def _bump_last(segment: str) -> str:
    """Set the unused low bits of the last character (same bytes for a lax decoder)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return segment[:-1] + alphabet[alphabet.index(segment[-1]) + 1]


def test_genuine_rfc7515_token_is_the_baseline(joe: Issuer) -> None:
    """The unmodified vector verifies, so every refusal below is due to its one change."""
    assert joe.unsafe_verify(TOKEN).payload["iss"] == "joe"


SAME_BYTES = [
    pytest.param(f"{HEADER64}.{PAYLOAD64}.{SIG64}==", id="signature-padded"),
    pytest.param(f"{HEADER64}.{PAYLOAD64}==.{SIG64}", id="payload-padded"),
    pytest.param(f"{HEADER64}.{PAYLOAD64}.{_bump_last(SIG64)}", id="signature-trailing-bits"),
    pytest.param(f"{HEADER64}.{_bump_last(PAYLOAD64)}.{SIG64}", id="payload-trailing-bits"),
    pytest.param(
        f"{HEADER64}.{PAYLOAD64}.{SIG64.replace('-', '+').replace('_', '/')}",
        id="signature-standard-alphabet",
    ),
    pytest.param(f" {TOKEN}", id="leading-space"),
    pytest.param(f"{TOKEN}\n", id="trailing-newline"),
    pytest.param(f"{TOKEN}\r\n", id="trailing-crlf"),
    pytest.param(f"{HEADER64}.{PAYLOAD64}.{SIG64[:64]}\r\n{SIG64[64:]}", id="line-wrapped"),
    pytest.param(f"{HEADER64}.{PAYLOAD64}.{SIG64[:10]} {SIG64[10:]}", id="inner-space"),
    pytest.param(f"{HEADER64}\t.{PAYLOAD64}.{SIG64}", id="tab"),
]


@pytest.mark.parametrize("token", SAME_BYTES)
def test_non_canonical_base64url_is_refused(joe: Issuer, token: str) -> None:
    """Padding, trailing bits, ``+``/``/`` and whitespace: a lax decoder sees the genuine bytes."""
    _, payload64, sig64 = token.split(".")
    assert _lax_b64(sig64) == _lax_b64(SIG64)
    assert _lax_b64(payload64) == _lax_b64(PAYLOAD64)
    expect_error(lambda: joe.unsafe_verify(token), MalformedToken, token=token)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(f"{HEADER64}.{PAYLOAD64}.{SIG64[:-1]}", id="length-1-mod-4"),
        pytest.param(f"{HEADER64}.{PAYLOAD64}.{SIG64[:-1]}\u0660", id="arabic-indic-digit"),
        pytest.param(f"{HEADER64}.{PAYLOAD64}.{SIG64[:-1]}\uff37", id="fullwidth-letter"),
        pytest.param(f"{HEADER64}.{PAYLOAD64}.{SIG64[:-1]}%", id="percent"),
        pytest.param(f"{HEADER64}.{PAYLOAD64}.{SIG64[:-1]}\x00", id="nul"),
    ],
)
def test_characters_outside_base64url_are_refused(joe: Issuer, token: str) -> None:
    """Only the 64 base64url characters, in a length a real encoding can have."""
    expect_error(lambda: joe.unsafe_verify(token), MalformedToken, token=token)


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(f"{HEADER64}.{PAYLOAD64}", id="two-segments"),
        pytest.param(f"{HEADER64}.{PAYLOAD64}.{SIG64}.{SIG64}", id="four-segments"),
        pytest.param(f"{TOKEN}.{SIG64}.{SIG64}.{SIG64}", id="six-segments"),
        pytest.param(f"{HEADER64}..{SIG64}", id="empty-payload"),
        pytest.param(f".{PAYLOAD64}.{SIG64}", id="empty-header"),
        pytest.param(f"{HEADER64}.{PAYLOAD64}.", id="empty-signature"),
        pytest.param("", id="empty-string"),
        pytest.param("..", id="only-dots"),
    ],
)
def test_token_that_is_not_three_segments_is_refused(joe: Issuer, token: str) -> None:
    """A compact JWS has exactly three non-empty segments."""
    expect_error(lambda: joe.unsafe_verify(token), MalformedToken, token=token)


@pytest.mark.parametrize("token", [pytest.param(TOKEN.encode(), id="bytes"), None, 42])
def test_token_that_is_not_a_str_is_refused(token: Any) -> None:
    """bytes or other objects are a caller error reported as a malformed token, not a crash."""
    expect_error(lambda: decode(token), MalformedToken)


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"alg": "RSA-OAEP", "enc": "A256GCM"}, id="RSA-OAEP"),
        pytest.param({"alg": "dir", "enc": "A128CBC-HS256"}, id="dir-empty-key-segment"),
    ],
)
def test_jwe_five_segments_is_unsupported(issuer: Issuer, header: dict[str, str]) -> None:
    """An encrypted token (JWE) is a clear "not supported", never parsed as a JWS."""
    encrypted_key = "" if header["alg"] == "dir" else b64(b"k" * 256)
    token = ".".join(
        [
            b64(json.dumps(header).encode()),
            encrypted_key,
            b64(b"iv" * 6),
            b64(b"ct" * 20),
            b64(b"t" * 16),
        ]
    )
    expect_error(lambda: issuer.unsafe_verify(token), UnsupportedToken, token=token)


# -- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b'{"alg":"none","alg":"RS256","kid":"rsa"}', id="alg-none-then-RS256"),
        pytest.param(b'{"alg":"RS256","kid":"rsa","alg":"none"}', id="alg-RS256-then-none"),
        pytest.param(b'{"alg":"RS256","kid":"rsa","kid":"other"}', id="kid-twice"),
        pytest.param(b'{"alg":"RS256","kid":"rsa","\\u0061lg":"none"}', id="escaped-name"),
    ],
)
def test_duplicate_json_member_names_in_header_are_refused(issuer: Issuer, header: bytes) -> None:
    """First-wins and last-wins parsers disagree on ``alg``; duplicates are refused outright."""
    token = make_token(header, access_payload(), signature=b"\x01" * 256)
    expect_error(lambda: issuer.unsafe_verify(token), MalformedToken, token=token)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            b'{"iss":"https://evil.example","iss":"https://issuer.example.com"}', id="iss-twice"
        ),
        pytest.param(b'{"sub":"user-42","sub":"admin"}', id="sub-twice"),
        pytest.param(b'{"aud":"api://orders","aud":"api://admin"}', id="aud-twice"),
        pytest.param(b'{"cnf":{"jkt":"a","jkt":"b"}}', id="nested-object"),
        pytest.param(b'{"scope":"a","sc\\u006fpe":"admin"}', id="escaped-name"),
    ],
)
def test_duplicate_json_member_names_in_payload_are_refused(
    issuer: Issuer, keys: Keys, payload: bytes
) -> None:
    """A correctly signed token whose claims repeat a name is refused (RFC 7515 §5.2)."""
    token = make_token({"alg": "RS256", "kid": "rsa"}, payload, keys.rsa)
    expect_error(lambda: issuer.unsafe_verify(token), MalformedToken, token=token)


NOT_OBJECTS = [
    pytest.param(b'["RS256"]', id="array"),
    pytest.param(b'"RS256"', id="string"),
    pytest.param(b"42", id="number"),
    pytest.param(b"null", id="null"),
    pytest.param(b"true", id="true"),
    pytest.param(b"", id="empty"),
    pytest.param(b"{}garbage", id="trailing-garbage"),
    pytest.param(b"{} {}", id="two-objects"),
    pytest.param(b"\xef\xbb\xbf{}", id="utf8-bom"),
    pytest.param(b"{'alg': 'RS256'}", id="python-literal"),
]


@pytest.mark.parametrize("header", NOT_OBJECTS)
def test_header_that_is_not_a_json_object_is_refused(
    issuer: Issuer, keys: Keys, header: bytes
) -> None:
    """The JOSE header must be one JSON object (RFC 7515 §4)."""
    token = make_token(header, access_payload(), signature=b"\x01" * 256)
    expect_error(lambda: issuer.unsafe_verify(token), MalformedToken, token=token)


@pytest.mark.parametrize("payload", NOT_OBJECTS)
def test_payload_that_is_not_a_json_object_is_refused(
    issuer: Issuer, keys: Keys, payload: bytes
) -> None:
    """A correctly signed JWT whose claims set is not a JSON object fails (RFC 7519 §7.2)."""
    token = make_token({"alg": "RS256", "kid": "rsa"}, payload, keys.rsa)
    expect_error(lambda: issuer.unsafe_verify(token), MalformedToken, token=token)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"iss":"https://issuer.example.com","exp":NaN}', id="NaN"),
        pytest.param(b'{"iss":"https://issuer.example.com","exp":Infinity}', id="Infinity"),
        pytest.param(b'{"iss":"https://issuer.example.com","exp":-Infinity}', id="-Infinity"),
        pytest.param(b'{"iss":"https://issuer.example.com","exp":1e999}', id="1e999-overflow"),
        pytest.param(b'{"iss":"https://issuer.example.com","exp":-1e999}', id="-1e999-overflow"),
        pytest.param(b'{"iss":"https://issuer.example.com","x":[NaN]}', id="nested-NaN"),
    ],
)
def test_nan_and_infinity_in_claims_are_refused(issuer: Issuer, keys: Keys, payload: bytes) -> None:
    """Non-finite numbers are not JSON (RFC 8259 §6): an exp of Infinity must not mean "never"."""
    token = make_token({"alg": "RS256", "kid": "rsa"}, payload, keys.rsa)
    expect_error(lambda: issuer.verify_and_validate(token, now=NOW), MalformedToken, token=token)


def test_nan_in_header_is_refused(issuer: Issuer) -> None:
    """The same rule holds in the header."""
    token = make_token(b'{"alg":"RS256","kid":"rsa","x":NaN}', access_payload(), signature=b"1")
    expect_error(lambda: issuer.unsafe_verify(token), MalformedToken, token=token)


@pytest.mark.parametrize(
    ("opening", "closing"),
    [pytest.param("[", "]", id="arrays"), pytest.param('{"a":', "}", id="objects")],
)
def test_deeply_nested_json_is_refused(keys: Keys, opening: str, closing: str) -> None:
    """JSON nested 50 000 deep is refused cleanly (no RecursionError escapes)."""
    depth = 50_000
    payload = '{"iss":"https://issuer.example.com","x":' + opening * depth + "1" + closing * depth
    payload += "}"
    token = make_token({"alg": "RS256", "kid": "rsa"}, payload.encode(), keys.rsa)
    issuer = Issuer("https://issuer.example.com", keys.jwks(), max_token_size=len(token))
    expect_error(lambda: issuer.unsafe_verify(token), MalformedToken, token=token)


def test_huge_integer_literal_is_refused(keys: Keys) -> None:
    """A 10 000-digit exp is refused at parse time, not converted at great cost."""
    payload = b'{"iss":"https://issuer.example.com","exp":' + b"9" * 10_000 + b"}"
    token = make_token({"alg": "RS256", "kid": "rsa"}, payload, keys.rsa)
    issuer = Issuer("https://issuer.example.com", keys.jwks(), max_token_size=len(token))
    expect_error(lambda: issuer.unsafe_verify(token), MalformedToken, token=token)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(b'{"iss":"\xff"}', id="invalid-byte"),
        pytest.param(b'{"iss":"\xc0\xaf"}', id="overlong-slash"),
        pytest.param(b'{"iss":"\xed\xa0\x80"}', id="encoded-surrogate"),
        pytest.param('{"iss":"é"}'.encode("latin-1"), id="latin-1"),
        pytest.param('{"iss":"x"}'.encode("utf-16"), id="utf-16"),
    ],
)
def test_json_that_is_not_utf8_is_refused(issuer: Issuer, keys: Keys, payload: bytes) -> None:
    """RFC 8259 §8.1: JSON exchanged between systems is UTF-8; anything else is refused."""
    token = make_token({"alg": "RS256", "kid": "rsa"}, payload, keys.rsa)
    expect_error(lambda: issuer.unsafe_verify(token), MalformedToken, token=token)


@pytest.mark.parametrize(
    ("header", "match"),
    [
        pytest.param({"alg": "RS256", "kid": 7}, "kid", id="kid-number"),
        pytest.param({"alg": "RS256", "kid": ["rsa"]}, "kid", id="kid-array"),
        pytest.param({"alg": "RS256", "kid": "k" * 257}, "kid", id="kid-too-long"),
        pytest.param({"alg": "RS256", "kid": "rsa", "typ": ["at+jwt"]}, "typ", id="typ-array"),
    ],
)
def test_header_member_of_the_wrong_type_is_refused(
    issuer: Issuer, header: dict[str, Any], match: str
) -> None:
    """kid and typ must be (short) strings; they are never coerced."""
    token = make_token(header, access_payload(), signature=b"\x01" * 256)
    expect_error(lambda: issuer.unsafe_verify(token), MalformedToken, token=token, match=match)


# -- RFC 7493 §2.1: every string is Unicode text ---------------------------------------------
# A lone surrogate escape decodes to a Python str that cannot be encoded to UTF-8: the first
# framework that writes the claim out (a Django username, a log line) raised and answered 500.


def _payload_with(fragment: str, **overrides: Any) -> bytes:
    """The default claims as compact JSON text, with *fragment* spliced in verbatim."""
    text = json.dumps(access_payload(**overrides), separators=(",", ":"))
    return (text[:-1] + "," + fragment + "}").encode()


def _header_with(fragment: str) -> bytes:
    return ('{"alg":"RS256","kid":"rsa",' + fragment + "}").encode()


LONE_SURROGATE_PAYLOADS = [
    pytest.param(_payload_with('"sub":"\\ud800"', sub=None), id="sub-lone-high"),
    pytest.param(_payload_with('"sub":"\\udc00"', sub=None), id="sub-lone-low"),
    pytest.param(_payload_with('"sub":"\\ud800x"', sub=None), id="sub-high-then-letter"),
    pytest.param(_payload_with('"sub":"\\ude00\\ud83d"', sub=None), id="sub-reversed-pair"),
    pytest.param(_payload_with('"ext":{"roles":["a","\\udbff"]}'), id="nested-value"),
    pytest.param(_payload_with('"\\ud800":1'), id="member-name"),
    pytest.param(_payload_with('"ext":{"\\udfff":true}'), id="nested-member-name"),
]


@pytest.mark.parametrize("spacing", [pytest.param(b"", id="fast"), pytest.param(b" ", id="strict")])
@pytest.mark.parametrize("payload", LONE_SURROGATE_PAYLOADS)
def test_signed_claims_with_an_unpaired_surrogate_are_malformed(
    issuer: Issuer, keys: Keys, payload: bytes, spacing: bytes
) -> None:
    """A correctly signed token whose claims hold a lone surrogate is refused while parsing.

    Leading whitespace sends the payload through the strict parser instead of
    the fast one; both refuse, with the same error.
    """
    token = make_token({"alg": "RS256", "kid": "rsa"}, spacing + payload, keys.rsa)
    verifier = Verifier([issuer])
    for call in (
        lambda: issuer.verify_and_validate(token, now=NOW),
        lambda: verifier.verify(token, now=NOW),
        lambda: decode(token),
    ):
        expect_error(call, MalformedToken, token=token, match="unpaired surrogate")


@pytest.mark.parametrize(
    "header",
    [
        pytest.param(b'{"alg":"RS256","kid":"\\ud800"}', id="kid"),
        pytest.param(b'{"alg":"RS256","kid":"rsa\\udc00"}', id="kid-trusted-prefix"),
        pytest.param(_header_with('"typ":"at+jwt\\ud800"'), id="typ"),
        pytest.param(_header_with('"x-trace":["\\udfff"]'), id="nested-member"),
        pytest.param(_header_with('"\\ud800":0'), id="member-name"),
    ],
)
@pytest.mark.parametrize("spacing", [pytest.param(b"", id="fast"), pytest.param(b" ", id="strict")])
def test_header_with_an_unpaired_surrogate_is_malformed(
    issuer: Issuer, keys: Keys, header: bytes, spacing: bytes
) -> None:
    """The header is held to the same rule, before any key is looked up."""
    token = make_token(spacing + header, access_payload(), keys.rsa)
    expect_error(
        lambda: Verifier([issuer]).verify(token, now=NOW),
        MalformedToken,
        token=token,
        match="token header.*unpaired surrogate",
    )


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(_payload_with('"sub":"\\ud83d\\ude00"', sub=None), id="escaped-pair"),
        pytest.param(_payload_with('"sub":"\\uD83D\\uDE00"', sub=None), id="escaped-pair-hex"),
        pytest.param(_payload_with('"sub":"\U0001f600"', sub=None), id="raw-utf8"),
    ],
)
@pytest.mark.parametrize("spacing", [pytest.param(b"", id="fast"), pytest.param(b" ", id="strict")])
def test_signed_claims_with_non_bmp_text_are_accepted(
    issuer: Issuer, keys: Keys, payload: bytes, spacing: bytes
) -> None:
    """A properly paired surrogate escape and raw 4-byte UTF-8 are the same valid text."""
    token = make_token({"alg": "RS256", "kid": "rsa"}, spacing + payload, keys.rsa)
    claims = Verifier([issuer]).verify(token, now=NOW)
    assert claims.sub == "\U0001f600"
    assert claims.sub.encode("utf-8") == b"\xf0\x9f\x98\x80"


# -- size ---------------------------------------------------------------------------------


def _padded_token(keys: Keys, size: int) -> str:
    """A genuine RS256 token of *size* characters, or one or two more (base64 granularity)."""
    header = {"alg": "RS256", "kid": "rsa"}
    unpadded = len(make_token(header, access_payload(pad=""), signature=bytes(256)))
    pad = max(0, (size - unpadded) * 3 // 4 - 2)
    while len(make_token(header, access_payload(pad="x" * pad), signature=bytes(256))) < size:
        pad += 1
    token = make_token(header, access_payload(pad="x" * pad), keys.rsa)
    assert size <= len(token) <= size + 2
    return token


def test_token_larger_than_the_default_cap_is_refused(issuer: Issuer, keys: Keys) -> None:
    """The default cap is 16 KiB; a genuine token one chunk above it is refused unparsed."""
    big = _padded_token(keys, DEFAULT_MAX_TOKEN_SIZE + 1)
    assert DEFAULT_MAX_TOKEN_SIZE == 16 * 1024
    expect_error(lambda: issuer.unsafe_verify(big), TokenTooLarge, token=big)
    expect_error(lambda: decode(big), TokenTooLarge, token=big)


def test_token_at_the_default_cap_is_accepted(issuer: Issuer, keys: Keys) -> None:
    """A genuine token just under 16 KiB verifies."""
    token = _padded_token(keys, DEFAULT_MAX_TOKEN_SIZE - 8)
    assert len(token) <= DEFAULT_MAX_TOKEN_SIZE
    assert issuer.unsafe_verify(token).kid == "rsa"


def test_size_cap_is_checked_before_anything_else() -> None:
    """A huge non-token string fails on size alone, without being scanned."""
    junk = "." * (DEFAULT_MAX_TOKEN_SIZE + 1)
    expect_error(lambda: decode(junk), TokenTooLarge)


def test_size_cap_is_configurable_on_decode(keys: Keys) -> None:
    """``decode(max_size=n)`` accepts n characters and refuses n + 1."""
    token = make_token({"alg": "RS256", "kid": "rsa"}, access_payload(), keys.rsa)
    assert decode(token, max_size=len(token)).kid == "rsa"
    expect_error(lambda: decode(token, max_size=len(token) - 1), TokenTooLarge, token=token)


def test_size_cap_is_configurable_on_the_issuer(keys: Keys) -> None:
    """``Issuer(max_token_size=n)`` applies to unsafe_verify and verify_decoded."""
    token = make_token({"alg": "RS256", "kid": "rsa"}, access_payload(), keys.rsa)
    exact = Issuer("https://issuer.example.com", keys.jwks(), max_token_size=len(token))
    tight = Issuer("https://issuer.example.com", keys.jwks(), max_token_size=len(token) - 1)
    assert exact.unsafe_verify(token).kid == "rsa"
    expect_error(lambda: tight.unsafe_verify(token), TokenTooLarge, token=token)
    decoded = decode(token)
    expect_error(lambda: tight.verify_decoded(decoded, len(token)), TokenTooLarge, token=token)


def test_lax_decoder_helper_really_is_lax() -> None:
    """Guard for the tests above: the lenient decoder accepts what bearerguard refuses."""
    assert _lax_b64(SIG64 + "==") == _lax_b64(SIG64)
    with pytest.raises(binascii.Error):
        base64.urlsafe_b64decode(SIG64)  # the strict stdlib wants padding
