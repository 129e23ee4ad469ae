"""Every ```python block of docs/issuing.md runs as written (``py`` blocks are illustrations)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "issuing.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks() -> list[pytest.ParameterSet]:
    if not DOC.exists():  # merged into README.md, which tests/test_readme.py covers
        return []
    text = DOC.read_text(encoding="utf-8")
    return [
        pytest.param(m.group(1), id=f"issuing.md:{text.count(chr(10), 0, m.start()) + 1}")
        for m in BLOCK.finditer(text)
    ]


@pytest.mark.parametrize("code", _blocks())
def test_doc_block_runs_as_written(code: str, tmp_path: Path) -> None:
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
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
