"""Per-class claims builders: a payload in, a claims object (or InvalidClaims) out.

:func:`plan` resolves a claims class's fields to converters once, for one
:class:`~bearerguard.ClaimSources` (where ``scopes``, ``roles`` and
``client_id`` come from). Two builders follow a plan and give the same claims
and the same failures, in the same order (tests/core/test_claims.py and
tests/perf/test_fast_paths.py run through both): :func:`from_plan`, through
the class's own ``__init__``, and the builder :func:`make_builder` generates
for a plain frozen dataclass. Its source is registered with :mod:`linecache`,
so tracebacks show its lines.
"""

from __future__ import annotations

import functools
import linecache
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, fields
from typing import TYPE_CHECKING, Any, TypeVar

from ._converters import (
    MAX_NUMERIC_DATE,
    NOT_BOOL,
    NOT_DATE,
    NOT_INT,
    NOT_OBJECT,
    NOT_SCOPES,
    NOT_STR,
    NOT_STR_OR_LIST,
    SCOPE_SETS,
    BadClaim,
    Convert,
    all_str,
    as_bool,
    as_int,
    as_str,
    field_converter,
    numeric_date,
    role_set,
    scope_set,
    scope_text_set,
    str_or_list,
)
from ._errors import ConfigurationError, InvalidClaims
from ._sources import DEFAULT_CLAIM_SOURCES, ClaimSources, Source

if TYPE_CHECKING:
    from .claims import StandardClaims

__all__ = ["Step", "from_plan", "make_builder", "plan", "slot_setters"]

T = TypeVar("T", bound="StandardClaims")

# One field of a claims class: (attribute, sources, union, converter, MISSING when
# the field is required else None). *sources* are (label, path) pairs: one
# top-level claim for an ordinary field, the ClaimSources' list for a sourced
# one. *union*: every source present contributes (scopes, roles); otherwise the
# first source present is the value (client_id, ordinary fields).
Step = tuple[str, tuple[Source, ...], bool, Convert, Any]

# A field whose metadata names a ClaimSources attribute: its converter, and
# whether its sources are united (sets) or the first present one wins.
_SOURCED: dict[str, tuple[Convert, bool]] = {
    "scopes": (scope_set, True),
    "roles": (role_set, True),
    "client_id": (as_str, False),
}

# A nested source whose enclosing member is not an object: the failure is
# recorded where it is read, and the field gets no value.
_FAILED = object()


def plan(cls: type[StandardClaims], sources: ClaimSources | None = None) -> tuple[Step, ...]:
    """Resolve annotations to converters; raises ConfigurationError on unsupported types."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # a forward reference that cannot be resolved
        raise ConfigurationError(f"{cls.__name__}: cannot resolve annotations: {exc}") from None
    sources = DEFAULT_CLAIM_SOURCES if sources is None else sources
    steps: list[Step] = []
    for f in fields(cls):
        if f.name == "raw":
            continue
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        attribute = f.metadata.get("source")
        if attribute is not None:
            if attribute not in _SOURCED or not has_default:
                raise ConfigurationError(
                    f"{cls.__name__}.{f.name}: a field filled from ClaimSources needs a default "
                    f"and one of {', '.join(_SOURCED)}"
                )
            convert, union = _SOURCED[attribute]
            steps.append((f.name, sources.sources_of(attribute), union, convert, None))
            continue
        name = f.metadata.get("claim", f.name)
        convert = field_converter(f, hints[f.name], cls)
        default = None if has_default else MISSING
        steps.append((f.name, ((name, (name,)),), False, convert, default))
    return tuple(steps)


def reader(path: tuple[str, ...]) -> Callable[[Mapping[str, Any], list[str]], Any]:
    """The value at *path* (nested member names) of a payload, or ``None`` when absent.

    An enclosing member that is present but not a JSON object is a failure
    naming it, appended to the list given; the reader then returns ``_FAILED``.
    """
    *parents, last = path

    def read(payload: Mapping[str, Any], problems: list[str]) -> Any:
        value: Any = payload
        for depth, name in enumerate(parents):
            value = value.get(name)
            if value is None:
                return None
            if type(value) is not dict:
                failure = ".".join(path[: depth + 1]) + ": " + NOT_OBJECT
                if failure not in problems:  # two sources inside it: one failure
                    problems.append(failure)
                return _FAILED
        return value.get(last)

    return read


def _value(
    payload: Mapping[str, Any],
    sources: tuple[Source, ...],
    union: bool,
    convert: Convert,
    problems: list[str],
) -> Any:
    """A field's value from *sources*: ``None`` when none is present, ``_FAILED`` on a failure."""
    result: Any = None
    for label, path in sources:
        value = payload.get(path[0]) if len(path) == 1 else reader(path)(payload, problems)
        if value is None:
            continue
        if value is _FAILED:
            if union:
                continue
            return _FAILED
        try:
            converted = convert(value)
        except BadClaim as bad:
            problems.append(f"{label}: {bad.reason}")
            if union:
                continue
            return _FAILED
        if not union:
            return converted
        result = converted if result is None else result | converted
    return result


