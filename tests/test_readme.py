"""Every ```python block of README.md runs as written (``py`` blocks are illustrations)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks() -> list[pytest.ParameterSet]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    params = []
    for match in BLOCK.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        params.append(pytest.param(match.group(1), id=f"README.md:{line}"))
    return params


@pytest.mark.parametrize("code", _blocks())
def test_readme_block_runs_as_written(code: str, tmp_path: Path) -> None:
    """The block exits 0 when run as a script in a fresh directory."""
    script = tmp_path / "block.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
