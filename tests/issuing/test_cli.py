"""The bearerguard command: keys generate / rotate / jwks, and serve-issuer."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bearerguard import Issuer, PublicJWK, Validator
from bearerguard.cli import main
from bearerguard.issuing import KeyRing, load_key_pair

from .conftest import encrypted_ring

PW = "correct horse battery staple"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    assert info.value.code == 2
    return capsys.readouterr().err


# -- keys generate ----------------------------------------------------------------------------


def test_generate_defaults_to_rsa_4096_named_by_thumbprint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _run(capsys, "keys", "generate", "--out-dir", str(tmp_path))
    assert (code, err) == (0, "")
    pair = load_key_pair(next(tmp_path.glob("*.private.pem")), None)
    kid = pair.kid
    assert pair.private_key.key_size == 4096  # type: ignore[union-attr]
    assert out.splitlines() == [
        f"kid:         {kid}",
        "alg:         RS256",
        f"private key: {tmp_path / (kid + '.private.pem')} (mode 0600)",
        f"public key:  {tmp_path / (kid + '.public.pem')}",
        f"public JWK:  {tmp_path / (kid + '.jwk.json')}",
    ]
    assert _mode(tmp_path / f"{kid}.private.pem") == 0o600
    jwk = json.loads((tmp_path / f"{kid}.jwk.json").read_text())
    assert PublicJWK.from_dict(jwk).thumbprint() == kid
    assert sorted(jwk) == ["alg", "e", "kid", "kty", "n", "use"]


@pytest.mark.parametrize(
    ("options", "alg", "crv"),
    [
        pytest.param(["--kty", "EC"], "ES256", "P-256", id="ec-p256"),
        pytest.param(["--kty", "EC", "--crv", "P-384"], "ES384", "P-384", id="ec-p384"),
        pytest.param(["--kty", "OKP"], "EdDSA", "Ed25519", id="ed25519"),
        pytest.param(["--bits", "2048"], "RS256", None, id="rsa-2048"),
        pytest.param(["--bits", "2048", "--alg", "PS256"], "PS256", None, id="rsa-pss"),
    ],
)
def test_generate_key_types(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    alg: str,
    crv: str | None,
) -> None:
    code, _, _ = _run(
        capsys, "keys", "generate", "--kid", "kid-2025-01", "--out-dir", str(tmp_path), *options
    )
    assert code == 0
    jwk = json.loads((tmp_path / "kid-2025-01.jwk.json").read_text())
    assert (jwk["kid"], jwk["alg"], jwk.get("crv")) == ("kid-2025-01", alg, crv)


def test_generate_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "kid-2025-01.private.pem"
    existing.write_text("precious")
    code, out, err = _run(
        capsys,
        "keys",
        "generate",
        "--kty",
        "EC",
        "--kid",
        "kid-2025-01",
        "--out-dir",
        str(tmp_path),
    )
    assert (code, out) == (1, "")
    assert err == f"bearerguard: error: {existing} already exists; refusing to overwrite it\n"
    assert existing.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kid-2025-01.private.pem"]


def test_generate_encrypts_with_a_passphrase_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEY_PASSPHRASE", PW)
    code, out, _ = _run(
        capsys, "keys", "generate", "--kty", "EC", "--kid", "k", "--out-dir", str(tmp_path),
        "--passphrase-env", "KEY_PASSPHRASE",
    )  # fmt: skip
    assert code == 0
    assert f"private key: {tmp_path / 'k.private.pem'} (mode 0600, encrypted)" in out.splitlines()
    assert load_key_pair(tmp_path / "k.private.pem", "k", PW).kid == "k"


def test_generate_reads_the_passphrase_file_without_its_newline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "passphrase.txt"
    secret.write_text(PW + "\n")
    code, _, _ = _run(
        capsys, "keys", "generate", "--kty", "EC", "--kid", "k", "--out-dir", str(tmp_path),
        "--passphrase-file", str(secret),
    )  # fmt: skip
    assert code == 0
    assert load_key_pair(tmp_path / "k.private.pem", "k", PW).kid == "k"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(["--passphrase-env", "NOPE_NOT_SET"],
                     "environment variable NOPE_NOT_SET is not set", id="unset-env"),
        pytest.param(["--passphrase-file", "/nonexistent/pw"],
                     "cannot read passphrase file /nonexistent/pw: No such file or directory",
                     id="missing-file"),
        pytest.param(["--kid", "../up"],
                     "kid must be 1-128 characters of A-Z a-z 0-9 . _ - and not start with '.'",
                     id="unsafe-kid"),
        pytest.param(["--crv", "P-256"], "--crv is for EC and OKP keys", id="crv-for-rsa"),
    ],
)  # fmt: skip
def test_generate_errors_exit_1(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    message: str,
) -> None:
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    code, _, err = _run(capsys, "keys", "generate", "--out-dir", str(tmp_path), *options)
    assert (code, err) == (1, f"bearerguard: error: {message}\n")
    assert list(tmp_path.iterdir()) == []


def test_missing_output_directory_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "keys", "generate", "--out-dir", str(tmp_path / "nope"))
    assert (code, err) == (
        1,
        f"bearerguard: error: output directory {tmp_path / 'nope'} does not exist\n",
    )


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        pytest.param(["keys", "generate", "--passphrase", "secret"],
                     "unrecognized arguments: --passphrase secret", id="passphrase-on-argv"),
        pytest.param(["keys", "generate", "--passphrase-env", "A", "--passphrase-file", "B"],
                     "not allowed with argument", id="two-passphrase-sources"),
        pytest.param(["keys", "generate", "--bits", "1024"], "invalid choice: 1024",
                     id="small-rsa"),
        pytest.param(["keys", "rotate", "d", "--publish-delay", "soon"],
                     "not a duration: 'soon'", id="bad-duration"),
        pytest.param([], "the following arguments are required: COMMAND", id="no-command"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    assert fragment in _usage_error(capsys, *argv)


# -- keys rotate / jwks -----------------------------------------------------------------------


def test_rotate_bootstraps_a_ring_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ring_dir = tmp_path / "ring"
    code, out, _ = _run(capsys, "keys", "rotate", str(ring_dir), "--kty", "EC")
    assert code == 0
    kids = [k.kid for k in KeyRing(ring_dir).state().keys]
    lines = out.splitlines()
    assert lines[:3] == [
        f"generate {kids[0]}  (no key can sign)",
        f"activate {kids[0]}  (no key was active)",
        f"generate {kids[1]}  (next key, published ahead of use)",
    ]
    assert lines[3].split() == ["kid", "alg", "state", "since", "next", "step"]
    assert lines[4].split()[:3] == [kids[0], "ES256", "active"]
    assert lines[5].split()[:3] == [kids[1], "ES256", "published"]


def test_rotate_dry_run_and_status_change_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ring_dir = tmp_path / "ring"
    code, out, _ = _run(capsys, "keys", "rotate", str(ring_dir), "--dry-run", "--kty", "OKP")
    assert code == 0
    assert out.splitlines() == [
        "would generate <new key 1>  (no key can sign)",
        "would activate <new key 1>  (no key was active)",
        "would generate <new key 2>  (next key, published ahead of use)",
    ]
    code, out, _ = _run(capsys, "keys", "rotate", str(ring_dir), "--status")
    assert (code, out) == (0, f"key ring {ring_dir} is empty\n")
    assert not ring_dir.exists()


def test_rotate_a_second_time_too_early_does_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ring_dir = tmp_path / "ring"
    _run(capsys, "keys", "rotate", str(ring_dir), "--kty", "EC")
    code, out, _ = _run(capsys, "keys", "rotate", str(ring_dir), "--kty", "EC",
                        "--publish-delay", "90m")  # fmt: skip
    assert code == 0
    assert out.splitlines()[0] == "nothing to do"


def test_rotate_with_zero_publish_delay_activates_the_next_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ring_dir = tmp_path / "ring"
    _run(capsys, "keys", "rotate", str(ring_dir), "--kty", "EC")
    code, out, _ = _run(capsys, "keys", "rotate", str(ring_dir), "--kty", "EC",
                        "--publish-delay", "0")  # fmt: skip
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[:3]] == ["activate", "retire", "generate"]


def test_rotate_refuses_a_plain_key_in_an_encrypted_ring(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Forgetting the passphrase on an encrypted ring exits 1 and writes nothing."""
    ring = KeyRing(tmp_path / "ring")
    encrypted_ring(ring)
    before = sorted(ring.directory.iterdir())
    assert _run(capsys, "keys", "rotate", str(ring.directory), "--kty", "EC") == (
        1,
        "",
        f"bearerguard: error: key ring {ring.directory} holds encrypted private keys; "
        "refusing to add an unencrypted one: give the passphrase (--passphrase-env / "
        "--passphrase-file), or allow it explicitly (allow_unencrypted=True / "
        "--no-encryption)\n",
    )
    assert sorted(ring.directory.iterdir()) == before


