"""Per-class claims builders: a payload in, a claims object (or InvalidClaims) out.

:func:`plan` resolves a claims class's fields to converters once. Two
builders follow a plan and give the same claims and the same failures, in the
same order (tests/core/test_claims.py and tests/perf/test_fast_paths.py run
through both): :func:`from_plan`, through the class's own ``__init__``, and
the builder :func:`make_builder` generates for a plain frozen dataclass. Its
source is registered with :mod:`linecache`, so tracebacks show its lines.
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
    NOT_SCOPES,
    NOT_STR,
    NOT_STR_OR_LIST,
    BadClaim,
    Convert,
    all_str,
    as_bool,
    as_int,
    as_str,
    field_converter,
    numeric_date,
    scope_set,
    str_or_list,
)
from ._errors import ConfigurationError, InvalidClaims

if TYPE_CHECKING:
    from .claims import StandardClaims

__all__ = ["Step", "from_plan", "make_builder", "plan", "slot_setters"]

T = TypeVar("T", bound="StandardClaims")

# One field of a claims class: (attribute, claim name, fallback claim name, converter,
# MISSING when the field is required else None).
Step = tuple[str, str, "str | None", Convert, Any]


def plan(cls: type[StandardClaims]) -> tuple[Step, ...]:
    """Resolve annotations to converters; raises ConfigurationError on unsupported types."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # a forward reference that cannot be resolved
        raise ConfigurationError(f"{cls.__name__}: cannot resolve annotations: {exc}") from None
    steps: list[Step] = []
    for f in fields(cls):
        if f.name == "raw":
            continue
        name = f.metadata.get("claim", f.name)
        convert = field_converter(f, hints[f.name], cls)
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        fallback = f.metadata.get("fallback")
        steps.append((f.name, name, fallback, convert, None if has_default else MISSING))
    return tuple(steps)


def from_plan(cls: type[T], steps: tuple[Step, ...], payload: Mapping[str, Any]) -> T:
    """The general builder: through the class's own ``__init__`` (and ``__post_init__``)."""
    raw = payload if type(payload) is types.MappingProxyType else types.MappingProxyType(payload)
    values: dict[str, Any] = {"raw": raw}
    problems: list[str] | None = None
    get = payload.get
    for attr, name, fallback, convert, default in steps:
        value = get(name)
        if value is None and fallback is not None:
            value = get(fallback)
            name = fallback
        if value is None:
            if default is MISSING:
                problems = problems or []
                problems.append(f"{name}: required claim is missing")
            continue
        try:
            values[attr] = convert(value)
        except BadClaim as bad:
            problems = problems or []
            problems.append(f"{name}: {bad.reason}")
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
                ("type(v) is str", 'frozenset(v.split(" ")).difference(("",))'),
                ("type(v) is list and all_str(v)", "frozenset(v)"),
            ),
            NOT_SCOPES,
        ),
    }


def make_builder(cls: type[T]) -> Callable[[Mapping[str, Any]], T]:
    """The builder of *cls*: generated where :func:`slot_setters` allows, else :func:`from_plan`."""
    steps = plan(cls)
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
        "all_str": all_str,
    }
    lines = [
        "def build(payload):",
        "    get = payload.get",
        "    problems = []",
    ]
    for i, (attr, name, fallback, convert, required) in enumerate(steps):
        f = defaults[attr]
        if required is MISSING:
            absent = [f"a{i} = None", f"problems.append({name!r} + ': required claim is missing')"]
            if fallback is not None:
                absent[1] = f"problems.append({fallback!r} + ': required claim is missing')"
        elif f.default_factory is not MISSING:
            namespace[f"f{i}"] = f.default_factory
            absent = [f"a{i} = f{i}()"]
        else:
            namespace[f"d{i}"] = f.default
            absent = [f"a{i} = d{i}"]
        label = "n" if fallback is not None else repr(name)
        lines.append(f"    v = get({name!r})")
        if fallback is not None:
            lines.append(f"    n = {name!r}")
            lines.append("    if v is None:")
            lines.append(f"        v = get({fallback!r})")
            lines.append(f"        n = {fallback!r}")
        lines.append("    if v is None:")
        lines += [f"        {line}" for line in absent]
        inline = _INLINE.get(convert)
        if inline is not None:
            branches, reason = inline
            for condition, expression in branches:
                lines.append(f"    elif {condition}:")
                lines.append(f"        a{i} = {expression}")
            lines.append("    else:")
            lines.append(f"        a{i} = None")
            lines.append(f"        problems.append({label} + {': ' + reason!r})")
        else:
            namespace[f"c{i}"] = convert
            lines.append("    else:")
            lines.append("        try:")
            lines.append(f"            a{i} = c{i}(v)")
            lines.append("        except BadClaim as bad:")
            lines.append(f"            a{i} = None")
            lines.append(f"            problems.append({label} + ': ' + bad.reason)")
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
    filename = f"<bearerguard claims builder for {cls.__module__}.{cls.__qualname__} {id(cls):#x}>"
    code = compile(source, filename, "exec")
    # Registered so that a traceback through the builder shows its lines. The
    # entry has no mtime, so linecache.checkcache() keeps it.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(code, namespace)  # noqa: S102
    build: Callable[[Mapping[str, Any]], T] = namespace["build"]
    return build


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
