"""Every ```python block of docs/django.md runs as written (``py`` blocks are illustrations)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "django.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks() -> list[pytest.ParameterSet]:
    text = DOC.read_text(encoding="utf-8")
    return [
        pytest.param(m.group(1), id=f"django.md:{text.count(chr(10), 0, m.start()) + 1}")
        for m in BLOCK.finditer(text)
    ]


def test_doc_has_a_runnable_block() -> None:
    """The section shows at least one complete, runnable setup."""
    assert len(_blocks()) == 1


@pytest.mark.parametrize("code", _blocks())
def test_docs_block_runs_as_written(code: str, tmp_path: Path) -> None:
    """The block exits 0 as a script in a fresh directory (network: 127.0.0.1 only)."""
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout == (
        'Bearer error="insufficient_scope", error_description="missing scope: orders:read", '
        'scope="orders:read"\n'
    )
