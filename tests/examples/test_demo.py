"""`make demo` (python -m examples.demo) runs end to end and exits 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_runs_and_every_answer_is_expected() -> None:
    """The demo prints one row per request, all as expected, and shuts down with status 0."""
    result = subprocess.run(
        [sys.executable, "-m", "examples.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    rows = [line for line in lines if line.startswith("GET ")]
    assert len(rows) == 10
    assert all("  ok  " in row for row in rows), result.stdout
    for expected in (
        "no token",
        "expired token",
        "token for another API (aud)",
        "valid token, scope missing",
        "tampered token",
        "after key rotation",
        "malformed header",
    ):
        assert any(expected in row for row in rows), expected
    assert lines[-1] == "all answers as expected"
    assert result.stderr == ""
