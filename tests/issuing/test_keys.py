"""Key generation, PEM files and load_key_pair."""

from __future__ import annotations

import base64
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from bearerguard import ConfigurationError, InvalidKey, PublicJWK
from bearerguard.issuing import KeyPair, generate_key_pair, load_key_pair, write_key_files
from bearerguard.issuing._key_files import private_key_pem, public_key_pem, write_private_key
from bearerguard.issuing._keys import generate_private_key

from .conftest import PASSPHRASE as PASS

PKCS1 = serialization.PrivateFormat.TraditionalOpenSSL  # RSA: PKCS#1; EC: SEC1
PKCS8 = serialization.PrivateFormat.PKCS8


def _pem(
    key: PrivateKeyTypes, fmt: serialization.PrivateFormat, password: str | None = None
) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode())
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, fmt, encryption)


def pem_to_der(pem: bytes) -> bytes:
    return base64.b64decode(b"".join(pem.splitlines()[1:-1]))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- generation ---------------------------------------------------------------------------


def test_default_key_is_rsa_4096_signing_rs256(rsa4096: KeyPair) -> None:
    """generate_key_pair() with no arguments: RSA 4096, RS256, kid = RFC 7638 thumbprint."""
    assert isinstance(rsa4096.private_key, rsa.RSAPrivateKey)
    assert rsa4096.private_key.key_size == 4096
    assert rsa4096.alg == "RS256"
    assert rsa4096.kid == PublicJWK.from_key(rsa4096.public_key).thumbprint()


@pytest.mark.parametrize(
    ("kty", "options", "key_type", "alg"),
    [
        pytest.param("RSA", {"bits": 2048}, rsa.RSAPrivateKey, "RS256", id="rsa-2048"),
        pytest.param("RSA", {"bits": 3072}, rsa.RSAPrivateKey, "RS256", id="rsa-3072"),
        pytest.param("EC", {}, ec.EllipticCurvePrivateKey, "ES256", id="ec-default-p256"),
        pytest.param("EC", {"crv": "P-384"}, ec.EllipticCurvePrivateKey, "ES384", id="ec-p384"),
        pytest.param("EC", {"crv": "P-521"}, ec.EllipticCurvePrivateKey, "ES512", id="ec-p521"),
        pytest.param("OKP", {}, ed25519.Ed25519PrivateKey, "EdDSA", id="okp-default-ed25519"),
        pytest.param("OKP", {"crv": "Ed448"}, ed448.Ed448PrivateKey, "EdDSA", id="okp-ed448"),
    ],
)
def test_generate_key_pair_kinds(
    kty: str, options: dict[str, Any], key_type: type, alg: str
) -> None:
    """Each supported key type generates with its default algorithm."""
    pair = generate_key_pair(kty, **options)
    assert isinstance(pair.private_key, key_type)
    assert pair.alg == alg
    if "bits" in options:
        assert isinstance(pair.private_key, rsa.RSAPrivateKey)
        assert pair.private_key.key_size == options["bits"]


def test_generate_key_pair_takes_an_operator_kid(ec256: KeyPair) -> None:
    """An operator-chosen kid (kid-2025-01 style) is used as given."""
    pair = generate_key_pair("EC", kid="kid-2025-01")
    assert pair.kid == "kid-2025-01"
    assert pair.public_jwk.to_dict()["kid"] == "kid-2025-01"