def from_plan(cls: type[T], steps: tuple[Step, ...], payload: Mapping[str, Any]) -> T:
    """The general builder: through the class's own ``__init__`` (and ``__post_init__``)."""
    raw = payload if type(payload) is types.MappingProxyType else types.MappingProxyType(payload)
    values: dict[str, Any] = {"raw": raw}
    problems: list[str] = []
    for attr, sources, union, convert, default in steps:
        value = _value(payload, sources, union, convert, problems)
        if value is None:
            if default is MISSING:
                problems.append(f"{sources[0][0]}: required claim is missing")
        elif value is not _FAILED:
            values[attr] = value
    if problems:
        raise InvalidClaims(problems)
    return cls(**values)


# -- the fast builder ------------------------------------------------------------
#
# Building claims is a large share of verifying a token: a frozen dataclass's
# __init__ sets each field through object.__setattr__, and a generic loop calls
# one converter per field. For a class whose __init__ is the one @dataclass
# wrote (no __post_init__, no custom __new__, every field an __init__ argument),
# the same object can be built directly: the checks of the common claim types
# written out inline, then each slot set through its descriptor. Anything else
# uses from_plan. Both produce the same claims and the same failures, in the
# same order (tests/core/test_claims.py runs through both).


def _inline_table() -> dict[Convert, tuple[tuple[tuple[str, str], ...], str]]:
    """Converters the builder writes out inline: ``((condition, value), ...), reason``.

    Each says, for the JSON value ``v``, the same as the converter function:
    the first condition that holds gives the value, none holding is the reason.
    """
    return {
        as_str: ((("type(v) is str", "v"),), NOT_STR),
        as_int: ((("type(v) is int", "v"),), NOT_INT),
        as_bool: ((("type(v) is bool", "v"),), NOT_BOOL),
        numeric_date: (
            (
                (
                    "(type(v) is int or (type(v) is float and _isfinite(v)))"
                    " and 0 <= v <= _MAX_DATE",
                    "v",
                ),
            ),
            NOT_DATE,
        ),
        str_or_list: (
            (("type(v) is str", "(v,)"), ("type(v) is list and all_str(v)", "tuple(v)")),
            NOT_STR_OR_LIST,
        ),
        scope_set: (
            (
                ("type(v) is str", "_scopes_get(v) or scope_text_set(v)"),
                ("type(v) is list and all_str(v)", "frozenset(v)"),
            ),
            NOT_SCOPES,
        ),
        role_set: (
            (
                ("type(v) is str", "frozenset((v,))"),
                ("type(v) is list and all_str(v)", "frozenset(v)"),
            ),
            NOT_STR_OR_LIST,
        ),
    }


def make_builder(
    cls: type[T], sources: ClaimSources | None = None
) -> Callable[[Mapping[str, Any]], T]:
    """The builder of *cls*: generated where :func:`slot_setters` allows, else :func:`from_plan`."""
    steps = plan(cls, sources)
    setters = slot_setters(cls)
    if setters is None:
        return functools.partial(from_plan, cls, steps)
    defaults = {f.name: f for f in fields(cls)}
    namespace: dict[str, Any] = {
        "_MP": types.MappingProxyType,
        "BadClaim": BadClaim,
        "_Invalid": InvalidClaims,
        "_new": object.__new__,
        "_cls": cls,
        "_isfinite": math.isfinite,
        "_MAX_DATE": MAX_NUMERIC_DATE,
        "_FAILED": _FAILED,
        "all_str": all_str,
        "_scopes_get": SCOPE_SETS.get,
        "scope_text_set": scope_text_set,
    }
    lines = [
        "def build(payload):",
        "    get = payload.get",
        "    problems = []",
    ]
    for i, (attr, field_sources, union, convert, required) in enumerate(steps):
        f = defaults[attr]
        if required is MISSING:
            first = repr(field_sources[0][0])
            absent = [f"a{i} = None", f"problems.append({first} + ': required claim is missing')"]
        elif f.default_factory is not MISSING:
            namespace[f"f{i}"] = f.default_factory
            absent = [f"a{i} = f{i}()"]
        else:
            namespace[f"d{i}"] = f.default
            absent = [f"a{i} = d{i}"]
        reads = []
        for j, (_, path) in enumerate(field_sources):
            if len(path) == 1:
                reads.append(f"get({path[0]!r})")
            else:
                namespace[f"r{i}_{j}"] = reader(path)
                reads.append(f"r{i}_{j}(payload, problems)")
        nested = any(len(path) > 1 for _, path in field_sources)
        if union:
            lines += _union_lines(i, field_sources, reads, nested, convert, absent, namespace)
        else:
            lines += _first_lines(i, field_sources, reads, nested, convert, absent, namespace)
    lines.append("    if problems:")
    lines.append("        raise _Invalid(problems)")
    lines.append("    claims = _new(_cls)")
    lines.append("    s_raw(claims, payload if type(payload) is _MP else _MP(payload))")
    namespace["s_raw"] = setters["raw"]
    for i, (attr, *_) in enumerate(steps):
        namespace[f"s{i}"] = setters[attr]
        lines.append(f"    s{i}(claims, a{i})")
    lines.append("    return claims")
    # The source holds only this module's templates, the repr() of claim names
    # and numbered locals: nothing from a token reaches it.
    source = "\n".join(lines) + "\n"
    filename = (
        f"<bearerguard claims builder for {cls.__module__}.{cls.__qualname__} "
        f"{id(cls):#x} {id(sources):#x}>"
    )
    code = compile(source, filename, "exec")
    # Registered so that a traceback through the builder shows its lines. The
    # entry has no mtime, so linecache.checkcache() keeps it.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, namespace)  # noqa: S102
    build: Callable[[Mapping[str, Any]], T] = namespace["build"]
    return build


