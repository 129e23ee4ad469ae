"""A key ring on a directory: the lifecycle of :mod:`.lifecycle`, persisted.

The directory holds a manifest (``keyring.json``) and each key's private PEM,
public PEM and public JWK (the layout: :mod:`bearerguard.issuing._ring_directory`).
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

import os
import time
from collections.abc import Callable
from pathlib import Path

from .._clock import WallClock
from .._errors import ConfigurationError, InvalidKey
from .._jwk import PublicJWK
from ._documents import jwks_document
from ._key_files import load_key_pair, write_key_files
from ._keys import KeyPair, algorithm_for, default_algorithm, generate_private_key
from ._lifecycle import KeyState, RingKey, RingState, RotationPolicy, RotationStep
from ._ring_directory import RingDirectory, check_kid, derived_public_jwk
from ._signer import KeyPairSigner

__all__ = ["KeyRing"]

_ORDER = {KeyState.ACTIVE: 0, KeyState.PUBLISHED: 1, KeyState.RETIRED: 2, KeyState.GENERATED: 3}


class KeyRing:
    """The signing keys of one issuer, kept in a directory.

    *policy* sets the waits of the lifecycle; *clock* is the time source (POSIX
    seconds, like :func:`time.time`). A key goes through the
    :class:`KeyState` values in order: generated, published (in the JWKS, not
    signing yet), active (signing; one key at most), retired (still in the
    JWKS until its tokens have expired). Each change returns the key's new
    record: ``kid``, ``alg``, ``state`` and the times it entered each state
    (``created_at``, ``published_at``, ``activated_at``, ``retired_at``).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        policy: RotationPolicy | None = None,
        clock: WallClock = time.time,
    ) -> None:
        self._dir = Path(directory)
        self._files = RingDirectory(self._dir)
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
        return self._files.private_key_path(kid)

    def public_key_path(self, kid: str) -> Path:
        """Where the public PEM of *kid* lives."""
        return self._files.public_key_path(kid)

    def jwk_path(self, kid: str) -> Path:
        """Where the public JWK of *kid* lives."""
        return self._files.jwk_path(kid)

    # -- reading ----------------------------------------------------------------------

    def state(self) -> RingState:
        """The current manifest (an empty ring if there is none yet).

        ``keys`` holds one record per key (as the changes return them) and
        ``active`` the key that signs, if any.
        """
        return self._files.read_state()

    def public_keys(self, passphrase: str | bytes | None = None) -> list[PublicJWK]:
        """The keys to publish: active first, then the next key, then retired ones.

        Each public JWK is derived from the key's private key and must equal
        its ``<kid>.jwk.json`` file, else :class:`~bearerguard.InvalidKey`
        names the kid and the file. Encrypted private keys need *passphrase*
        (the one :meth:`signer` takes): without it they cannot vouch for their
        JWK, and a :class:`~bearerguard.ConfigurationError` says so. Loading takes a few
        tenths of a second per encrypted key (the key derivation is slow on
        purpose), so call this at start-up or after a rotation, not per request.
        """
        keys = sorted(self.state().published(), key=lambda k: _ORDER[k.state])
        return [self._checked_jwk(key, passphrase) for key in keys]

    def jwks(self, passphrase: str | bytes | None = None) -> dict[str, list[dict[str, str]]]:
        """The JWKS document of :meth:`public_keys`."""
        return jwks_document(self.public_keys(passphrase))

    def signer(self, passphrase: str | bytes | None = None) -> KeyPairSigner:
        """A signer on the active key (a :class:`~bearerguard.ConfigurationError` if none)."""
        active = self.state().active
        if active is None:
            raise ConfigurationError(
                f"key ring {self._dir} has no active key; run `bearerguard keys rotate {self._dir}`"
            )
        pair = self._load(active, passphrase)
        if pair.public_jwk.to_dict() != self._files.read_jwk(active).to_dict():
            raise InvalidKey(f"{self.private_key_path(active.kid)} does not match its JWK file")
        return KeyPairSigner(pair)

    def _load(self, key: RingKey, passphrase: str | bytes | None) -> KeyPair:
        self._files.check_private_key_file(key.kid)
        return load_key_pair(self.private_key_path(key.kid), key.kid, passphrase, alg=key.alg)

    def _checked_jwk(self, key: RingKey, passphrase: str | bytes | None) -> PublicJWK:
        """*key*'s public JWK as its private key says, after checking its JWK file agrees."""
        published = self._files.read_jwk(key)
        jwk_path, private = self.jwk_path(key.kid), self.private_key_path(key.kid)
        if not (private.exists() or private.is_symlink()):
            raise ConfigurationError(
                f"key {key.kid!r} is {key.state.value} but its private key file {private} is "
                f"missing, so nothing vouches for {jwk_path}: restore the file, or remove the "
                "key from the ring once no token it signed is still valid"
            )
        encrypted = self._files.is_encrypted(key.kid)
        if encrypted and passphrase is None:
            raise ConfigurationError(
                f"key {key.kid!r}: {private} is encrypted; give the passphrase "
                "(public_keys(passphrase) / jwks(passphrase), or --passphrase-env / "
                f"--passphrase-file) so that {jwk_path} can be checked against it"
            )
        derived = derived_public_jwk(private, key, passphrase if encrypted else None)
        if derived.to_dict() != published.to_dict():
            raise InvalidKey(
                f"key {key.kid!r}: {jwk_path} does not match the private key {private}; "
                "refusing to publish it (restore the JWK file from the private key, or "
                "remove the key)"
            )
        return derived

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
        with self._files.locked():
            state = self.state()
            self._check_encryption(state, passphrase, allow_unencrypted)
            kid, alg = self._new_key(kty, bits, crv, kid, alg, passphrase)
            state = state.add(kid, alg, self._clock())
            self._files.write_state(state)
            return state.get(kid)

    def publish(self, kid: str) -> RingKey:
        """Publish a generated key in the JWKS."""
        return self._change(lambda s, now: s.publish(kid, now), kid)

    def activate(self, kid: str, *, force: bool = False) -> RingKey:
        """Sign with *kid* from now on; the previously active key retires.

        Refused with a :class:`~bearerguard.ConfigurationError` until *kid* has
        been published for the policy's ``publish_delay`` (verifiers would not
        know it yet), unless *force* or no key is active.
        """
        return self._change(lambda s, now: s.activate(kid, now, self._policy, force=force), kid)

    def retire(self, kid: str) -> RingKey:
        """Stop signing with *kid*; it stays published."""
        return self._change(lambda s, now: s.retire(kid, now), kid)

    def remove(self, kid: str, *, force: bool = False) -> None:
        """Drop *kid* from the ring and delete its files."""
        with self._files.locked():
            state = self.state().remove(kid, self._clock(), self._policy, force=force)
            self._files.write_state(state)
            self._files.delete_files(kid)

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
        """One scheduled rotation run; returns its steps (``action``, ``kid``, ``reason``).

        A run removes retired keys whose tokens have all expired, publishes
        generated keys, activates the newest published key once it has been
        published for ``publish_delay`` (at once when no key is active), and
        generates and publishes the next key when none is waiting. Run it on
        your rotation schedule (``bearerguard keys rotate``, e.g. monthly): each
        run activates the key the previous run published.

        New keys are encrypted with *passphrase*; without one they are written
        unencrypted, which a ring holding encrypted keys refuses (before any
        change) unless *allow_unencrypted*. With *dry_run* nothing is written
        and new keys are shown as ``<new key 1>``, ``<new key 2>``, ...
        """
        with self._files.locked(dry_run):
            before = self.state()
            now = self._clock()
            if dry_run:
                names = (f"<new key {n}>" for n in range(1, 10))
                _, steps = before.rotate(
                    now, self._policy, lambda: (next(names), alg or algorithm_for(kty, crv))
                )
                return steps

            def new_key() -> tuple[str, str]:
                # Here, not up front: a run with nothing to generate needs no passphrase.
                self._check_encryption(before, passphrase, allow_unencrypted)
                return self._new_key(kty, bits, crv, None, alg, passphrase)

            after, steps = before.rotate(now, self._policy, new_key)
            self._files.write_state(after)
            for step in steps:
                if step.action == "remove":
                    self._files.delete_files(step.kid)
            return steps

    # -- internals ----------------------------------------------------------------------

    def _change(self, change: Callable[[RingState, float], RingState], kid: str) -> RingKey:
        with self._files.locked():
            state = change(self.state(), self._clock())
            self._files.write_state(state)
            return state.get(kid)

    def encrypted_kids(self, state: RingState | None = None) -> tuple[str, ...]:
        """The kids whose private key file is encrypted (of *state*, default the manifest)."""
        keys = (state or self.state()).keys
        return tuple(key.kid for key in keys if self._files.is_encrypted(key.kid))

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
        self._files.ensure()
        write_key_files(
            pair,
            private_path=self.private_key_path(pair.kid),
            public_path=self.public_key_path(pair.kid),
            jwk_path=self.jwk_path(pair.kid),
            passphrase=passphrase,
        )
        return pair.kid, pair.alg
