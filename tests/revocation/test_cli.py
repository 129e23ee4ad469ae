"""``bearerguard revoke``, run as a user runs it: a subprocess against a real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bearerguard import Revocations, TokenRevoked
from bearerguard.testing import LocalIssuer
from tests.issuing.redis_server import redis_server
from tests.support.clock import FakeClock

from .conftest import MakeVerifier

pytestmark = [pytest.mark.redis, pytest.mark.slow]  # a subprocess per test

USAGE_TAIL = "[--before TIME] [--max-token-lifetime DURATION]"


def _revoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bearerguard", "revoke", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_revoke_sub_refuses_the_users_tokens_in_a_verifier(
    redis_url: str,
    prefix: str,
    revocations: Revocations,
    monotonic: FakeClock,
    make_verifier: MakeVerifier,
    local_issuer: LocalIssuer,
) -> None:
    """--sub writes what a verifier on the same Redis and prefix refuses once its copy is stale."""
    verifier = make_verifier(revocations, cache_size=0)
    token = local_issuer.mint(sub="alice", iat=int(time.time()) - 10)
    assert verifier.verify(token).sub == "alice"
    run = _revoke("--redis-url", redis_url, "--prefix", prefix, "--sub", "alice")
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout.startswith("revoked every token of subject 'alice' issued before ")
    assert run.stdout.endswith(f" in {redis_url} (prefix {prefix})\n")
    monotonic.advance(revocations.staleness + 0.001)
    with pytest.raises(TokenRevoked):
        verifier.verify(token)


@pytest.mark.parametrize(
    ("args", "stored"),
    [
        pytest.param(
            ["--jti", "t-1", "--until", "1893456000"], ("j:t-1", "1893456000000"), id="jti-posix"
        ),
        pytest.param(
            ["--jti", "t-2", "--until", "2030-01-01T01:00:00+01:00"],
            ("j:t-2", "1893456000000"),
            id="jti-iso-offset",
        ),
        pytest.param(
            ["--client", "batch", "--before", "2030-01-01T00:00:00Z"],
            ("c:batch", "1893456000000"),
            id="client-iso-z",
        ),
        pytest.param(
            ["--sub", "bob", "--before", "1893456000.5"],
            ("s:bob", "1893456000500"),
            id="sub-fractional",
        ),
    ],
)
def test_revoke_stores_the_entry_with_its_time_in_milliseconds(
    args: list[str], stored: tuple[str, str], redis_url: str, prefix: str, redis_client: Any
) -> None:
    """EXP and TIME read as POSIX seconds or ISO 8601 with an offset."""
    run = _revoke("--redis-url", redis_url, "--prefix", prefix, *args)
    assert (run.returncode, run.stderr) == (0, "")
    field, before = stored
    value = redis_client.hget(f"{prefix}{{deny}}:e", field)
    assert value.split()[0].decode() == before


def test_the_redis_url_may_come_from_the_environment(
    redis_url: str, prefix: str, redis_client: Any
) -> None:
    """BEARERGUARD_REDIS_URL keeps a password out of the command line (and ps)."""
    run = _revoke("--prefix", prefix, "--sub", "carol", env={"BEARERGUARD_REDIS_URL": redis_url})
    assert (run.returncode, run.stderr) == (0, "")
    assert redis_client.hexists(f"{prefix}{{deny}}:e", "s:carol")


def test_max_token_lifetime_sets_how_long_a_subject_entry_is_kept(
    redis_url: str, prefix: str, redis_client: Any
) -> None:
    run = _revoke(
        "--redis-url", redis_url, "--prefix", prefix, "--sub", "dave", "--max-token-lifetime", "1h"
    )
    assert run.returncode == 0
    ttl = redis_client.pttl(f"{prefix}{{deny}}:e") / 1000
    assert 3600 + 300 - 5 < ttl <= 3600 + 300 + 0.002


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(
            ["--jti", "t-1"],
            "--jti needs --until EXP (the token's exp: when the entry may go)",
            id="jti-without-until",
        ),
        pytest.param(
            ["--jti", "t-1", "--until", "1893456000", "--before", "1"],
            "--before goes with --sub or --client; for --jti give --until",
            id="jti-with-before",
        ),
        pytest.param(
            ["--sub", "alice", "--until", "1893456000"],
            "--until goes with --jti; for --sub or --client give --before",
            id="sub-with-until",
        ),
        pytest.param(
            ["--sub", "alice", "--client", "batch"],
            "argument --client: not allowed with argument --sub",
            id="two-kinds",
        ),
        pytest.param(
            [],
            "one of the arguments --jti --sub --client is required",
            id="no-kind",
        ),
        pytest.param(
            ["--sub", "alice", "--before", "2030-01-01T00:00:00"],
            "argument --before: '2030-01-01T00:00:00' has no UTC offset: add one, "
            "e.g. 2030-01-01T00:00:00+00:00 or 2030-01-01T00:00:00Z",
            id="naive-time",
        ),
        pytest.param(
            ["--sub", "alice", "--before", "yesterday"],
            "argument --before: not a time: 'yesterday' (POSIX seconds, or ISO 8601 with an "
            "offset such as 2026-05-01T12:00:00+00:00)",
            id="not-a-time",
        ),
    ],
)
def test_bad_arguments_are_usage_errors_with_status_2(
    args: list[str], message: str, redis_url: str
) -> None:
    """Each wrong combination says what to write; nothing is written."""
    run = _revoke("--redis-url", redis_url, *args)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith("usage: bearerguard revoke ")
    assert run.stderr.endswith(f"bearerguard revoke: error: {message}\n")


def test_no_redis_url_at_all_is_a_usage_error() -> None:
    env = {k: v for k, v in os.environ.items() if k != "BEARERGUARD_REDIS_URL"}
    run = subprocess.run(
        [sys.executable, "-m", "bearerguard", "revoke", "--sub", "alice"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert run.returncode == 2
    assert run.stderr.endswith(
        "bearerguard revoke: error: give --redis-url URL (or set BEARERGUARD_REDIS_URL)\n"
    )


def test_a_wrong_url_is_an_error_that_never_shows_the_password() -> None:
    run = _revoke("--redis-url", "http://admin:hunter2@redis.internal/0", "--sub", "alice")
    assert run.returncode == 1
    assert "hunter2" not in run.stderr + run.stdout
    assert run.stderr == (
        "bearerguard: error: --redis-url must start with redis://, rediss:// (TLS) or unix://, "
        "got http://; write e.g. redis://localhost:6379/0, "
        "rediss://user:password@redis.internal:6380/0 or unix:///run/redis.sock\n"
    )


def test_redis_unreachable_is_an_error_with_status_1_that_never_shows_the_password(
    tmp_path: Path,
) -> None:
    with redis_server(tmp_path, dedicated=True) as url:
        port = url.rsplit(":", 1)[1].split("/")[0]
    run = _revoke("--redis-url", f"redis://:hunter2@127.0.0.1:{port}/0", "--sub", "alice")
    assert run.returncode == 1
    assert run.stdout == ""
    assert run.stderr == (
        "bearerguard: error: cannot write the deny list to Redis "
        f"(Redis at redis://127.0.0.1:{port}/0: ConnectionError)\n"
    )


def test_revoking_an_expired_token_writes_nothing_and_says_so(
    redis_url: str, prefix: str, redis_client: Any
) -> None:
    run = _revoke(
        "--redis-url", redis_url, "--prefix", prefix, "--jti", "t", "--until", "1000000000"
    )
    assert (run.returncode, run.stderr) == (0, "")
    assert run.stdout == (
        "nothing written: the token with jti 't' (exp 2001-09-09T01:46:40Z) has expired already\n"
    )
    assert redis_client.exists(f"{prefix}{{deny}}:e") == 0


def test_the_reference_page_shows_the_help_as_it_is() -> None:
    """docs/reference/cli.md quotes `bearerguard revoke --help` at 100 columns, verbatim."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "reference" / "cli.md").read_text()
    run = _revoke("--help", env={"COLUMNS": "100"})
    assert run.returncode == 0
    assert f"```text\n{run.stdout}```" in page