@pytest.mark.parametrize(
    ("options", "label"),
    [
        pytest.param(["--no-encryption"], b"PRIVATE KEY", id="no-encryption-as-asked"),
        pytest.param(["--passphrase-env", "KEY_PASSPHRASE"], b"ENCRYPTED PRIVATE KEY",
                     id="encrypted-with-passphrase"),
    ],
)  # fmt: skip
def test_rotate_an_encrypted_ring(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    label: bytes,
) -> None:
    """With the passphrase the next key is encrypted; with --no-encryption it is not."""
    monkeypatch.setenv("KEY_PASSPHRASE", PW)
    ring = KeyRing(tmp_path / "ring")
    encrypted_ring(ring)
    code, _, _ = _run(capsys, "keys", "rotate", str(ring.directory), "--kty", "EC", *options)
    assert code == 0
    _, upcoming = (k.kid for k in ring.state().keys)
    assert ring.private_key_path(upcoming).read_bytes().startswith(b"-----BEGIN " + label + b"-")


def test_no_encryption_and_a_passphrase_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    err = _usage_error(capsys, "keys", "rotate", "d", "--no-encryption", "--passphrase-env", "A")
    assert "argument --passphrase-env: not allowed with argument --no-encryption" in err


def test_jwks_prints_the_ring_jwks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ring_dir = tmp_path / "ring"
    _run(capsys, "keys", "rotate", str(ring_dir), "--kty", "EC")
    code, out, _ = _run(capsys, "keys", "jwks", str(ring_dir))
    assert code == 0
    assert json.loads(out) == KeyRing(ring_dir).jwks()


