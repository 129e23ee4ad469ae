"""The attack catalogue: every hostile token as data, with the exact answer it must get.

Each :class:`Attack` builds one token (from a :class:`Forge`, which holds the
trusted issuers and every key) and states what must happen to it:

* ``error`` — the exact exception class :meth:`Verifier.verify` raises (``None``:
  the token is accepted; such rows are the controls that prove the harness
  is not refusing everything);
* ``status`` and ``code`` — what every adapter answers (HTTP status and the
  RFC 6750 ``error`` code). These differ from the core's only where the
  ``Authorization`` header itself cannot carry the token (RFC 6750 §2.1
  ``b64token``): the adapters then refuse the request with 400 before any
  token parsing.
* ``profile`` — which verifier configuration the token is sent to
  (:data:`PROFILES`).

The sources are RFC 8725 (JWT best current practices) and the published
advisories of PyJWT, python-jose, Authlib, jwcrypto, node-jsonwebtoken,
node-jose and Java's ECDSA (CVE-2022-21449); ``ref`` names the one a row
comes from.
"""

from __future__ import annotations

import base64
import datetime
import functools
import itertools
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from bearerguard._algorithms import CURVE_ORDERS
from bearerguard._errors import (
    AlgorithmNotAllowed,
    BearerGuardError,
    ExpiredToken,
    InvalidClaims,
    InvalidSignature,
    IssuerMismatch,
    MalformedToken,
    TokenTooLarge,
    UnknownKey,
    UnsupportedToken,
)
from bearerguard.testing import LocalIssuer

from .support import (
    Keyring,
    PrivateKey,
    TrapServer,
    b64,
    forge,
    octets,
    public_jwk,
    segments,
    unb64,
)

AUDIENCE = "api://security"
CLIENT_ID = "security-client"

#: The verifier configurations a row can be sent to.
PROFILES = {
    "default": "the catalogue issuer, audience api://security, default Validator",
    "rfc9068": "the same issuer with Validator(rfc9068=True): typ must be at+jwt",
    "twins": "two issuers trusted at once; the second publishes its key under the first's kid",
    "only-a": "only the first of the two twins is trusted",
}

DROP: Any = object()
"""Passed as a member's value: leave the member out."""


def _without_dropped(members: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in members.items() if value is not DROP}


@dataclass
class Forge:
    """Everything a row needs to build its token."""

    keys: Keyring
    issuer: LocalIssuer  # the catalogue issuer: its own key plus every key type of the keyring
    twin_a: LocalIssuer
    twin_b: LocalIssuer  # publishes its own key under twin_a's kid
    trap: TrapServer
    now: int = field(default_factory=lambda: int(time.time()))

    # -- building blocks ------------------------------------------------------------------

    def claims(self, **changes: Any) -> dict[str, Any]:
        """A valid RFC 9068 payload from the catalogue issuer; ``DROP`` removes a claim."""
        base = {
            "iss": self.issuer.url,
            "sub": "user-42",
            "aud": AUDIENCE,
            "iat": self.now - 5,
            "exp": self.now + 600,
            "jti": "jti-security-1",
            "client_id": CLIENT_ID,
            "scope": "orders:read",
        }
        return _without_dropped({**base, **changes})

    def header(self, alg: Any = "RS256", kid: Any = "rsa", **changes: Any) -> dict[str, Any]:
        """A header; ``DROP`` removes a member (``kid=DROP``: no kid); any JSON value goes."""
        return _without_dropped({"alg": alg, "kid": kid, "typ": "at+jwt", **changes})

    def token(
        self,
        key: PrivateKey | bytes | None = None,
        *,
        header: Mapping[str, Any] | bytes | None = None,
        payload: Mapping[str, Any] | bytes | None = None,
        alg: str | None = None,
        **claims: Any,
    ) -> str:
        """Signed by the trusted ``rsa`` key under RS256 unless told otherwise."""
        header = self.header() if header is None else header
        key = self.keys.rsa if key is None else key
        if alg is None:
            named = header.get("alg") if isinstance(header, Mapping) else None
            # Sign as the header says when that is an algorithm; otherwise (alg "none",
            # "rs256", a raw header) with the key's natural one.
            alg = named if isinstance(named, str) and named in _SIGNING_ALGS else _natural_alg(key)
        payload = self.claims(**claims) if payload is None else payload
        return forge(header, payload, key, alg=alg)

    def signed_with(self, kid: str, alg: str, **changes: Any) -> str:
        """Correctly signed with the trusted key *kid* under *alg*."""
        return self.token(self.keys.trusted()[kid], header=self.header(alg, kid), **changes)

    def by_attacker(self, **header: Any) -> str:
        """Signed under RS256 by a key no issuer publishes, with these header members."""
        return self.token(self.keys.attacker_rsa, header=self.header(**header))

    def with_signature(self, token: str, sig: bytes) -> str:
        """*token* with its signature segment replaced."""
        h, p, _ = segments(token)
        return f"{h}.{p}.{b64(sig)}"

    def issuer_pem(self, fmt: serialization.PublicFormat) -> bytes:
        """The catalogue issuer's own RSA public key, as PEM."""
        key = self.issuer.keys[0].key
        assert isinstance(key, rsa.RSAPublicKey)
        return key.public_bytes(serialization.Encoding.PEM, fmt)


_SIGNING_ALGS = frozenset(
    {f"{family}{bits}" for family in ("RS", "PS", "ES", "HS") for bits in (256, 384, 512)}
    | {"EdDSA"}
)


def _natural_alg(key: PrivateKey | bytes) -> str:
    if isinstance(key, bytes):
        return "HS256"
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return {256: "ES256", 384: "ES384", 521: "ES512"}[key.curve.key_size]
    return "EdDSA"


def _raw_payload(forge_: Forge, literal_members: str, **changes: Any) -> bytes:
    """The default payload's JSON text with *literal_members* spliced in verbatim."""
    text = json.dumps(forge_.claims(**changes), separators=(",", ":"))
    return (text[:-1] + "," + literal_members + "}").encode("utf-8")


def _exp_written_as(f: Forge, literal: str) -> str:
    """A token whose ``exp`` member is the JSON text *literal*, exactly as written."""
    return f.token(payload=_raw_payload(f, f'"exp":{literal}', exp=DROP))


def _minted_with_typ(f: Forge, typ: str) -> str:
    """A token from the catalogue's local issuer with this ``typ`` header."""
    return f.issuer.mint(headers={"typ": typ})


def _nested(depth: int, opening: str, closing: str, inner: str = "") -> str:
    return opening * depth + inner + closing * depth


