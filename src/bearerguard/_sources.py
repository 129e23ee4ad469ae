"""Where an issuer puts a token's scopes, roles and client: :class:`ClaimSources`.

Identity providers agree on little beyond the registered claims. Scopes come
as ``scope`` (a space-separated string, RFC 9068 §2.2.3), ``scp`` (Microsoft
Entra ID: a string; Okta: an array) or ``permissions`` (Auth0 RBAC: an
array); roles as ``roles`` (Entra ID app roles), ``groups``,
``cognito:groups`` (Amazon Cognito) or nested in objects
(Keycloak: ``realm_access.roles``, ``resource_access.<client>.roles``); the
client as ``client_id`` (RFC 9068 §2.2), ``azp``, ``cid`` (Okta) or ``appid``
(Entra ID v1 tokens). One :class:`ClaimSources` per issuer says which of
them fill :attr:`AccessClaims.scopes <bearerguard.claims.AccessClaims.scopes>`,
``roles`` and ``client_id``::

    ClaimSources(scopes=["scope", "permissions"])              # Auth0 with RBAC
    ClaimSources(roles=["/realm_access/roles", "/resource_access/orders-api/roles"])

A source is a claim name taken exactly as written (``"cognito:groups"``,
``"https://example.com/roles"``), or, when it starts with ``/``, an RFC 6901
JSON Pointer to a member of nested objects (``~1`` stands for ``/`` in a
member name, ``~0`` for ``~``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ._errors import ConfigurationError

__all__ = ["DEFAULT_CLAIM_SOURCES", "ClaimSources", "Source", "pointer_path"]

#: One configured source: ``(label, path)``. *label* names the claim in
#: failures (``realm_access.roles``); *path* holds the member names from the
#: payload down (one name for a top-level claim).
Source = tuple[str, tuple[str, ...]]

# RFC 6901 §3: reference-token = *( unescaped / escaped ), escaped = "~" ( "0" / "1" )
_TOKEN = re.compile(r"(?:[^~]|~[01])*")


def pointer_path(pointer: str, name: str) -> tuple[str, ...]:
    """The member names an RFC 6901 JSON Pointer (``/a/b``) walks through.

    Raises :class:`~bearerguard.ConfigurationError`, naming the setting
    *name*, for an empty member name or a ``~`` that is not ``~0`` or ``~1``.
    """
    members = []
    for token in pointer[1:].split("/"):
        # RFC 6901 §4: "~1" first, then "~0", so "~01" is the member "~1".
        if _TOKEN.fullmatch(token) is None:
            raise ConfigurationError(
                f"{name}: {pointer!r} is not a JSON Pointer: '~' must be written ~0, '/' as ~1"
            )
        member = token.replace("~1", "/").replace("~0", "~")
        if not member:
            raise ConfigurationError(f"{name}: {pointer!r} has an empty member name")
        members.append(member)
    return tuple(members)


def _sources(value: object, name: str) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, Iterable):
        raise ConfigurationError(f"{name} must be a claim name or a list of claim names")
    result = tuple(items)
    for item in result:
        if not isinstance(item, str) or not item:
            raise ConfigurationError(
                f"{name}: each source must be a claim name or a JSON Pointer such as "
                f"'/realm_access/roles', got {item!r}"
            )
    return result


def _resolve(sources: tuple[str, ...], name: str) -> tuple[Source, ...]:
    resolved = []
    for source in sources:
        path = pointer_path(source, name) if source.startswith("/") else (source,)
        resolved.append((".".join(path), path))
    return tuple(resolved)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimSources:
    """Which claims fill ``scopes``, ``roles`` and ``client_id``. Immutable.

    Give it to the issuer's :class:`~bearerguard.Validator`
    (``Validator(aud=..., claim_sources=ClaimSources(...))``), or to an
    adapter as ``claim_sources=`` (Django: ``"CLAIM_SOURCES"``). Each field is
    one source or a list of them (see the module docstring for the form):

    * ``scopes`` (default ``scope``, ``scp``): the union of every source the
      token carries; each is a space-separated string or an array of strings;
    * ``roles`` (default ``roles``): the union of every source the token
      carries; each is an array of strings (a string is one role);
    * ``client_id`` (default ``client_id``, ``azp``, ``cid``, ``appid``): the
      first source the token carries, a string.

    A source of the wrong JSON type is an :class:`~bearerguard.InvalidClaims`
    naming it (401 ``invalid_token``), never an error in a view. An empty
    list means the attribute is never filled. Fields that a subclass of
    :class:`~bearerguard.claims.AccessClaims` redefines (with
    :func:`~bearerguard.claims.claim`, say) read their own claim instead.
    """

    scopes: str | Iterable[str] = ("scope", "scp")
    roles: str | Iterable[str] = ("roles",)
    client_id: str | Iterable[str] = ("client_id", "azp", "cid", "appid")
    _resolved: Mapping[str, tuple[Source, ...]] = field(
        init=False, repr=False, compare=False, hash=False
    )
    # The claims builders made for these sources, one per claims class (see
    # StandardClaims.from_payload): built on first use, never invalidated.
    _builders: dict[type, Callable[[Mapping[str, Any]], Any]] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        resolved = {}
        for name in ("scopes", "roles", "client_id"):
            sources = _sources(getattr(self, name), name)
            object.__setattr__(self, name, sources)
            resolved[name] = _resolve(sources, name)
        object.__setattr__(self, "_resolved", resolved)

    def sources_of(self, attribute: str) -> tuple[Source, ...]:
        """``(label, path)`` of each source of *attribute* (``scopes``, ``roles``, ...)."""
        return self._resolved[attribute]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any], name: str) -> ClaimSources:
        """Sources from a settings file's mapping (``{"ROLES": ["cognito:groups"]}``).

        Keys are the field names in any case; *name* is the setting the
        mapping came from, for the error an unknown key gets.
        """
        values = {str(key).lower(): value for key, value in mapping.items()}
        unknown = sorted(set(values) - {"scopes", "roles", "client_id"})
        if unknown:
            raise ConfigurationError(
                f"{name}: unknown key(s) {', '.join(unknown)}; known: SCOPES, ROLES, CLIENT_ID"
            )
        return cls(**values)


#: What :class:`~bearerguard.claims.AccessClaims` reads unless told otherwise.
DEFAULT_CLAIM_SOURCES = ClaimSources()
