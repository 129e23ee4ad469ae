"""Attacks on algorithm choice, key selection and signatures.

One test per attack from RFC 8725 §2–3 and the CVE history of PyJWT,
python-jose, Authlib and jwcrypto; each is named after the attack it replays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from bearerguard import (
    AlgorithmNotAllowed,
    ConfigurationError,
    InvalidKey,
    InvalidSignature,
    Issuer,
    PublicJWK,
    UnknownKey,
    UnsupportedToken,
    Validator,
    parse_jwks,
)
from bearerguard._algorithms import CURVE_ORDERS
from bearerguard._issuer import MAX_KIDLESS_CANDIDATES
from bearerguard.verifier import Verifier

from .conftest import Keys
from .helpers import (
    AUDIENCE,
    ISSUER,
    NOW,
    PrivateKey,
    access_payload,
    b64,
    expect_error,
    key_material,
    make_token,
)


def _header(alg: str, kid: str | None = None, **extra: Any) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": alg, "typ": "at+jwt"}
    if kid is not None:
        header["kid"] = kid
    header.update(extra)
    return header


def _secrets(keys: Keys) -> list[str]:
    return key_material(keys.public_dicts())


# -- alg "none" (RFC 8725 §2.1; CVE-2015-9235 and friends) ---------------------------

NONE_CASINGS = ["none", "None", "NONE", "nOnE", "noNe"]


NONE_REFUSAL = r"^alg '(?i:none)' is the 'none' algorithm \(an unsecured JWS\), never accepted$"


@pytest.mark.parametrize("alg", NONE_CASINGS)
def test_alg_none_with_empty_signature_is_refused(issuer: Issuer, alg: str) -> None:
    """An unsecured JWS (``alg: none``, empty signature) never passes, in any casing.

    The refusal names the algorithm, not the empty signature segment it comes with.
    """
    token = make_token({"alg": alg}, access_payload(), signature=b"")
    assert token.endswith(".")
    for call in (
        lambda: issuer.verify_and_validate(token, now=NOW),
        lambda: Verifier([issuer]).verify(token, now=NOW),
    ):
        expect_error(call, AlgorithmNotAllowed, token=token, match=NONE_REFUSAL)


@pytest.mark.parametrize("alg", NONE_CASINGS)
def test_alg_none_with_a_signature_is_refused(issuer: Issuer, keys: Keys, alg: str) -> None:
    """``alg: none`` with a real signature of a trusted key attached is still refused."""
    token = make_token({"alg": alg, "kid": "rsa"}, access_payload(), signature=b"\x01" * 256)
    for call in (
        lambda: issuer.verify_and_validate(token, now=NOW),
        lambda: Verifier([issuer]).verify(token, now=NOW),
    ):
        expect_error(call, AlgorithmNotAllowed, token=token, match=NONE_REFUSAL)


_NONE_HEADER = b64(b'{"alg":"none"}')


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(f"{_NONE_HEADER}.{b64(b'{}')}", id="two-segments"),
        pytest.param(f"{_NONE_HEADER}..", id="empty-payload-and-signature"),
        pytest.param(f"{_NONE_HEADER}.{b64(b'{}')}.AAAA.", id="four-segments"),
    ],
)
def test_alg_none_in_a_token_of_another_shape_is_named_too(issuer: Issuer, token: str) -> None:
    """Whatever else is wrong with an unsecured JWS, the refusal says ``none`` is the problem."""
    expect_error(lambda: issuer.unsafe_verify(token), AlgorithmNotAllowed, match=NONE_REFUSAL)


@pytest.mark.parametrize("alg", ["none ", "nonе", "n0ne", "\uff4e\uff4f\uff4e\uff45"])
def test_a_look_alike_of_none_gets_the_general_refusal(issuer: Issuer, alg: str) -> None:
    """Only ``none`` itself (in any casing) is named so; other odd values are just not allowed."""
    token = make_token({"alg": alg, "kid": "rsa"}, access_payload(), signature=b"\x01" * 256)
    error = expect_error(lambda: issuer.unsafe_verify(token), AlgorithmNotAllowed, token=token)
    assert "'none' algorithm" not in error.description


@pytest.mark.parametrize(
    "alg",
    [
        pytest.param(None, id="alg-missing"),
        pytest.param(["RS256"], id="alg-array"),
        pytest.param("", id="alg-empty"),
        pytest.param("rs256", id="alg-lowercase"),
        pytest.param("RS256 ", id="alg-trailing-space"),
        pytest.param("ES256K", id="alg-secp256k1"),
        pytest.param("RSA-OAEP", id="alg-key-management"),
    ],
)
def test_alg_outside_the_table_is_refused(issuer: Issuer, keys: Keys, alg: object) -> None:
    """Anything but an exact, known asymmetric ``alg`` string is refused before any key lookup."""
    header = {"kid": "rsa"} if alg is None else {"alg": alg, "kid": "rsa"}
    token = make_token(header, access_payload(), signature=b"\x01" * 256)
    expect_error(lambda: issuer.unsafe_verify(token), AlgorithmNotAllowed, token=token)


# -- algorithm confusion (RFC 8725 §2.1, §3.1; CVE-2016-10555, CVE-2022-29217,
#    CVE-2024-33663, CVE-2022-39227-like) -------------------------------------------------


def _rsa_public_forms(keys: Keys) -> dict[str, bytes]:
    pub = keys.rsa.public_key()
    jwk = PublicJWK.from_key(pub, kid="rsa").to_dict()
    return {
        "pem-spki": pub.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "pem-pkcs1": pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        "der-spki": pub.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "openssh": pub.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
        "jwk-json": json.dumps(jwk).encode(),
        "jwk-json-compact": json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode(),
    }


@pytest.mark.parametrize("hs_alg", ["HS256", "HS384", "HS512"])
@pytest.mark.parametrize(
    "form", ["pem-spki", "pem-pkcs1", "der-spki", "openssh", "jwk-json", "jwk-json-compact"]
)
def test_algorithm_confusion_hmac_keyed_with_the_rsa_public_key(
    issuer: Issuer, keys: Keys, hs_alg: str, form: str
) -> None:
    """HS* MACed with the issuer's public RSA key (in any serialization) is refused."""
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[hs_alg]
    secret = _rsa_public_forms(keys)[form]
    signing_input = (
        b64(json.dumps(_header(hs_alg, "rsa")).encode())
        + "."
        + b64(json.dumps(access_payload()).encode())
    )
    mac = hmac.new(secret, signing_input.encode(), digest).digest()
    token = signing_input + "." + b64(mac)
    expect_error(
        lambda: issuer.verify_and_validate(token, now=NOW),
        AlgorithmNotAllowed,
        token=token,
        secrets=_secrets(keys),
    )


