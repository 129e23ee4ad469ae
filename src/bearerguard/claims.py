"""Typed claims: frozen dataclasses built from a verified payload.

``StandardClaims`` holds the RFC 7519 registered claims and the OpenID Connect
claims a :class:`~bearerguard._validation.Validator` checks; ``AccessClaims``
adds the RFC 9068 access-token claims (``client_id``, scopes, ``roles``).
Subclass either to add your own claims::

    @dataclass(frozen=True, slots=True, kw_only=True)
    class AppClaims(AccessClaims):
        email: str | None = None
        tenant: str = claim("https://example.com/tenant", default="")

Every value is type-checked against the field's annotation. A claim with the
wrong JSON type (``exp`` as a string, ``aud`` as an object, ...) becomes an
:class:`~bearerguard._errors.InvalidClaims` naming the claim — never a
``TypeError`` deep inside a view.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

from ._errors import ConfigurationError, InvalidClaims

__all__ = ["AccessClaims", "StandardClaims", "claim"]

T = TypeVar("T", bound="StandardClaims")

# NumericDate values (RFC 7519 §2) outside 0 .. 9999-12-31T23:59:59Z are refused:
# an `exp` of 1e300 must not mean "never expires".
MAX_NUMERIC_DATE = 253402300799
_EMPTY: Mapping[str, Any] = types.MappingProxyType({})


class _Bad(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


Convert = Callable[[Any], Any]
# One field of a claims class: (attribute, claim name, fallback claim name, converter,
# MISSING when the field is required else None).
_Step = tuple[str, str, "str | None", Convert, Any]


_NOT_DATE = "must be a NumericDate (seconds since the epoch)"
_NOT_STR = "must be a string"
_NOT_STR_OR_LIST = "must be a string or an array of strings"
_NOT_INT = "must be an integer"
_NOT_BOOL = "must be a boolean"
_NOT_SCOPES = "must be a space-separated string or an array of strings"


def claim(name: str, *, default: Any = None) -> Any:
    """A dataclass field read from the claim *name* (for names that are not identifiers)."""
    return field(default=default, metadata={"claim": name})


def _numeric_date(value: Any) -> float | int:
    kind = type(value)
    if (kind is int or (kind is float and math.isfinite(value))) and (
        0 <= value <= MAX_NUMERIC_DATE
    ):
        return value  # type: ignore[no-any-return]
    raise _Bad(_NOT_DATE)


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _Bad(_NOT_STR)
    return value


def _all_str(items: list[Any]) -> bool:
    # A loop, not all(<generator>): this runs for aud, scopes and roles of
    # every token, and a generator costs more than the check itself.
    for item in items:  # noqa: SIM110
        if type(item) is not str:
            return False
    return True


def _str_or_list(value: Any) -> tuple[str, ...]:
    # RFC 7519 §4.1.3: aud is a string or an array of strings.
    if type(value) is str:
        return (value,)
    if type(value) is list and _all_str(value):
        return tuple(value)
    raise _Bad(_NOT_STR_OR_LIST)


def _str_list(value: Any) -> tuple[str, ...]:
    if type(value) is list and _all_str(value):
        return tuple(value)
    raise _Bad("must be an array of strings")


def _str_array(value: Any) -> list[str]:
    # A list[str] field gets a list (its annotation), copied so the claims
    # never share a mutable object with ``raw``.
    if type(value) is list and _all_str(value):
        return value[:]
    raise _Bad("must be an array of strings")


def _int(value: Any) -> int:
    if type(value) is not int:
        raise _Bad(_NOT_INT)
    return value


def _float(value: Any) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise _Bad("must be a number")
    return typing.cast(float, value)


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _Bad(_NOT_BOOL)
    return value


def _object(value: Any) -> Mapping[str, Any]:
    if type(value) is not dict:
        raise _Bad("must be a JSON object")
    return types.MappingProxyType(value)


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise _Bad("must be an array")
    return value


def _list_of(item: Convert) -> Convert:
    def convert(value: Any) -> list[Any]:
        if type(value) is not list:
            raise _Bad("must be an array")
        try:
            return [item(v) for v in value]
        except _Bad as bad:
            raise _Bad(f"array item {bad.reason}") from None

    return convert


def _object_of(item: Convert) -> Convert:
    def convert(value: Any) -> Mapping[str, Any]:
        if type(value) is not dict:
            raise _Bad("must be a JSON object")
        try:
            return types.MappingProxyType({k: item(v) for k, v in value.items()})
        except _Bad as bad:
            raise _Bad(f"member value {bad.reason}") from None

    return convert


def _str_frozenset(value: Any) -> frozenset[str]:
    return frozenset(_str_list(value))


def _any(value: Any) -> Any:
    return value


def _optional(inner: Convert) -> Convert:
    def convert(value: Any) -> Any:
        return None if value is None else inner(value)

    return convert


def _union(options: list[Convert]) -> Convert:
    def convert(value: Any) -> Any:
        for option in options:
            try:
                return option(value)
            except _Bad:
                continue
        raise _Bad("has an unexpected type")

    return convert


_SIMPLE: dict[Any, Convert] = {
    str: _str,
    int: _int,
    float: _float,
    bool: _bool,
    typing.Any: _any,
    object: _any,
}


def _converter_for(annotation: Any, owner: type) -> Convert:
    """Map a field annotation to a converter, or fail loudly at set-up time."""
    if annotation in _SIMPLE:
        return _SIMPLE[annotation]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        inner = (
            _converter_for(rest[0], owner)
            if len(rest) == 1
            else _union([_converter_for(a, owner) for a in rest])
        )
        return _optional(inner) if len(rest) < len(args) else inner
    if origin is tuple and len(args) == 2 and args[0] is str and args[1] is Ellipsis:
        return _str_list
    if origin in (frozenset, set) and args == (str,):
        return _str_frozenset
    if origin is list:
        # list[int] must check its items too: a wrong item type is the token's
        # fault (invalid_token), not a TypeError later in the view.
        if args == (str,):
            return _str_array
        return (
            _list if args[0] in (typing.Any, object) else _list_of(_converter_for(args[0], owner))
        )
    if origin in (dict, Mapping):
        if args[0] is not str:
            raise ConfigurationError(
                f"{owner.__name__}: JSON object keys are strings, not {args[0]!r}"
            )
        return (
            _object
            if args[1] in (typing.Any, object)
            else _object_of(_converter_for(args[1], owner))
        )
    if annotation in (dict, Mapping):
        return _object
    if annotation is list:
        return _list
    raise ConfigurationError(
        f"{owner.__name__}: claim fields must be str, int, float, bool, list, tuple[str, ...], "
        f"frozenset[str], dict or Any (optionally | None), not {annotation!r}"
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class StandardClaims:
    """RFC 7519 registered claims plus the OpenID Connect ones a Validator checks.

    ``aud`` is always a tuple (RFC 7519 allows a string or an array);
    ``raw`` is the untouched payload as a read-only mapping.
    """

    iss: str | None = None
    sub: str | None = None
    aud: tuple[str, ...] = ()
    exp: float | None = field(default=None, metadata={"kind": "numeric_date"})
    nbf: float | None = field(default=None, metadata={"kind": "numeric_date"})
    iat: float | None = field(default=None, metadata={"kind": "numeric_date"})
    jti: str | None = None
    azp: str | None = None
    auth_time: float | None = field(default=None, metadata={"kind": "numeric_date"})
    nonce: str | None = None
    acr: str | None = None
    amr: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(
        default_factory=lambda: _EMPTY, compare=False, hash=False, repr=False
    )

    # Per-class builder, made once on first use (see _make_builder).
    _builders: ClassVar[dict[type, Callable[[Mapping[str, Any]], Any]]] = {}

    @classmethod
    def from_payload(cls: type[T], payload: Mapping[str, Any]) -> T:
        """Build the claims from a verified payload, type-checking every claim."""
        build = StandardClaims._builders.get(cls)
        if build is None:
            build = _make_builder(cls)
            StandardClaims._builders[cls] = build
        claims: T = build(payload)
        return claims


def _plan(cls: type[StandardClaims]) -> tuple[_Step, ...]:
    """Resolve annotations to converters; raises ConfigurationError on unsupported types."""
    try:
        hints = typing.get_type_hints(cls)
    except Exception as exc:  # a forward reference that cannot be resolved
        raise ConfigurationError(f"{cls.__name__}: cannot resolve annotations: {exc}") from None
    plan: list[_Step] = []
    for f in fields(cls):
        if f.name == "raw":
            continue
        name = f.metadata.get("claim", f.name)
        if f.metadata.get("kind") == "numeric_date":
            convert: Convert = _numeric_date
        elif f.metadata.get("kind") == "scopes":
            convert = _scopes
        elif f.name == "aud" or f.metadata.get("kind") == "str_or_list":
            convert = _str_or_list
        else:
            # A JSON null counts as absent, so a top-level "| None" needs no converter.
            convert = _converter_for(_strip_none(hints[f.name]), cls)
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        fallback = f.metadata.get("fallback")
        plan.append((f.name, name, fallback, convert, None if has_default else MISSING))
    return tuple(plan)


def _strip_none(annotation: Any) -> Any:
    """``X | None`` -> ``X`` (unions of several types keep their other members)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = tuple(a for a in args if a is not type(None))
        if len(rest) == 1:
            return rest[0]
        if len(rest) < len(args):
            return typing.Union[rest]  # noqa: UP007 (a runtime tuple of types)
    return annotation