@pytest.mark.parametrize(
    ("kty", "options", "message"),
    [
        pytest.param(
            "RSA", {"bits": 1024}, "RSA key size must be one of (2048, 3072, 4096), got 1024",
            id="rsa-1024",
        ),
        pytest.param(
            "RSA", {"bits": 8192}, "RSA key size must be one of (2048, 3072, 4096), got 8192",
            id="rsa-8192",
        ),
        pytest.param("RSA", {"crv": "P-256"}, "crv is not used for RSA keys", id="rsa-with-crv"),
        pytest.param(
            "EC", {"crv": "secp256k1"},
            "EC curve must be one of P-256, P-384, P-521, got 'secp256k1'", id="ec-bad-curve",
        ),
        pytest.param(
            "OKP", {"crv": "X25519"}, "OKP curve must be Ed25519 or Ed448, got 'X25519'",
            id="okp-x25519",
        ),
        pytest.param("oct", {}, "kty must be RSA, EC or OKP, got 'oct'", id="symmetric"),
    ],
)  # fmt: skip
def test_generate_refuses_bad_parameters(
    kty: str, options: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigurationError) as info:
        # Values of the wrong type on purpose: their refusal is the test.
        generate_private_key(kty, **options)  # type: ignore[arg-type]
    assert info.value.description == message


def test_key_pair_refuses_an_alg_that_does_not_fit_the_key(rsa2048: KeyPair) -> None:
    with pytest.raises(InvalidKey) as info:
        KeyPair(private_key=rsa2048.private_key, kid="k", alg="ES256")
    assert info.value.description == "alg 'ES256' does not fit this RSA key"


@pytest.mark.parametrize(
    ("crv", "alg", "verifies"),
    [
        pytest.param("Ed25519", "Ed25519", {"EdDSA", "Ed25519"}, id="Ed25519"),
        pytest.param("Ed448", "Ed448", {"EdDSA", "Ed448"}, id="Ed448"),
        pytest.param("Ed25519", "EdDSA", {"EdDSA", "Ed25519"}, id="Ed25519-EdDSA"),
    ],
)
def test_key_pair_takes_the_rfc9864_eddsa_names(crv: str, alg: str, verifies: set[str]) -> None:
    """Ed25519/Ed448 are algorithm names too; the published JWK carries the one chosen.

    Its key verifies tokens under either spelling of the same signature.
    """
    pair = generate_key_pair("OKP", crv=crv, alg=alg)
    assert pair.alg == alg
    assert pair.public_jwk.to_dict()["alg"] == alg
    assert pair.public_jwk.algorithms == frozenset(verifies)


@pytest.mark.parametrize(("crv", "alg"), [("Ed25519", "Ed448"), ("Ed448", "Ed25519")])
def test_key_pair_refuses_the_other_curves_eddsa_name(crv: str, alg: str) -> None:
    """A fully specified name pins the curve: Ed448 never names an Ed25519 key's algorithm."""
    key = generate_private_key("OKP", crv=crv)
    with pytest.raises(InvalidKey) as info:
        KeyPair(private_key=key, kid="k", alg=alg)
    assert info.value.description == f"alg {alg!r} does not fit this OKP key on curve {crv}"


def test_key_pair_refuses_an_unknown_alg(rsa2048: KeyPair) -> None:
    with pytest.raises(ConfigurationError) as info:
        KeyPair(private_key=rsa2048.private_key, kid="k", alg="HS256")
    assert info.value.description.startswith("alg must be one of RS256, ")


def test_key_pair_repr_shows_no_key_material(rsa2048: KeyPair) -> None:
    assert repr(rsa2048) == "KeyPair(kid='kid-2025-01', alg='RS256')"


# -- writing ------------------------------------------------------------------------------


def test_private_key_file_has_mode_0600(tmp_path: Path, ec256: KeyPair) -> None:
    path = tmp_path / "k.pem"
    old_umask = os.umask(0)  # even a permissive umask cannot widen the mode
    try:
        write_private_key(path, ec256.private_key)
    finally:
        os.umask(old_umask)
    assert _mode(path) == 0o600
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----\n")


def test_private_key_file_is_never_overwritten(tmp_path: Path, ec256: KeyPair) -> None:
    path = tmp_path / "k.pem"
    path.write_bytes(b"precious")
    with pytest.raises(ConfigurationError) as info:
        write_private_key(path, ec256.private_key)
    assert info.value.description == f"{path} already exists; refusing to overwrite it"
    assert path.read_bytes() == b"precious"


