"""Typed claims: frozen dataclasses built from a verified payload.

``StandardClaims`` holds the RFC 7519 registered claims and the OpenID Connect
claims a :class:`~bearerguard.Validator` checks; ``AccessClaims``
adds the RFC 9068 access-token claims (``client_id``, ``scopes``, ``roles``),
read from the claims a :class:`ClaimSources` names (each issuer's validator
has one). Subclass either to add your own claims::

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
from ._sources import DEFAULT_CLAIM_SOURCES, ClaimSources

__all__ = ["AccessClaims", "ClaimSources", "StandardClaims", "claim"]

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

    # Builders of the default sources, one per class, made on first use (see
    # bearerguard._builder); other ClaimSources keep their own.
    _builders: ClassVar[dict[type, Callable[[Mapping[str, Any]], Any]]] = (
        DEFAULT_CLAIM_SOURCES._builders
    )

    @classmethod
    def from_payload(
        cls: type[T], payload: Mapping[str, Any], sources: ClaimSources | None = None
    ) -> T:
        """Build the claims from a verified payload, type-checking every claim.

        *sources* says which claims fill ``scopes``, ``roles`` and
        ``client_id`` (default: :class:`ClaimSources`' defaults). Raises
        :class:`~bearerguard.InvalidClaims` listing every claim of the wrong type.
        """
        builders = StandardClaims._builders if sources is None else sources._builders
        build = builders.get(cls)
        if build is None:
            build = make_builder(cls, sources)
            builders[cls] = build
        claims: T = build(payload)
        return claims


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessClaims(StandardClaims):
    """Claims of an OAuth 2.0 access token (RFC 9068 §2.2).

    ``scopes``, ``roles`` and ``client_id`` are read from the claims the
    issuer's :class:`ClaimSources` names. By default ``scopes`` is the union
    of ``scope`` (a space-separated string) and ``scp`` (a string or an
    array), ``roles`` comes from ``roles`` (an array; a string is one role),
    and ``client_id`` from the first of ``client_id``, ``azp``, ``cid`` and
    ``appid`` the token carries.
    """

    #: The client the token was issued to (RFC 9068 §2.2), or ``None``.
    client_id: str | None = field(default=None, metadata={"source": "client_id"})
    #: The granted scopes (RFC 9068 §2.2.3), what ``require_scopes`` checks.
    scopes: frozenset[str] = field(default=frozenset(), metadata={"source": "scopes"})
    #: The roles or groups (RFC 9068 §2.2.3.1), what ``require_roles`` checks.
    roles: frozenset[str] = field(default=frozenset(), metadata={"source": "roles"})
