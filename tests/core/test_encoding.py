"""Strict base64url and JSON: the primitives under every token and JWKS."""

from __future__ import annotations

import os

import pytest

from bearerguard._encoding import b64url_decode, b64url_encode, is_b64url, json_object, object_fast
from bearerguard._errors import MalformedToken

from .helpers import expect_error


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        pytest.param("", True, id="empty"),
        pytest.param("AQAB", True, id="len-0-mod-4"),
        pytest.param("AQ", True, id="len-2-canonical"),
        pytest.param("AR", False, id="len-2-trailing-bits"),
        pytest.param("AQA", True, id="len-3-canonical"),
        pytest.param("AQB", False, id="len-3-trailing-bits"),
        pytest.param("A", False, id="len-1"),
        pytest.param("AQ==", False, id="padded"),
        pytest.param("a+b/", False, id="standard-alphabet"),
        pytest.param("ab c", False, id="space"),
        pytest.param("abc\n", False, id="newline"),
        pytest.param("\u0661\u0662", False, id="unicode-digits"),
    ],
)
def test_is_b64url_accepts_only_the_canonical_spelling(text: str, canonical: bool) -> None:
    """One byte string, one base64url spelling."""
    assert is_b64url(text) is canonical
    if canonical:
        assert b64url_encode(b64url_decode(text)) == text
    else:
        expect_error(lambda: b64url_decode(text, "member"), MalformedToken, match="member")


@pytest.mark.parametrize("size", [0, 1, 2, 3, 4, 31, 32, 33, 255, 256])
def test_b64url_round_trip(size: int) -> None:
    """encode then decode gives the bytes back, and the encoding is canonical."""
    data = os.urandom(size)
    text = b64url_encode(data)
    assert is_b64url(text)
    assert "=" not in text
    assert b64url_decode(text) == data


@pytest.mark.parametrize(
    ("data", "match"),
    [
        pytest.param(b'{"a":1,"a":2}', "duplicate", id="duplicate"),
        pytest.param(b'{"a":{"b":1,"b":1}}', "duplicate", id="nested-duplicate"),
        pytest.param(b'{"a":NaN}', "NaN", id="NaN"),
        pytest.param(b'{"a":-Infinity}', "Infinity", id="-Infinity"),
        pytest.param(b'{"a":1e400}', "out of range", id="float-overflow"),
        pytest.param(b"[]", "not a JSON object", id="array"),
        pytest.param(b"\xff", "not valid UTF-8 JSON", id="bad-utf8"),
        pytest.param(b"[" * 100_000, "deeper than 32 levels", id="deep-nesting"),
    ],
)
def test_json_object_is_strict(data: bytes, match: str) -> None:
    """Duplicates, non-finite numbers, non-objects, bad UTF-8 and deep nesting are refused."""
    expect_error(lambda: json_object(data, "thing"), MalformedToken, match=match)


def test_json_object_accepts_ordinary_json() -> None:
    """Floats, big-enough integers, unicode escapes and whitespace are fine."""
    assert json_object(' {"a": 1.5e3, "b": 12345678901234567890, "c": "\\u00e9"} ') == {
        "a": 1500.0,
        "b": 12345678901234567890,
        "c": "é",
    }


# -- RFC 7493 §2.1: no unpaired surrogates -----------------------------------------------

LONE_SURROGATES = [
    pytest.param(b'{"sub":"\\ud800"}', id="lone-high"),
    pytest.param(b'{"sub":"\\udc00"}', id="lone-low"),
    pytest.param(b'{"sub":"\\uDBFF"}', id="lone-high-upper-case-hex"),
    pytest.param(b'{"sub":"a\\ud83dz"}', id="high-then-letter"),
    pytest.param(b'{"sub":"\\ud83d\\u0041"}', id="high-then-escaped-letter"),
    pytest.param(b'{"sub":"\\ud83d\\ud83d"}', id="high-then-high"),
    pytest.param(b'{"sub":"\\ude00\\ud83d"}', id="low-then-high"),
    pytest.param(b'{"sub":"x\\ud800"}', id="high-at-the-end"),
    pytest.param(b'{"\\udfff":"x"}', id="member-name"),
    pytest.param(b'{"a":{"b":["c",{"d":"\\ud800"}]}}', id="nested-value"),
    pytest.param(b'{"a":[{"\\udc00x":1}]}', id="nested-member-name"),
    pytest.param(b'{"sub":"\\\\\\ud800"}', id="escaped-backslash-then-lone-high"),
    pytest.param(b'{"sub":"\\"\\ud800"}', id="escaped-quote-then-lone-high"),
    pytest.param(b'{"sub":"\\ud800\\\\udc00"}', id="high-then-backslash-and-letters"),
    pytest.param(b'{"sub":"\\ud83d\\ude00\\ude00"}', id="pair-then-lone-low"),
]


