"""KeyRing: the rotation lifecycle on a key directory (the safe rotation flow)."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bearerguard import ConfigurationError, InvalidKey, Issuer, Validator, parse_jwks
from bearerguard.issuing import KeyRing, KeyState, RotationPolicy, TokenIssuer, load_key_pair
from tests.support.clock import FakeClock

from .conftest import PASSPHRASE, T0, encrypted_ring

DAY = 86400.0
POLICY = RotationPolicy(publish_delay=DAY, retire_after=2 * DAY)


@pytest.fixture
def ring(tmp_path: Path, clock: FakeClock) -> KeyRing:
    return KeyRing(tmp_path / "keys", policy=POLICY, clock=clock)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _states(ring: KeyRing) -> list[tuple[str, KeyState]]:
    return [(k.kid, k.state) for k in ring.state().keys]


def test_first_rotation_creates_the_ring(ring: KeyRing) -> None:
    steps = ring.rotate(kty="EC")
    assert [s.action for s in steps] == ["generate", "activate", "generate"]
    active, upcoming = steps[0].kid, steps[2].kid
    assert _states(ring) == [(active, KeyState.ACTIVE), (upcoming, KeyState.PUBLISHED)]
    assert _mode(ring.directory) == 0o700
    for kid in (active, upcoming):
        assert _mode(ring.private_key_path(kid)) == 0o600
        assert _mode(ring.public_key_path(kid)) == 0o644
        assert json.loads(ring.jwk_path(kid).read_text())["kid"] == kid
    manifest = json.loads((ring.directory / "keyring.json").read_text())
    assert manifest["version"] == 1
    assert [k["state"] for k in manifest["keys"]] == ["active", "published"]


def test_public_keys_list_active_then_next_then_retired(ring: KeyRing, clock: FakeClock) -> None:
    first = ring.rotate(kty="EC")
    clock.advance(DAY)
    second = ring.rotate(kty="EC")
    assert [s.action for s in second] == ["activate", "retire", "generate"]
    assert [k.kid for k in ring.public_keys()] == [first[2].kid, second[2].kid, first[0].kid]
    assert ring.jwks() == {"keys": [k.to_dict() for k in ring.public_keys()]}


def test_rotation_is_idempotent_within_the_publish_delay(ring: KeyRing, clock: FakeClock) -> None:
    ring.rotate(kty="EC")
    before = ring.state()
    clock.advance(DAY - 1)
    assert ring.rotate(kty="EC") == ()
    assert ring.state() == before


def test_retired_key_files_are_deleted_when_it_is_removed(ring: KeyRing, clock: FakeClock) -> None:
    old = ring.rotate(kty="EC")[0].kid
    clock.advance(DAY)
    ring.rotate(kty="EC")
    clock.advance(2 * DAY)
    steps = ring.rotate(kty="EC")
    assert (steps[0].action, steps[0].kid) == ("remove", old)
    assert not ring.private_key_path(old).exists()
    assert not ring.jwk_path(old).exists()
    assert old not in [k.kid for k in ring.public_keys()]


def test_tokens_signed_before_a_rotation_still_verify_after_it(
    ring: KeyRing, clock: FakeClock
) -> None:
    """Zero downtime: the retired key stays in the JWKS until its tokens expire."""
    ring.rotate(kty="EC")
    issuer_url = "https://login.example.com"
    before = TokenIssuer(signer=ring.signer(), issuer=issuer_url, audience="api://orders")
    old_token, _ = before.generate_access_token("user-42", "web-app", [])
    clock.advance(DAY)
    ring.rotate(kty="EC")
    after = TokenIssuer(signer=ring.signer(), issuer=issuer_url, audience="api://orders")
    new_token, _ = after.generate_access_token("user-42", "web-app", [])
    verifier = Issuer(issuer_url, parse_jwks(ring.jwks()), Validator(aud="api://orders"))
    assert verifier.verify_and_validate(old_token)[1].sub == "user-42"
    assert verifier.verify_and_validate(new_token)[1].sub == "user-42"
    assert before.signer.kid != after.signer.kid


def test_dry_run_changes_nothing(ring: KeyRing) -> None:
    steps = ring.rotate(kty="EC", dry_run=True)
    assert [(s.action, s.kid) for s in steps] == [
        ("generate", "<new key 1>"),
        ("activate", "<new key 1>"),
        ("generate", "<new key 2>"),
    ]
    assert not ring.directory.exists()


def test_encrypted_ring_needs_the_passphrase_to_sign(ring: KeyRing) -> None:
    active = ring.rotate(kty="EC", passphrase="s3cret")[0].kid
    assert (
        ring.private_key_path(active)
        .read_bytes()
        .startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    )
    assert ring.signer("s3cret").kid == active
    with pytest.raises(InvalidKey) as info:
        ring.signer()
    assert info.value.description == (
        f"{ring.private_key_path(active)} is encrypted; a passphrase is required"
    )


ENCRYPTED_RING = (
    "key ring {dir} holds encrypted private keys; refusing to add an unencrypted one: "
    "give the passphrase (--passphrase-env / --passphrase-file), "
    "or allow it explicitly (allow_unencrypted=True / --no-encryption)"
)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda ring: ring.rotate(kty="EC"), id="rotate"),
        pytest.param(lambda ring: ring.generate(kty="EC"), id="generate"),
    ],
)
def test_no_unencrypted_key_next_to_encrypted_ones(
    ring: KeyRing, change: Callable[[KeyRing], object]
) -> None:
    """Without a passphrase, a ring of encrypted keys gets no new key, and nothing changes."""
    encrypted_ring(ring)
    manifest = (ring.directory / "keyring.json").read_text()
    files = sorted(ring.directory.iterdir())
    with pytest.raises(ConfigurationError) as info:
        change(ring)
    assert info.value.description == ENCRYPTED_RING.format(dir=ring.directory)
    assert (ring.directory / "keyring.json").read_text() == manifest
    assert sorted(ring.directory.iterdir()) == files


def test_unencrypted_key_next_to_encrypted_ones_when_allowed(ring: KeyRing) -> None:
    """allow_unencrypted=True writes the new key in the clear, as asked."""
    active = encrypted_ring(ring)
    steps = ring.rotate(kty="EC", allow_unencrypted=True)
    assert [s.action for s in steps] == ["generate"]
    assert ring.encrypted_kids() == (active,)
    assert ring.private_key_path(steps[0].kid).read_bytes().startswith(b"-----BEGIN PRIVATE KEY")


def test_a_run_with_nothing_to_generate_needs_no_passphrase(ring: KeyRing) -> None:
    """Inside the publish delay a cron run without the passphrase does nothing, and succeeds."""
    encrypted_ring(ring)
    ring.rotate(kty="EC", allow_unencrypted=True)  # publishes the next key
    assert ring.rotate(kty="EC") == ()


def test_passphrase_and_allow_unencrypted_contradict(ring: KeyRing) -> None:
    with pytest.raises(ConfigurationError) as info:
        ring.rotate(kty="EC", passphrase=PASSPHRASE, allow_unencrypted=True)
    assert info.value.description == "give a passphrase or allow_unencrypted=True, not both"
    assert ring.state().keys == ()


def test_signer_needs_an_active_key(ring: KeyRing) -> None:
    with pytest.raises(ConfigurationError) as info:
        ring.signer()
    hint = f"run `bearerguard keys rotate {ring.directory}`"
    assert info.value.description == f"key ring {ring.directory} has no active key; {hint}"


def test_signer_refuses_a_private_key_that_does_not_match_its_jwk(ring: KeyRing) -> None:
    steps = ring.rotate(kty="EC")
    active, upcoming = steps[0].kid, steps[2].kid
    ring.jwk_path(active).write_text(ring.jwk_path(upcoming).read_text().replace(upcoming, active))
    with pytest.raises(InvalidKey) as info:
        ring.signer()
    assert info.value.description == f"{ring.private_key_path(active)} does not match its JWK file"


def test_manual_lifecycle(ring: KeyRing, clock: FakeClock) -> None:
    """generate → publish → activate → retire → remove, one call each."""
    key = ring.generate(kty="OKP", kid="kid-2025-01")
    assert (key.kid, key.alg, key.state) == ("kid-2025-01", "EdDSA", KeyState.GENERATED)
    assert ring.public_keys() == []
    assert ring.publish("kid-2025-01").published_at == T0
    assert [k.kid for k in ring.public_keys()] == ["kid-2025-01"]
    assert ring.activate("kid-2025-01").state is KeyState.ACTIVE  # nothing active: no wait
    assert ring.signer().alg == "EdDSA"
    clock.advance(10)
    assert ring.retire("kid-2025-01").retired_at == T0 + 10
    with pytest.raises(ConfigurationError):
        ring.remove("kid-2025-01")
    clock.advance(2 * DAY)
    ring.remove("kid-2025-01")
    assert ring.state().keys == ()
    assert sorted(p.name for p in ring.directory.iterdir()) == [".keyring.lock", "keyring.json"]


@pytest.mark.parametrize(
    "kid",
    [
        pytest.param("../escape", id="path-traversal"),
        pytest.param(".hidden", id="dot-file"),
        pytest.param("a/b", id="slash"),
        pytest.param("", id="empty"),
    ],
)
def test_kids_must_be_safe_file_names(ring: KeyRing, kid: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        ring.generate(kty="EC", kid=kid)
    assert info.value.description == (
        "kid must be 1-128 characters of A-Z a-z 0-9 . _ - and not start with '.'"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("not json", "cannot read {path}: JSONDecodeError", id="not-json"),
        pytest.param('{"version": 2, "keys": []}', "{path} is not a version 1 key ring manifest",
                     id="future-version"),
        pytest.param('{"version": 1}', "{path} has no 'keys' list", id="no-keys"),
    ],
)  # fmt: skip
def test_a_broken_manifest_is_reported(ring: KeyRing, content: str, message: str) -> None:
    ring.directory.mkdir()
    path = ring.directory / "keyring.json"
    path.write_text(content)
    with pytest.raises(ConfigurationError) as info:
        ring.state()
    assert info.value.description == message.format(path=path)


def test_concurrent_rotations_do_not_interleave(tmp_path: Path, clock: FakeClock) -> None:
    """Two rotation runs at once bootstrap the ring once, not twice."""
    rings = [KeyRing(tmp_path / "keys", policy=POLICY, clock=clock) for _ in range(4)]
    barrier = threading.Barrier(len(rings))

    def run(ring: KeyRing) -> None:
        barrier.wait()
        ring.rotate(kty="EC")

    threads = [threading.Thread(target=run, args=(r,)) for r in rings]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [k.state for k in rings[0].state().keys] == [KeyState.ACTIVE, KeyState.PUBLISHED]
    assert len(list((tmp_path / "keys").glob("*.private.pem"))) == 2


# -- trusting only what the ring wrote ------------------------------------------------------


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(0o777, id="everyone"),
        pytest.param(0o770, id="group-writable"),
        pytest.param(0o703, id="other-writable"),
        pytest.param(0o1777, id="sticky-like-tmp"),
    ],
)
def test_a_directory_others_can_write_is_refused(ring: KeyRing, mode: int) -> None:
    """Whoever can write the directory can swap keys: refuse it before writing anything."""
    ring.directory.mkdir()
    ring.directory.chmod(mode)
    message = (
        f"key ring directory {ring.directory} is writable by group or others "
        f"(mode {mode:04o}), so they could swap its keys; refusing it: "
        f"run `chmod 700 {ring.directory}`"
    )
    for use in (lambda: ring.rotate(kty="EC"), ring.state, ring.public_keys):
        with pytest.raises(ConfigurationError) as info:
            use()
        assert info.value.description == message
    assert list(ring.directory.iterdir()) == []
    assert _mode(ring.directory) == mode


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a directory to another user")
def test_a_directory_of_another_user_is_refused(ring: KeyRing) -> None:
    ring.directory.mkdir(mode=0o700)
    os.chown(ring.directory, OTHER_UID, -1)
    with pytest.raises(ConfigurationError) as info:
        ring.rotate(kty="EC")
    assert info.value.description == (
        f"key ring directory {ring.directory} belongs to uid {OTHER_UID}, not to this user "
        "(uid 0) or root, so that user could swap its keys; refusing it: "
        f"run `chown 0 {ring.directory}` (as root), or use a directory of your own"
    )
    assert list(ring.directory.iterdir()) == []


OTHER_UID = 54321


def _file(ring: KeyRing, which: str, kid: str) -> Path:
    return {
        "manifest": ring.directory / "keyring.json",
        "jwk": ring.jwk_path(kid),
        "private": ring.private_key_path(kid),
    }[which]


@pytest.mark.parametrize("which", ["manifest", "jwk", "private"])
def test_a_ring_file_others_can_write_is_refused(ring: KeyRing, which: str) -> None:
    kid = ring.rotate(kty="EC")[0].kid
    path = _file(ring, which, kid)
    path.chmod(0o666)
    with pytest.raises(ConfigurationError) as info:
        ring.public_keys()
    assert info.value.description == (
        f"key ring file {path} is writable by group or others (mode 0666), so they could "
        f"swap its keys; refusing it: run `chmod go-w {path}`"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
@pytest.mark.parametrize("which", ["manifest", "jwk", "private"])
def test_a_ring_file_of_another_user_is_refused(ring: KeyRing, which: str) -> None:
    kid = ring.rotate(kty="EC")[0].kid
    path = _file(ring, which, kid)
    os.chown(path, OTHER_UID, -1)
    with pytest.raises(ConfigurationError) as info:
        ring.signer()
    assert info.value.description.startswith(
        f"key ring file {path} belongs to uid {OTHER_UID}, not to this user (uid 0) or root"
    )


def _retire_one(ring: KeyRing, clock: FakeClock) -> tuple[str, str, str]:
    """A ring with a retired, an active and a published key: their kids, in that order."""
    first = ring.rotate(kty="EC")
    clock.advance(DAY)
    second = ring.rotate(kty="EC")
    return first[0].kid, first[2].kid, second[2].kid


@pytest.mark.parametrize("state", ["retired", "active", "published"])
def test_a_swapped_jwk_file_is_never_published(ring: KeyRing, clock: FakeClock, state: str) -> None:
    """The JWKS comes from the private keys; a JWK file naming another key is refused."""
    kids = dict(zip(["retired", "active", "published"], _retire_one(ring, clock), strict=True))
    kid = kids[state]
    planted = json.loads(
        ring.jwk_path(kids["published" if state != "published" else "active"]).read_text()
    )
    planted["kid"] = kid
    ring.jwk_path(kid).write_text(json.dumps(planted))
    for publish in (ring.public_keys, ring.jwks):
        with pytest.raises(InvalidKey) as info:
            publish()
        assert info.value.description == (
            f"key {kid!r}: {ring.jwk_path(kid)} does not match the private key "
            f"{ring.private_key_path(kid)}; refusing to publish it (restore the JWK file "
            "from the private key, or remove the key)"
        )
        assert planted["x"] not in info.value.description


def test_the_jwks_is_what_the_private_keys_say(ring: KeyRing, clock: FakeClock) -> None:
    kids = _retire_one(ring, clock)
    derived = [
        load_key_pair(ring.private_key_path(k.kid), k.kid, alg=k.alg).public_jwk.to_dict()
        for k in sorted(ring.state().keys, key=lambda k: [kids[1], kids[2], kids[0]].index(k.kid))
    ]
    assert ring.jwks() == {"keys": derived}


def test_a_published_key_without_its_private_key_is_refused(
    ring: KeyRing, clock: FakeClock
) -> None:
    """A retired key's private key deleted by hand: nothing vouches for its JWK file any more."""
    retired = _retire_one(ring, clock)[0]
    ring.private_key_path(retired).unlink()
    with pytest.raises(ConfigurationError) as info:
        ring.jwks()
    assert info.value.description == (
        f"key {retired!r} is retired but its private key file {ring.private_key_path(retired)} "
        f"is missing, so nothing vouches for {ring.jwk_path(retired)}: restore the file, or "
        "remove the key from the ring once no token it signed is still valid"
    )
    clock.advance(2 * DAY)
    ring.remove(retired)
    assert len(ring.jwks()["keys"]) == 2