@pytest.mark.parametrize(
    ("alg", "signer", "kid"),
    [
        pytest.param("ES256", "p256", "rsa", id="ES256-token-RSA-key"),
        pytest.param("RS256", "rsa_attacker", "p256", id="RS256-token-EC-key"),
        pytest.param("PS256", "rsa_attacker", "ed25519", id="PS256-token-OKP-key"),
        pytest.param("EdDSA", "ed25519", "rsa", id="EdDSA-token-RSA-key"),
        pytest.param("EdDSA", "ed25519", "p256", id="EdDSA-token-EC-key"),
        pytest.param("ES256", "p256", "ed25519", id="ES256-token-OKP-key"),
    ],
)
def test_algorithm_key_type_mismatch_is_refused(
    issuer: Issuer, keys: Keys, alg: str, signer: str, kid: str
) -> None:
    """The header ``alg`` must fit the type of the key its ``kid`` names."""
    key: PrivateKey = getattr(keys, signer)
    token = make_token(_header(alg, kid), access_payload(), key)
    expect_error(lambda: issuer.unsafe_verify(token), AlgorithmNotAllowed, token=token)


@pytest.mark.parametrize(
    ("alg", "signer", "kid"),
    [
        pytest.param("ES256", "p256", "p384", id="ES256-token-P384-key"),
        pytest.param("ES256", "p256", "p521", id="ES256-token-P521-key"),
        pytest.param("ES384", "p384", "p256", id="ES384-token-P256-key"),
        pytest.param("ES512", "p521", "p256", id="ES512-token-P256-key"),
        pytest.param("ES512", "p521", "p384", id="ES512-token-P384-key"),
        pytest.param("Ed25519", "ed25519", "ed448", id="Ed25519-token-Ed448-key"),
        pytest.param("Ed448", "ed448", "ed25519", id="Ed448-token-Ed25519-key"),
    ],
)
def test_algorithm_curve_mismatch_is_refused(
    issuer: Issuer, keys: Keys, alg: str, signer: str, kid: str
) -> None:
    """ES256/384/512 and the fully specified EdDSA names pin the key's curve."""
    token = make_token(_header(alg, kid), access_payload(), getattr(keys, signer))
    expect_error(lambda: issuer.unsafe_verify(token), AlgorithmNotAllowed, token=token)


