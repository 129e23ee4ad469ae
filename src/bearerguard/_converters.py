"""Claim values: each JSON value checked and converted to its field's type.

A converter takes the JSON value of one claim and returns the field's value,
or raises :class:`BadClaim` with the reason (``"must be a string"``), which the
builder turns into an :class:`~bearerguard.InvalidClaims` naming the
claim. :func:`field_converter` picks the converter of a dataclass field from
its annotation (or its ``kind`` metadata: NumericDate, scopes, a string or
list); an annotation no converter fits is a configuration error at set-up.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import Field
from typing import Any

from ._errors import ConfigurationError

__all__ = [
    "MAX_NUMERIC_DATE",
    "NOT_BOOL",
    "NOT_DATE",
    "NOT_INT",
    "NOT_OBJECT",
    "NOT_SCOPES",
    "NOT_STR",
    "NOT_STR_OR_LIST",
    "BadClaim",
    "Convert",
    "all_str",
    "as_bool",
    "as_int",
    "as_str",
    "field_converter",
    "numeric_date",
    "role_set",
    "scope_set",
    "str_or_list",
    "strip_none",
]

# NumericDate values (RFC 7519 §2) outside 0 .. 9999-12-31T23:59:59Z are refused:
# an `exp` of 1e300 must not mean "never expires".
MAX_NUMERIC_DATE = 253402300799

Convert = Callable[[Any], Any]

NOT_DATE = "must be a NumericDate (seconds since the epoch)"
NOT_STR = "must be a string"
NOT_STR_OR_LIST = "must be a string or an array of strings"
NOT_INT = "must be an integer"
NOT_BOOL = "must be a boolean"
NOT_SCOPES = "must be a space-separated string or an array of strings"
NOT_OBJECT = "must be a JSON object"


class BadClaim(Exception):
    """A claim value that does not fit its field; *reason* completes "<claim>: ...".

    *claim* names the claim when it is not the one being read (an enclosing
    object of a nested source, e.g. ``realm_access`` for ``realm_access.roles``).
    """

    def __init__(self, reason: str, claim: str | None = None) -> None:
        self.reason = reason
        self.claim = claim


def numeric_date(value: Any) -> float | int:
    kind = type(value)
    if (kind is int or (kind is float and math.isfinite(value))) and (
        0 <= value <= MAX_NUMERIC_DATE
    ):
        return value  # type: ignore[no-any-return]
    raise BadClaim(NOT_DATE)


def as_str(value: Any) -> str:
    if type(value) is not str:
        raise BadClaim(NOT_STR)
    return value


def all_str(items: list[Any]) -> bool:
    # A loop, not all(<generator>): this runs for aud, scopes and roles of
    # every token, and a generator costs more than the check itself.
    for item in items:  # noqa: SIM110
        if type(item) is not str:
            return False
    return True


def str_or_list(value: Any) -> tuple[str, ...]:
    # RFC 7519 §4.1.3: aud is a string or an array of strings.
    if type(value) is str:
        return (value,)
    if type(value) is list and all_str(value):
        return tuple(value)
    raise BadClaim(NOT_STR_OR_LIST)


def _str_list(value: Any) -> tuple[str, ...]:
    if type(value) is list and all_str(value):
        return tuple(value)
    raise BadClaim("must be an array of strings")


def _str_array(value: Any) -> list[str]:
    # A list[str] field gets a list (its annotation), copied so the claims
    # never share a mutable object with ``raw``.
    if type(value) is list and all_str(value):
        return value[:]
    raise BadClaim("must be an array of strings")


def as_int(value: Any) -> int:
    if type(value) is not int:
        raise BadClaim(NOT_INT)
    return value


def _float(value: Any) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise BadClaim("must be a number")
    return typing.cast(float, value)


def as_bool(value: Any) -> bool:
    if type(value) is not bool:
        raise BadClaim(NOT_BOOL)
    return value


def _object(value: Any) -> Mapping[str, Any]:
    if type(value) is not dict:
        raise BadClaim(NOT_OBJECT)
    return types.MappingProxyType(value)


def _list(value: Any) -> list[Any]:
    if type(value) is not list:
        raise BadClaim("must be an array")
    return value


def _list_of(item: Convert) -> Convert:
    def convert(value: Any) -> list[Any]:
        if type(value) is not list:
            raise BadClaim("must be an array")
        try:
            return [item(v) for v in value]
        except BadClaim as bad:
            raise BadClaim(f"array item {bad.reason}") from None

    return convert


def _object_of(item: Convert) -> Convert:
    def convert(value: Any) -> Mapping[str, Any]:
        if type(value) is not dict:
            raise BadClaim("must be a JSON object")
        try:
            return types.MappingProxyType({k: item(v) for k, v in value.items()})
        except BadClaim as bad:
            raise BadClaim(f"member value {bad.reason}") from None

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
            except BadClaim:
                continue
        raise BadClaim("has an unexpected type")

    return convert


_SIMPLE: dict[Any, Convert] = {
    str: as_str,
    int: as_int,
    float: _float,
    bool: as_bool,
    typing.Any: _any,
    object: _any,
}


def converter_for(annotation: Any, owner: type) -> Convert:
    """Map a field annotation to a converter, or fail loudly at set-up time."""
    if annotation in _SIMPLE:
        return _SIMPLE[annotation]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        inner = (
            converter_for(rest[0], owner)
            if len(rest) == 1
            else _union([converter_for(a, owner) for a in rest])
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
        return _list if args[0] in (typing.Any, object) else _list_of(converter_for(args[0], owner))
    if origin in (dict, Mapping):
        if args[0] is not str:
            raise ConfigurationError(
                f"{owner.__name__}: JSON object keys are strings, not {args[0]!r}"
            )
        return (
            _object
            if args[1] in (typing.Any, object)
            else _object_of(converter_for(args[1], owner))
        )
    if annotation in (dict, Mapping):
        return _object
    if annotation is list:
        return _list
    raise ConfigurationError(
        f"{owner.__name__}: claim fields must be str, int, float, bool, list, tuple[str, ...], "
        f"frozenset[str], dict or Any (optionally | None), not {annotation!r}"
    )


# Scope strings seen, with their sets: a client's tokens carry the same `scope`
# string again and again, so its set is built once and shared (frozensets are
# immutable), which also makes each cached token smaller. Bounded in count and
# in length, so a flood of odd scope strings costs a cleared dict, nothing more.
SCOPE_SETS: dict[str, frozenset[str]] = {}
MAX_SCOPE_SETS = 1024
_MAX_REMEMBERED_SCOPE = 512


def scope_text_set(value: str) -> frozenset[str]:
    """The scopes of a space-separated ``scope`` string (RFC 6749 §3.3), remembered."""
    # RFC 6749 §3.3: delimited by spaces (%x20) only. str.split() would also
    # split on other whitespace (NBSP, tabs), turning "a\u00a0admin" into "admin".
    scopes = frozenset(value.split(" ")).difference(("",))
    if len(value) <= _MAX_REMEMBERED_SCOPE:
        if len(SCOPE_SETS) >= MAX_SCOPE_SETS:
            SCOPE_SETS.clear()
        SCOPE_SETS[value] = scopes
    return scopes


def scope_set(value: Any) -> frozenset[str]:
    # RFC 8693 §4.2 / RFC 9068 §2.2.3: `scope` is a space-separated string; some
    # issuers (Entra ID, Okta) use `scp` as a string or an array instead.
    if type(value) is str:
        return SCOPE_SETS.get(value) or scope_text_set(value)
    if type(value) is list and all_str(value):
        return frozenset(value)
    raise BadClaim(NOT_SCOPES)


def role_set(value: Any) -> frozenset[str]:
    # Roles and groups are arrays (Entra ID, Cognito, Keycloak); a lone string is
    # one role, never split: "order admin" must not grant "admin".
    if type(value) is str:
        return frozenset((value,))
    if type(value) is list and all_str(value):
        return frozenset(value)
    raise BadClaim(NOT_STR_OR_LIST)


def strip_none(annotation: Any) -> Any:
    """``X | None`` -> ``X`` (unions of several types keep their other members)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        rest = tuple(a for a in args if a is not type(None))
        if len(rest) == 1:
            return rest[0]
        if len(rest) < len(args):
            return typing.Union[rest]  # noqa: UP007 (a runtime tuple of types)
    return annotation


def field_converter(f: Field[Any], annotation: Any, owner: type) -> Convert:
    """The converter of dataclass field *f* (annotated *annotation*) of class *owner*."""
    kind = f.metadata.get("kind")
    if kind == "numeric_date":
        return numeric_date
    if kind == "scopes":
        return scope_set
    if f.name == "aud" or kind == "str_or_list":
        return str_or_list
    # A JSON null counts as absent, so a top-level "| None" needs no converter.
    return converter_for(strip_none(annotation), owner)
