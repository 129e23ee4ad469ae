"""The layering contracts (import-linter, run by ``make test``) cover every core module."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "bearerguard"
#: Private top-level modules that are not part of the core: the CLI, and the FastAPI
#: OpenAPI support that only the Starlette adapter uses (it imports Starlette).
NOT_CORE = {"_cli", "_openapi"}


def test_every_core_module_is_bound_by_the_core_contract() -> None:
    """A new private top-level module is in the "core imports no adapter" contract."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    core = next(c for c in contracts if c["name"].startswith("The core imports"))
    modules = {
        f"bearerguard.{path.stem}"
        for path in PACKAGE.glob("_*.py")
        if path.stem not in {"__init__", "__main__", *NOT_CORE}
    }
    assert modules - set(core["source_modules"]) == set()