def _over_the_cap(f: Forge, extra: int) -> str:
    """A token *extra* characters longer than the 16 KiB cap, correctly signed."""
    h64 = b64(octets(f.header()))
    base = len(octets(f.claims(pad="")))
    wanted = 16384 + extra - len(h64) - 2 - 342  # 342: an RSA-2048 signature in base64url
    for pad in itertools.count(max(0, wanted * 3 // 4 - base - 4)):
        p64 = b64(octets(f.claims(pad="x" * pad)))
        if len(h64) + len(p64) + 2 + 342 >= 16384 + extra:
            return f.token(pad="x" * pad)
    raise AssertionError("unreachable")


def _swap_alphabet(f: Forge) -> str:
    """A valid token whose signature is spelled in the standard base64 alphabet."""
    for n in itertools.count():
        token = f.token(jti=f"jti-std-{n}")
        h, p, s = segments(token)
        if "-" in s or "_" in s:
            return f"{h}.{p}.{s.replace('-', '+').replace('_', '/')}"
    raise AssertionError("unreachable")


def _non_canonical_tail(f: Forge, which: int) -> str:
    """A valid token whose segment *which* ends in a character with unused bits set."""
    for n in itertools.count():
        parts = list(segments(f.token(jti="j" * n)))
        segment = parts[which]
        if len(segment) % 4 in (2, 3):
            alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
            parts[which] = segment[:-1] + alphabet[alphabet.index(segment[-1]) + 1]
            return ".".join(parts)
    raise AssertionError("unreachable")


def _padded(f: Forge, which: int) -> str:
    parts = list(segments(f.token()))
    parts[which] += "=" * (-len(parts[which]) % 4 or 1)
    return ".".join(parts)


def _tampered(f: Forge) -> str:
    h, p, s = segments(f.issuer.mint(sub="user-42"))
    claims = json.loads(unb64(p))
    claims["sub"] = "admin"
    return f"{h}.{b64(octets(claims))}.{s}"


def _ecdsa_parts(sig: bytes) -> tuple[int, int, int]:
    half = len(sig) // 2
    return int.from_bytes(sig[:half], "big"), int.from_bytes(sig[half:], "big"), half


def _psychic(f: Forge, kid: str, alg: str, crv: str, r: str, s: str) -> str:
    """ES* token whose (r, s) are replaced: "0", "n" (the group order), "ff" or "valid"."""
    token = f.signed_with(kid, alg)
    vr, vs, half = _ecdsa_parts(unb64(segments(token)[2]))
    values = {"0": 0, "n": CURVE_ORDERS[crv], "ff": 2 ** (8 * half) - 1}
    r_int = vr if r == "valid" else values[r]
    s_int = vs if s == "valid" else values[s]
    return f.with_signature(token, r_int.to_bytes(half, "big") + s_int.to_bytes(half, "big"))


def _der_signature(f: Forge, kid: str, alg: str) -> str:
    key = f.keys.trusted()[kid]
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    token = f.signed_with(kid, alg)
    h, p, _ = segments(token)
    digest = {"ES256": hashes.SHA256(), "ES384": hashes.SHA384(), "ES512": hashes.SHA512()}[alg]
    return f"{h}.{p}.{b64(key.sign(f'{h}.{p}'.encode(), ec.ECDSA(digest)))}"


def _resized(f: Forge, kid: str, alg: str, change: int) -> str:
    """A correctly signed token whose signature lost (<0) or gained (>0) bytes."""
    token = f.signed_with(kid, alg)
    sig = unb64(segments(token)[2])
    sig = sig[:change] if change < 0 else sig + b"\x00" * change
    return f.with_signature(token, sig)


def _attacker_certificate(f: Forge) -> str:
    key = f.keys.attacker_rsa
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    chain = [base64.b64encode(der).decode("ascii")]
    return f.token(key, header=f.header(x5c=chain))


def id_token(f: Forge, *, audience: str, typ: Any) -> str:
    """What an OpenID provider gives the client at login (OIDC Core §2), not an access token."""
    headers = {"typ": typ} if typ is not DROP else {"typ": None}
    return f.issuer.mint(
        sub="user-42",
        audience=audience,
        headers=headers,
        nonce="n-0S6_WzA2Mj",
        azp=CLIENT_ID,
        auth_time=f.now - 30,
        at_hash="77QmUPtjPfzWtF2AnpK9RQ",
        client_id=None,
    )


# -- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Attack:
    """One hostile token and the answer it must get (see the module docstring)."""

    id: str
    build: Callable[[Forge], str]
    error: type[BearerGuardError] | None
    status: int
    code: str | None
    profile: str = "default"
    ref: str = ""
    description: str | None = None  # when set, the core's error_description must match it

    def __post_init__(self) -> None:
        assert self.profile in PROFILES, self.profile


Build = Callable[[Forge], str]


def refused(
    id: str,
    build: Build,
    error: type[BearerGuardError],
    *,
    profile: str = "default",
    ref: str = "",
    description: str | None = None,
) -> Attack:
    """A token every layer refuses: the core raises *error*, adapters answer 401.

    *description*, a regular expression, pins the core's ``error_description``.
    """
    return Attack(
        id=id,
        build=build,
        error=error,
        status=401,
        code="invalid_token",
        profile=profile,
        ref=ref,
        description=description,
    )


def unsendable(id: str, build: Build, error: type[BearerGuardError], *, ref: str = "") -> Attack:
    """A token the ``Authorization`` grammar cannot carry: adapters answer 400 first."""
    return Attack(id=id, build=build, error=error, status=400, code="invalid_request", ref=ref)


def accepted(id: str, build: Build, *, profile: str = "default") -> Attack:
    """A control: a genuine token that every layer accepts."""
    return Attack(id=id, build=build, error=None, status=200, code=None, profile=profile)


def _casings(word: str) -> list[str]:
    return [
        "".join(c.upper() if up else c for c, up in zip(word, mask, strict=True))
        for mask in itertools.product((False, True), repeat=len(word))
    ]


CONTROLS = [
    accepted("control-local-issuer-rs256", lambda f: f.issuer.mint(sub="user-42")),
    accepted("control-forged-rs256", lambda f: f.token()),
    accepted("control-ps256", lambda f: f.signed_with("rsa-ps256", "PS256")),
    accepted("control-es256", lambda f: f.signed_with("ec-p256", "ES256")),
    accepted("control-es384", lambda f: f.signed_with("ec-p384", "ES384")),
    accepted("control-es512", lambda f: f.signed_with("ec-p521", "ES512")),
    accepted("control-eddsa", lambda f: f.signed_with("ed25519", "EdDSA")),
    accepted("control-ed25519-rfc9864-name", lambda f: f.signed_with("ed25519", "Ed25519")),
    accepted(
        "control-eddsa-on-a-key-published-as-ed25519",
        lambda f: f.signed_with("ed25519-webcrypto", "EdDSA"),
    ),
    accepted(
        "control-ed25519-on-a-key-published-as-ed25519",
        lambda f: f.signed_with("ed25519-webcrypto", "Ed25519"),
    ),
    accepted(
        "control-es256-key-published-without-leading-zero-octets",
        lambda f: f.signed_with("ec-p256-short", "ES256"),
    ),
    accepted(
        "control-paired-surrogate-escape-in-a-claim",
        lambda f: f.token(payload=_raw_payload(f, '"name":"Zo\\u00eb \\ud83d\\ude00"')),
    ),
    accepted(
        "control-paired-surrogate-escape-in-a-nested-claim",
        lambda f: f.token(payload=_raw_payload(f, '"ext":{"mood":["\\uD83D\\uDE00"]}')),
    ),
    accepted(
        "control-paired-surrogate-escape-in-a-member-name",
        lambda f: f.token(payload=_raw_payload(f, '"\\ud83d\\ude00":true')),
    ),
    accepted(
        "control-raw-utf8-outside-the-bmp-in-a-claim",
        lambda f: f.token(payload=_raw_payload(f, '"name":"\U0001f600"')),
    ),
    accepted(
        "control-paired-surrogate-escape-in-the-header",
        lambda f: f.token(header=octets(f.header(note="\U0001f600"))),
    ),
    accepted("control-rs256-without-kid", lambda f: f.token(header=f.header(kid=DROP))),
    accepted(
        "control-aud-array-naming-this-api-among-others",
        lambda f: f.token(aud=["api://billing", AUDIENCE]),
    ),
    accepted("control-rfc9068-at-jwt", lambda f: f.issuer.mint(), profile="rfc9068"),
    accepted(
        "control-rfc9068-application-at-jwt",
        lambda f: f.issuer.mint(headers={"typ": "application/at+jwt"}),
        profile="rfc9068",
    ),
    accepted("control-twin-a", lambda f: f.twin_a.mint(), profile="twins"),
    accepted(
        "control-twin-b-same-kid",
        lambda f: f.twin_b.mint(headers={"kid": f.twin_a.kid}),
        profile="twins",
    ),
    accepted("control-only-a-genuine-a", lambda f: f.twin_a.mint(), profile="only-a"),
]

_PKCS1 = serialization.PublicFormat.PKCS1
_SPKI = serialization.PublicFormat.SubjectPublicKeyInfo


def _hs(alg: str, secret: Callable[[Forge], bytes], kid: Callable[[Forge], Any]) -> Build:
    return lambda f: f.token(secret(f), header=f.header(alg, kid(f)))


def _ec_pem(f: Forge, kid: str) -> bytes:
    key = f.keys.trusted()[kid]
    return key.public_key().public_bytes(serialization.Encoding.PEM, _SPKI)


def _ed_raw(f: Forge) -> bytes:
    key = f.keys.ed25519.public_key()
    assert isinstance(key, ed25519.Ed25519PublicKey)
    return key.public_bytes_raw()


_REF_CONFUSION = (
    "RFC 8725 §2.1, §3.1; CVE-2015-9235, CVE-2016-10555, CVE-2017-11424, CVE-2022-23541, "
    "CVE-2022-29217, CVE-2024-33663, CVE-2024-37568"
)
ALGORITHM_CONFUSION = [
    refused(
        "hs256-keyed-with-rsa-public-key-spki-pem",
        _hs("HS256", lambda f: f.issuer_pem(_SPKI), lambda f: f.issuer.kid),
        AlgorithmNotAllowed,
        ref=_REF_CONFUSION,
    ),
    refused(
        "hs256-keyed-with-rsa-public-key-pkcs1-pem",
        _hs("HS256", lambda f: f.issuer_pem(_PKCS1), lambda f: f.issuer.kid),
        AlgorithmNotAllowed,
        ref=_REF_CONFUSION,
    ),
    refused(
        "hs256-keyed-with-rsa-pem-without-final-newline",
        _hs("HS256", lambda f: f.issuer_pem(_SPKI).rstrip(b"\n"), lambda f: f.issuer.kid),
        AlgorithmNotAllowed,
        ref=_REF_CONFUSION,
    ),
    refused(
        "hs256-keyed-with-rsa-jwk-json",
        _hs("HS256", lambda f: octets(f.issuer.keys[0].to_dict()), lambda f: f.issuer.kid),
        AlgorithmNotAllowed,
        ref=_REF_CONFUSION,
    ),
    refused(
        "hs256-keyed-with-rsa-jwk-json-pretty",
        _hs(
            "HS256",
            lambda f: json.dumps(f.issuer.keys[0].to_dict(), indent=2).encode(),
            lambda f: f.issuer.kid,
        ),
        AlgorithmNotAllowed,
        ref=_REF_CONFUSION,
    ),
    refused(
        "hs256-keyed-with-rsa-pem-without-kid",
        _hs("HS256", lambda f: f.issuer_pem(_SPKI), lambda f: DROP),
        AlgorithmNotAllowed,
        ref=_REF_CONFUSION,
    ),
    refused(
        "hs384-keyed-with-ec-p384-public-key-pem",
        _hs("HS384", lambda f: _ec_pem(f, "ec-p384"), lambda f: "ec-p384"),
        AlgorithmNotAllowed,
        ref=_REF_CONFUSION,
    ),
    refused(
        "hs512-keyed-with-ed25519-raw-public-key",
        _hs("HS512", _ed_raw, lambda f: "ed25519"),
        AlgorithmNotAllowed,
        ref=_REF_CONFUSION,
    ),
    refused(
        "hs256-keyed-with-empty-secret",
        _hs("HS256", lambda f: b"", lambda f: "rsa"),
        AlgorithmNotAllowed,
        ref=_REF_CONFUSION,
    ),
]

_REF_NONE = "RFC 8725 §2.1, §3.1; CVE-2015-9235, CVE-2022-23540"
# The refusal names the algorithm, whatever else is wrong with the token.
_NONE_REFUSAL = r"alg '(?i:none)' is the 'none' algorithm \(an unsecured JWS\), never accepted"


def _none_token(f: Forge, alg: str, sig: bytes) -> str:
    h64 = b64(octets({"alg": alg, "typ": "at+jwt"}))
    return f"{h64}.{b64(octets(f.claims()))}.{b64(sig)}"


def _borrowed_signature(f: Forge) -> bytes:
    return unb64(segments(f.token())[2])


def _none_token_borrowing(f: Forge, alg: str) -> str:
    """A token whose ``alg`` is *alg* (a spelling of none) with a genuine token's signature."""
    return _none_token(f, alg, _borrowed_signature(f))


NONE_ALGORITHM = [
    *(
        refused(
            f"alg-{casing}-empty-signature",
            functools.partial(_none_token, alg=casing, sig=b""),
            AlgorithmNotAllowed,
            ref=_REF_NONE,
            description=_NONE_REFUSAL,
        )
        for casing in _casings("none")
    ),
    *(
        refused(
            f"alg-{casing}-with-a-borrowed-signature",
            functools.partial(_none_token_borrowing, alg=casing),
            AlgorithmNotAllowed,
            ref=_REF_NONE,
            description=_NONE_REFUSAL,
        )
        for casing in _casings("none")
    ),
    refused(
        "alg-none-two-segments",
        lambda f: _none_token(f, "none", b"").rstrip("."),
        AlgorithmNotAllowed,
        ref=_REF_NONE,
        description=_NONE_REFUSAL,
    ),
    refused(
        "alg-none-with-trusted-kid",
        lambda f: f.token(header=f.header("none", "rsa")),
        AlgorithmNotAllowed,
        ref=_REF_NONE,
        description=_NONE_REFUSAL,
    ),
    refused(
        "alg-none-fullwidth",
        lambda f: f.token(header=f.header("\uff4e\uff4f\uff4e\uff45")),
        AlgorithmNotAllowed,
    ),
    refused(
        "alg-none-trailing-space", lambda f: f.token(header=f.header("none ")), AlgorithmNotAllowed
    ),
    refused(
        "alg-rs256-lower-case", lambda f: f.token(header=f.header("rs256")), AlgorithmNotAllowed
    ),
    refused(
        "alg-rs256-trailing-nul",
        lambda f: f.token(header=f.header("RS256\x00")),
        AlgorithmNotAllowed,
    ),
    refused("alg-missing", lambda f: f.token(header=f.header(DROP)), AlgorithmNotAllowed),
    refused("alg-null", lambda f: f.token(header=f.header(None)), AlgorithmNotAllowed),
    refused("alg-array", lambda f: f.token(header=f.header(["RS256"])), AlgorithmNotAllowed),
    refused("alg-jwe-dir", lambda f: f.token(header=f.header("dir")), AlgorithmNotAllowed),
]


def _mismatch(id: str, header_alg: str, kid: str, key: str, sign_alg: str) -> Attack:
    """Header *header_alg* naming trusted key *kid*, signed by trusted *key* under *sign_alg*."""
    return refused(
        id,
        lambda f: f.token(f.keys.trusted()[key], header=f.header(header_alg, kid), alg=sign_alg),
        AlgorithmNotAllowed,
        ref="RFC 8725 §3.1: the algorithm must fit the key",
    )


MISMATCHED_KEYS = [
    _mismatch("rs256-header-on-ec-p256-key", "RS256", "ec-p256", "rsa", "RS256"),
    _mismatch("ps256-header-on-ec-p384-key", "PS256", "ec-p384", "rsa", "PS256"),
    _mismatch("es256-header-on-rsa-key", "ES256", "rsa", "ec-p256", "ES256"),
    _mismatch("es384-header-on-p256-key", "ES384", "ec-p256", "ec-p384", "ES384"),
    _mismatch("es256-header-on-p384-key", "ES256", "ec-p384", "ec-p256", "ES256"),
    _mismatch("es512-header-on-p384-key", "ES512", "ec-p384", "ec-p521", "ES512"),
    _mismatch("es256-header-on-p521-key", "ES256", "ec-p521", "ec-p256", "ES256"),
    _mismatch("eddsa-header-on-ec-p256-key", "EdDSA", "ec-p256", "ed25519", "EdDSA"),
    _mismatch("eddsa-header-on-rsa-key", "EdDSA", "rsa", "ed25519", "EdDSA"),
    _mismatch("ed448-header-on-ed25519-key", "Ed448", "ed25519", "ed25519", "EdDSA"),
    _mismatch(
        "ed448-header-on-key-published-as-ed25519",
        "Ed448",
        "ed25519-webcrypto",
        "ed25519-webcrypto",
        "EdDSA",
    ),
    _mismatch(
        "es384-header-on-p256-key-published-without-leading-zeros",
        "ES384",
        "ec-p256-short",
        "ec-p384",
        "ES384",
    ),
    _mismatch("es256-header-on-ed25519-key", "ES256", "ed25519", "ec-p256", "ES256"),
    _mismatch(
        "rs256-header-on-key-published-for-ps256", "RS256", "rsa-ps256", "rsa-ps256", "RS256"
    ),
    refused(
        "ps256-header-on-local-issuer-rs256-key",
        lambda f: f.token(header=f.header("PS256", f.issuer.kid), alg="PS256"),
        AlgorithmNotAllowed,
        ref="RFC 8725 §3.1: a JWK's own alg restricts it",
    ),
    refused(
        "rs256-without-kid-signed-by-attacker",
        lambda f: f.token(f.keys.attacker_rsa, header=f.header(kid=DROP)),
        InvalidSignature,
    ),
    refused(
        "es256-without-kid-signed-by-attacker",
        lambda f: f.token(f.keys.attacker_p256, header=f.header("ES256", DROP)),
        InvalidSignature,
    ),
]

_REF_EMBEDDED = "RFC 8725 §3.10; CVE-2018-0114 (node-jose)"


def _attacker_jwk(f: Forge, kid: str) -> dict[str, str]:
    return public_jwk(f.keys.attacker_rsa, kid)


EMBEDDED_KEYS = [
    refused(
        "embedded-jwk-with-its-own-kid",
        lambda f: f.by_attacker(kid="attacker", jwk=_attacker_jwk(f, "attacker")),
        UnknownKey,
        ref=_REF_EMBEDDED,
    ),
    refused(
        "embedded-jwk-with-trusted-kid",
        lambda f: f.by_attacker(kid="rsa", jwk=_attacker_jwk(f, "rsa")),
        InvalidSignature,
        ref=_REF_EMBEDDED,
    ),
    refused(
        "embedded-jwk-without-kid",
        lambda f: f.by_attacker(kid=DROP, jwk=_attacker_jwk(f, "attacker")),
        InvalidSignature,
        ref=_REF_EMBEDDED,
    ),
    refused(
        "jku-to-attacker-host-with-its-kid",
        lambda f: f.by_attacker(kid="attacker", jku=f.trap.url("/jwks.json")),
        UnknownKey,
        ref=_REF_EMBEDDED,
    ),
    refused(
        "jku-to-attacker-host-with-trusted-kid",
        lambda f: f.by_attacker(kid="rsa", jku=f.trap.url("/jwks.json")),
        InvalidSignature,
        ref=_REF_EMBEDDED,
    ),
    refused(
        "jku-to-the-issuers-own-jwks-with-attacker-kid",
        lambda f: f.by_attacker(kid="attacker", jku=f.issuer.jwks_uri),
        UnknownKey,
        ref=_REF_EMBEDDED,
    ),
    refused(
        "x5u-to-attacker-host",
        lambda f: f.by_attacker(kid="attacker", x5u=f.trap.url("/cert.pem")),
        UnknownKey,
        ref=_REF_EMBEDDED,
    ),
    refused(
        "x5c-self-signed-attacker-certificate-with-trusted-kid",
        _attacker_certificate,
        InvalidSignature,
        ref=_REF_EMBEDDED,
    ),
]

_KID_STRINGS = {
    "path-traversal": "../../../../../../../dev/null",
    "path-traversal-to-public-file": "../../../../../../usr/share/dict/words",
    "absolute-path": "/dev/null",
    "sql-tautology": "x' OR '1'='1",
    "sql-union": "x' UNION SELECT 'c2VjcmV0' -- ",
    "nul-truncation": "rsa\x00",
    "nul-then-path": "rsa\x00../../etc/passwd",
    "shell-substitution": "$(id)",
    "shell-pipe": "| cat /etc/passwd",
    "log4shell-lookup": "${jndi:ldap://127.0.0.1:1/a}",
    "crlf-log-injection": "rsa\r\nX-Injected: 1",
    "html": "<script>alert(1)</script>",
    "url": "http://127.0.0.1:1/jwks.json",
    "trusted-kid-upper-case": "RSA",
    "trusted-kid-trailing-space": "rsa ",
    "trusted-kid-fullwidth": "\uff52\uff53\uff41",
    "empty": "",
    "longest-allowed-256": "k" * 256,
}
_REF_KID = "RFC 8725 §2.9, §3.10: kid is attacker-controlled input"

KID_INJECTION = [
    *(
        refused(
            f"kid-{name}", functools.partial(Forge.by_attacker, kid=kid), UnknownKey, ref=_REF_KID
        )
        for name, kid in _KID_STRINGS.items()
    ),
    refused("kid-257-chars", lambda f: f.by_attacker(kid="k" * 257), MalformedToken, ref=_REF_KID),
    refused(
        "kid-8000-chars", lambda f: f.by_attacker(kid="k" * 8000), MalformedToken, ref=_REF_KID
    ),
    refused("kid-integer", lambda f: f.by_attacker(kid=7), MalformedToken, ref=_REF_KID),
    refused("kid-float", lambda f: f.by_attacker(kid=1.5), MalformedToken, ref=_REF_KID),
    refused("kid-true", lambda f: f.by_attacker(kid=True), MalformedToken, ref=_REF_KID),
    refused("kid-array", lambda f: f.by_attacker(kid=["rsa"]), MalformedToken, ref=_REF_KID),
    refused("kid-object", lambda f: f.by_attacker(kid={"$ne": ""}), MalformedToken, ref=_REF_KID),
    refused(
        "kid-null-is-no-kid", lambda f: f.by_attacker(kid=None), InvalidSignature, ref=_REF_KID
    ),
]

_REF_CRIT = "RFC 7515 §4.1.11, RFC 7797 §6"
CRIT_AND_B64 = [
    refused(
        "crit-exp-in-header",
        lambda f: f.token(header=f.header(crit=["exp"], exp=f.now + 60)),
        UnsupportedToken,
        ref=_REF_CRIT,
    ),
    refused(
        "crit-unknown-extension",
        lambda f: f.token(header=f.header(crit=["x-skip-checks"], **{"x-skip-checks": True})),
        UnsupportedToken,
        ref=_REF_CRIT,
    ),
    refused("crit-empty-array", lambda f: f.token(header=f.header(crit=[])), UnsupportedToken),
    refused("crit-string", lambda f: f.token(header=f.header(crit="b64")), UnsupportedToken),
    refused("crit-null", lambda f: f.token(header=f.header(crit=None)), UnsupportedToken),
    refused(
        "b64-false-with-crit",
        lambda f: f.token(header=f.header(b64=False, crit=["b64"])),
        UnsupportedToken,
        ref=_REF_CRIT,
    ),
    refused(
        "b64-false-without-crit",
        lambda f: f.token(header=f.header(b64=False)),
        UnsupportedToken,
        ref=_REF_CRIT,
    ),
    refused("b64-string-false", lambda f: f.token(header=f.header(b64="false")), UnsupportedToken),
    refused("b64-zero", lambda f: f.token(header=f.header(b64=0)), UnsupportedToken),
]

_REF_PSYCHIC = "CVE-2022-21449 (Java psychic signatures); RFC 7518 §3.4"
ECDSA_SIGNATURES = [
    *(
        refused(
            f"{alg.lower()}-r-{r}-s-{s}",
            functools.partial(_psychic, kid=kid, alg=alg, crv=crv, r=r, s=s),
            InvalidSignature,
            ref=_REF_PSYCHIC,
        )
        for alg, kid, crv in (
            ("ES256", "ec-p256", "P-256"),
            ("ES384", "ec-p384", "P-384"),
            ("ES512", "ec-p521", "P-521"),
        )
        for r, s in (("0", "0"), ("n", "n"), ("0", "valid"), ("valid", "0"), ("ff", "ff"))
    ),
    refused(
        "es256-r-valid-s-n",
        lambda f: _psychic(f, "ec-p256", "ES256", "P-256", "valid", "n"),
        InvalidSignature,
        ref=_REF_PSYCHIC,
    ),
    refused(
        "es256-der-encoded-signature",
        lambda f: _der_signature(f, "ec-p256", "ES256"),
        InvalidSignature,
        ref="RFC 7518 §3.4: R || S, not DER",
    ),
    refused(
        "es384-der-encoded-signature",
        lambda f: _der_signature(f, "ec-p384", "ES384"),
        InvalidSignature,
    ),
    refused(
        "es512-der-encoded-signature",
        lambda f: _der_signature(f, "ec-p521", "ES512"),
        InvalidSignature,
    ),
    refused(
        "es512-signature-with-65-byte-halves",
        lambda f: _resized(f, "ec-p521", "ES512", -2),
        InvalidSignature,
    ),
]

TRUNCATED_SIGNATURES = [
    refused(
        "rs256-signature-minus-one-byte",
        lambda f: _resized(f, "rsa", "RS256", -1),
        InvalidSignature,
    ),
    refused(
        "rs256-signature-plus-one-byte", lambda f: _resized(f, "rsa", "RS256", 1), InvalidSignature
    ),
    refused(
        "rs256-signature-with-leading-zero",
        lambda f: f.with_signature(f.token(), b"\x00" + unb64(segments(f.token())[2])),
        InvalidSignature,
    ),
    refused(
        "rs256-signature-doubled",
        lambda f: f.with_signature(f.token(), unb64(segments(f.token())[2]) * 2),
        InvalidSignature,
    ),
    refused(
        "rs256-signature-first-half",
        lambda f: f.with_signature(f.token(), unb64(segments(f.token())[2])[:128]),
        InvalidSignature,
    ),
    refused(
        "ps256-signature-minus-one-byte",
        lambda f: _resized(f, "rsa-ps256", "PS256", -1),
        InvalidSignature,
    ),
    refused(
        "es256-signature-minus-one-byte",
        lambda f: _resized(f, "ec-p256", "ES256", -1),
        InvalidSignature,
    ),
    refused(
        "es256-signature-plus-one-byte",
        lambda f: _resized(f, "ec-p256", "ES256", 1),
        InvalidSignature,
    ),
    refused(
        "eddsa-signature-minus-one-byte",
        lambda f: _resized(f, "ed25519", "EdDSA", -1),
        InvalidSignature,
    ),
    refused(
        "eddsa-signature-plus-one-byte",
        lambda f: _resized(f, "ed25519", "EdDSA", 1),
        InvalidSignature,
    ),
    refused(
        "signature-of-another-token",
        lambda f: f.with_signature(f.token(sub="admin"), unb64(segments(f.token())[2])),
        InvalidSignature,
    ),
    refused("payload-tampered-after-signing", _tampered, InvalidSignature),
    refused(
        "header-alg-upgraded-after-signing",
        lambda f: f.with_signature(
            f.token(header=f.header("RS512")), unb64(segments(f.token())[2])
        ),
        InvalidSignature,
    ),
    refused("empty-signature", lambda f: f.with_signature(f.token(), b""), MalformedToken),
]

_REF_B64 = "RFC 7515 §2 and §3.1 (base64url without padding, one spelling per token)"
NON_CANONICAL_ENCODING = [
    refused("signature-padded", lambda f: _padded(f, 2), MalformedToken, ref=_REF_B64),
    unsendable("payload-padded", lambda f: _padded(f, 1), MalformedToken, ref=_REF_B64),
    unsendable("header-padded", lambda f: _padded(f, 0), MalformedToken, ref=_REF_B64),
    refused(
        "signature-trailing-bits-set",
        lambda f: _non_canonical_tail(f, 2),
        MalformedToken,
        ref=_REF_B64,
    ),
    refused(
        "payload-trailing-bits-set",
        lambda f: _non_canonical_tail(f, 1),
        MalformedToken,
        ref=_REF_B64,
    ),
    refused("signature-standard-alphabet", _swap_alphabet, MalformedToken, ref=_REF_B64),
    unsendable(
        "inner-space", lambda f: f.token()[:40] + " " + f.token()[40:], MalformedToken, ref=_REF_B64
    ),
    unsendable(
        "fullwidth-letter-in-signature",
        lambda f: f.token()[:-1] + "\uff21",
        MalformedToken,
        ref=_REF_B64,
    ),
    unsendable("percent-encoded-dot", lambda f: f.token().replace(".", "%2E", 1), MalformedToken),
    refused("four-segments", lambda f: f.token() + "." + segments(f.token())[2], MalformedToken),
    refused(
        "jwe-compact-five-segments",
        lambda f: ".".join(
            [b64(octets({"alg": "RSA-OAEP", "enc": "A256GCM"})), "AAAA", "AAAA", "AAAA", "AAAA"]
        ),
        UnsupportedToken,
        ref="RFC 8725 §3.11; CVE-2022-3102 (jwcrypto token substitution)",
    ),
    unsendable(
        "jws-json-serialization",
        lambda f: json.dumps(
            {
                "payload": segments(f.token())[1],
                "protected": segments(f.token())[0],
                "signature": "x",
            }
        ),
        MalformedToken,
        ref="RFC 7515 §7.2; CVE-2022-39227 (python-jwt mixed serializations)",
    ),
]

_REF_DUP = "RFC 7515 §5.2, RFC 8725 §2.6: one token, one meaning for every parser"


def _dup_header(raw: str) -> Build:
    return lambda f: f.token(header=raw.encode())


def _dup_payload(fragment: str) -> Build:
    return lambda f: f.token(payload=_raw_payload(f, fragment))


DUPLICATE_MEMBERS = [
    refused(
        "header-alg-none-then-rs256",
        _dup_header('{"alg":"none","alg":"RS256","kid":"rsa"}'),
        MalformedToken,
        ref=_REF_DUP,
    ),
    refused(
        "header-alg-rs256-then-none",
        _dup_header('{"alg":"RS256","kid":"rsa","alg":"none"}'),
        MalformedToken,
        ref=_REF_DUP,
    ),
    refused(
        "header-kid-twice",
        _dup_header('{"alg":"RS256","kid":"attacker","kid":"rsa"}'),
        MalformedToken,
        ref=_REF_DUP,
    ),
    refused(
        "header-escaped-duplicate-alg",
        _dup_header('{"alg":"RS256","kid":"rsa","\\u0061lg":"none"}'),
        MalformedToken,
        ref=_REF_DUP,
    ),
    refused(
        "payload-iss-twice",
        lambda f: f.token(payload=_raw_payload(f, '"iss":"https://evil.example"')),
        MalformedToken,
        ref=_REF_DUP,
    ),
    refused("payload-sub-twice", _dup_payload('"sub":"admin"'), MalformedToken, ref=_REF_DUP),
    refused(
        "payload-aud-twice", _dup_payload('"aud":"api://another"'), MalformedToken, ref=_REF_DUP
    ),
    refused("payload-exp-twice", _dup_payload('"exp":1'), MalformedToken, ref=_REF_DUP),
    refused(
        "payload-scope-twice", _dup_payload('"scope":"orders:admin"'), MalformedToken, ref=_REF_DUP
    ),
    refused(
        "payload-escaped-duplicate-sub",
        _dup_payload('"\\u0073ub":"admin"'),
        MalformedToken,
        ref=_REF_DUP,
    ),
    refused(
        "payload-nested-duplicate",
        _dup_payload('"cnf":{"jkt":"a","jkt":"b"}'),
        MalformedToken,
        ref=_REF_DUP,
    ),
]

HUGE_AND_NESTED = [
    refused(
        "payload-arrays-nested-5000-deep",
        lambda f: f.token(payload=_raw_payload(f, '"x":' + _nested(5000, "[", "]"))),
        MalformedToken,
        ref="resource exhaustion: deep nesting must fail as a refusal, not a crash",
    ),
    refused(
        "payload-objects-nested-1500-deep",
        lambda f: f.token(payload=_raw_payload(f, '"x":' + _nested(1500, '{"a":', "}", "0"))),
        MalformedToken,
    ),
    refused(
        "header-arrays-nested-4000-deep",
        lambda f: f.token(
            header=('{"alg":"RS256","kid":"rsa","x":' + _nested(4000, "[", "]") + "}").encode()
        ),
        MalformedToken,
    ),
    refused(
        "integer-with-5000-digits",
        lambda f: f.token(payload=_raw_payload(f, '"n":' + "9" * 5000)),
        MalformedToken,
    ),
    refused("token-just-over-the-cap", lambda f: _over_the_cap(f, 1), TokenTooLarge),
    refused("token-far-over-the-cap", lambda f: _over_the_cap(f, 4000), TokenTooLarge),
]

_REF_TYPES = "RFC 7519 §2 (NumericDate), §4.1"
CLAIM_TYPES = [
    *(
        refused(
            f"exp-{name}", functools.partial(Forge.token, exp=value), InvalidClaims, ref=_REF_TYPES
        )
        for name, value in {
            "string-of-digits": "9999999999",
            "true": True,
            "false": False,
            "huge-float": 1e300,
            "largest-double": 1.7976931348623157e308,
            "huge-integer": 10**20,
            "4000-digit-integer": 10**3999,
            "negative": -1,
            "array": [9999999999],
            "object": {"$date": 9999999999},
            "null": None,
        }.items()
    ),
    *(
        refused(
            f"exp-{name}",
            functools.partial(_exp_written_as, literal=literal),
            MalformedToken,
            ref=_REF_TYPES,
        )
        for name, literal in {
            "nan": "NaN",
            "infinity": "Infinity",
            "negative-infinity": "-Infinity",
            "1e999": "1e999",
        }.items()
    ),
    refused("nbf-string", lambda f: f.token(nbf="0"), InvalidClaims, ref=_REF_TYPES),
    refused("iat-true", lambda f: f.token(iat=True), InvalidClaims, ref=_REF_TYPES),
    refused("sub-number", lambda f: f.token(sub=42), InvalidClaims),
    refused("sub-array", lambda f: f.token(sub=["admin"]), InvalidClaims),
    refused("sub-empty", lambda f: f.token(sub=""), InvalidClaims),
    refused("client-id-array", lambda f: f.token(client_id=["a", "b"]), InvalidClaims),
    refused("scope-object", lambda f: f.token(scope={"admin": True}), InvalidClaims),
    refused("scope-number", lambda f: f.token(scope=7), InvalidClaims),
    refused("iss-number", lambda f: f.token(iss=7), IssuerMismatch),
    refused("iss-array", lambda f: f.token(iss=[f.issuer.url]), IssuerMismatch),
    refused("iss-object", lambda f: f.token(iss={"url": f.issuer.url}), IssuerMismatch),
    refused("iss-null", lambda f: f.token(iss=None), IssuerMismatch),
    refused("iss-missing", lambda f: f.token(iss=DROP), IssuerMismatch),
    refused("expired-an-hour-ago", lambda f: f.token(exp=f.now - 3600), ExpiredToken),
    refused("not-before-in-an-hour", lambda f: f.token(nbf=f.now + 3600), InvalidClaims),
    refused("issued-in-an-hour", lambda f: f.token(iat=f.now + 3600), InvalidClaims),
    refused("exp-missing", lambda f: f.token(exp=DROP), InvalidClaims),
]


def _iss(make: Callable[[str, int], str]) -> Build:
    return lambda f: f.token(iss=make(f.issuer.url, f.issuer.port))


_REF_ISS = "RFC 8725 §3.8: iss compared exactly"
ISSUER_TRICKS = [
    refused(f"iss-{name}", _iss(make), IssuerMismatch, ref=_REF_ISS)
    for name, make in {
        "trailing-slash": lambda url, port: url + "/",
        "suffix-domain": lambda url, port: url + ".evil.example",
        "prefix": lambda url, port: url[:-1],
        "extra-path": lambda url, port: url + "/tenant",
        "query": lambda url, port: url + "?",
        "fragment": lambda url, port: url + "#",
        "percent-encoded-slash": lambda url, port: url + "%2F",
        "userinfo-host-swap": lambda url, port: f"http://127.0.0.1:{port}@evil.example",
        "localhost-alias": lambda url, port: f"http://localhost:{port}",
        "ipv6-loopback": lambda url, port: f"http://[::1]:{port}",
        "decimal-ip": lambda url, port: f"http://2130706433:{port}",
        "https-scheme": lambda url, port: f"https://127.0.0.1:{port}",
        "upper-case-scheme": lambda url, port: "HTTP" + url[4:],
        "leading-space": lambda url, port: " " + url,
        "trailing-nul": lambda url, port: url + "\x00",
        "zero-width-space": lambda url, port: url + "\u200b",
        "empty": lambda url, port: "",
    }.items()
]

_REF_AUD = "RFC 7519 §4.1.3, RFC 8725 §3.9"
AUDIENCE_TRICKS = [
    refused(f"aud-{name}", functools.partial(Forge.token, aud=value), InvalidClaims, ref=_REF_AUD)
    for name, value in {
        "empty-array": [],
        "another-api": "api://billing",
        "array-of-other-apis": ["api://billing", "api://admin"],
        "suffix": AUDIENCE + "-evil",
        "prefix": AUDIENCE[:-1],
        "trailing-slash": AUDIENCE + "/",
        "upper-case": AUDIENCE.upper(),
        "space-joined-string": f"api://billing {AUDIENCE}",
        "comma-joined-string": f"api://billing,{AUDIENCE}",
        "nested-array": [[AUDIENCE]],
        "array-with-a-number": [AUDIENCE, 1],
        "array-with-null": [AUDIENCE, None],
        "object": {AUDIENCE: True},
        "trailing-nul": AUDIENCE + "\x00",
        "missing": DROP,
        "empty-string": "",
    }.items()
]

_REF_CROSS = "RFC 8725 §2.8 and §3.11 (cross-JWT confusion); RFC 9068 §4"
TOKEN_TYPE_CONFUSION = [
    refused(
        "id-token-for-the-client",
        lambda f: id_token(f, audience=CLIENT_ID, typ="JWT"),
        InvalidClaims,
        ref=_REF_CROSS,
    ),
    refused(
        "id-token-without-typ-for-the-client",
        lambda f: id_token(f, audience=CLIENT_ID, typ=DROP),
        InvalidClaims,
        ref=_REF_CROSS,
    ),
    refused(
        "id-token-for-the-client-rfc9068",
        lambda f: id_token(f, audience=CLIENT_ID, typ="JWT"),
        InvalidClaims,
        profile="rfc9068",
        ref=_REF_CROSS,
    ),
    refused(
        "id-token-with-this-apis-audience-rfc9068",
        lambda f: id_token(f, audience=AUDIENCE, typ="JWT"),
        InvalidClaims,
        profile="rfc9068",
        ref=_REF_CROSS,
    ),
    refused(
        "id-token-without-typ-with-this-apis-audience-rfc9068",
        lambda f: id_token(f, audience=AUDIENCE, typ=DROP),
        InvalidClaims,
        profile="rfc9068",
        ref=_REF_CROSS,
    ),
    refused(
        "access-token-typed-jwt-rfc9068",
        lambda f: f.issuer.mint(headers={"typ": "JWT"}),
        InvalidClaims,
        profile="rfc9068",
        ref=_REF_CROSS,
    ),
    refused(
        "access-token-missing-client-id-rfc9068",
        lambda f: f.issuer.mint(client_id=None),
        InvalidClaims,
        profile="rfc9068",
        ref=_REF_CROSS,
    ),
    *(
        refused(
            f"typ-{typ.replace('+', '-')}-as-access-token",
            functools.partial(_minted_with_typ, typ=typ),
            InvalidClaims,
            ref=_REF_CROSS,
        )
        for typ in ("dpop+jwt", "logout+jwt", "secevent+jwt", "id_token+jwt", "JOSE", "JWS")
    ),
]

_REF_TWINS = "RFC 8725 §2.7, §3.8: keys are per issuer; a kid means nothing across issuers"
SAME_KID_OTHER_ISSUER = [
    refused(
        "twin-b-key-claiming-iss-a",
        lambda f: f.twin_b.mint(headers={"kid": f.twin_a.kid}, iss=f.twin_a.url),
        InvalidSignature,
        profile="twins",
        ref=_REF_TWINS,
    ),
    refused(
        "twin-a-key-claiming-iss-b",
        lambda f: f.twin_a.mint(iss=f.twin_b.url),
        InvalidSignature,
        profile="twins",
        ref=_REF_TWINS,
    ),
    refused(
        "twin-b-genuine-token-when-only-a-is-trusted",
        lambda f: f.twin_b.mint(headers={"kid": f.twin_a.kid}),
        IssuerMismatch,
        profile="only-a",
        ref=_REF_TWINS,
    ),
    refused(
        "twin-b-key-claiming-iss-a-when-only-a-is-trusted",
        lambda f: f.twin_b.mint(headers={"kid": f.twin_a.kid}, iss=f.twin_a.url),
        InvalidSignature,
        profile="only-a",
        ref=_REF_TWINS,
    ),
    refused(
        "catalogue-issuer-token-sent-to-the-twins",
        lambda f: f.issuer.mint(),
        IssuerMismatch,
        profile="twins",
        ref=_REF_TWINS,
    ),
]

_REF_ENC = "RFC 7517 §4.2: a key published for use enc never verifies a signature"
ENCRYPTION_KEY = [
    refused(
        "signed-with-the-published-encryption-key",
        lambda f: f.token(f.keys.rsa_enc, header=f.header("RS256", "rsa-enc")),
        UnknownKey,
        ref=_REF_ENC,
    ),
    refused(
        "signed-with-the-published-encryption-key-without-kid",
        lambda f: f.token(f.keys.rsa_enc, header=f.header("RS256", DROP)),
        InvalidSignature,
        ref=_REF_ENC,
    ),
]

_REF_IJSON = "RFC 7493 §2.1 (I-JSON), RFC 8259 §8.2: strings are Unicode text"
_SURROGATE_REFUSAL = r"token (header|payload) has a string with an unpaired surrogate"


def _lone(id: str, build: Build) -> Attack:
    return refused(id, build, MalformedToken, ref=_REF_IJSON, description=_SURROGATE_REFUSAL)


def _claims_with(fragment: str, **changes: Any) -> Build:
    return lambda f: f.token(payload=_raw_payload(f, fragment, **changes))


def _header_text(members: str) -> Build:
    return lambda f: f.token(header=('{"alg":"RS256","typ":"at+jwt",' + members + "}").encode())


UNPAIRED_SURROGATES = [
    _lone("sub-lone-high-surrogate", _claims_with('"sub":"\\ud800"', sub=DROP)),
    _lone("sub-lone-low-surrogate", _claims_with('"sub":"\\udc00"', sub=DROP)),
    _lone("sub-high-surrogate-then-a-letter", _claims_with('"sub":"user-\\ud83dx"', sub=DROP)),
    _lone("sub-surrogate-pair-reversed", _claims_with('"sub":"\\ude00\\ud83d"', sub=DROP)),
    _lone("sub-high-surrogate-at-the-end", _claims_with('"sub":"user-42\\uDBFF"', sub=DROP)),
    _lone("nested-claim-lone-surrogate", _claims_with('"ext":{"roles":["admin","\\udbff"]}')),
    _lone("member-name-lone-surrogate", _claims_with('"\\ud800":"x"')),
    _lone("nested-member-name-lone-surrogate", _claims_with('"ext":[{"\\udfff":1}]')),
    _lone("header-kid-lone-surrogate", _header_text('"kid":"\\ud800"')),
    _lone("header-trusted-kid-then-lone-surrogate", _header_text('"kid":"rsa\\udc00"')),
    _lone("header-member-lone-surrogate", _header_text('"kid":"rsa","x-note":["\\udfff"]')),
]

#: Every row, grouped by attack class (the group names are what docs/security.md lists).
CLASSES: dict[str, list[Attack]] = {
    "controls": CONTROLS,
    "algorithm confusion (HS* keyed with a public key)": ALGORITHM_CONFUSION,
    "alg none and other non-algorithms": NONE_ALGORITHM,
    "alg that does not fit the key type or curve": MISMATCHED_KEYS,
    "a key published for encryption": ENCRYPTION_KEY,
    "embedded keys (jwk, jku, x5u, x5c)": EMBEDDED_KEYS,
    "kid injection": KID_INJECTION,
    "crit and b64": CRIT_AND_B64,
    "ECDSA signature values and encodings": ECDSA_SIGNATURES,
    "truncated, extended and transplanted signatures": TRUNCATED_SIGNATURES,
    "non-canonical encoding": NON_CANONICAL_ENCODING,
    "duplicate JSON members": DUPLICATE_MEMBERS,
    "unpaired surrogates in JSON strings": UNPAIRED_SURROGATES,
    "nested and huge JSON": HUGE_AND_NESTED,
    "claim type confusion": CLAIM_TYPES,
    "iss prefix, suffix and look-alike tricks": ISSUER_TRICKS,
    "aud tricks": AUDIENCE_TRICKS,
    "ID tokens and other JWTs presented as access tokens": TOKEN_TYPE_CONFUSION,
    "another issuer's key under the same kid": SAME_KID_OTHER_ISSUER,
}

CATALOGUE: list[Attack] = [attack for rows in CLASSES.values() for attack in rows]