def test_algorithm_mismatch_without_kid_finds_no_key(keys: Keys) -> None:
    """Without ``kid``, a token whose ``alg`` fits no key of the issuer matches no key."""
    issuer = Issuer(ISSUER, [PublicJWK.from_key(keys.rsa.public_key(), kid="rsa")])
    token = make_token(_header("ES256"), access_payload(), keys.p256)
    expect_error(lambda: issuer.unsafe_verify(token), UnknownKey, token=token)


@pytest.mark.parametrize(
    ("jwk_alg", "token_alg", "signer"),
    [
        pytest.param("RS256", "PS256", "rsa", id="RS256-key-PS256-token"),
        pytest.param("RS256", "RS512", "rsa", id="RS256-key-RS512-token"),
        pytest.param("PS384", "RS384", "rsa", id="PS384-key-RS384-token"),
    ],
)
def test_jwk_alg_pins_the_algorithm(keys: Keys, jwk_alg: str, token_alg: str, signer: str) -> None:
    """A JWK with ``alg`` verifies that algorithm only, even with a valid signature."""
    private: PrivateKey = getattr(keys, signer)
    pinned = PublicJWK.from_key(private.public_key(), kid="k", alg=jwk_alg)
    issuer = Issuer(ISSUER, [pinned])
    token = make_token(_header(token_alg, "k"), access_payload(), private)
    expect_error(lambda: issuer.unsafe_verify(token), AlgorithmNotAllowed, token=token)
    good = make_token(_header(jwk_alg, "k"), access_payload(), private)
    assert issuer.unsafe_verify(good).key is pinned


# -- RFC 9864: EdDSA and its fully specified names Ed25519 / Ed448 -------------------------


@pytest.mark.parametrize("token_alg", ["EdDSA", "Ed25519"])
@pytest.mark.parametrize("jwk_alg", ["EdDSA", "Ed25519", None])
def test_ed25519_key_verifies_both_spellings_whatever_its_jwk_alg(
    keys: Keys, jwk_alg: str | None, token_alg: str
) -> None:
    """On an Ed25519 key, ``EdDSA`` and ``Ed25519`` name one algorithm, in the JWK or the token.

    WebCrypto's ``exportKey("jwk")`` writes ``"alg": "Ed25519"`` on keys whose
    issuers still label tokens ``EdDSA``.
    """
    jwk = {**PublicJWK.from_key(keys.ed25519.public_key(), kid="ed").to_dict(), "alg": jwk_alg}
    key = PublicJWK.from_dict({k: v for k, v in jwk.items() if v is not None})
    assert key.algorithms == frozenset({"EdDSA", "Ed25519"})
    token = make_token(_header(token_alg, "ed"), access_payload(), keys.ed25519)
    assert Issuer(ISSUER, [key]).unsafe_verify(token).alg == token_alg


@pytest.mark.parametrize("token_alg", ["EdDSA", "Ed448"])
@pytest.mark.parametrize("jwk_alg", ["EdDSA", "Ed448", None])
def test_ed448_key_verifies_both_spellings_whatever_its_jwk_alg(
    keys: Keys, jwk_alg: str | None, token_alg: str
) -> None:
    """The same holds for Ed448 and its own name."""
    key = PublicJWK.from_key(keys.ed448.public_key(), kid="ed", alg=jwk_alg)
    assert key.algorithms == frozenset({"EdDSA", "Ed448"})
    token = make_token(_header(token_alg, "ed"), access_payload(), keys.ed448)
    assert Issuer(ISSUER, [key]).unsafe_verify(token).alg == token_alg


