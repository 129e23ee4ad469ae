"""Hypothesis strategies shared by the fuzzing tests: JSON, near-valid tokens, JWKs, headers."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import strategies as st

from .support import b64

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)

# JSON texts a lenient parser might take and a strict one must refuse, and plain ones.
_TRICKY_JSON = [
    b'{"alg":"RS256","alg":"none"}',
    b'{"alg":"RS256","\\u0061lg":"none"}',
    b'{"exp":NaN}',
    b'{"exp":Infinity}',
    b'{"exp":1e999}',
    b'{"exp":-0}',
    b'\xef\xbb\xbf{"alg":"RS256"}',
    b' {"alg":"RS256"}',
    b'{"alg":"RS256"} ',
    b'{"alg":"RS256"}\n',
    b'{"alg":"RS256"}{}',
    b'{"alg":"RS256",}',
    b"{'alg':'RS256'}",
    b'{"alg":"RS256","kid":"\\ud800"}',
    b'{"alg":"RS256","kid":"\xed\xa0\x80"}',
    b'{"alg":"RS\\u0032\\u00356"}',
    b"[]",
    b"null",
    b'"RS256"',
    b"",
]
json_texts = st.one_of(
    st.sampled_from(_TRICKY_JSON),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "crit", "b64", "iss", "aud", "exp"]),
        json_values,
        max_size=4,
    ).map(lambda d: json.dumps(d, separators=(",", ":")).encode()),
    st.binary(max_size=24),
)


@st.composite
def plausible_json(draw: st.DrawFn, objects: st.SearchStrategy[dict[str, Any]]) -> bytes:
    """A JSON object as issuers write it, sometimes spelled in a way a strict parser refuses."""
    value = draw(objects)
    compact = draw(st.booleans())
    text = json.dumps(
        value,
        separators=(",", ":") if compact else (", ", ": "),
        ensure_ascii=draw(st.booleans()),
    )
    spelling = draw(
        st.sampled_from(["plain"] * 6 + ["lead-space", "trail-newline", "duplicate", "escaped"])
    )
    if spelling == "lead-space":
        text = " " + text
    elif spelling == "trail-newline":
        text += "\n"
    elif spelling == "duplicate" and value:
        name = next(iter(value))
        text = text[:-1] + ("," if len(value) else "") + json.dumps(name) + ":null}"
    elif spelling == "escaped" and value:
        name = next(iter(value))
        escaped = "".join(f"\\u{ord(c):04x}" for c in name)
        text = text.replace(json.dumps(name), '"' + escaped + '"', 1)
    return text.encode("utf-8")


headers_like = st.fixed_dictionaries(
    {"alg": st.sampled_from(["RS256", "ES256", "EdDSA", "PS256", "none", "HS256", "rs256"])},
    optional={
        "kid": st.one_of(st.sampled_from(["rsa", "ec-p256", "k" * 300]), json_values),
        "typ": st.one_of(st.sampled_from(["at+jwt", "JWT", "dpop+jwt"]), json_values),
        "crit": json_values,
        "b64": json_values,
        "jku": st.just("http://127.0.0.1:1/jwks"),
    },
)
payloads_like = st.dictionaries(
    st.sampled_from(["iss", "sub", "aud", "exp", "nbf", "iat", "scope", "x"]),
    json_values,
    max_size=5,
)


@st.composite
def plausible_tokens(draw: st.DrawFn) -> str:
    """Header and payload that reach the JSON and header checks, with a random signature."""
    header = draw(plausible_json(headers_like))
    payload = draw(plausible_json(payloads_like))
    return f"{b64(header)}.{b64(payload)}.{b64(draw(st.binary(min_size=1, max_size=64)))}"


B64URL = string.ascii_letters + string.digits + "-_"
# Characters a hostile token mixes in: the standard alphabet, padding, separators,
# whitespace, percent-encoding, NUL, a non-ASCII digit and letter.
NOISE = B64URL + "+/=. \t%~\x00\u0660\uff21"


@st.composite
def mutated(draw: st.DrawFn, token: str) -> str:
    """*token* after one to three small edits (replace, insert, delete, cut, shuffle, append)."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["replace", "insert", "delete", "cut", "swap", "append"]))
        at = draw(st.integers(0, max(0, len(token) - 1)))
        if kind == "replace" and token:
            token = token[:at] + draw(st.sampled_from(NOISE)) + token[at + 1 :]
        elif kind == "insert":
            token = token[:at] + draw(st.sampled_from(NOISE)) + token[at:]
        elif kind == "delete":
            token = token[:at] + token[at + 1 :]
        elif kind == "cut":
            token = token[:at]
        elif kind == "swap":
            parts = token.split(".")
            i, j = draw(st.integers(0, len(parts) - 1)), draw(st.integers(0, len(parts) - 1))
            parts[i], parts[j] = parts[j], parts[i]
            token = ".".join(parts)
        else:
            token += draw(st.text(alphabet=NOISE, max_size=8))
    return token


@st.composite
def assembled(draw: st.DrawFn) -> str:
    """Three (or so) segments of base64url-encoded JSON-ish bytes: reaches the JSON layer."""
    header = draw(json_texts)
    payload = draw(json_texts)
    sig = draw(st.binary(max_size=80))
    parts = [b64(header), b64(payload), b64(sig)]
    extra = draw(st.sampled_from(["", ".", "=", "==", ".AAAA"]))
    return ".".join(parts) + extra


# Header bytes a client can send on one line: HTAB, SP, VCHAR and obs-text (RFC 9110 §5.5).
FIELD_BYTES = bytes([9, *range(0x20, 0x7F), *range(0x80, 0x100)])
field_bytes = st.binary(max_size=60).map(
    lambda raw: bytes(FIELD_BYTES[b % len(FIELD_BYTES)] for b in raw)
)


def jwk_variants(good: list[dict[str, Any]]) -> st.SearchStrategy[Any]:
    """JWKs near the good ones (a member dropped, retyped, resized, a private member added)."""
    names = sorted({name for jwk in good for name in jwk} | {"d", "k", "key_ops", "oth", "x5c"})

    @st.composite
    def variant(draw: st.DrawFn) -> Any:
        jwk = dict(draw(st.sampled_from(good)))
        for _ in range(draw(st.integers(0, 2))):
            name = draw(st.sampled_from(names))
            action = draw(st.sampled_from(["drop", "json", "b64", "copy"]))
            if action == "drop":
                jwk.pop(name, None)
            elif action == "json":
                jwk[name] = draw(json_values)
            elif action == "b64":
                jwk[name] = b64(draw(st.binary(max_size=80)))
            else:
                other = draw(st.sampled_from(good))
                if name in other:
                    jwk[name] = other[name]
        return jwk

    return st.one_of(variant(), variant(), variant(), json_values)