def test_private_key_is_not_written_through_a_symlink(tmp_path: Path, ec256: KeyPair) -> None:
    target = tmp_path / "elsewhere"
    link = tmp_path / "k.pem"
    link.symlink_to(target)
    with pytest.raises(ConfigurationError):
        write_private_key(link, ec256.private_key)
    assert not target.exists()


def test_encrypted_private_key_is_pkcs8_and_needs_the_passphrase(
    ec256: KeyPair, ec256_encrypted_pem: bytes
) -> None:
    pem = ec256_encrypted_pem
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert all(len(line) <= 64 for line in pem.splitlines())
    loaded = serialization.load_pem_private_key(pem, PASS.encode())
    assert loaded.public_key() == ec256.public_key
    with pytest.raises(ValueError):
        serialization.load_pem_private_key(pem, b"wrong")


def _asn1(der: bytes) -> list[Any]:
    """DER as nested lists: SEQUENCE → list, OID → dotted str, INTEGER → int,
    OCTET STRING → bytes, NULL → None. Enough for EncryptedPrivateKeyInfo."""
    items: list[Any] = []
    while der:
        tag, size, start = der[0], der[1], 2
        if size & 0x80:
            start = 2 + (size & 0x7F)
            size = int.from_bytes(der[2:start], "big")
        value, der = der[start : start + size], der[start + size :]
        if tag == 0x30:
            items.append(_asn1(value))
        elif tag == 0x06:
            arcs, arc = [*divmod(value[0], 40)], 0
            for byte in value[1:]:
                arc = arc << 7 | byte & 0x7F
                if not byte & 0x80:
                    arcs.append(arc)
                    arc = 0
            items.append(".".join(map(str, arcs)))
        elif tag == 0x02:
            items.append(int.from_bytes(value, "big", signed=True))
        elif tag == 0x04:
            items.append(value)
        elif tag == 0x05:
            items.append(None)
        else:
            raise AssertionError(f"unexpected DER tag {tag:#x}")
    return items


