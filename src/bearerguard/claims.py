"""Typed claims: frozen dataclasses built from a verified payload.

``StandardClaims`` holds the RFC 7519 registered claims and the OpenID Connect
claims a :class:`~bearerguard.Validator` checks; ``AccessClaims``
adds the RFC 9068 access-token claims (``client_id``, scopes, ``roles``).
Subclass either to add your own claims::

    @dataclass(frozen=True, slots=True, kw_only=True)
    class AppClaims(AccessClaims):
        email: str | None = None
        tenant: str = claim("https://example.com/tenant", default="")

Every value is type-checked against the field's annotation. A claim with the
wrong JSON type (``exp`` as a string, ``aud`` as an object, ...) becomes an
:class:`~bearerguard.InvalidClaims` naming the claim — never a
``TypeError`` deep inside a view. These names are also importable from
:mod:`bearerguard`.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from ._builder import make_builder

__all__ = ["AccessClaims", "StandardClaims", "claim"]

T = TypeVar("T", bound="StandardClaims")

_EMPTY: Mapping[str, Any] = types.MappingProxyType({})


def claim(name: str, *, default: Any = None) -> Any:
    """A dataclass field read from the claim *name* (for names that are not identifiers)."""
    return field(default=default, metadata={"claim": name})


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

    # Per-class builder, made once on first use (see bearerguard._builder).
    _builders: ClassVar[dict[type, Callable[[Mapping[str, Any]], Any]]] = {}

    @classmethod
    def from_payload(cls: type[T], payload: Mapping[str, Any]) -> T:
        """Build the claims from a verified payload, type-checking every claim."""
        build = StandardClaims._builders.get(cls)
        if build is None:
            build = make_builder(cls)
            StandardClaims._builders[cls] = build
        claims: T = build(payload)
        return claims


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
