"""The bearerguard command: keys generate / rotate / jwks, and serve-issuer."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata
from cryptography.hazmat.primitives.asymmetric import rsa

from bearerguard import Issuer, PublicJWK, Validator
from bearerguard._cli import main
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
    assert isinstance(pair.private_key, rsa.RSAPrivateKey)
    assert pair.private_key.key_size == 4096
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


def test_jwks_of_an_encrypted_ring_takes_the_passphrase(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each published JWK is checked against its private key, which only the passphrase opens."""
    ring = KeyRing(tmp_path / "ring")
    kid = encrypted_ring(ring)
    code, out, err = _run(capsys, "keys", "jwks", str(ring.directory))
    assert (code, out) == (1, "")
    assert err == (
        f"bearerguard: error: key {kid!r}: {ring.private_key_path(kid)} is encrypted; give the "
        "passphrase (public_keys(passphrase) / jwks(passphrase), or --passphrase-env / "
        f"--passphrase-file) so that {ring.jwk_path(kid)} can be checked against it\n"
    )
    monkeypatch.setenv("KEY_PASSPHRASE", PW)
    code, out, _ = _run(capsys, "keys", "jwks", str(ring.directory), "--passphrase-env",
                        "KEY_PASSPHRASE")  # fmt: skip
    assert code == 0
    assert json.loads(out) == {"keys": [json.loads(ring.jwk_path(kid).read_text())]}


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


