"""Strict base64url and JSON decoding (RFC 7515 §2, RFC 7159 §4).

Strict means: only the base64url alphabet, no padding, no whitespace, and the
canonical encoding only (the unused low bits of the last character are zero),
so one token has exactly one spelling. JSON texts must be objects, duplicate
member names are rejected (RFC 7515 §5.2 lets a parser refuse them; a verifier
that takes the last value while a logger takes the first is a known bypass),
and the non-standard ``NaN``/``Infinity`` constants are refused, as are number
literals too large for a float (``1e999`` would otherwise become infinity).
Strings must be Unicode text (RFC 7493 §2.1, I-JSON): an escape of an unpaired
UTF-16 surrogate (``"\\ud800"``) is refused, in member names as in values. Python
decodes one into a ``str`` that cannot be encoded again, so a claim holding one
would make the first framework that writes it out (a username, a log line) fail
with an HTTP 500 instead of the 401 the token deserves.
"""

from __future__ import annotations

import binascii
import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any

from ._errors import MalformedToken
from ._limits import MAX_JSON_DEPTH

__all__ = ["b64url_decode", "b64url_encode", "has_surrogate", "is_b64url", "json_object"]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64URL = re.compile(r"[A-Za-z0-9_-]*")
# For a length ≡ 2 (mod 4) the last character carries 4 unused bits, for ≡ 3 it
# carries 2; canonical encodings have them zero.
CANONICAL_LAST: tuple[frozenset[str], ...] = (
    frozenset(),
    frozenset(),
    frozenset(_ALPHABET[::16]),
    frozenset(_ALPHABET[::4]),
)
_TO_STD = bytes.maketrans(b"-_", b"+/")
_FROM_STD = str.maketrans("+/", "-_")
_PAD = (b"", b"", b"==", b"=")

# The fast path (see jws.decode): one bytes.translate maps base64url onto the
# standard alphabet and maps the standard alphabet's own "+", "/" and "=" onto
# "!", which binascii's strict mode refuses like every other stray byte. So a
# strict a2b_base64 of a translated segment both checks and decodes it: what it
# accepts is exactly the base64url alphabet (plus the padding added here), and
# only the unused trailing bits are left to check (STD_CANONICAL_LAST).
URL_TO_STD = bytes.maketrans(b"-_+/=", b"+/!!!")
_STD_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
STD_CANONICAL_LAST: tuple[frozenset[int], ...] = (
    frozenset(),
    frozenset(),
    frozenset(_STD_ALPHABET[::16]),
    frozenset(_STD_ALPHABET[::4]),
)


def is_b64url(text: str) -> bool:
    """True when *text* is canonical unpadded base64url (the empty string included)."""
    if _B64URL.fullmatch(text) is None:
        return False
    rem = len(text) & 3
    if rem == 0:
        return True
    if rem == 1:
        return False
    return text[-1] in CANONICAL_LAST[rem]


def b64url_decode(text: str, what: str = "value") -> bytes:
    """Decode canonical unpadded base64url, raising :class:`MalformedToken` otherwise."""
    if not is_b64url(text):
        raise MalformedToken(f"{what} is not canonical base64url")
    return decode_checked(text)


if sys.version_info >= (3, 11):

    def std_segment_decode(segment: bytes) -> bytes | None:
        """Decode a segment already mapped by :data:`URL_TO_STD`; ``None`` unless canonical.

        ``None`` (never an exception) lets the caller fall back to the slow
        path, which names the exact problem. The empty segment decodes to b"".
        """
        rem = len(segment) & 3
        if rem and (rem == 1 or segment[-1] not in STD_CANONICAL_LAST[rem]):
            return None
        try:
            return binascii.a2b_base64(segment + _PAD[rem], strict_mode=True)
        except binascii.Error:
            return None

else:  # pragma: no cover - Python 3.10 has no strict_mode; check the alphabet first

    def std_segment_decode(segment: bytes) -> bytes | None:
        """Decode a segment already mapped by :data:`URL_TO_STD`; ``None`` unless canonical."""
        rem = len(segment) & 3
        if rem and (rem == 1 or segment[-1] not in STD_CANONICAL_LAST[rem]):
            return None
        if segment.translate(None, _STD_ALPHABET):
            return None
        return binascii.a2b_base64(segment + _PAD[rem])


def decode_checked(text: str) -> bytes:
    """Decode text already known to be canonical base64url (see :func:`is_b64url`)."""
    # bytes.translate is a table lookup in C; str.translate is far slower.
    return binascii.a2b_base64(text.encode("ascii").translate(_TO_STD) + _PAD[len(text) & 3])


def b64url_encode(data: bytes) -> str:
    """Encode *data* as unpadded base64url."""
    return binascii.b2a_base64(data, newline=False).decode("ascii").rstrip("=").translate(_FROM_STD)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise MalformedToken(f"duplicate JSON member name {name[:40]!r}")
            seen.add(name)
    return obj


def _refuse_constant(name: str) -> Any:
    raise MalformedToken(f"non-standard JSON constant {name}")


