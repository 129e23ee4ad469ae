"""One object that verifies tokens from several trusted issuers; what adapters call.

:class:`Verifier` parses the token once, reads its *unverified* ``iss`` only to
pick which configured :class:`~bearerguard.issuer.Issuer` (and so which key set)
to use, then verifies the signature with that issuer's keys and validates the
claims with its :class:`~bearerguard.validation.Validator`. A token whose
``iss`` no configured issuer has is rejected before any key is looked up, so
it never causes a network call::

    verifier = Verifier([
        Issuer.from_oidc("https://login.example.com", validator=Validator(aud="api"), lazy=True),
        Issuer.from_oidc("https://partner.example.org", validator=Validator(aud="api"), lazy=True),
    ])
    claims = verifier.verify(token)            # sync code (threads)
    claims = await verifier.averify(token)     # asyncio code: never blocks the loop
    require_scopes(claims, "orders:read")      # InsufficientScope (403) when missing
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar, overload

from .claims import AccessClaims, StandardClaims
from .errors import ConfigurationError, InsufficientScope, IssuerMismatch
from .issuer import Issuer
from .jws import DecodedToken, decode
from .validation import Now, Validator, to_timestamp

__all__ = ["Verifier", "require_scopes"]

C = TypeVar("C", bound=StandardClaims)


class Verifier(Generic[C]):
    """Verify access tokens from any of *issuers*; returns typed claims.

    Every issuer needs a :class:`~bearerguard.validation.Validator` and a
    distinct :attr:`~bearerguard.issuer.Issuer.url` (checked here, at
    construction). *claims_type* is :class:`~bearerguard.claims.AccessClaims`
    or a subclass of it (or of :class:`~bearerguard.claims.StandardClaims`).

    :meth:`verify` is for synchronous code; :meth:`averify` is its asyncio
    twin, which waits for key fetches without blocking the event loop. Both
    raise the :class:`~bearerguard.errors.InvalidToken` family (401) for a bad
    token and :class:`~bearerguard.errors.KeySetUnavailable` (503) when the
    issuer's keys cannot be had. Immutable; share one across threads and tasks.
    """

    __slots__ = ("_claims_type", "_issuers", "_max_token_size", "_routes")

    @overload
    def __init__(self: Verifier[AccessClaims], issuers: Iterable[Issuer]) -> None: ...

    @overload
    def __init__(self, issuers: Iterable[Issuer], claims_type: type[C]) -> None: ...

    def __init__(self, issuers: Iterable[Issuer], claims_type: type[C] | None = None) -> None:
        if isinstance(issuers, Issuer):
            raise ConfigurationError("issuers must be a list of Issuer objects")
        issuers = tuple(issuers)
        if not issuers:
            raise ConfigurationError("a Verifier needs at least one Issuer")
        routes: dict[str, tuple[Issuer, Validator]] = {}
        for issuer in issuers:
            if not isinstance(issuer, Issuer):
                raise ConfigurationError("issuers must be bearerguard.Issuer objects")
            if issuer.validator is None:
                raise ConfigurationError(
                    f"{issuer!r} has no validator: pass validator=Validator(aud=...)"
                )
            if issuer.url in routes:
                raise ConfigurationError(f"issuer {issuer.url!r} is configured twice")
            routes[issuer.url] = (issuer, issuer.validator)
        chosen: type[StandardClaims] = AccessClaims if claims_type is None else claims_type
        if not (isinstance(chosen, type) and issubclass(chosen, StandardClaims)):
            raise ConfigurationError("claims_type must be a subclass of StandardClaims")
        self._issuers = issuers
        self._routes = routes
        self._claims_type: type[C] = chosen  # type: ignore[assignment]
        # Parse with the largest cap; each issuer's own cap is applied after routing.
        self._max_token_size = max(i.max_token_size for i in issuers)

    @property
    def issuers(self) -> tuple[Issuer, ...]:
        """The trusted issuers, in the order given."""
        return self._issuers

    @property
    def claims_type(self) -> type[C]:
        """The claims class :meth:`verify` returns."""
        return self._claims_type

    def __repr__(self) -> str:
        return f"Verifier({list(self._routes)!r})"

    def _route(self, token: str) -> tuple[DecodedToken, Issuer, Validator]:
        """Parse *token* once and pick its issuer by the unverified ``iss``.

        The unverified ``iss`` is trusted for nothing but this choice: the
        chosen issuer's keys must then verify the signature, and the verified
        ``iss`` is checked again against that issuer.
        """
        decoded = decode(token, max_size=self._max_token_size)
        iss = decoded.payload.get("iss")
        route = self._routes.get(iss) if type(iss) is str else None
        if route is None:
            raise IssuerMismatch("token iss is not a trusted issuer")
        return decoded, route[0], route[1]

    # A verified-token cache belongs at the top of verify/averify: look the
    # token up before _route and store (claims, exp, key-set generation) after
    # validate, so the hot path of a repeated token skips parsing and RSA.

    def verify(self, token: str, *, now: Now = None) -> C:
        """Verify *token* and validate its claims; return them as :attr:`claims_type`.

        *now* (a timezone-aware datetime or POSIX seconds) defaults to the
        current time. May wait (bounded by the key set's timeout) for a key
        fetch: call :meth:`averify` from async code instead.
        """
        ts = to_timestamp(now)
        decoded, issuer, validator = self._route(token)
        jws = issuer.verify_decoded(decoded, len(token))
        return Issuer.validate(jws, validator, self._claims_type, ts)

    async def averify(self, token: str, *, now: Now = None) -> C:
        """Async twin of :meth:`verify`: key fetches run off the event loop.

        If the awaiting task is cancelled, a key fetch it started carries on
        for the other callers.
        """
        ts = to_timestamp(now)
        decoded, issuer, validator = self._route(token)
        jws = await issuer.averify_decoded(decoded, len(token))
        return Issuer.validate(jws, validator, self._claims_type, ts)


def require_scopes(claims: StandardClaims, *scopes: str) -> None:
    """Raise :class:`~bearerguard.errors.InsufficientScope` unless *claims* grant every scope.

    *claims* must have a ``scopes`` set (as :class:`~bearerguard.claims.AccessClaims`
    has). The error lists the missing scopes; adapters answer 403 with
    ``error="insufficient_scope"`` and the required ``scope`` (RFC 6750 §3.1).
    """
    for scope in scopes:
        # RFC 6749 §3.3: a scope token is non-empty and has no spaces.
        if type(scope) is not str or not scope or " " in scope:
            raise ConfigurationError("each required scope must be one non-empty scope token")
    granted = getattr(claims, "scopes", None)
    if not isinstance(granted, frozenset | set):
        raise ConfigurationError(
            f"{type(claims).__name__} has no 'scopes' set; use AccessClaims or a subclass"
        )
    missing = [scope for scope in scopes if scope not in granted]
    if missing:
        raise InsufficientScope(scopes, missing)