def test_an_encrypted_ring_publishes_with_its_passphrase(ring: KeyRing) -> None:
    """An encrypted private key vouches for its JWK only once decrypted."""
    kid = encrypted_ring(ring)
    with pytest.raises(ConfigurationError) as info:
        ring.public_keys()
    assert info.value.description == (
        f"key {kid!r}: {ring.private_key_path(kid)} is encrypted; give the passphrase "
        "(public_keys(passphrase) / jwks(passphrase), or --passphrase-env / "
        f"--passphrase-file) so that {ring.jwk_path(kid)} can be checked against it"
    )
    assert [k.kid for k in ring.public_keys(PASSPHRASE)] == [kid]
    assert ring.jwks(PASSPHRASE) == {"keys": [json.loads(ring.jwk_path(kid).read_text())]}


def test_a_symlink_planted_as_the_lock_file_is_refused(ring: KeyRing, tmp_path: Path) -> None:
    """The lock file is opened with O_NOFOLLOW: nothing is created or written through a link."""
    ring.directory.mkdir(mode=0o700)
    target = tmp_path / "elsewhere"
    (ring.directory / ".keyring.lock").symlink_to(target)
    with pytest.raises(ConfigurationError) as info:
        ring.rotate(kty="EC")
    assert info.value.description == (
        f"lock file {ring.directory / '.keyring.lock'} is a symbolic link; refusing to follow "
        "it: remove it"
    )
    assert not target.exists()
    assert sorted(p.name for p in ring.directory.iterdir()) == [".keyring.lock"]


def test_a_wrong_passphrase_names_the_key_and_file(ring: KeyRing) -> None:
    kid = encrypted_ring(ring)
    with pytest.raises(InvalidKey) as info:
        ring.jwks("not the passphrase")
    assert info.value.description == (
        f"key {kid!r}: cannot read the private key {ring.private_key_path(kid)} "
        "(wrong passphrase, or the file is corrupted)"
    )
