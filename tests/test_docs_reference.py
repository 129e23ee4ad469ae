"""The API reference lists every public name, and each one has something to say.

The reference (``docs/reference/*.md``) is autodoc's rendering of each public
module's ``__all__``, and autodoc leaves out a name that has no docstring. These
tests read the source, so they need no build; ``make docs`` then checks the
built site's inventory with ``docs/check_inventory.py``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.test_public_api import PUBLIC

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _check_inventory() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_inventory", DOCS / "check_inventory.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _own_docstring(obj: Any) -> str | None:
    """The docstring *obj* itself has: not its base class's, not a dataclass's signature."""
    if inspect.isclass(obj):
        doc = vars(obj).get("__doc__")
        if isinstance(doc, str) and doc.startswith(f"{obj.__name__}("):
            return None  # what @dataclass writes when there is no docstring
        return doc if isinstance(doc, str) else None
    if isinstance(obj, classmethod | staticmethod):
        obj = obj.__func__
    if isinstance(obj, property):
        obj = obj.fget
    doc = getattr(obj, "__doc__", None)
    return doc if isinstance(doc, str) else None


def _doc_comment(module: ModuleType, name: str) -> str | None:
    """The ``#:`` lines right above the assignment of *name* in *module*'s source."""
    found = re.search(
        rf"^((?:[ \t]*#:.*\n)+)[ \t]*{re.escape(name)}\s*(?::[^=\n]+)?=",
        inspect.getsource(module),
        re.MULTILINE,
    )
    return found.group(1) if found else None


def _public_names() -> list[Any]:
    return [
        pytest.param(module, name, id=f"{module}.{name}")
        for module, names in PUBLIC.items()
        for name in names
    ]


def _public_classes() -> list[Any]:
    seen: dict[int, Any] = {}
    for module, names in PUBLIC.items():
        namespace = importlib.import_module(module)
        for name in names:
            obj = getattr(namespace, name)
            if inspect.isclass(obj) and id(obj) not in seen:
                seen[id(obj)] = pytest.param(obj, id=f"{module}.{name}")
    return list(seen.values())


def test_every_public_module_has_a_reference_page() -> None:
    """The modules the reference pages document are exactly the public modules."""
    assert _check_inventory().documented_modules() == sorted(PUBLIC)


@pytest.mark.parametrize(("module", "name"), _public_names())
def test_every_public_name_is_documented(module: str, name: str) -> None:
    """Each exported class or function has its own docstring; each constant a ``#:``
    comment where it is assigned."""
    namespace = importlib.import_module(module)
    obj = getattr(namespace, name)
    if inspect.isclass(obj) or inspect.isroutine(obj):
        assert (_own_docstring(obj) or "").strip(), f"{module}.{name} has no docstring"
        return
    commented = [
        candidate_name
        for candidate_name, candidate in sorted(sys.modules.items())
        if (candidate_name == "bearerguard" or candidate_name.startswith("bearerguard."))
        and vars(candidate).get(name) is obj
        and _doc_comment(candidate, name)
    ]
    assert commented, f"{module}.{name} has no #: comment where it is assigned"


_DIRECTIVE = re.compile(r"^\.\. (auto\w+):: +(\S+)[ \t]*\n((?:[ \t]+:[\w-]+:.*\n)*)", re.MULTILINE)


def _shown_by_automodule(module: str, name: str) -> bool:
    """autodoc renders a module's data only with a ``#:`` comment in that very module."""
    namespace = importlib.import_module(module)
    obj = getattr(namespace, name)
    return inspect.isclass(obj) or inspect.isroutine(obj) or bool(_doc_comment(namespace, name))


@functools.cache
def _on_pages() -> frozenset[str]:
    """The public paths the reference pages describe: each ``auto...::`` target, and
    each export an ``automodule`` renders (not excluded, not ``:no-members:``)."""
    described: set[str] = set()
    for page in sorted(DOCS.glob("reference/*.md")):
        for kind, target, options in _DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            if kind != "automodule":
                described.add(target)
                continue
            if ":no-members:" in options:
                continue
            excluded = re.search(r":exclude-members:(.*)", options)
            skip = {n.strip() for n in excluded.group(1).split(",")} if excluded else set()
            described.update(
                f"{target}.{name}"
                for name in PUBLIC.get(target, ())
                if name not in skip and _shown_by_automodule(target, name)
            )
    return frozenset(described)


@pytest.mark.parametrize(("module", "name"), _public_names())
def test_every_public_name_is_on_a_reference_page(module: str, name: str) -> None:
    """A page describes each export, under this path or another public path of the same
    object (``bearerguard.AccessClaims`` is ``bearerguard.claims.AccessClaims``)."""
    obj = getattr(importlib.import_module(module), name)
    paths = {
        f"{other}.{other_name}"
        for other, names in PUBLIC.items()
        for other_name in names
        if getattr(importlib.import_module(other), other_name) is obj
    }
    assert paths & _on_pages(), f"{module}.{name} is on no reference page"


@pytest.mark.parametrize("cls", _public_classes())
def test_every_public_method_has_its_own_docstring(cls: type) -> None:
    """Methods and properties a public class defines are documented by the class itself
    (autodoc would show a base class's text, or nothing)."""
    undocumented = [
        attribute
        for attribute, value in vars(cls).items()
        if not attribute.startswith("_")
        and (callable(value) or isinstance(value, property | classmethod | staticmethod))
        and not inspect.isclass(value)
        and not (_own_docstring(value) or "").strip()
    ]
    assert undocumented == []
