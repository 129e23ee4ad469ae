"""Signing keys on disk: PEM encoding, writing key files, and loading them.

Private keys are written as PKCS#8 PEM, with mode 0600, never over an existing
file, and encrypted when a passphrase is given. PKCS#8 rather than the older
PKCS#1 because it holds every key type and can carry PBES2 encryption, while
encrypted PKCS#1 PEM uses OpenSSL's legacy MD5-based key derivation. The
encryption is AES-256-CBC under a key derived with PBKDF2-HMAC-SHA256 and
600,000 iterations (:mod:`.pbes2`; ``cryptography``'s own PKCS#8 encryption
uses 2048, which makes guessing the passphrase of a stolen file ~300 times
cheaper). It is still only as strong as the passphrase: use a long random one.
:func:`load_key_pair` reads encrypted PKCS#8 whatever its iteration count, and
PKCS#1 and SEC1, so keys made by Go generators or by earlier versions
load unchanged.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from .._algorithms import PublicKey
from .._errors import ConfigurationError, InvalidKey
from ._keys import PRIVATE_KEY_TYPES, KeyPair, PrivateKey, key_pair
from ._pbes2 import encrypted_pkcs8_pem
from ._trusted_files import MAX_FILE_SIZE

__all__ = [
    "load_key_pair",
    "pem_is_encrypted",
    "private_key_pem",
    "public_key_pem",
    "write_key_files",
    "write_private_key",
]

log = logging.getLogger("bearerguard.issuing")

_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----")
_PRIVATE_LABELS = frozenset(
    {b"PRIVATE KEY", b"RSA PRIVATE KEY", b"EC PRIVATE KEY", b"ENCRYPTED PRIVATE KEY"}
)
_PUBLIC_LABELS = frozenset({b"PUBLIC KEY", b"RSA PUBLIC KEY", b"CERTIFICATE"})


def pem_is_encrypted(pem: bytes) -> bool:
    """Whether PEM text holds an encrypted private key (PKCS#8, or legacy OpenSSL PEM)."""
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in pem or b"Proc-Type: 4,ENCRYPTED" in pem


def _password(passphrase: str | bytes | None) -> bytes | None:
    if passphrase is None:
        return None
    if isinstance(passphrase, str):
        passphrase = passphrase.encode("utf-8")
    if not isinstance(passphrase, bytes) or not passphrase:
        raise ConfigurationError("passphrase must be a non-empty string or bytes")
    return passphrase


def private_key_pem(key: PrivateKey, passphrase: str | bytes | None = None) -> bytes:
    """The key as PKCS#8 PEM; with *passphrase*, encrypted PKCS#8 (PBES2, see :mod:`.pbes2`).

    Encrypting (and later loading) takes a few tenths of a second: the key
    derivation is slow on purpose.
    """
    password = _password(passphrase)
    if password is None:
        return key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    private_key_info = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return encrypted_pkcs8_pem(private_key_info, password)


def public_key_pem(key: PrivateKey | PublicKey) -> bytes:
    """The public key as SubjectPublicKeyInfo PEM (``BEGIN PUBLIC KEY``)."""
    public: PublicKey = key.public_key() if isinstance(key, PRIVATE_KEY_TYPES) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _create_exclusive(path: Path, data: bytes, mode: int) -> None:
    """Write a new file with exactly *mode*; refuse to replace anything, symlinks included."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise ConfigurationError(f"{path} already exists; refusing to overwrite it") from None
    try:
        with os.fdopen(fd, "wb") as out:
            if hasattr(os, "fchmod"):
                os.fchmod(out.fileno(), mode)  # the umask may have narrowed *mode*; be exact
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


def write_private_key(
    path: str | os.PathLike[str], key: PrivateKey, passphrase: str | bytes | None = None
) -> None:
    """Write *key* as PKCS#8 PEM to a new file with mode 0600; never overwrites."""
    _create_exclusive(Path(path), private_key_pem(key, passphrase), 0o600)


def write_key_files(
    pair: KeyPair,
    *,
    private_path: str | os.PathLike[str],
    public_path: str | os.PathLike[str] | None = None,
    jwk_path: str | os.PathLike[str] | None = None,
    passphrase: str | bytes | None = None,
) -> None:
    """Write the private PEM (0600), and optionally the public PEM and public JWK (0644).

    All files are new: if any of them exists, nothing is written. If writing
    one fails, the files this call created are removed again.
    """
    plan: list[tuple[Path, bytes, int]] = [
        (Path(private_path), private_key_pem(pair.private_key, passphrase), 0o600)
    ]
    if public_path is not None:
        plan.append((Path(public_path), public_key_pem(pair.public_key), 0o644))
    if jwk_path is not None:
        text = json.dumps(pair.public_jwk.to_dict(), indent=2, sort_keys=True) + "\n"
        plan.append((Path(jwk_path), text.encode("ascii"), 0o644))
    paths = [p for p, _, _ in plan]
    if len(set(paths)) != len(paths):
        raise ConfigurationError("the private, public and JWK paths must differ")
    for target in paths:
        if target.exists() or target.is_symlink():
            raise ConfigurationError(f"{target} already exists; refusing to overwrite it")
    with _all_or_nothing() as created:
        for target, data, mode in plan:
            _create_exclusive(target, data, mode)
            created.append(target)


@contextlib.contextmanager
def _all_or_nothing() -> Iterator[list[Path]]:
    created: list[Path] = []
    try:
        yield created
    except BaseException:
        for target in created:
            with contextlib.suppress(OSError):
                target.unlink()
        raise


def load_key_pair(
    path: str | os.PathLike[str],
    kid: str | None,
    passphrase: str | bytes | None = None,
    *,
    alg: str | None = None,
) -> KeyPair:
    """Load a private key from a PEM file.

    Reads PKCS#1 (``RSA PRIVATE KEY``, what many Go and OpenSSL tools write), SEC1
    (``EC PRIVATE KEY``) and PKCS#8 (``PRIVATE KEY`` / ``ENCRYPTED PRIVATE
    KEY``), encrypted or not. ``kid=None`` uses the RFC 7638 thumbprint;
    ``alg=None`` the key's default algorithm (RS256 for RSA, ES256/384/512 by
    curve, EdDSA for Ed25519 and Ed448).

    Raises :class:`~bearerguard.InvalidKey` with a message that names
    the problem (missing file, public key, truncated, encrypted without a
    passphrase, wrong passphrase, key too small) and never the key itself.
    """
    target = Path(path)
    data = _read_key_file(target)
    password = _password(passphrase)
    match = _BEGIN.search(data)
    if match is None:
        raise InvalidKey(f"{target} is not a PEM file (no BEGIN line)")
    labels = {m.group(1) for m in _BEGIN.finditer(data)}
    label = next((lab for lab in labels if lab in _PRIVATE_LABELS), None)
    if label is None:
        if labels & _PUBLIC_LABELS:
            raise InvalidKey(f"{target} holds a public key or certificate, not a private key")
        found = sorted(lab.decode("ascii") for lab in labels)
        raise InvalidKey(f"{target} holds no supported private key (found {', '.join(found)})")
    if b"-----END " + label + b"-----" not in data:
        raise InvalidKey(f"{target} is truncated: the private key has no END line")
    encrypted = pem_is_encrypted(data)
    if encrypted and password is None:
        raise InvalidKey(f"{target} is encrypted; a passphrase is required")
    if not encrypted and password is not None:
        raise InvalidKey(f"{target} is not encrypted, but a passphrase was given")
    try:
        key = serialization.load_pem_private_key(data, password)
    except UnsupportedAlgorithm:
        raise InvalidKey(f"{target} holds an unsupported kind of key") from None
    except (ValueError, TypeError):
        if encrypted:
            raise InvalidKey(f"{target}: wrong passphrase, or the file is corrupted") from None
        raise InvalidKey(f"{target} is corrupted: the private key cannot be parsed") from None
    if not isinstance(key, PRIVATE_KEY_TYPES):
        raise InvalidKey(f"{target} holds a {type(key).__name__}, which cannot sign JWTs")
    try:
        pair = key_pair(key, kid, alg)
    except InvalidKey as exc:
        raise InvalidKey(f"{target}: {exc.description}") from None
    _warn_if_exposed(target)
    return pair


def _warn_if_exposed(target: Path) -> None:
    mode = stat.S_IMODE(target.stat().st_mode)
    if os.name == "posix" and mode & 0o077:
        log.warning(
            "private key file %s is accessible by group or others (mode %o); use 0600",
            target,
            mode,
        )


def _read_key_file(target: Path) -> bytes:
    try:
        info = target.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InvalidKey(f"{target} is not a regular file")
        if info.st_size > MAX_FILE_SIZE:
            raise InvalidKey(f"{target} is too large to be a private key file")
        data = target.read_bytes()
    except FileNotFoundError:
        raise InvalidKey(f"private key file {target} does not exist") from None
    except PermissionError:
        raise InvalidKey(f"private key file {target} is not readable (permission denied)") from None
    except IsADirectoryError:
        raise InvalidKey(f"{target} is not a regular file") from None
    if not data.strip():
        raise InvalidKey(f"{target} is empty")
    return data
