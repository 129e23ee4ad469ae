"""Every code block of the documentation site runs, or says why it cannot.

A page's ```` ```python ```` blocks run as written, in a fresh directory:

* a block whose first line is ``# file: NAME`` (``# file: app.py``,
  ``# file: test_orders.py``) is written to that file instead of run;
* the other blocks of the page run in order, concatenated into one script (a page
  reads top to bottom, so later blocks may use what earlier ones defined);
* then, if the page wrote ``test_*.py`` files, ``pytest`` runs them there and
  every test must pass: the pytest plugin's fixtures work as a user sees them.

```` ```py ```` blocks are illustrations (they need a real identity provider, a
running server, a settings module...): the line before each must be an HTML
comment ``<!-- not run: <reason> -->``, which the reader does not see, and the
block must at least compile.
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
FILE = re.compile(r"#\s*file:\s*([\w./-]+\.py)\s*$")


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "_build" not in p.parts)


def _fences(page: Path) -> list[tuple[str, str, str, int]]:
    """(kind, code, the line before, line number) of each python fence on *page*."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        line = text.count("\n", 0, match.start()) + 1
        found.append((match.group(1), match.group(2), before, line))
    return found


def _runnable_pages() -> list[pytest.ParameterSet]:
    return [
        pytest.param(page, id=str(page.relative_to(ROOT)))
        for page in _pages()
        if any(kind == "python" for kind, *_ in _fences(page))
    ]


def _illustrations() -> list[pytest.ParameterSet]:
    return [
        pytest.param(code, before, id=f"{page.relative_to(ROOT)}:{line}")
        for page in _pages()
        for kind, code, before, line in _fences(page)
        if kind == "py"
    ]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("page", _runnable_pages())
def test_docs_page_code_runs_as_written(page: Path, tmp_path: Path) -> None:
    """The page's script exits 0, and the test files it shows pass under pytest."""
    script: list[str] = []
    tests = False
    for kind, code, _before, line in _fences(page):
        if kind != "python":
            continue
        first = code.split("\n", 1)[0]
        named = FILE.fullmatch(first.strip())
        if named:
            target = tmp_path / named.group(1)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(code, encoding="utf-8")
            tests = tests or Path(named.group(1)).name.startswith("test_")
        else:
            script.append(f"# --- {page.name}:{line}\n{code}")
    if script:
        (tmp_path / "page_script.py").write_text("\n".join(script), encoding="utf-8")
        result = _run([sys.executable, "page_script.py"], tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
    if tests:
        result = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], tmp_path)
        assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]


@pytest.mark.parametrize(("code", "before"), _illustrations())
def test_docs_illustration_says_why_it_is_not_run(code: str, before: str) -> None:
    """A ```py block is preceded by ``<!-- not run: reason -->`` and is valid Python."""
    assert NOT_RUN.search(before), f"no '<!-- not run: reason -->' before the block: {before!r}"
    compile(code, "<docs>", "exec")


def test_docs_has_pages() -> None:
    """The docs folder holds the site (guards against a glob that silently finds nothing)."""
    assert len(_pages()) >= 10
