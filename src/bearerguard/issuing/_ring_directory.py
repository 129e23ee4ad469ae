"""The directory of a key ring: where each file lives, and reading and writing them.

Layout (the directory is created with mode 0700)::

    keyring.json            the manifest: every key's kid, alg, state and timestamps
    <kid>.private.pem       PKCS#8, mode 0600, optionally encrypted
    <kid>.public.pem        SubjectPublicKeyInfo
    <kid>.jwk.json          the public JWK as published
    .keyring.lock           the lock changes hold (never followed if a symbolic link)

:class:`RingDirectory` reads only what this user (or root) alone could have
written (:mod:`bearerguard.issuing._trusted_files`) and replaces the manifest
atomically. What the keys mean (their lifecycle, what is published) is
:class:`~bearerguard.issuing.KeyRing`'s business.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from .._errors import ConfigurationError, InvalidKey
from .._jwk import PublicJWK
from ._key_files import pem_is_encrypted
from ._keys import PRIVATE_KEY_TYPES
from ._lifecycle import RingKey, RingState
from ._trusted_files import check_owner, check_trusted_file, open_lock, read_trusted

__all__ = ["MANIFEST", "RingDirectory", "check_kid", "derived_public_jwk"]

MANIFEST = "keyring.json"
_LOCK = ".keyring.lock"
# kids name files here, so they are restricted to a file-name-safe alphabet
# (RFC 7638 thumbprints are base64url and always fit).
_KID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")


def check_kid(kid: str) -> str:
    """A kid usable as a file name in a key ring."""
    if not isinstance(kid, str) or _KID.fullmatch(kid) is None:
        raise ConfigurationError(
            "kid must be 1-128 characters of A-Z a-z 0-9 . _ - and not start with '.'"
        )
    return kid


class RingDirectory:
    """The files of one key ring in *path*."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def private_key_path(self, kid: str) -> Path:
        """Where the private key of *kid* lives."""
        return self.path / f"{check_kid(kid)}.private.pem"

    def public_key_path(self, kid: str) -> Path:
        """Where the public PEM of *kid* lives."""
        return self.path / f"{check_kid(kid)}.public.pem"

    def jwk_path(self, kid: str) -> Path:
        """Where the public JWK of *kid* lives."""
        return self.path / f"{check_kid(kid)}.jwk.json"

    def read_state(self) -> RingState:
        """The current manifest (an empty ring if there is none yet)."""
        path = self.path / MANIFEST
        if not self.exists():
            return RingState()
        try:
            data = json.loads(read_trusted(path).decode("utf-8"))
        except FileNotFoundError:
            return RingState()
        except ConfigurationError:
            raise
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read {path}: {type(exc).__name__}") from None
        if not isinstance(data, dict) or data.get("version") != 1:
            raise ConfigurationError(f"{path} is not a version 1 key ring manifest")
        entries = data.get("keys")
        if not isinstance(entries, list):
            raise ConfigurationError(f"{path} has no 'keys' list")
        return RingState(tuple(RingKey.from_dict(e) for e in entries))

    def read_jwk(self, key: RingKey) -> PublicJWK:
        """*key*'s ``<kid>.jwk.json``, after checking who could have written it."""
        path = self.jwk_path(key.kid)
        try:
            jwk = PublicJWK.from_dict(json.loads(read_trusted(path).decode("utf-8")))
        except ConfigurationError:
            raise
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read {path}: {type(exc).__name__}") from None
        if jwk.kid != key.kid:
            raise ConfigurationError(f"{path} has kid {jwk.kid!r}, not {key.kid!r}")
        return jwk

    def check_private_key_file(self, kid: str) -> None:
        """Refuse *kid*'s private key file if others could have written it (absent is fine)."""
        path = self.private_key_path(kid)
        with contextlib.suppress(FileNotFoundError):  # load_key_pair says it is missing
            check_trusted_file(path, os.stat(path))

    def is_encrypted(self, kid: str) -> bool:
        """Whether *kid*'s private key file holds an encrypted key (``False`` if it is missing)."""
        try:
            with self.private_key_path(kid).open("rb") as pem:
                head = pem.read(4096)
        except FileNotFoundError:
            return False  # an orphan the manifest still names; signer() reports it
        return pem_is_encrypted(head)

    def ensure(self) -> None:
        """Create the directory (mode 0700) if needed, and check it."""
        self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.exists()

    def exists(self) -> bool:
        """Whether the directory exists; :class:`ConfigurationError` if it is not ours alone."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(info.st_mode):
            raise ConfigurationError(f"key ring {self.path} is not a directory")
        check_owner(self.path, info, "key ring directory", "chmod 700")
        return True

    def write_state(self, state: RingState) -> None:
        """Replace the manifest with *state* atomically (a crash leaves the old or the new)."""
        self.ensure()
        text = json.dumps({"version": 1, "keys": [k.to_dict() for k in state.keys]}, indent=2)
        fd, tmp = tempfile.mkstemp(prefix=".keyring-", suffix=".tmp", dir=self.path)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path / MANIFEST)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def delete_files(self, kid: str) -> None:
        """Delete the files of *kid* (those that exist)."""
        for path in (self.private_key_path(kid), self.public_key_path(kid), self.jwk_path(kid)):
            path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def locked(self, read_only: bool = False) -> Iterator[None]:
        """Hold the ring's exclusive lock (*read_only*: only if the directory exists)."""
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory locks; run one rotation at a time
            yield
            return
        if read_only and not self.path.exists():
            yield
            return
        self.ensure()
        fd = open_lock(self.path / _LOCK)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def derived_public_jwk(path: Path, key: RingKey, passphrase: str | bytes | None) -> PublicJWK:
    """The public JWK of the private key at *path* (after checking who could have written it).

    Only the public half is used, so OpenSSL's RSA consistency check, which
    costs ~0.3 s per RSA-4096 key, is skipped here; :meth:`KeyRing.signer`
    still runs it on the key it signs with.
    """
    password = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    try:
        private = serialization.load_pem_private_key(
            read_trusted(path), password, unsafe_skip_rsa_key_validation=True
        )
    except ConfigurationError:
        raise
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidKey(
            f"key {key.kid!r}: cannot read the private key {path} (wrong passphrase, or the "
            "file is corrupted)"
        ) from None
    if not isinstance(private, PRIVATE_KEY_TYPES):
        raise InvalidKey(f"key {key.kid!r}: {path} holds no signing key")
    return PublicJWK.from_key(private.public_key(), kid=key.kid, alg=key.alg)
