"""Issuers one identity provider trusts together, used as one: :class:`IssuerGroup`.

Some providers write ``iss`` in more than one form for tokens signed with one
key set: Microsoft Entra ID per tenant and token version
(``https://login.microsoftonline.com/{tid}/v2.0``,
``https://sts.windows.net/{tid}/``), Google as ``https://accounts.google.com``
and ``accounts.google.com``. An :class:`IssuerGroup` holds those issuers and is
accepted wherever an :class:`~bearerguard.Issuer` is: in
``Verifier(issuers=[...])``, in every adapter's ``issuers=`` setting and in
Django's ``"ISSUERS"``. Its own :meth:`~IssuerGroup.verify_and_validate` picks
the member by the token's (unverified) ``iss``, as a Verifier does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar, overload

from ._errors import ConfigurationError, IssuerMismatch
from ._issuer import Issuer
from ._jws import DEFAULT_MAX_TOKEN_SIZE, JWS, parse
from ._keysource import KeySource
from ._validation import Now, Validator
from .claims import AccessClaims, StandardClaims

__all__ = ["UNTRUSTED", "ExplainedIssuer", "IssuerGroup", "explainer_of", "members_of"]

C = TypeVar("C", bound=StandardClaims)

#: Why a token's unverified ``iss`` is not trusted, or ``None`` when nothing specific is known.
Explain = Callable[[str], "str | None"]
#: The issuer for an ``iss`` outside the fixed members (Entra ID: any tenant), or ``None``.
Resolve = Callable[[str], "Issuer | None"]

#: The description of a token whose ``iss`` no configured issuer has.
UNTRUSTED = "token iss is not a trusted issuer"


class ExplainedIssuer(Issuer):
    """An :class:`~bearerguard.Issuer` of a provider profile that can say why
    another ``iss`` of the same provider is not trusted (Okta: a token of another
    authorization server), so a refusal names the reason."""

    __slots__ = ("_explain",)

    def __init__(
        self,
        url: str,
        keys: KeySource,
        validator: Validator,
        *,
        algorithms: Iterable[str] | None,
        claims_type: type[StandardClaims] | None,
        explain: Explain,
    ) -> None:
        super().__init__(url, keys, validator, algorithms=algorithms, claims_type=claims_type)
        self._explain = explain


class IssuerGroup:
    """Issuers of one identity provider that share one key set, used as one issuer.

    What :func:`bearerguard.providers.entra` and
    :func:`bearerguard.providers.google` return: the provider writes ``iss``
    in more than one form (per tenant and token version; with and without
    ``https://``), and every form is signed with the same keys, fetched once.
    Accepted wherever an :class:`~bearerguard.Issuer` is
    (``Verifier(issuers=[...])``, the adapters' ``issuers=``, Django
    ``"ISSUERS"``); iterating gives the member issuers::

        group = providers.google("https://orders-abc123-uc.a.run.app")
        jws, claims = group.verify_and_validate(token)
        [issuer.url for issuer in group]  # ['https://accounts.google.com', 'accounts.google.com']

    *issuers* must share one key source (one provider's keys) and have
    distinct URLs. A token whose ``iss`` is none of theirs is refused with
    :class:`~bearerguard.IssuerMismatch` before any key is looked up.
    """

    __slots__ = ("_by_url", "_claims_type", "_explain", "_keys", "_members", "_resolve", "_urls")

    def __init__(self, issuers: Iterable[Issuer]) -> None:
        if isinstance(issuers, str | Issuer) or not isinstance(issuers, Iterable):
            raise ConfigurationError("IssuerGroup takes a list of bearerguard.Issuer objects")
        members = tuple(issuers)
        if not members:
            raise ConfigurationError("IssuerGroup needs at least one Issuer")
        self._setup(members, keys=None, claims_type=None, urls=None, resolve=None, explain=None)

    @classmethod
    def _of(
        cls,
        members: Iterable[Issuer],
        *,
        keys: KeySource,
        claims_type: type[StandardClaims] | None,
        urls: Iterable[str] | None = None,
        resolve: Resolve | None = None,
        explain: Explain | None = None,
    ) -> IssuerGroup:
        """A provider profile's group: *resolve* admits issuers beyond *members*
        (whose identifiers *urls* describe), *explain* says why an ``iss`` is refused."""
        group = cls.__new__(cls)
        group._setup(
            tuple(members),
            keys=keys,
            claims_type=claims_type,
            urls=urls,
            resolve=resolve,
            explain=explain,
        )
        return group

    def _setup(
        self,
        members: tuple[Issuer, ...],
        *,
        keys: KeySource | None,
        claims_type: type[StandardClaims] | None,
        urls: Iterable[str] | None,
        resolve: Resolve | None,
        explain: Explain | None,
    ) -> None:
        by_url: dict[str, Issuer] = {}
        for member in members:
            if not isinstance(member, Issuer):
                raise ConfigurationError(
                    f"IssuerGroup members must be bearerguard.Issuer objects, got "
                    f"{type(member).__name__}"
                )
            if member.url in by_url:
                raise ConfigurationError(f"IssuerGroup: issuer {member.url!r} is given twice")
            by_url[member.url] = member
        if keys is None:
            keys = members[0].keys
            claims_type = members[0].claims_type
        if any(member.keys is not keys for member in members):
            raise ConfigurationError(
                "IssuerGroup members must share one key source (one provider's keys); "
                "give issuers with different keys to Verifier(issuers=[...]) one by one"
            )
        if any(member.claims_type is not claims_type for member in members):
            raise ConfigurationError(
                "IssuerGroup members must have the same claims_type: a group's tokens "
                "are returned as one claims class"
            )
        self._members = members
        self._by_url = by_url
        self._keys = keys
        self._claims_type = claims_type
        self._urls = tuple(by_url) if urls is None else tuple(urls)
        self._resolve = resolve
        self._explain = explain

    # -- inspection -------------------------------------------------------------

    @property
    def urls(self) -> tuple[str, ...]:
        """The ``iss`` values this group trusts (a multi-tenant Microsoft Entra ID
        group that accepts any tenant shows its ``{tenantid}`` templates)."""
        return self._urls

    @property
    def issuers(self) -> tuple[Issuer, ...]:
        """The member issuers (none for an Entra ID group accepting any tenant)."""
        return self._members

    @property
    def keys(self) -> KeySource:
        """The key source every member shares."""
        return self._keys

    @property
    def claims_type(self) -> type[StandardClaims] | None:
        """The claims class the group's tokens are returned as (``None``: not set here)."""
        return self._claims_type

    def __iter__(self) -> Iterator[Issuer]:
        return iter(self._members)

    def __len__(self) -> int:
        return len(self._members)

    def __repr__(self) -> str:
        return f"IssuerGroup({list(self._urls)!r})"

    def issuer_for(self, iss: str) -> Issuer | None:
        """The member that trusts tokens with this ``iss``, or ``None``."""
        member = self._by_url.get(iss)
        if member is None and self._resolve is not None:
            member = self._resolve(iss)
        return member

    def untrusted(self, iss: object) -> str:
        """The description of a refusal for a token with this (unverified) *iss*."""
        if type(iss) is str and self._explain is not None:
            reason = self._explain(iss)
            if reason is not None:
                return reason
        return UNTRUSTED

    # -- verification -----------------------------------------------------------

    def _member(self, token: str) -> Issuer:
        parts = parse(token, self._max_token_size())
        iss = parts[1].get("iss")
        member = self.issuer_for(iss) if type(iss) is str else None
        if member is None:
            raise IssuerMismatch(self.untrusted(iss))
        return member

    def _max_token_size(self) -> int:
        return max((m.max_token_size for m in self._members), default=DEFAULT_MAX_TOKEN_SIZE)

    def unsafe_verify(self, token: str) -> JWS:
        """:meth:`Issuer.unsafe_verify <bearerguard.Issuer.unsafe_verify>` with the member
        the token's ``iss`` names: form, signature and ``iss`` only."""
        return self._member(token).unsafe_verify(token)

    async def aunsafe_verify(self, token: str) -> JWS:
        """Async twin of :meth:`unsafe_verify`; key fetches never block the loop."""
        return await self._member(token).aunsafe_verify(token)

    @overload
    def verify_and_validate(
        self, token: str, claims_type: None = None, now: Now = None
    ) -> tuple[JWS, AccessClaims]: ...

    @overload
    def verify_and_validate(
        self, token: str, claims_type: type[C], now: Now = None
    ) -> tuple[JWS, C]: ...

    def verify_and_validate(
        self, token: str, claims_type: type[Any] | None = None, now: Now = None
    ) -> tuple[JWS, Any]:
        """:meth:`Issuer.verify_and_validate <bearerguard.Issuer.verify_and_validate>`
        with the member the token's ``iss`` names.

        The claims are returned as *claims_type* (default: the group's
        :attr:`claims_type`, else :class:`~bearerguard.claims.AccessClaims`).
        """
        return self._member(token).verify_and_validate(token, claims_type, now)

    @overload
    async def averify_and_validate(
        self, token: str, claims_type: None = None, now: Now = None
    ) -> tuple[JWS, AccessClaims]: ...

    @overload
    async def averify_and_validate(
        self, token: str, claims_type: type[C], now: Now = None
    ) -> tuple[JWS, C]: ...

    async def averify_and_validate(
        self, token: str, claims_type: type[Any] | None = None, now: Now = None
    ) -> tuple[JWS, Any]:
        """Async twin of :meth:`verify_and_validate`; key fetches never block the loop."""
        return await self._member(token).averify_and_validate(token, claims_type, now)


def members_of(item: object) -> tuple[Any, ...]:
    """The issuers an entry of ``issuers=`` stands for: a group's members, a
    tuple's items (how provider profiles were given before groups), or itself."""
    if isinstance(item, IssuerGroup):
        return item.issuers
    if isinstance(item, tuple):
        return item
    return (item,)


def explainer_of(item: object) -> Callable[[str], str | None] | None:
    """What says why an ``iss`` is refused for this ``issuers=`` entry, if anything."""
    if isinstance(item, IssuerGroup | ExplainedIssuer):
        return item._explain
    return None
