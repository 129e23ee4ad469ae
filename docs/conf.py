"""Sphinx configuration: MyST Markdown pages, autodoc for the API reference, the Furo theme.

Built by ``make docs`` in strict mode (``-W --keep-going -n``): any warning, broken
cross-reference or missing target fails the build; ``docs/check_inventory.py`` then
checks that every public name is in the reference.
"""

from __future__ import annotations

import inspect
import os
import re
import sys
from pathlib import Path
from typing import Any

import bearerguard

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))

# The Django adapter's modules import django.conf lazily; autodoc only needs settings configured.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docs_django_settings")

from check_inventory import public_names  # noqa: E402  (needs docs/ on sys.path)

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

# The API reference: what each public module's __all__ exports, with type hints in
# the descriptions. Members in source order: a class reads as its author arranged it
# (constructors first, async twins after their sync methods), not alphabetically, and
# the core and issuing pages group their many names in sections by hand.
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
    (r"py:.*", r"(dataclasses|logging|enum|pytest)\..*"),
    (r"py:.*", r"(cryptography|jwt|requests|starlette|flask|werkzeug|opentelemetry)\..*"),
    (r"py:.*", r"(django|rest_framework|redis)\..*"),
    (r"py:.*", r"_typeshed\..*"),
    (r"py:(class|obj)", r"(.*\.)?[A-Z]"),  # type variables: C, F, T, V
    (r"py:class", r"(Any|Callable|Iterable|Mapping|Sequence|Awaitable|Self|Path|PathLike)"),
    (r"py:class", r"InitVar"),
    # Framework types by their bare names: annotations that autodoc cannot evaluate
    # (imported only for type checkers, or in a class signature) stay as written.
    (r"py:class", r"(ASGIApp|WSGIApplication|StartResponse|Flask)"),
    (r"py:class", r"(HttpRequest|AbstractBaseUser|Request|APIView)"),
]

# Internal types that public signatures name. Users get them from bearerguard and
# hand them back, or satisfy them with any object of the right shape (the clock and
# Redis protocols, Django's get_response), so they never import them; each
# docstring that returns one says what it holds.
_INTERNAL_TYPES = {
    # Issuer.decode's result, taken back by verify_decoded and check_signature.
    "bearerguard._jws.DecodedToken",
    # Validator.validate's `now`: a datetime or POSIX seconds.
    "Now",
    # What require_scopes returns: a decorator and a FastAPI dependency.
    "bearerguard.starlette.ScopeRequirement",
    # BearerGuard.state(): the settings and verifier of one Flask app.
    "bearerguard.flask.BearerGuardState",
    # The parsed settings.BEARERGUARD, passed to BearerTokenBackend.username_for.
    "bearerguard.django._conf.DjangoConfig",
    # The middleware's get_response, which Django passes.
    "GetResponse",
    "AsyncGetResponse",
    # Zero-argument callables returning seconds, like time.time and time.monotonic.
    "WallClock",
    "MonotonicClock",
    "bearerguard._clock.WallClock",
    "bearerguard._clock.MonotonicClock",
    # What KeyRing returns: a key's record, the manifest, a rotation step.
    "bearerguard.issuing._lifecycle.RingKey",
    "bearerguard.issuing._lifecycle.RingState",
    "bearerguard.issuing._lifecycle.RotationStep",
    # The Redis client protocol a redis.Redis satisfies.
    "RedisClient",
    # TokenEndpoint's I/O-free request and response.
    "bearerguard.issuing._token_request.TokenRequest",
    "bearerguard.issuing._wellknown.Response",
    # DPoPPolicy.check_proof's replay-cache entry: a (key, ttl) named tuple.
    "bearerguard._dpop.Replay",
}
nitpick_ignore = [("py:class", name) for name in sorted(_INTERNAL_TYPES)]


# -- One entry per public name -----------------------------------------------------
#
# A name some public modules share (``bearerguard.AccessClaims`` is
# ``bearerguard.claims.AccessClaims``) is described once, on its own module's page;
# the other paths become aliases of that description, so references to them resolve
# and the inventory lists every public path (docs/check_inventory.py checks it).


def _public_objects() -> dict[int, list[str]]:
    """Each public object's paths, by ``id``."""
    import importlib

    paths: dict[int, list[str]] = {}
    for module, names in public_names().items():
        namespace = importlib.import_module(module)
        for name in names:
            paths.setdefault(id(getattr(namespace, name)), []).append(f"{module}.{name}")
    return paths


def _alias_shared_names(app: Any, env: Any) -> None:
    """Register each undescribed public path as an alias of its object's description."""
    from sphinx.domains.python import ObjectEntry

    objects = env.get_domain("py").objects
    for paths in _public_objects().values():
        described = [path for path in paths if path in objects and not objects[path].aliased]
        if not described:
            continue  # missing altogether: docs/check_inventory.py reports it
        entry = objects[described[0]]
        for path in paths:
            if path not in objects:
                objects[path] = ObjectEntry(entry.docname, entry.node_id, entry.objtype, True)


def _doc_comment_of_reexport(
    app: Any, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    """For a re-exported constant, the ``#:`` comment where it is assigned."""
    if what != "data" or any(lines):
        return
    from sphinx.pycode import ModuleAnalyzer

    short = name.rpartition(".")[2]
    for module_name, module in sorted(sys.modules.items()):
        if module_name.startswith("bearerguard.") and vars(module).get(short) is obj:
            comment = ModuleAnalyzer.for_module(module_name).find_attr_docs().get(("", short))
            if comment:
                lines[:] = list(comment)
                return


def _no_return_type_for_classes(
    app: Any, what: str, name: str, obj: Any, options: Any, signature: Any, annotation: Any
) -> None:
    """A class's description lists its constructor's parameters, not ``Return type: None``."""
    if what not in ("class", "exception"):
        return
    document = getattr(app.env, "current_document", None)
    recorded = getattr(document, "autodoc_annotations", None)
    if recorded is None:  # Sphinx 8 kept them here
        recorded = app.env.temp_data.get("annotations", {})
    recorded.get(name, {}).pop("return", None)


_CONSTANT_DEFAULT = re.compile(r"(=\s*)([A-Z][A-Z0-9_]+)\b")


def _constant_defaults_as_values(
    app: Any, what: str, name: str, obj: Any, options: Any, signature: Any, annotation: Any
) -> tuple[str, Any] | None:
    """``timeout=5.0``, not ``timeout=DEFAULT_TIMEOUT``: a default that names a module
    constant (autodoc_preserve_defaults keeps it as written) shows the constant's value,
    which is what a reader needs; ``clock=time.time`` stays as written."""
    if not signature:
        return None
    function = obj.__init__ if inspect.isclass(obj) else obj
    namespace = getattr(inspect.unwrap(function), "__globals__", {})

    def value(match: re.Match[str]) -> str:
        constant = namespace.get(match.group(2))
        if isinstance(constant, int | float | str) and not isinstance(constant, bool):
            return f"{match.group(1)}{constant!r}"
        return match.group(0)

    return _CONSTANT_DEFAULT.sub(value, signature), annotation


def setup(app: Any) -> None:
    app.connect("autodoc-process-signature", _constant_defaults_as_values)
    # After autodoc has recorded the type hints (priority 500).
    app.connect("autodoc-process-signature", _no_return_type_for_classes, priority=600)
    app.connect("autodoc-process-docstring", _doc_comment_of_reexport)
    # After reading, before the environment is saved: a rebuild that reads nothing
    # keeps the aliases.
    app.connect("env-updated", _alias_shared_names)