@pytest.mark.parametrize(
    ("jwk_alg", "token_alg", "key_name", "signer"),
    [
        pytest.param("Ed25519", "Ed448", "ed25519", "ed448", id="Ed25519-key-Ed448-token"),
        pytest.param("EdDSA", "Ed448", "ed25519", "ed448", id="EdDSA-Ed25519-key-Ed448-token"),
        pytest.param("Ed448", "Ed25519", "ed448", "ed25519", id="Ed448-key-Ed25519-token"),
        pytest.param("EdDSA", "Ed25519", "ed448", "ed25519", id="EdDSA-Ed448-key-Ed25519-token"),
    ],
)
def test_a_fully_specified_name_never_crosses_curves(
    keys: Keys, jwk_alg: str, token_alg: str, key_name: str, signer: str
) -> None:
    """``Ed25519`` never verifies with an Ed448 key, nor ``Ed448`` with an Ed25519 key."""
    key = PublicJWK.from_key(getattr(keys, key_name).public_key(), kid="ed", alg=jwk_alg)
    token = make_token(_header(token_alg, "ed"), access_payload(), getattr(keys, signer))
    issuer = Issuer(ISSUER, [key])
    expect_error(lambda: issuer.unsafe_verify(token), AlgorithmNotAllowed, token=token)


@pytest.mark.parametrize(
    ("jwk_alg", "key_name"),
    [pytest.param("Ed25519", "ed448", id="Ed25519-on-Ed448"), pytest.param("Ed448", "ed25519")],
)
def test_jwk_alg_naming_the_other_curve_is_refused(keys: Keys, jwk_alg: str, key_name: str) -> None:
    """A JWK whose ``alg`` names another curve than its ``crv`` is not a usable key."""
    jwk = {**PublicJWK.from_key(getattr(keys, key_name).public_key()).to_dict(), "alg": jwk_alg}
    expect_error(lambda: PublicJWK.from_dict(jwk), InvalidKey, match="does not fit this OKP key")


@pytest.mark.parametrize(
    ("allowed", "token_alg", "signer", "admitted"),
    [
        pytest.param(["EdDSA"], "EdDSA", "ed25519", True, id="EdDSA-admits-EdDSA"),
        pytest.param(["EdDSA"], "Ed25519", "ed25519", True, id="EdDSA-admits-Ed25519"),
        pytest.param(["EdDSA"], "Ed448", "ed448", True, id="EdDSA-admits-Ed448"),
        pytest.param(["Ed25519"], "Ed25519", "ed25519", True, id="Ed25519-admits-Ed25519"),
        pytest.param(["Ed25519"], "EdDSA", "ed25519", False, id="Ed25519-refuses-EdDSA"),
        pytest.param(["Ed25519"], "Ed448", "ed448", False, id="Ed25519-refuses-Ed448"),
        pytest.param(["Ed448"], "EdDSA", "ed448", False, id="Ed448-refuses-EdDSA"),
        pytest.param(["Ed25519", "EdDSA"], "EdDSA", "ed25519", True, id="both-admit-EdDSA"),
        pytest.param(["RS256"], "Ed25519", "ed25519", False, id="RS256-refuses-Ed25519"),
    ],
)
def test_allow_list_reads_eddsa_as_covering_its_fully_specified_names(
    keys: Keys, allowed: list[str], token_alg: str, signer: str, admitted: bool
) -> None:
    """``algorithms=["EdDSA"]`` admits ``Ed25519``/``Ed448`` tokens; a curve name admits itself.

    A token labelled ``EdDSA`` does not say its curve, so ``["Ed25519"]`` alone
    refuses it: list ``EdDSA`` too while an issuer still labels tokens so.
    """
    issuer = Issuer(ISSUER, keys.jwks(), algorithms=allowed)
    kid = "ed25519" if signer == "ed25519" else "ed448"
    token = make_token(_header(token_alg, kid), access_payload(), getattr(keys, signer))
    if admitted:
        assert issuer.unsafe_verify(token).alg == token_alg
    else:
        expect_error(lambda: issuer.unsafe_verify(token), AlgorithmNotAllowed, token=token)


