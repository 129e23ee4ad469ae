"""Sphinx configuration: MyST Markdown pages, autodoc for the API reference, the Furo theme.

Built by ``make docs`` in strict mode (``-W --keep-going -n``): any warning, broken
cross-reference or missing target fails the build.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import bearerguard

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))

# The Django adapter's modules import django.conf lazily; autodoc only needs settings configured.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docs_django_settings")

project = "bearerguard"
author = "the bearerguard developers"
copyright = "2026, the bearerguard developers"
release = bearerguard.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"bearerguard {release}"
html_static_path: list[str] = []

# The API reference: what each public module's __all__ exports, in source order,
# with type hints in the descriptions.
autodoc_default_options = {"members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = True

# Every reference must resolve (nitpicky). The build is offline, so there is no
# intersphinx: names from the standard library and third-party packages are plain
# text, and so are the type variables of generic signatures.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(collections\.abc|typing|typing_extensions|datetime|os|pathlib|time)\..*"),
    (r"py:.*", r"(logging|enum|pytest)\..*"),
    (r"py:.*", r"(cryptography|jwt|requests|starlette|flask|werkzeug)\..*"),
    (r"py:.*", r"(django|rest_framework|redis)\..*"),
    (r"py:.*", r"_typeshed\..*"),
    (r"py:class", r"(.*\.)?[A-Z]"),  # type variables: C, F, T, V
    (r"py:class", r"(Any|Callable|Iterable|Mapping|Sequence|Awaitable|Self|Path|PathLike)"),
]
