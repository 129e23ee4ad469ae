"""A key ring on a directory: the lifecycle of :mod:`.lifecycle`, persisted.

Layout of the directory (created with mode 0700)::

    keyring.json            the manifest: every key's kid, alg, state and timestamps
    <kid>.private.pem       PKCS#8, mode 0600, optionally encrypted
    <kid>.public.pem        SubjectPublicKeyInfo
    <kid>.jwk.json          the public JWK as published

The manifest is the source of truth and is replaced atomically: key files are
written before a key enters it and deleted after it leaves, so a crash leaves at
worst an orphan file, never a manifest naming a missing key. Changes hold an
exclusive lock on the directory (a lock file that is a symbolic link is
refused, never followed), so two ``bearerguard keys rotate`` runs cannot
interleave.

The ring trusts nothing it did not write. Whoever can write the directory or
a file in it can swap keys and forge every token, so an existing directory
that is writable by group or others, or that belongs to another user (root
excepted), is refused, as is a manifest, JWK or private key file that is.
The JWKS is not copied from the ``<kid>.jwk.json`` files either: each
published key's public JWK is derived from its private key, and a JWK file
that differs is refused. A published key whose private key file is gone
(e.g. deleted by hand after it retired) is refused as well, because nothing
would then vouch for its JWK file: restore the file, or remove the key.

Once the ring holds an encrypted private key, a new key is written only with
a passphrase (or with an explicit ``allow_unencrypted=True``), so a
run that forgot the passphrase cannot leave a plain key next to encrypted ones.
A server reads the ring at start-up (or on reload)::

    ring = KeyRing("/etc/bearerguard/keys")
    passphrase = os.environ["KEY_PASSPHRASE"]
    signer = ring.signer(passphrase)                                  # the active key
    app = WellKnownApp(issuer="https://login.example.com", keys=ring.public_keys(passphrase))
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from .._clock import WallClock
from .._errors import ConfigurationError, InvalidKey
from .._jwk import PublicJWK
from ._documents import jwks_document
from ._keys import KeyPair, default_algorithm, generate_private_key, load_key_pair, write_key_files
from ._lifecycle import KeyState, RingKey, RingState, RotationPolicy, RotationStep
from ._signer import KeyPairSigner

__all__ = ["KeyRing"]

MANIFEST = "keyring.json"
_LOCK = ".keyring.lock"
# kids name files here, so they are restricted to a file-name-safe alphabet
# (RFC 7638 thumbprints are base64url and always fit).
_KID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}")
_ORDER = {KeyState.ACTIVE: 0, KeyState.PUBLISHED: 1, KeyState.RETIRED: 2, KeyState.GENERATED: 3}


def check_kid(kid: str) -> str:
    """A kid usable as a file name in a key ring."""
    if not isinstance(kid, str) or _KID.fullmatch(kid) is None:
        raise ConfigurationError(
            "kid must be 1-128 characters of A-Z a-z 0-9 . _ - and not start with '.'"
        )
    return kid


class KeyRing:
    """The signing keys of one issuer, kept in a directory.

    *policy* sets the waits of the lifecycle; *clock* is the time source.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        policy: RotationPolicy | None = None,
        clock: WallClock = time.time,
    ) -> None:
        self._dir = Path(directory)
        self._policy = policy or RotationPolicy()
        if not isinstance(self._policy, RotationPolicy):
            raise ConfigurationError("policy must be a RotationPolicy")
        self._clock = clock

    @property
    def directory(self) -> Path:
        """The ring's directory."""
        return self._dir

    @property
    def policy(self) -> RotationPolicy:
        """The rotation policy."""
        return self._policy

    def private_key_path(self, kid: str) -> Path:
        """Where the private key of *kid* lives."""
        return self._dir / f"{check_kid(kid)}.private.pem"

    def public_key_path(self, kid: str) -> Path:
        """Where the public PEM of *kid* lives."""
        return self._dir / f"{check_kid(kid)}.public.pem"

    def jwk_path(self, kid: str) -> Path:
        """Where the public JWK of *kid* lives."""
        return self._dir / f"{check_kid(kid)}.jwk.json"

    # -- reading ----------------------------------------------------------------------

    def state(self) -> RingState:
        """The current manifest (an empty ring if there is none yet)."""
        path = self._dir / MANIFEST
        if not self._check_directory():
            return RingState()
        try:
            data = json.loads(_read_trusted(path).decode("utf-8"))
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

    def public_keys(self, passphrase: str | bytes | None = None) -> list[PublicJWK]:
        """The keys to publish: active first, then the next key, then retired ones.

        Each public JWK is derived from the key's private key and must equal
        its ``<kid>.jwk.json`` file, else :class:`~bearerguard.InvalidKey`
        names the kid and the file. Encrypted private keys need *passphrase*
        (the one :meth:`signer` takes): without it they cannot vouch for their
        JWK, and :class:`ConfigurationError` says so. Loading takes a few
        tenths of a second per encrypted key (the key derivation is slow on
        purpose), so call this at start-up or after a rotation, not per request.
        """
        keys = sorted(self.state().published(), key=lambda k: _ORDER[k.state])
        return [self._checked_jwk(key, passphrase) for key in keys]

    def jwks(self, passphrase: str | bytes | None = None) -> dict[str, list[dict[str, str]]]:
        """The JWKS document of :meth:`public_keys`."""
        return jwks_document(self.public_keys(passphrase))

    def signer(self, passphrase: str | bytes | None = None) -> KeyPairSigner:
        """A signer on the active key; :class:`ConfigurationError` if none is active."""
        active = self.state().active
        if active is None:
            raise ConfigurationError(
                f"key ring {self._dir} has no active key; run `bearerguard keys rotate {self._dir}`"
            )
        pair = self._load(active, passphrase)
        if pair.public_jwk.to_dict() != self._public_jwk(active).to_dict():
            raise InvalidKey(f"{self.private_key_path(active.kid)} does not match its JWK file")
        return KeyPairSigner(pair)

    def _load(self, key: RingKey, passphrase: str | bytes | None) -> KeyPair:
        path = self.private_key_path(key.kid)
        with contextlib.suppress(FileNotFoundError):  # load_key_pair says it is missing
            _check_file(path, os.stat(path))
        return load_key_pair(path, key.kid, passphrase, alg=key.alg)

    def _checked_jwk(self, key: RingKey, passphrase: str | bytes | None) -> PublicJWK:
        """*key*'s public JWK as its private key says, after checking its JWK file agrees."""
        published = self._public_jwk(key)
        jwk_path, private = self.jwk_path(key.kid), self.private_key_path(key.kid)
        if not (private.exists() or private.is_symlink()):
            raise ConfigurationError(
                f"key {key.kid!r} is {key.state.value} but its private key file {private} is "
                f"missing, so nothing vouches for {jwk_path}: restore the file, or remove the "
                "key from the ring once no token it signed is still valid"
            )
        encrypted = _is_encrypted(private)
        if encrypted and passphrase is None:
            raise ConfigurationError(
                f"key {key.kid!r}: {private} is encrypted; give the passphrase "
                "(public_keys(passphrase) / jwks(passphrase), or --passphrase-env / "
                f"--passphrase-file) so that {jwk_path} can be checked against it"
            )
        derived = _public_jwk_of(private, key, passphrase if encrypted else None)
        if derived.to_dict() != published.to_dict():
            raise InvalidKey(
                f"key {key.kid!r}: {jwk_path} does not match the private key {private}; "
                "refusing to publish it (restore the JWK file from the private key, or "
                "remove the key)"
            )
        return derived

    def _public_jwk(self, key: RingKey) -> PublicJWK:
        path = self.jwk_path(key.kid)
        try:
            jwk = PublicJWK.from_dict(json.loads(_read_trusted(path).decode("utf-8")))
        except ConfigurationError:
            raise
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read {path}: {type(exc).__name__}") from None
        if jwk.kid != key.kid:
            raise ConfigurationError(f"{path} has kid {jwk.kid!r}, not {key.kid!r}")
        return jwk

    # -- changing ---------------------------------------------------------------------

    def generate(
        self,
        *,
        kty: str = "RSA",
        bits: int = 4096,
        crv: str | None = None,
        kid: str | None = None,
        alg: str | None = None,
        passphrase: str | bytes | None = None,
        allow_unencrypted: bool = False,
    ) -> RingKey:
        """Generate a key into the ring (state ``generated``: not yet published).

        Without *passphrase* the private key is written unencrypted, which a
        ring holding encrypted keys refuses unless *allow_unencrypted*.
        """
        with self._locked():
            state = self.state()
            self._check_encryption(state, passphrase, allow_unencrypted)
            kid, alg = self._new_key(kty, bits, crv, kid, alg, passphrase)
            state = state.add(kid, alg, self._clock())
            self._write(state)
            return state.get(kid)

    def publish(self, kid: str) -> RingKey:
        """Publish a generated key in the JWKS."""
        return self._change(lambda s, now: s.publish(kid, now), kid)

    def activate(self, kid: str, *, force: bool = False) -> RingKey:
        """Sign with *kid* from now on (see :meth:`RingState.activate`)."""
        return self._change(lambda s, now: s.activate(kid, now, self._policy, force=force), kid)

    def retire(self, kid: str) -> RingKey:
        """Stop signing with *kid*; it stays published."""
        return self._change(lambda s, now: s.retire(kid, now), kid)

    def remove(self, kid: str, *, force: bool = False) -> None:
        """Drop *kid* from the ring and delete its files."""
        with self._locked():
            state = self.state().remove(kid, self._clock(), self._policy, force=force)
            self._write(state)
            self._delete_files(kid)

    def rotate(
        self,
        *,
        kty: str = "RSA",
        bits: int = 4096,
        crv: str | None = None,
        alg: str | None = None,
        passphrase: str | bytes | None = None,
        allow_unencrypted: bool = False,
        dry_run: bool = False,
    ) -> tuple[RotationStep, ...]:
        """One scheduled rotation run (see :meth:`RingState.rotate`); returns its steps.

        New keys are encrypted with *passphrase*; without one they are written
        unencrypted, which a ring holding encrypted keys refuses (before any
        change) unless *allow_unencrypted*. With *dry_run* nothing is written
        and new keys are shown as ``<new>``.
        """
        with self._locked(dry_run):
            before = self.state()
            now = self._clock()
            if dry_run:
                names = (f"<new key {n}>" for n in range(1, 10))
                _, steps = before.rotate(
                    now, self._policy, lambda: (next(names), alg or _alg_for(kty, crv))
                )
                return steps

            def new_key() -> tuple[str, str]:
                # Here, not up front: a run with nothing to generate needs no passphrase.
                self._check_encryption(before, passphrase, allow_unencrypted)
                return self._new_key(kty, bits, crv, None, alg, passphrase)

            after, steps = before.rotate(now, self._policy, new_key)
            self._write(after)
            for step in steps:
                if step.action == "remove":
                    self._delete_files(step.kid)
            return steps

    # -- internals ----------------------------------------------------------------------

    def _change(self, change: Callable[[RingState, float], RingState], kid: str) -> RingKey:
        with self._locked():
            state = change(self.state(), self._clock())
            self._write(state)
            return state.get(kid)

    def encrypted_kids(self, state: RingState | None = None) -> tuple[str, ...]:
        """The kids whose private key file is encrypted (of *state*, default the manifest)."""
        keys = (state or self.state()).keys
        return tuple(key.kid for key in keys if _is_encrypted(self.private_key_path(key.kid)))

    def _check_encryption(
        self, state: RingState, passphrase: str | bytes | None, allow_unencrypted: bool
    ) -> None:
        if passphrase is not None:
            if allow_unencrypted:
                raise ConfigurationError("give a passphrase or allow_unencrypted=True, not both")
            return
        if allow_unencrypted or not self.encrypted_kids(state):
            return
        raise ConfigurationError(
            f"key ring {self._dir} holds encrypted private keys; refusing to add an "
            "unencrypted one: give the passphrase (--passphrase-env / --passphrase-file), "
            "or allow it explicitly (allow_unencrypted=True / --no-encryption)"
        )

    def _new_key(
        self,
        kty: str,
        bits: int,
        crv: str | None,
        kid: str | None,
        alg: str | None,
        passphrase: str | bytes | None,
    ) -> tuple[str, str]:
        if kid is not None:
            check_kid(kid)  # before the (slow) key generation
        key = generate_private_key(kty, bits=bits, crv=crv)
        pair = KeyPair(
            private_key=key,
            kid=kid if kid is not None else PublicJWK.from_key(key.public_key()).thumbprint(),
            alg=alg or default_algorithm(key),
        )
        check_kid(pair.kid)
        self._ensure_dir()
        write_key_files(
            pair,
            private_path=self.private_key_path(pair.kid),
            public_path=self.public_key_path(pair.kid),
            jwk_path=self.jwk_path(pair.kid),
            passphrase=passphrase,
        )
        return pair.kid, pair.alg

    def _ensure_dir(self) -> None:
        self._dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._check_directory()

    def _check_directory(self) -> bool:
        """Whether the directory exists; :class:`ConfigurationError` if it is not ours alone."""
        try:
            info = os.stat(self._dir)
        except FileNotFoundError:
            return False
        if not stat.S_ISDIR(info.st_mode):
            raise ConfigurationError(f"key ring {self._dir} is not a directory")
        _check_owner(self._dir, info, "key ring directory", "chmod 700")
        return True

    def _write(self, state: RingState) -> None:
        self._ensure_dir()
        text = json.dumps({"version": 1, "keys": [k.to_dict() for k in state.keys]}, indent=2)
        fd, tmp = tempfile.mkstemp(prefix=".keyring-", suffix=".tmp", dir=self._dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, self._dir / MANIFEST)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _delete_files(self, kid: str) -> None:
        for path in (self.private_key_path(kid), self.public_key_path(kid), self.jwk_path(kid)):
            path.unlink(missing_ok=True)

    @contextlib.contextmanager
    def _locked(self, read_only: bool = False) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory locks; run one rotation at a time
            yield
            return
        if read_only and not self._dir.exists():
            yield
            return
        self._ensure_dir()
        fd = _open_lock(self._dir / _LOCK)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


