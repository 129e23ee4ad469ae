"""Check a built site: every public name is in its Sphinx inventory (``make docs`` runs this).

The public modules are those the API reference documents (an ``.. automodule::``
in ``docs/reference/*.md``); ``tests/test_docs_reference.py`` keeps that list
equal to the pinned public API. A name documented under another public module
(``bearerguard.AccessClaims`` is ``bearerguard.claims.AccessClaims``) is listed
under both paths, so this also checks that ``docs/conf.py`` registered the
second one.

    python docs/check_inventory.py [docs/_build/html/objects.inv]
"""

from __future__ import annotations

import importlib
import os
import posixpath
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REFERENCE = DOCS / "reference"
INVENTORY = DOCS / "_build" / "html" / "objects.inv"
_AUTOMODULE = re.compile(r"^\.\. automodule:: +(\S+)[ \t]*$", re.MULTILINE)


def documented_modules() -> list[str]:
    """The modules the reference pages document, sorted."""
    found = set()
    for page in REFERENCE.glob("*.md"):
        found.update(_AUTOMODULE.findall(page.read_text(encoding="utf-8")))
    return sorted(found)


def public_names() -> dict[str, list[str]]:
    """Each documented module's ``__all__``."""
    # The Django adapter needs settings to import; these are the docs build's.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docs_django_settings")
    if str(DOCS) not in sys.path:
        sys.path.insert(0, str(DOCS))
    return {
        module: sorted(importlib.import_module(module).__all__) for module in documented_modules()
    }


def missing_names(inventory: Path) -> list[str]:
    """The public names ``module.name`` the inventory at *inventory* does not list."""
    from sphinx.util.inventory import InventoryFile

    with inventory.open("rb") as stream:
        entries = InventoryFile.load(stream, "", posixpath.join)
    listed = {name for role, names in entries.items() if role.startswith("py:") for name in names}
    return [
        f"{module}.{name}"
        for module, names in public_names().items()
        for name in names
        if f"{module}.{name}" not in listed
    ]


def main(argv: list[str]) -> int:
    inventory = Path(argv[0]) if argv else INVENTORY
    if not inventory.is_file():
        print(f"{inventory}: no such file; build the site first (make docs)", file=sys.stderr)
        return 2
    missing = missing_names(inventory)
    for name in missing:
        print(f"{inventory}: {name} is public but not in the API reference", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