def _finite_float(text: str) -> float:
    # json turns an out-of-range literal such as 1e999 into inf without asking
    # parse_constant: the same non-standard value by another spelling.
    value = float(text)
    if not math.isfinite(value):
        raise MalformedToken("JSON number is out of range")
    return value


_decoder = json.JSONDecoder(
    object_pairs_hook=_no_duplicates,
    parse_constant=_refuse_constant,
    parse_float=_finite_float,
)
_decode_json: Callable[[str], Any] = _decoder.decode
# JSONDecoder.decode adds two regex calls around the C scanner to skip
# whitespace; a token's JSON almost never has any. object_fast scans directly
# and leaves anything unusual (whitespace, errors) to json_object.
_scan_once: Callable[[str, int], tuple[Any, int]] = _decoder.scan_once  # type: ignore[attr-defined]


# Strict UTF-8 decoding refuses encoded surrogates (b"\xed\xa0\x80"), so in a valid
# UTF-8 JSON text a surrogate can only arrive as a \uD800-\uDFFF escape, and the
# text is checked on its bytes once it has parsed. In valid JSON a backslash only
# ever starts an escape, inside a string; read left to right, each match below is
# one whole escape: a high-low surrogate pair (one non-BMP character, fine), a
# lone surrogate (the group), or a one-character escape ("\\\\" included, so the
# "ud800" of "\\\\ud800" is never read as an escape); other \\u escapes match
# nothing and leave only hex digits behind. Texts without a backslash, which is
# nearly every token, cost one memchr; those without anything like a surrogate
# escape, one regex search more.
_ESCAPE = re.compile(
    rb"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|(u[dD][89a-fA-F])|[^u])"
)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")  # a quick filter: maybe a false alarm
_SURROGATE = re.compile("[\ud800-\udfff]")
_BACKSLASH = ord("\\")  # `int in bytes` is a memchr; `bytes in bytes` costs twice as much


def has_surrogate(text: str) -> bool:
    """True when *text* holds a surrogate code point, so is not Unicode text (no UTF-8 form)."""
    return _SURROGATE.search(text) is not None


def _lone_surrogate_escape(data: bytes) -> bool:
    """True when the JSON text *data*, already known to parse, escapes an unpaired surrogate."""
    return (
        _BACKSLASH in data
        and _SURROGATE_ESCAPE.search(data) is not None
        and any(match[1] for match in _ESCAPE.finditer(data))
    )


# Strings (whose brackets do not count) and the structural brackets, left to right.
_STRUCTURE = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_OPENING = frozenset(b"[{")


def _too_deep(data: bytes) -> bool:
    """True when JSON text *data* nests arrays/objects deeper than :data:`MAX_JSON_DEPTH`.

    Two counts in C first: a text with fewer brackets than the limit cannot be
    too deep, which is nearly every token; only the others are scanned.
    """
    if data.count(b"[") + data.count(b"{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for match in _STRUCTURE.finditer(data):
        token = match[0]
        if len(token) != 1:
            continue  # a string
        if token[0] in _OPENING:
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        else:
            depth -= 1
    return False


def object_fast(data: bytes) -> dict[str, Any] | None:
    """The JSON object in *data* (same rules as :func:`json_object`), or ``None``.

    ``None`` means "not a plain JSON object without surrounding whitespace"
    (or one :func:`json_object` refuses); the caller then runs
    :func:`json_object`, which accepts or names the error.
    """
    try:
        text = data.decode("utf-8")
        value, end = _scan_once(text, 0)
    except (ValueError, RecursionError, StopIteration, MalformedToken):
        return None
    if end != len(text) or type(value) is not dict:
        return None
    if _BACKSLASH in data and _lone_surrogate_escape(data):
        return None
    if _too_deep(data):
        return None
    return value


def json_object(data: bytes | str, what: str = "JSON") -> dict[str, Any]:
    """Parse a JSON text that must be an object, strictly (see the module docstring)."""
    if isinstance(data, str):
        # Text handed over as a str (a JWKS) may hold surrogate code points itself.
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            raise _lone_surrogate(what) from None
    if _too_deep(data):
        raise MalformedToken(f"{what} nests arrays or objects deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = _decode_json(data.decode("utf-8"))
    except MalformedToken as exc:
        raise MalformedToken(f"{what}: {exc.description}") from None
    except (ValueError, RecursionError):
        # UnicodeDecodeError and JSONDecodeError are ValueErrors; RecursionError
        # comes from absurdly deep nesting.
        raise MalformedToken(f"{what} is not valid UTF-8 JSON") from None
    if type(value) is not dict:
        raise MalformedToken(f"{what} is not a JSON object")
    if _lone_surrogate_escape(data):
        raise _lone_surrogate(what)
    return value


def _lone_surrogate(what: str) -> MalformedToken:
    return MalformedToken(
        f"{what} has a string with an unpaired surrogate (U+D800 to U+DFFF); "
        "JSON strings must be Unicode text (RFC 7493, I-JSON)"
    )