_MAX_FILE = 1 << 20  # no manifest, JWK or private key file comes near 1 MiB
_PRIVATE_TYPES = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)


def _check_owner(path: Path, info: os.stat_result, what: str, chmod: str) -> None:
    """Refuse what another user could have written: group/other-writable, or not ours or root's."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        raise ConfigurationError(
            f"{what} {path} is writable by group or others (mode {mode:04o}), so they could "
            f"swap its keys; refusing it: run `{chmod} {path}`"
        )
    uid = os.geteuid()
    if info.st_uid not in (uid, 0):
        raise ConfigurationError(
            f"{what} {path} belongs to uid {info.st_uid}, not to this user (uid {uid}) or root, "
            f"so that user could swap its keys; refusing it: run `chown {uid} {path}` "
            "(as root), or use a directory of your own"
        )


def _check_file(path: Path, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise ConfigurationError(f"{path} is not a regular file")
    _check_owner(path, info, "key ring file", "chmod go-w")


def _read_trusted(path: Path) -> bytes:
    """The bytes of a ring file, after checking who could have written it."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        _check_file(path, os.fstat(fd))
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read(_MAX_FILE + 1)
    finally:
        os.close(fd)
    if len(data) > _MAX_FILE:
        raise ConfigurationError(f"{path} is too large for a key ring file")
    return data


