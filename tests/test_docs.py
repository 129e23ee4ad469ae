"""Every code block of the documentation site runs, or says why it cannot.

* ```` ```python ```` blocks run as written, each as a script in a fresh directory;
* ```` ```py ```` blocks are illustrations (they need a real identity provider, a
  running server, a settings module...): the line before each must be an HTML
  comment ``<!-- not run: <reason> -->``, which the reader does not see.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(python|py)\b[^\n]*\n(.*?)^```", re.DOTALL | re.MULTILINE)
NOT_RUN = re.compile(r"<!-- not run: \S.*-->\s*$")


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)


def _blocks(kind: str) -> list[pytest.ParameterSet]:
    params = []
    for page in _pages():
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group(1) != kind:
                continue
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            where = f"{page.relative_to(ROOT)}:{line}"
            params.append(pytest.param(match.group(2), before, id=where))
    return params


@pytest.mark.parametrize(("code", "before"), _blocks("python"))
def test_docs_block_runs_as_written(code: str, before: str, tmp_path: Path) -> None:
    """A ```python block exits 0 when run as a script in a fresh directory."""
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


@pytest.mark.parametrize(("code", "before"), _blocks("py"))
def test_docs_illustration_says_why_it_is_not_run(code: str, before: str) -> None:
    """A ```py block is preceded by ``<!-- not run: reason -->`` and is valid Python."""
    assert NOT_RUN.search(before), f"no '<!-- not run: reason -->' before the block: {before!r}"
    compile(code, "<docs>", "exec")


def test_docs_has_pages() -> None:
    """The docs folder holds the site (guards against a glob that silently finds nothing)."""
    assert len(_pages()) >= 10