@pytest.mark.parametrize("data", LONE_SURROGATES)
def test_json_object_refuses_unpaired_surrogate_escapes(data: bytes) -> None:
    """A string that is not Unicode text cannot be encoded later; it is refused on parsing."""
    expect_error(lambda: json_object(data, "token payload"), MalformedToken, match="surrogate")


@pytest.mark.parametrize("data", LONE_SURROGATES)
def test_fast_json_path_defers_unpaired_surrogates_to_the_strict_path(data: bytes) -> None:
    """object_fast never returns a value json_object would refuse."""
    assert object_fast(data) is None


def test_json_object_refuses_a_text_holding_a_raw_lone_surrogate() -> None:
    """A str argument (a JWKS given as text) is held to the same rule as bytes."""
    expect_error(lambda: json_object('{"kid":"\ud800"}', "JWKS document"), MalformedToken)


@pytest.mark.parametrize(
    ("data", "value"),
    [
        pytest.param(b'{"sub":"\\ud83d\\ude00"}', "\U0001f600", id="escaped-pair"),
        pytest.param(b'{"sub":"\\uD83D\\uDE00"}', "\U0001f600", id="escaped-pair-upper-hex"),
        pytest.param('{"sub":"\U0001f600"}'.encode(), "\U0001f600", id="raw-utf8"),
        pytest.param(b'{"sub":"\\\\ud800"}', "\\ud800", id="escaped-backslash-not-an-escape"),
        pytest.param(b'{"sub":"\\ud7ff\\ue000"}', "\ud7ff\ue000", id="either-side-of-the-range"),
        pytest.param(
            b'{"sub":"\\\\\\ud83d\\ude00"}', "\\\U0001f600", id="escaped-backslash-then-pair"
        ),
    ],
)
def test_json_object_accepts_paired_surrogates_and_non_bmp_text(data: bytes, value: str) -> None:
    """Escaped pairs and raw UTF-8 outside the BMP are ordinary text; both paths agree."""
    assert json_object(data) == {"sub": value}
    assert object_fast(data) == {"sub": value}


def _nested(depth: int, opening: bytes, closing: bytes) -> bytes:
    return b'{"x":' + opening * depth + closing * depth + b"}"


@pytest.mark.parametrize(
    ("opening", "closing"), [(b"[", b"]"), (b'{"a":', b"}")], ids=["arrays", "objects"]
)
def test_nesting_is_limited_the_same_way_on_every_python(opening: bytes, closing: bytes) -> None:
    """31 levels under the top object pass; one more is MalformedToken, not a RecursionError."""
    inner = b"0" if opening == b'{"a":' else b""
    fits = b'{"x":' + opening * 31 + inner + closing * 31 + b"}"
    deep = b'{"x":' + opening * 32 + inner + closing * 32 + b"}"
    assert json_object(fits)["x"] is not None
    assert object_fast(fits) is not None
    assert object_fast(deep) is None
    with pytest.raises(MalformedToken, match="deeper than 32 levels"):
        json_object(deep, "token payload")


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    """Only structure nests: a string full of brackets (and escaped quotes) is fine."""
    text = b'{"x":"' + b"[{" * 100 + b'\\"' + b"]}" * 100 + b'"}'
    assert json_object(text)["x"].startswith("[{")
    assert object_fast(text) is not None
