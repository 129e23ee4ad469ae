"""Rules that configuration checks share, each written once.

* :func:`seconds`: a duration or a time as a number of seconds (finite, not
  negative; above zero or whole where asked).
* :func:`strings`: one string or an iterable of strings, as a tuple.
* :func:`role_names`: the roles an endpoint requires.
* The scope grammar of RFC 6749 §3.3 (``scope-token = 1*NQCHAR``, tokens
  separated by single spaces): :func:`is_scope_token`, :func:`scope_tokens`
  for configured scopes and :func:`parse_scope` for a ``scope`` parameter.

Every error names the setting that was wrong, so the message says what to fix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import cast

from ._errors import ConfigurationError

__all__ = [
    "NOT_NQSCHAR",
    "NQCHAR",
    "is_scope_token",
    "parse_scope",
    "role_names",
    "scope_tokens",
    "seconds",
    "strings",
]

#: RFC 6749 appendix A: NQCHAR = %x21 / %x23-5B / %x5D-7E, printable ASCII
#: without space, '"' and '\\' (a regular-expression character class body).
NQCHAR = r"\x21\x23-\x5b\x5d-\x7e"
#: A character outside NQSCHAR (%x20-21 / %x23-5B / %x5D-7E): what an
#: ``error_description`` (RFC 6749 §5.2, RFC 6750 §3) may not hold.
NOT_NQSCHAR = re.compile(rf"[^\x20{NQCHAR}]")

_SCOPE_TOKEN = re.compile(rf"[{NQCHAR}]+")
# RFC 6749 §3.3: scope = scope-token *( SP scope-token )
_SCOPE = re.compile(rf"[{NQCHAR}]+(?: [{NQCHAR}]+)*")


def seconds(
    value: object,
    name: str,
    *,
    positive: bool = False,
    whole: bool = False,
    unit: str = "seconds",
) -> float:
    """*value* as seconds: a finite number (not a bool), at least 0.

    *positive* refuses 0 as well; *whole* wants an ``int`` (a ``Cache-Control``
    ``max-age``, a NumericDate). *name* is the setting the message names.
    """
    sign = "positive" if positive else "non-negative"
    if whole:
        if isinstance(value, bool) or not isinstance(value, int) or value < int(positive):
            raise ConfigurationError(f"{name} must be a {sign} whole number of {unit}")
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (positive and value == 0)
    ):
        # inf and nan are not a number of seconds anything can wait or count.
        raise ConfigurationError(f"{name} must be a {sign} number of {unit}")
    return float(value)


def _items(value: object) -> tuple[object, ...] | None:
    """A lone ``str`` is one item, not its letters; ``None`` when *value* is not iterable."""
    if isinstance(value, str):
        return (value,)
    return tuple(value) if isinstance(value, Iterable) else None


def _once_each(items: tuple[str, ...], twice: Callable[[str], str]) -> tuple[str, ...]:
    """*items*, unless one is listed twice: then the message ``twice(item)`` is raised."""
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise ConfigurationError(twice(item))
        seen.add(item)
    return items


def strings(
    value: str | Iterable[str], name: str, *, required: bool = False, distinct: bool = False
) -> tuple[str, ...]:
    """*value* (one string, or an iterable of them) as a tuple of non-empty strings.

    *required* refuses an empty iterable; *distinct* refuses a value listed twice.
    """
    items = _items(value)
    if (
        items is None
        or (required and not items)
        or not all(isinstance(v, str) and v for v in items)
    ):
        raise ConfigurationError(f"{name} must be a non-empty string or strings")
    result = cast(tuple[str, ...], items)
    return _once_each(result, lambda s: f"{name} lists {s!r} twice") if distinct else result


def role_names(roles: str | Iterable[str], name: str) -> tuple[str, ...]:
    """*roles* (one role, or an iterable of them) as a tuple: at least one, each non-empty.

    Roles have no grammar (Keycloak's may hold spaces), but an empty list is
    refused: ``require_roles(*configured)`` with nothing configured must not
    quietly let every token through.
    """
    items = _items(roles)
    if not items:
        raise ConfigurationError(
            f"{name} needs at least one role (require_token accepts any verified token)"
        )
    for role in items:
        if not isinstance(role, str) or not role:
            raise ConfigurationError(f"{name}: each role must be a non-empty string, got {role!r}")
    return cast(tuple[str, ...], items)


def is_scope_token(value: object) -> bool:
    """Whether *value* is one RFC 6749 §3.3 scope token."""
    return type(value) is str and _SCOPE_TOKEN.fullmatch(value) is not None


def scope_tokens(
    scopes: str | Iterable[str], name: str, *, distinct: bool = False
) -> tuple[str, ...]:
    """*scopes* (one scope, or an iterable of them) as a tuple of scope tokens, order kept.

    A string is one scope, not a space-separated list: ``"read write"`` is
    refused, so a mistake cannot silently ask for (or grant) two scopes.
    *distinct* refuses a scope listed twice.
    """
    items = _items(scopes)
    if items is None:
        raise ConfigurationError(f"{name} must be a scope or a list of scopes")
    for scope in items:
        if not is_scope_token(scope):
            shown = repr(scope) if len(repr(scope)) <= 60 else repr(scope)[:57] + "..."
            message = f"{name}: each scope must be one non-empty scope token, got {shown}"
            if isinstance(scope, str) and scope and " " not in scope:
                # Neither empty nor two tokens: say which characters a token may hold.
                message += (
                    ": scope tokens are printable ASCII without spaces, quotes or "
                    "backslashes (RFC 6749 §3.3)"
                )
            raise ConfigurationError(message)
    result = cast(tuple[str, ...], items)
    if distinct:
        return _once_each(result, lambda s: f"{name}: scope {s!r} is listed twice")
    return result


def parse_scope(value: str) -> tuple[str, ...] | None:
    """The distinct scope tokens of a ``scope`` parameter, in order; ``None`` if malformed.

    RFC 6749 §3.3: tokens separated by single spaces, nothing before the
    first or after the last.
    """
    if _SCOPE.fullmatch(value) is None:
        return None
    return tuple(dict.fromkeys(value.split(" ")))
