"""A wrong claims type is a type error: ``mypy --strict`` on code that misuses each accessor.

The modules beside this one prove what the accessors return (``assert_type``);
this proves the other half, that the types catch a mistake, with one mypy run
on a small file whose every marked line must be reported, and nothing else.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

MISTAKES = """
from django.http import HttpRequest
from fastapi import FastAPI

from bearerguard.django import claims_of
from bearerguard.flask import current_claims
from bearerguard.starlette import require_scopes

app = FastAPI()


@app.get("/orders")
def orders(claims: int = require_scopes("orders:read").depends()) -> int:  # E: fastapi
    return claims


def flask_view() -> frozenset[str]:
    return current_claims().scopes  # E: flask-none


def django_view(request: HttpRequest) -> int | None:
    return claims_of(request)  # E: django
"""

EXPECTED = {
    "fastapi": 'Incompatible default for parameter "claims" (default has type "AccessClaims", '
    'parameter has type "int")  [assignment]',
    "flask-none": 'Item "None" of "AccessClaims | None" has no attribute "scopes"  [union-attr]',
    "django": 'Incompatible return value type (got "AccessClaims | None", expected "int | None")'
    "  [return-value]",
}


@pytest.mark.slow
def test_mypy_reports_each_wrong_claims_type(tmp_path: Path) -> None:
    """mypy --strict reports exactly the marked lines, each with the expected error."""
    pytest.importorskip("mypy", reason="the typecheck environment runs mypy")
    source = tmp_path / "mistakes.py"
    source.write_text(MISTAKES)
    marks = {
        match.group(1): number
        for number, line in enumerate(MISTAKES.splitlines(), start=1)
        if (match := re.search(r"# E: (\S+)$", line))
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--show-error-codes",
            "--no-error-summary",
            "--hide-error-context",
            str(source),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    reported = result.stdout.splitlines()
    assert reported == [
        f"{source}:{line}: error: {EXPECTED[name]}"
        for name, line in sorted(marks.items(), key=lambda item: item[1])
    ], result.stderr