def _indent(lines: list[str], depth: int = 1) -> list[str]:
    return ["    " * depth + line for line in lines]


def _convert_lines(
    i: int, convert: Convert, target: str, label: str, namespace: dict[str, Any]
) -> list[str]:
    """Lines setting *target* to the converted ``v``, or ``None`` and a failure named *label*."""
    inline = _INLINE.get(convert)
    if inline is None:
        namespace[f"c{i}"] = convert
        return [
            "try:",
            f"    {target} = c{i}(v)",
            "except BadClaim as bad:",
            f"    {target} = None",
            f"    problems.append({label} + ': ' + bad.reason)",
        ]
    branches, reason = inline
    lines = []
    keyword = "if"
    for condition, expression in branches:
        lines += [f"{keyword} {condition}:", f"    {target} = {expression}"]
        keyword = "elif"
    lines += ["else:", f"    {target} = None", f"    problems.append({label} + {': ' + reason!r})"]
    return lines


def _first_lines(
    i: int,
    field_sources: tuple[Source, ...],
    reads: list[str],
    nested: bool,
    convert: Convert,
    absent: list[str],
    namespace: dict[str, Any],
) -> list[str]:
    """A field whose value is its first source present (an ordinary field has one source)."""
    if not field_sources:
        return _indent(absent)
    several = len(field_sources) > 1
    lines = [f"v = {reads[0]}"]
    if several:
        lines.append(f"n = {field_sources[0][0]!r}")
    for (label, _), read in zip(field_sources[1:], reads[1:], strict=True):
        lines += ["if v is None:", f"    v = {read}", f"    n = {label!r}"]
    lines.append("if v is None:")
    lines += _indent(absent)
    if nested:
        lines += ["elif v is _FAILED:", f"    a{i} = None"]
    label = "n" if several else repr(field_sources[0][0])
    lines.append("else:")
    lines += _indent(_convert_lines(i, convert, f"a{i}", label, namespace))
    return _indent(lines)


def _union_lines(
    i: int,
    field_sources: tuple[Source, ...],
    reads: list[str],
    nested: bool,
    convert: Convert,
    absent: list[str],
    namespace: dict[str, Any],
) -> list[str]:
    """A set field: the union of every source present."""
    present = "v is not None and v is not _FAILED" if nested else "v is not None"
    lines = [f"a{i} = None"]
    for j, ((label, _), read) in enumerate(zip(field_sources, reads, strict=True)):
        lines += [f"v = {read}", f"if {present}:"]
        if j == 0:
            lines += _indent(_convert_lines(i, convert, f"a{i}", repr(label), namespace))
        else:
            lines += _indent(_convert_lines(i, convert, "t", repr(label), namespace))
            lines += _indent(["if t is not None:", f"    a{i} = t if a{i} is None else a{i} | t"])
    lines.append(f"if a{i} is None:")
    lines += _indent(absent)
    return _indent(lines)


def slot_setters(cls: type) -> dict[str, Callable[[Any, Any], None]] | None:
    """Each field's setter when building *cls* field by field is what ``cls(...)`` does.

    ``None`` when that cannot be shown: a ``__post_init__``, a custom
    ``__new__``, an ``__init__`` that @dataclass did not write, or an
    ``__init__`` whose arguments are not exactly the fields.
    """
    if hasattr(cls, "__post_init__") or any("__new__" in k.__dict__ for k in cls.__mro__[:-1]):
        return None
    init = cls.__dict__.get("__init__")
    params = cls.__dict__.get("__dataclass_params__")
    code = getattr(init, "__code__", None)
    if params is None or not params.init or code is None or code.co_filename != "<string>":
        return None
    names = [f.name for f in fields(cls)]
    arguments = code.co_varnames[1 : 1 + code.co_argcount - 1 + code.co_kwonlyargcount]
    if sorted(arguments) != sorted(names):
        return None
    setters: dict[str, Callable[[Any, Any], None]] = {}
    for name in names:
        for klass in cls.__mro__:
            descriptor = klass.__dict__.get(name)
            if descriptor is not None:
                break
        if type(descriptor) is not types.MemberDescriptorType:
            return None  # not a slot (a class without slots=True): keep __init__
        setters[name] = descriptor.__set__
    return setters


_INLINE = _inline_table()