# -- as a program -----------------------------------------------------------------------------


def test_python_dash_m_runs_the_cli(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bearerguard", "keys", "generate", "--kty", "EC", "--kid", "k"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "k.jwk.json",
        "k.private.pem",
        "k.public.pem",
    ]


@pytest.fixture
def serve_issuer() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bearerguard",
            "serve-issuer",
            "--audience",
            "api://orders",
            "--mint",
            "dev-user",
            "--scope",
            "orders:read",
            "--scope",
            "orders:write",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    info: dict[str, str] = {}
    for line in proc.stdout:
        if line.startswith("serving"):
            break
        name, _, value = line.partition(":")
        info[name] = value.strip()
    try:
        yield proc, info
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_serve_issuer_serves_until_interrupted(
    serve_issuer: tuple[subprocess.Popen[str], dict[str, str]], sig: signal.Signals
) -> None:
    proc, info = serve_issuer
    url = info["issuer"]
    assert url.startswith("http://127.0.0.1:")
    assert info["jwks_uri"] == url + "/.well-known/jwks.json"
    assert info["audience"] == "api://orders"
    verifier = Issuer.from_oidc(url, validator=Validator(aud="api://orders"))
    _, claims = verifier.verify_and_validate(info["token for dev-user"])
    assert (claims.sub, claims.scopes) == ("dev-user", frozenset({"orders:read", "orders:write"}))
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 0
    assert proc.stdout is not None
    assert proc.stdout.read() == "stopped\n"