def test_joserfc_ed25519_token_verifies_with_a_webcrypto_style_jwk(keys: Keys) -> None:
    """Interop: joserfc signs with the RFC 9864 name; the key is published as WebCrypto does."""
    from joserfc import jws
    from joserfc.jwk import OKPKey

    private = OKPKey.import_key(
        keys.ed25519.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    claims = json.dumps(access_payload(), separators=(",", ":")).encode()
    token = jws.serialize_compact(
        {"alg": "Ed25519", "kid": "web"}, claims, private, algorithms=["Ed25519"]
    )
    webcrypto = {
        **private.as_dict(private=False),
        "alg": "Ed25519",
        "key_ops": ["verify"],
        "ext": True,
        "kid": "web",
    }
    for token_alg, signed in (("Ed25519", token), ("EdDSA", _relabelled(keys, token, "EdDSA"))):
        issuer = Issuer(ISSUER, parse_jwks({"keys": [webcrypto]}), Validator(aud=AUDIENCE))
        jws_, claims_ = issuer.verify_and_validate(signed, now=NOW)
        assert (jws_.alg, claims_.sub) == (token_alg, "user-42")


def _relabelled(keys: Keys, token: str, alg: str) -> str:
    """*token*'s header with another ``alg``, signed again with the Ed25519 key."""
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
    return make_token({**header, "alg": alg}, payload, keys.ed25519)


# -- psychic signatures (CVE-2022-21449) and ECDSA encodings ---------------------------

EC_CASES = [
    pytest.param("ES256", "p256", "P-256", 32, id="ES256"),
    pytest.param("ES384", "p384", "P-384", 48, id="ES384"),
    pytest.param("ES512", "p521", "P-521", 66, id="ES512"),
]


def _split_ec(token: str, size: int) -> tuple[str, int, int]:
    signing_input, _, sig64 = token.rpartition(".")
    sig = base64.urlsafe_b64decode(sig64 + "==")
    return signing_input, int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big")


@pytest.mark.parametrize(("alg", "signer", "crv", "size"), EC_CASES)
@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda r, s, n: (0, 0), id="r=s=0"),
        pytest.param(lambda r, s, n: (0, s), id="r=0"),
        pytest.param(lambda r, s, n: (r, 0), id="s=0"),
        pytest.param(lambda r, s, n: (n, n), id="r=s=n"),
        pytest.param(lambda r, s, n: (n, s), id="r=n"),
        pytest.param(lambda r, s, n: (r, n), id="s=n"),
    ],
)
def test_psychic_ecdsa_signature_is_refused(
    issuer: Issuer, keys: Keys, alg: str, signer: str, crv: str, size: int, forge: Any
) -> None:
    """r or s of zero or not below the group order never verifies (CVE-2022-21449)."""
    token = make_token(_header(alg, signer), access_payload(), getattr(keys, signer))
    assert issuer.unsafe_verify(token).alg == alg
    signing_input, r, s = _split_ec(token, size)
    n = CURVE_ORDERS[crv]
    fr, fs = forge(r, s, n)
    forged = signing_input + "." + b64(fr.to_bytes(size, "big") + fs.to_bytes(size, "big"))
    expect_error(lambda: issuer.unsafe_verify(forged), InvalidSignature, token=forged)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda r, s, n: (r + n, s), id="r+n"),
        pytest.param(lambda r, s, n: (r, s + n), id="s+n"),
    ],
)
def test_psychic_ecdsa_signature_not_reduced_mod_n_is_refused(
    issuer: Issuer, keys: Keys, forge: Any
) -> None:
    """ES512 leaves room above n in 66 octets: r + n or s + n (a lax verifier reduces it) fails."""
    size, n = 66, CURVE_ORDERS["P-521"]
    token = make_token(_header("ES512", "p521"), access_payload(), keys.p521)
    signing_input, r, s = _split_ec(token, size)
    fr, fs = forge(r, s, n)
    assert max(fr, fs).bit_length() <= size * 8
    forged = signing_input + "." + b64(fr.to_bytes(size, "big") + fs.to_bytes(size, "big"))
    expect_error(lambda: issuer.unsafe_verify(forged), InvalidSignature, token=forged)


@pytest.mark.parametrize(("alg", "signer", "crv", "size"), EC_CASES)
def test_psychic_ecdsa_all_zero_signature_is_refused(
    issuer: Issuer, alg: str, signer: str, crv: str, size: int
) -> None:
    """The all-zero signature of the right length is refused for every curve."""
    token = make_token(_header(alg, signer), access_payload(), signature=bytes(2 * size))
    expect_error(lambda: issuer.unsafe_verify(token), InvalidSignature, token=token)