def test_encrypted_private_key_uses_pbkdf2_sha256_with_600000_rounds(
    ec256: KeyPair, ec256_encrypted_pem: bytes
) -> None:
    """PBES2: PBKDF2-HMAC-SHA256, 600,000 iterations (OWASP 2023), 16-byte salt, AES-256-CBC."""

    def shape(item: Any) -> Any:
        if isinstance(item, list):
            return [shape(child) for child in item]
        return ("octets", len(item)) if isinstance(item, bytes) else item

    der = pem_to_der(ec256_encrypted_pem)
    plain = ec256.private_key.private_bytes(
        serialization.Encoding.DER, PKCS8, serialization.NoEncryption()
    )
    assert shape(_asn1(der)) == [
        [
            [
                "1.2.840.113549.1.5.13",  # PBES2
                [
                    [
                        "1.2.840.113549.1.5.12",  # PBKDF2
                        [("octets", 16), 600_000, ["1.2.840.113549.2.9", None]],  # hmacWithSHA256
                    ],
                    ["2.16.840.1.101.3.4.1.42", ("octets", 16)],  # aes256-CBC, IV
                ],
            ],
            ("octets", (len(plain) // 16 + 1) * 16),  # PKCS#7-padded PrivateKeyInfo
        ]
    ]


def test_each_encryption_has_its_own_salt_and_iv(
    ec256: KeyPair, ec256_encrypted_pem: bytes
) -> None:
    """Encrypting the same key twice with the same passphrase gives unrelated files."""

    def salt_iv_ciphertext(pem: bytes) -> tuple[bytes, bytes, bytes]:
        [[[_, [[_, [salt, *_]], [_, iv]]], ciphertext]] = _asn1(pem_to_der(pem))
        return salt, iv, ciphertext

    first = salt_iv_ciphertext(ec256_encrypted_pem)
    again = salt_iv_ciphertext(private_key_pem(ec256.private_key, PASS))
    assert [a != b for a, b in zip(first, again, strict=True)] == [True, True, True]


def test_public_key_pem_is_subject_public_key_info(rsa2048: KeyPair) -> None:
    assert public_key_pem(rsa2048.private_key) == public_key_pem(rsa2048.public_key)
    assert public_key_pem(rsa2048.public_key).startswith(b"-----BEGIN PUBLIC KEY-----\n")


def test_write_key_files_writes_private_public_and_jwk(tmp_path: Path, ec256: KeyPair) -> None:
    paths = {n: tmp_path / f"k.{n}" for n in ("private", "public", "jwk")}
    write_key_files(
        ec256,
        private_path=paths["private"],
        public_path=paths["public"],
        jwk_path=paths["jwk"],
    )
    assert (_mode(paths["private"]), _mode(paths["public"]), _mode(paths["jwk"])) == (
        0o600,
        0o644,
        0o644,
    )
    assert json.loads(paths["jwk"].read_text()) == ec256.public_jwk.to_dict()
    assert paths["public"].read_bytes() == public_key_pem(ec256.public_key)


def test_write_key_files_writes_nothing_if_any_target_exists(
    tmp_path: Path, ec256: KeyPair
) -> None:
    (tmp_path / "k.jwk").write_text("{}")
    with pytest.raises(ConfigurationError):
        write_key_files(
            ec256,
            private_path=tmp_path / "k.private",
            public_path=tmp_path / "k.public",
            jwk_path=tmp_path / "k.jwk",
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.jwk"]


# -- loading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "fmt", "password", "label"),
    [
        pytest.param("rsa2048", PKCS1, None, b"RSA PRIVATE KEY", id="pkcs1-as-go-tools-write"),
        pytest.param("rsa2048", PKCS1, PASS, b"RSA PRIVATE KEY", id="pkcs1-encrypted"),
        pytest.param("rsa2048", PKCS8, None, b"PRIVATE KEY", id="pkcs8"),
        # cryptography's BestAvailableEncryption: PBES2 with 2048 rounds, as earlier versions wrote
        pytest.param("rsa2048", PKCS8, PASS, b"ENCRYPTED PRIVATE KEY", id="pkcs8-encrypted"),
        pytest.param("ec256", PKCS1, None, b"EC PRIVATE KEY", id="sec1-ec"),
        pytest.param("ec256", PKCS8, PASS, b"ENCRYPTED PRIVATE KEY", id="pkcs8-ec-encrypted"),
        pytest.param("ed25519", PKCS8, None, b"PRIVATE KEY", id="pkcs8-ed25519"),
    ],
)
def test_load_key_pair_reads_pem_formats(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    fixture: str,
    fmt: serialization.PrivateFormat,
    password: str | None,
    label: bytes,
) -> None:
    """PKCS#1 (what Go tools write), SEC1 and PKCS#8, plain or encrypted, all load."""
    pair: KeyPair = request.getfixturevalue(fixture)
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(pair.private_key, fmt, password))
    path.chmod(0o600)
    assert path.read_bytes().startswith(b"-----BEGIN " + label + b"-----")
    loaded = load_key_pair(path, "kid-2025-01", password)
    assert loaded.kid == "kid-2025-01"
    assert loaded.alg == pair.alg
    assert loaded.public_jwk.to_dict() == {**pair.public_jwk.to_dict(), "kid": "kid-2025-01"}


def test_load_key_pair_without_kid_uses_the_thumbprint(tmp_path: Path, ec256: KeyPair) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(ec256.private_key, PKCS8))
    path.chmod(0o600)
    assert load_key_pair(path, None).kid == ec256.public_jwk.thumbprint()