@contextlib.contextmanager
def _serve(*options: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    """Run `bearerguard serve-issuer` and read what it prints up to "serving"."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bearerguard", "serve-issuer", *options],
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


@pytest.fixture
def serve_issuer() -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    with _serve(
        "--audience", "api://orders", "--mint", "dev-user",
        "--scope", "orders:read", "--scope", "orders:write",
    ) as served:  # fmt: skip
        yield served


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


# -- serve-issuer: the token endpoint over real HTTP ------------------------------------------

REFRESHER = {"client_id": "refresher", "client_secret": "r3fresh+%", "refresh": True,
             "scopes": ["orders:read", "orders:write"]}  # fmt: skip


@pytest.fixture(scope="module")
def dev_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    """serve-issuer with a client from --client and a refreshing client from a clients file."""
    clients_file = tmp_path_factory.mktemp("serve") / "clients.json"
    clients_file.write_text(json.dumps({"clients": [REFRESHER]}))
    with _serve(
        "--audience", "api://orders", "--scope", "profile",
        "--client", "batch:s3cret:orders:read,orders:write", "--clients-file", str(clients_file),
    ) as (_, info):  # fmt: skip
        yield info


def test_serve_issuer_prints_its_token_endpoint_and_clients(dev_server: dict[str, str]) -> None:
    assert dev_server["token_endpoint"] == dev_server["issuer"] + "/token"
    assert dev_server["client batch"] == "scopes orders:read orders:write"
    assert dev_server["client refresher"] == "scopes orders:read orders:write; refresh tokens"


def test_serve_issuer_publishes_what_it_supports(dev_server: dict[str, str]) -> None:
    url = dev_server["issuer"]
    metadata = requests.get(dev_server["oauth2"], timeout=5).json()
    assert metadata == {
        "issuer": url,
        "token_endpoint": url + "/token",
        "jwks_uri": url + "/.well-known/jwks.json",
        "scopes_supported": ["profile", "orders:read", "orders:write"],
        "response_types_supported": ["none"],
        "grant_types_supported": ["client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }
    oidc = requests.get(dev_server["oidc"], timeout=5).json()
    assert oidc == {
        **metadata,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }


@pytest.mark.parametrize(
    ("which", "metadata_class"),
    [
        pytest.param("oauth2", AuthorizationServerMetadata, id="rfc8414"),
        pytest.param("oidc", OpenIDProviderMetadata, id="oidc"),
    ],
)
def test_serve_issuer_metadata_passes_authlib_validation(
    dev_server: dict[str, str], which: str, metadata_class: type[AuthorizationServerMetadata]
) -> None:
    metadata_class(requests.get(dev_server[which], timeout=5).json()).validate()


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_authlib_client_credentials_tokens_verify_through_oidc_discovery(
    dev_server: dict[str, str], auth_method: str
) -> None:
    with OAuth2Session(
        "batch", "s3cret", scope="orders:read", token_endpoint_auth_method=auth_method
    ) as session:
        token = session.fetch_token(dev_server["token_endpoint"], grant_type="client_credentials")
    assert (token["token_type"], token["scope"], "refresh_token" in token) == (
        "Bearer",
        "orders:read",
        False,
    )
    verifier = Issuer.from_oidc(dev_server["issuer"], validator=Validator(aud="api://orders"))
    _, claims = verifier.verify_and_validate(token["access_token"])
    assert (claims.sub, claims.client_id, claims.scopes) == (
        "batch",
        "batch",
        frozenset({"orders:read"}),
    )


def test_requests_oauthlib_backend_application_client_gets_a_token(
    dev_server: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from oauthlib.oauth2 import BackendApplicationClient
    from requests_oauthlib import OAuth2Session as OAuthlibSession

    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # http on 127.0.0.1
    session = OAuthlibSession(client=BackendApplicationClient(client_id="batch"))
    token = session.fetch_token(
        dev_server["token_endpoint"], client_id="batch", client_secret="s3cret"
    )
    verifier = Issuer.from_oauth2(dev_server["issuer"], validator=Validator(aud="api://orders"))
    _, claims = verifier.verify_and_validate(token["access_token"])
    assert claims.scopes == frozenset({"orders:read", "orders:write"})


def test_refresh_through_authlib_and_a_replayed_token_revokes_the_grant(
    dev_server: dict[str, str],
) -> None:
    endpoint = dev_server["token_endpoint"]
    with OAuth2Session(REFRESHER["client_id"], REFRESHER["client_secret"]) as session:
        first = session.fetch_token(endpoint, grant_type="client_credentials")
        second = session.refresh_token(endpoint, refresh_token=first["refresh_token"])
        assert second["refresh_token"] != first["refresh_token"]
        verifier = Issuer.from_oidc(dev_server["issuer"], validator=Validator(aud="api://orders"))
        assert verifier.verify_and_validate(second["access_token"])[1].sub == "refresher"
        with pytest.raises(OAuthError) as replay:
            session.refresh_token(endpoint, refresh_token=first["refresh_token"])
        assert replay.value.error == "invalid_grant"
        # Reuse revoked the whole grant: the token that rotation handed out is dead too.
        with pytest.raises(OAuthError) as after:
            session.refresh_token(endpoint, refresh_token=second["refresh_token"])
        assert (after.value.error, after.value.description) == (
            "invalid_grant",
            "refresh token has been revoked",
        )


FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BATCH = ("batch", "s3cret")


@pytest.mark.parametrize(
    ("body", "headers", "status", "error"),
    [
        pytest.param(b'{"grant_type": "client_credentials"}',
                     {"Content-Type": "application/json"}, 400, "invalid_request",
                     id="json-body"),
        pytest.param(b"grant_type=client_credentials&grant_type=refresh_token", FORM, 400,
                     "invalid_request", id="repeated-parameter"),
        pytest.param(b"scope=orders:read", FORM, 400, "invalid_request", id="no-grant-type"),
        pytest.param(b"grant_type=client_credentials&scope=%C3%28", FORM, 400, "invalid_request",
                     id="percent-encoded-non-utf8"),
        pytest.param(b"grant_type=client_credentials&scope=\xe9", FORM, 400, "invalid_request",
                     id="raw-non-ascii"),
        pytest.param(b"grant_type=client_credentials&pad=" + b"x" * 100_000, FORM, 413,
                     "invalid_request", id="huge-body"),
        pytest.param(b"grant_type=implicit", FORM, 400, "unsupported_grant_type",
                     id="implicit"),
    ],
)  # fmt: skip
def test_hostile_requests_get_client_errors_over_http(
    dev_server: dict[str, str], body: bytes, headers: dict[str, str], status: int, error: str
) -> None:
    response = requests.post(
        dev_server["token_endpoint"], data=body, headers=headers, auth=BATCH, timeout=10
    )
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert response.headers["Cache-Control"] == "no-store"


def test_a_chunked_body_is_refused_with_length_required(dev_server: dict[str, str]) -> None:
    response = requests.post(
        dev_server["token_endpoint"], data=iter([b"grant_type=client_credentials"]),
        headers=FORM, auth=BATCH, timeout=10,
    )  # fmt: skip
    assert response.status_code == 411


def test_wrong_basic_credentials_get_401_with_a_basic_challenge(
    dev_server: dict[str, str],
) -> None:
    response = requests.post(
        dev_server["token_endpoint"], data={"grant_type": "client_credentials"},
        auth=("batch", "wrong"), timeout=10,
    )  # fmt: skip
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert response.headers["WWW-Authenticate"] == f'Basic realm="{dev_server["issuer"]}"'


def test_serve_issuer_refresh_flag_applies_to_its_clients() -> None:
    with _serve("--client", "app:secret", "--refresh") as (proc, info):
        assert info["client app"] == "scopes (none); refresh tokens"
        response = requests.post(
            info["token_endpoint"], data={"grant_type": "client_credentials"},
            auth=("app", "secret"), timeout=10,
        )  # fmt: skip
        assert "refresh_token" in response.json()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param(["--client", "batch"], "--client batch: write ID:SECRET or "
                     "ID:SECRET:SCOPE,SCOPE", id="client-without-secret"),
        pytest.param(["--client", "a:x", "--client", "a:y"], "client_id 'a' is configured twice",
                     id="duplicate-client"),
        pytest.param(["--refresh"], "--refresh applies to --client clients; give at least one "
                     '(in a clients file, write "refresh": true per client)', id="refresh-alone"),
        pytest.param(["--scope", "a b"], "--scope: each scope must be one non-empty scope "
                     "token, got 'a b'", id="bad-scope"),
        pytest.param(["--clients-file", "/nonexistent/clients.json"],
                     "cannot read clients file /nonexistent/clients.json: No such file or "
                     "directory", id="missing-clients-file"),
    ],
)  # fmt: skip
def test_bad_serve_issuer_configuration_stops_at_start_up(
    capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    code, out, err = _run(capsys, "serve-issuer", *options)
    assert (code, out, err) == (1, "", f"bearerguard: error: {message}\n")


def test_two_authorization_headers_are_an_invalid_request(dev_server: dict[str, str]) -> None:
    """RFC 6749 §5.2: a request with multiple credentials is invalid_request."""
    parts = urlsplit(dev_server["token_endpoint"])
    body = b"grant_type=client_credentials"
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.putrequest("POST", parts.path)
        for _ in range(2):
            connection.putheader(
                "Authorization", "Basic " + base64.b64encode(b"batch:s3cret").decode()
            )
        connection.putheader("Content-Type", FORM["Content-Type"])
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())["error"]) == (400, "invalid_request")
    finally:
        connection.close()