@pytest.mark.parametrize(("alg", "signer", "crv", "size"), EC_CASES)
def test_der_encoded_ecdsa_signature_is_refused(
    issuer: Issuer, keys: Keys, alg: str, signer: str, crv: str, size: int
) -> None:
    """RFC 7518 §3.4 wants R || S; a DER signature (what OpenSSL emits) is refused."""
    token = make_token(_header(alg, signer), access_payload(), getattr(keys, signer))
    signing_input, r, s = _split_ec(token, size)
    forged = signing_input + "." + b64(encode_dss_signature(r, s))
    expect_error(lambda: issuer.unsafe_verify(forged), InvalidSignature, token=forged)


@pytest.mark.parametrize(
    ("alg", "signer"),
    [
        pytest.param("RS256", "rsa", id="RS256"),
        pytest.param("PS256", "rsa", id="PS256"),
        pytest.param("ES256", "p256", id="ES256"),
        pytest.param("ES512", "p521", id="ES512"),
        pytest.param("EdDSA", "ed25519", id="EdDSA-Ed25519"),
        pytest.param("EdDSA", "ed448", id="EdDSA-Ed448"),
    ],
)
@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda sig: sig[:-1], id="last-byte-dropped"),
        pytest.param(lambda sig: sig[1:], id="first-byte-dropped"),
        pytest.param(lambda sig: sig[: len(sig) // 2], id="half"),
        pytest.param(lambda sig: sig + b"\x00", id="zero-appended"),
        pytest.param(lambda sig: b"\x00" + sig, id="zero-prepended"),
        pytest.param(lambda sig: sig + sig, id="doubled"),
        pytest.param(lambda sig: b"\x00", id="one-byte"),
    ],
)
def test_truncated_or_extended_signature_is_refused(
    issuer: Issuer, keys: Keys, alg: str, signer: str, mutate: Any
) -> None:
    """A signature of the wrong length never verifies, even when it embeds the right one."""
    token = make_token(_header(alg, signer), access_payload(), getattr(keys, signer))
    signing_input, _, sig64 = token.rpartition(".")
    sig = base64.urlsafe_b64decode(sig64 + "==")
    forged = signing_input + "." + b64(mutate(sig))
    expect_error(lambda: issuer.unsafe_verify(forged), InvalidSignature, token=forged)


def test_signature_of_another_token_is_refused(issuer: Issuer, keys: Keys) -> None:
    """Signature transplant: a valid signature over other claims does not verify these."""
    original = make_token(_header("RS256", "rsa"), access_payload(), keys.rsa)
    tampered_payload = access_payload(sub="admin")
    forged = (
        make_token(_header("RS256", "rsa"), tampered_payload, signature=b"x").rpartition(".")[0]
        + "."
        + original.rpartition(".")[2]
    )
    expect_error(lambda: issuer.unsafe_verify(forged), InvalidSignature, token=forged)


def test_forged_token_signed_by_an_attacker_key_with_a_trusted_kid(
    issuer: Issuer, keys: Keys
) -> None:
    """The attacker signs with their own RSA key and names the issuer's kid."""
    token = make_token(_header("RS256", "rsa"), access_payload(), keys.rsa_attacker)
    expect_error(lambda: issuer.unsafe_verify(token), InvalidSignature, token=token)


def test_unknown_kid_is_refused(issuer: Issuer, keys: Keys) -> None:
    """A kid that is not in the key set names no key."""
    token = make_token(_header("RS256", "attacker-key"), access_payload(), keys.rsa_attacker)
    expect_error(lambda: issuer.unsafe_verify(token), UnknownKey, token=token)


# -- embedded keys (RFC 8725 §3.10 / §2.2; CVE-2018-0114, jwcrypto/Authlib jku/x5u) --


def _attacker_headers(keys: Keys) -> dict[str, dict[str, Any]]:
    attacker_jwk = PublicJWK.from_key(keys.rsa_attacker.public_key(), kid="rsa").to_dict()
    fake_cert = base64.b64encode(b"0\x82\x01\x00 not really a certificate").decode()
    return {
        "jwk": {"jwk": attacker_jwk},
        "jku": {"jku": "https://attacker.example/jwks.json"},
        "x5u": {"x5u": "https://attacker.example/cert.pem"},
        "x5c": {"x5c": [fake_cert]},
        "all-four": {
            "jwk": attacker_jwk,
            "jku": "https://attacker.example/jwks.json",
            "x5u": "https://attacker.example/cert.pem",
            "x5c": [fake_cert],
        },
    }