def test_load_key_pair_can_pin_another_algorithm(tmp_path: Path, rsa2048: KeyPair) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(rsa2048.private_key, PKCS8))
    path.chmod(0o600)
    assert load_key_pair(path, "k", alg="PS256").alg == "PS256"


def test_load_key_pair_warns_about_a_group_readable_file(
    tmp_path: Path, ec256: KeyPair, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "key.pem"
    path.write_bytes(_pem(ec256.private_key, PKCS8))
    path.chmod(0o640)
    with caplog.at_level(logging.WARNING, logger="bearerguard.issuing"):
        load_key_pair(path, "k")
    assert caplog.messages == [
        f"private key file {path} is accessible by group or others (mode 640); use 0600"
    ]


def _small_rsa() -> bytes:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=1024), PKCS1)


def _x25519() -> bytes:
    return _pem(x25519.X25519PrivateKey.generate(), PKCS8)


@pytest.mark.parametrize(
    ("content", "passphrase", "message"),
    [
        pytest.param(None, None, "private key file {path} does not exist", id="missing-file"),
        pytest.param(b"", None, "{path} is empty", id="empty-file"),
        pytest.param(b"hello\n", None, "{path} is not a PEM file (no BEGIN line)", id="not-pem"),
        pytest.param(
            "public", None, "{path} holds a public key or certificate, not a private key",
            id="public-key",
        ),
        pytest.param(
            "truncated", None, "{path} is truncated: the private key has no END line",
            id="truncated",
        ),
        pytest.param(
            "corrupted", None, "{path} is corrupted: the private key cannot be parsed",
            id="corrupted-body",
        ),
        pytest.param(
            "encrypted", None, "{path} is encrypted; a passphrase is required",
            id="encrypted-without-passphrase",
        ),
        pytest.param(
            "encrypted", "wrong", "{path}: wrong passphrase, or the file is corrupted",
            id="wrong-passphrase",
        ),
        pytest.param(
            "plain", PASS, "{path} is not encrypted, but a passphrase was given",
            id="passphrase-for-plain-key",
        ),
        pytest.param(
            "rsa1024", None, "{path}: RSA key has 1024 bits; at least 2048 are required",
            id="rsa-too-small",
        ),
        pytest.param(
            "x25519", None, "{path} holds a X25519PrivateKey, which cannot sign JWTs",
            id="key-agreement-key",
        ),
        pytest.param(
            b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
            None, "{path} holds no supported private key (found OPENSSH PRIVATE KEY)",
            id="openssh-format",
        ),
    ],
)  # fmt: skip
def test_load_key_pair_explains_what_is_wrong(
    tmp_path: Path,
    rsa2048: KeyPair,
    content: bytes | str | None,
    passphrase: str | None,
    message: str,
) -> None:
    """Each unusable file fails with InvalidKey naming the problem, never the key."""
    path = tmp_path / "key.pem"
    plain = _pem(rsa2048.private_key, PKCS8)
    data = (
        {
            "public": public_key_pem(rsa2048.public_key),
            "truncated": plain[: len(plain) // 2],
            "corrupted": plain[:40] + b"AAAA" + plain[44:],
            "encrypted": _pem(rsa2048.private_key, PKCS8, PASS),
            "plain": plain,
            "rsa1024": _small_rsa() if content == "rsa1024" else b"",
            "x25519": _x25519() if content == "x25519" else b"",
        }[content]
        if isinstance(content, str)
        else content
    )
    if data is not None:
        path.write_bytes(data)
        path.chmod(0o600)
    with pytest.raises(InvalidKey) as info:
        load_key_pair(path, "k", passphrase)
    assert info.value.description == message.format(path=path)
    body = b"".join(plain.splitlines()[1:3]).decode()
    assert body not in str(info.value)


def test_load_key_pair_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InvalidKey) as info:
        load_key_pair(tmp_path, "k")
    assert info.value.description == f"{tmp_path} is not a regular file"