def _from_plan(cls: type[T], plan: tuple[_Step, ...], payload: Mapping[str, Any]) -> T:
    """The general builder: through the class's own ``__init__`` (and ``__post_init__``)."""
    raw = payload if type(payload) is types.MappingProxyType else types.MappingProxyType(payload)
    values: dict[str, Any] = {"raw": raw}
    problems: list[str] | None = None
    get = payload.get
    for attr, name, fallback, convert, default in plan:
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
        except _Bad as bad:
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
# uses _from_plan. Both produce the same claims and the same failures, in the
# same order (tests/core/test_claims.py runs through both).


def _inline_table() -> dict[Convert, tuple[tuple[tuple[str, str], ...], str]]:
    """Converters the builder writes out inline: ``((condition, value), ...), reason``.

    Each says, for the JSON value ``v``, the same as the converter function:
    the first condition that holds gives the value, none holding is the reason.
    """
    return {
        _str: ((("type(v) is str", "v"),), _NOT_STR),
        _int: ((("type(v) is int", "v"),), _NOT_INT),
        _bool: ((("type(v) is bool", "v"),), _NOT_BOOL),
        _numeric_date: (
            (
                (
                    "(type(v) is int or (type(v) is float and _isfinite(v)))"
                    " and 0 <= v <= _MAX_DATE",
                    "v",
                ),
            ),
            _NOT_DATE,
        ),
        _str_or_list: (
            (("type(v) is str", "(v,)"), ("type(v) is list and _all_str(v)", "tuple(v)")),
            _NOT_STR_OR_LIST,
        ),
        _scopes: (
            (
                ("type(v) is str", 'frozenset(v.split(" ")).difference(("",))'),
                ("type(v) is list and _all_str(v)", "frozenset(v)"),
            ),
            _NOT_SCOPES,
        ),
    }