EMBEDDED = ["jwk", "jku", "x5u", "x5c", "all-four"]


@pytest.mark.parametrize("member", EMBEDDED)
@pytest.mark.parametrize(
    "kid", [pytest.param("rsa", id="trusted-kid"), pytest.param(None, id="no-kid")]
)
def test_embedded_key_header_from_an_attacker_is_ignored(
    issuer: Issuer, keys: Keys, member: str, kid: str | None
) -> None:
    """A token signed by the attacker and carrying the attacker's key in a header is refused."""
    header = _header("RS256", kid, **_attacker_headers(keys)[member])
    token = make_token(header, access_payload(), keys.rsa_attacker)
    expect_error(lambda: issuer.unsafe_verify(token), InvalidSignature, token=token)


@pytest.mark.parametrize("member", EMBEDDED)
def test_embedded_key_header_with_its_own_kid_finds_no_key(
    issuer: Issuer, keys: Keys, member: str
) -> None:
    """The embedded key's own kid is not looked up anywhere but the trusted key set."""
    header = _header("RS256", "attacker-1", **_attacker_headers(keys)[member])
    token = make_token(header, access_payload(), keys.rsa_attacker)
    expect_error(lambda: issuer.unsafe_verify(token), UnknownKey, token=token)


@pytest.mark.parametrize("member", EMBEDDED)
def test_embedded_key_header_never_replaces_the_trusted_key(
    issuer: Issuer, keys: Keys, member: str
) -> None:
    """A genuine token with such headers verifies with the trusted key, headers unused."""
    header = _header("RS256", "rsa", **_attacker_headers(keys)[member])
    token = make_token(header, access_payload(), keys.rsa)
    jws = issuer.unsafe_verify(token)
    assert jws.key.kid == "rsa"
    assert isinstance(jws.key.key, rsa.RSAPublicKey)
    assert jws.key.key.public_numbers() == keys.rsa.public_key().public_numbers()


# -- crit and b64 (RFC 7515 §4.1.11, RFC 7797; CVE-2022-3102-like) ---------------------


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"crit": ["exp"], "exp": NOW + 300}, id="crit-exp"),
        pytest.param({"crit": ["http://example.com/unknown"]}, id="crit-unknown-name"),
        pytest.param({"crit": ["b64"], "b64": False}, id="crit-b64-false"),
        pytest.param({"crit": ["b64"], "b64": True}, id="crit-b64-true"),
        pytest.param({"crit": []}, id="crit-empty"),
        pytest.param({"crit": "exp"}, id="crit-not-an-array"),
    ],
)
def test_crit_header_with_unknown_extension_is_refused(
    issuer: Issuer, keys: Keys, extra: dict[str, Any]
) -> None:
    """bearerguard understands no extension, so any ``crit`` makes the token unusable."""
    token = make_token(_header("RS256", "rsa", **extra), access_payload(), keys.rsa)
    expect_error(lambda: issuer.unsafe_verify(token), UnsupportedToken, token=token)


@pytest.mark.parametrize("b64_value", [False, 0, "false", None, []])
def test_unencoded_payload_b64_false_is_refused(
    issuer: Issuer, keys: Keys, b64_value: object
) -> None:
    """``b64`` other than true (RFC 7797 unencoded payload) is refused."""
    token = make_token(_header("RS256", "rsa", b64=b64_value), access_payload(), keys.rsa)
    expect_error(lambda: issuer.unsafe_verify(token), UnsupportedToken, token=token)


def test_b64_true_is_the_default_and_accepted(issuer: Issuer, keys: Keys) -> None:
    """``b64: true`` is what a JWS means anyway."""
    token = make_token(_header("RS256", "rsa", b64=True), access_payload(), keys.rsa)
    assert issuer.unsafe_verify(token).header["b64"] is True


# -- allow-lists and bounds --------------------------------------------------------------