def _public_jwk_of(path: Path, key: RingKey, passphrase: str | bytes | None) -> PublicJWK:
    """The public JWK of the private key at *path* (after checking who could have written it).

    Only the public half is used, so OpenSSL's RSA consistency check, which
    costs ~0.3 s per RSA-4096 key, is skipped here; :meth:`KeyRing.signer`
    still runs it on the key it signs with.
    """
    password = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    try:
        private = serialization.load_pem_private_key(
            _read_trusted(path), password, unsafe_skip_rsa_key_validation=True
        )
    except ConfigurationError:
        raise
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidKey(
            f"key {key.kid!r}: cannot read the private key {path} (wrong passphrase, or the "
            "file is corrupted)"
        ) from None
    if not isinstance(private, _PRIVATE_TYPES):
        raise InvalidKey(f"key {key.kid!r}: {path} holds no signing key")
    return PublicJWK.from_key(private.public_key(), kid=key.kid, alg=key.alg)


def _open_lock(path: Path) -> int:
    """Open (or create) the lock file; never through a symbolic link, never anything but a file."""
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP or path.is_symlink():
            raise ConfigurationError(
                f"lock file {path} is a symbolic link; refusing to follow it: remove it"
            ) from None
        raise ConfigurationError(f"cannot open lock file {path}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigurationError(f"lock file {path} is not a regular file: remove it")
    except BaseException:
        os.close(fd)
        raise
    return fd


def _is_encrypted(path: Path) -> bool:
    """Whether the PEM file at *path* holds an encrypted private key (PKCS#8 or legacy PEM)."""
    try:
        with path.open("rb") as pem:
            head = pem.read(4096)
    except FileNotFoundError:
        return False  # an orphan the manifest still names; signer() reports it
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in head or b"Proc-Type: 4,ENCRYPTED" in head


def _alg_for(kty: str, crv: str | None) -> str:
    if kty == "RSA":
        return "RS256"
    if kty == "EC":
        return {"P-384": "ES384", "P-521": "ES512"}.get(crv or "P-256", "ES256")
    return "EdDSA"