def _make_builder(cls: type[T]) -> Callable[[Mapping[str, Any]], T]:
    plan = _plan(cls)
    setters = _slot_setters(cls)
    if setters is None:
        return functools.partial(_from_plan, cls, plan)
    defaults = {f.name: f for f in fields(cls)}
    namespace: dict[str, Any] = {
        "_MP": types.MappingProxyType,
        "_Bad": _Bad,
        "_Invalid": InvalidClaims,
        "_new": object.__new__,
        "_cls": cls,
        "_isfinite": math.isfinite,
        "_MAX_DATE": MAX_NUMERIC_DATE,
        "_all_str": _all_str,
    }
    lines = [
        "def build(payload):",
        "    get = payload.get",
        "    problems = []",
    ]
    for i, (attr, name, fallback, convert, required) in enumerate(plan):
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
            lines.append("        except _Bad as bad:")
            lines.append(f"            a{i} = None")
            lines.append(f"            problems.append({label} + ': ' + bad.reason)")
    lines.append("    if problems:")
    lines.append("        raise _Invalid(problems)")
    lines.append("    claims = _new(_cls)")
    lines.append("    s_raw(claims, payload if type(payload) is _MP else _MP(payload))")
    namespace["s_raw"] = setters["raw"]
    for i, (attr, *_) in enumerate(plan):
        namespace[f"s{i}"] = setters[attr]
        lines.append(f"    s{i}(claims, a{i})")
    lines.append("    return claims")
    # The source holds only this module's templates, the repr() of claim names
    # and numbered locals: nothing from a token reaches it.
    filename = f"<bearerguard claims builder for {cls.__qualname__}>"
    code = compile("\n".join(lines) + "\n", filename, "exec")
    exec(code, namespace)  # noqa: S102
    build: Callable[[Mapping[str, Any]], T] = namespace["build"]
    return build


def _slot_setters(cls: type) -> dict[str, Callable[[Any, Any], None]] | None:
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


def _scopes(value: Any) -> frozenset[str]:
    # RFC 8693 §4.2 / RFC 9068 §2.2.3: `scope` is a space-separated string; some
    # issuers (Entra ID, Okta) use `scp` as a string or an array instead.
    if type(value) is str:
        # RFC 6749 §3.3: delimited by spaces (%x20) only. str.split() would also
        # split on other whitespace (NBSP, tabs), turning "a\u00a0admin" into "admin".
        return frozenset(value.split(" ")).difference(("",))
    if type(value) is list and _all_str(value):
        return frozenset(value)
    raise _Bad(_NOT_SCOPES)


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessClaims(StandardClaims):
    """Claims of an OAuth 2.0 access token (RFC 9068 §2.2).

    ``scopes`` comes from ``scope`` (a space-separated string) or, when that is
    absent, from ``scp`` (a string or an array).
    """

    client_id: str | None = None
    scopes: frozenset[str] = field(
        default=frozenset(), metadata={"kind": "scopes", "claim": "scope", "fallback": "scp"}
    )
    roles: tuple[str, ...] = field(default=(), metadata={"kind": "str_or_list"})


_INLINE = _inline_table()