@pytest.mark.parametrize(
    ("alg", "signer"),
    [
        pytest.param("PS256", "rsa", id="PS256-same-key"),
        pytest.param("RS512", "rsa", id="RS512-same-key"),
        pytest.param("ES256", "p256", id="ES256"),
        pytest.param("EdDSA", "ed25519", id="EdDSA"),
    ],
)
def test_issuer_algorithm_allow_list_refuses_other_algorithms(
    keys: Keys, alg: str, signer: str
) -> None:
    """``Issuer(algorithms=["RS256"])`` refuses any other algorithm, even a valid signature."""
    issuer = Issuer(ISSUER, keys.jwks(), algorithms=["RS256"])
    token = make_token(_header(alg, signer), access_payload(), getattr(keys, signer))
    expect_error(lambda: issuer.unsafe_verify(token), AlgorithmNotAllowed, token=token)
    good = make_token(_header("RS256", "rsa"), access_payload(), keys.rsa)
    assert issuer.unsafe_verify(good).alg == "RS256"


@pytest.mark.parametrize(
    "algorithms",
    [
        pytest.param(["HS256"], id="HS256"),
        pytest.param(["none"], id="none"),
        pytest.param(["RS256", "HS256"], id="RS256+HS256"),
        pytest.param([], id="empty"),
        pytest.param(["rs256"], id="lowercase"),
    ],
)
def test_issuer_cannot_be_configured_for_symmetric_or_none(
    keys: Keys, algorithms: list[str]
) -> None:
    """An allow-list naming ``none``, HS* or nothing at all is a configuration error."""
    expect_error(lambda: Issuer(ISSUER, keys.jwks(), algorithms=algorithms), ConfigurationError)


@pytest.fixture(scope="module")
def many_ec_keys() -> list[ec.EllipticCurvePrivateKey]:
    """More P-256 keys than a kid-less token may be tried against."""
    return [ec.generate_private_key(ec.SECP256R1()) for _ in range(MAX_KIDLESS_CANDIDATES + 2)]


def test_kidless_token_tries_at_most_the_bounded_number_of_keys(
    many_ec_keys: list[ec.EllipticCurvePrivateKey],
) -> None:
    """A token without kid is checked against the first compatible keys only (DoS bound)."""
    issuer = Issuer(
        ISSUER,
        [PublicJWK.from_key(k.public_key(), kid=f"ec-{i}") for i, k in enumerate(many_ec_keys)],
    )
    last_tried = make_token(
        _header("ES256"), access_payload(), many_ec_keys[MAX_KIDLESS_CANDIDATES - 1]
    )
    assert issuer.unsafe_verify(last_tried).key.kid == f"ec-{MAX_KIDLESS_CANDIDATES - 1}"
    beyond = make_token(_header("ES256"), access_payload(), many_ec_keys[MAX_KIDLESS_CANDIDATES])
    expect_error(lambda: issuer.unsafe_verify(beyond), InvalidSignature, token=beyond)


def test_kidless_bound_counts_only_compatible_keys(
    keys: Keys, many_ec_keys: list[ec.EllipticCurvePrivateKey]
) -> None:
    """Keys of another type in front of the set do not use up the kid-less budget."""
    rsa_keys = [
        PublicJWK.from_key(keys.rsa_attacker.public_key(), kid=f"rsa-{i}")
        for i in range(MAX_KIDLESS_CANDIDATES + 1)
    ]
    ec_keys = [
        PublicJWK.from_key(k.public_key(), kid=f"ec-{i}") for i, k in enumerate(many_ec_keys)
    ]
    issuer = Issuer(ISSUER, [*rsa_keys, *ec_keys])
    token = make_token(_header("ES256"), access_payload(), many_ec_keys[0])
    assert issuer.unsafe_verify(token).key.kid == "ec-0"


def test_public_jwk_offers_no_symmetric_or_none_algorithm(keys: Keys) -> None:
    """An RSA PublicJWK can verify RS*/PS* only: HS* and none are not in its algorithm set."""
    jwk = PublicJWK.from_key(keys.rsa.public_key(), kid="rsa")
    assert jwk.algorithms == frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
    assert not jwk.allows("HS256")
    assert not jwk.allows("none")


def test_validator_is_separate_from_signature_checks(keys: Keys) -> None:
    """A perfect payload signed by an untrusted key fails before claims are read."""
    issuer = Issuer(ISSUER, keys.jwks(), Validator(aud=AUDIENCE))
    token = make_token(_header("RS256", "rsa"), access_payload(), keys.rsa_attacker)
    expect_error(lambda: issuer.verify_and_validate(token, now=NOW), InvalidSignature, token=token)
