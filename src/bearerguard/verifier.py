"""One object that verifies tokens from several trusted issuers; what adapters call.

:class:`Verifier` parses the token once, reads its *unverified* ``iss`` only to
pick which configured :class:`~bearerguard.Issuer` (and so which key set)
to use, then verifies the signature with that issuer's keys and validates the
claims with its :class:`~bearerguard.Validator`. A token whose
``iss`` no configured issuer has is rejected before any key is looked up, so
it never causes a network call::

    verifier = Verifier([
        Issuer.from_oidc("https://login.example.com", validator=Validator(aud="api"), lazy=True),
        Issuer.from_oidc("https://partner.example.org", validator=Validator(aud="api"), lazy=True),
    ])
    claims = verifier.verify(token)            # sync code (threads)
    claims = await verifier.averify(token)     # asyncio code: never blocks the loop
    require_scopes(claims, "orders:read")      # InsufficientScope (403) when missing
    require_roles(claims, "admin")             # InsufficientRole (403) when missing
    require_auth(claims, acr_values="mfa")     # InsufficientUserAuthentication (401)

A verified-token cache (``cache_size=``, default 10,000 entries; ``0`` turns it
off) remembers the claims of recently verified tokens, keyed by the exact token
string. A repeated token then skips parsing, the signature check and the claim
checks that cannot change, but never the ones that can: every hit re-checks
``exp``, ``nbf``, ``iat`` and ``max_age`` against the clock (with the
validator's leeway) and asks the issuer's key source whether the key that
verified the token is still in the set. An entry that fails either is dropped
and the token verified from scratch, so a hit never accepts a token that the
full path would refuse, and the error a refused token gets is the full path's.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import hmac
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from time import perf_counter
from time import time as _time
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ._confirmation import confirmation_failures
from ._dpop import (
    DPOP_MODES,
    DPoPPolicy,
    DPoPRequest,
    MemoryReplayCache,
    RedisReplayCache,
    Replay,
)
from ._errors import (
    AlgorithmNotAllowed,
    BearerGuardError,
    ConfigurationError,
    InsufficientRole,
    InsufficientScope,
    InvalidClaims,
    InvalidDPoPProof,
    InvalidToken,
    IssuerMismatch,
    MalformedToken,
    TokenTooLarge,
)
from ._introspection import Introspection
from ._issuer import Issuer, validated_claims
from ._issuer_group import UNTRUSTED, IssuerGroup, explainer_of, members_of
from ._jwk import PublicJWK
from ._jws import DEFAULT_MAX_TOKEN_SIZE, Parts, parse
from ._keysource import KeySource
from ._redis_link import RedisLink
from ._revocation import Revocations
from ._rules import role_names, scope_tokens
from ._step_up import DEFAULT_LEEWAY, AuthRequirement
from ._validation import Now, Validator, to_timestamp
from .claims import AccessClaims, StandardClaims
from .keyset import RemoteKeySet

if TYPE_CHECKING:
    import opentelemetry.metrics

    from ._introspector import Introspector
    from ._metrics import Metrics

__all__ = [
    "CacheInfo",
    "Verifier",
    "require_auth",
    "require_roles",
    "require_scopes",
]

C = TypeVar("C", bound=StandardClaims)

#: Entries the verified-token cache holds by default (``cache_size=0`` disables it).
DEFAULT_CACHE_SIZE = 10_000

# A hit: (claims, key source, key, kid, alg); it stands while the key is still
# among key_source.get_keys(kid).
_Hit = tuple[Any, KeySource, PublicJWK, "str | None", str]
# One cache entry: (deadline, not_before, leeway, hit). The hit is served at
# now < deadline and now + leeway >= not_before (see _time_window).
_Entry = tuple[float, float, float, _Hit]


@dataclass(frozen=True, slots=True, kw_only=True)
class CacheInfo:
    """Counters of a :class:`Verifier`'s verified-token cache.

    ``hits`` and ``misses`` are counted without a lock, so under heavy
    concurrency they are close, not exact; ``size`` is the number of entries.
    """

    hits: int
    misses: int
    size: int
    maxsize: int


class Verifier(Generic[C]):
    """Verify access tokens from any of *issuers*; returns typed claims.

    Every issuer needs a :class:`~bearerguard.Validator` and a
    distinct :attr:`~bearerguard.Issuer.url` (checked here, at
    construction); an item may also be an
    :class:`~bearerguard.providers.IssuerGroup`, as
    :func:`bearerguard.providers.google` returns (or a tuple of issuers).
    *claims_type* is :class:`~bearerguard.claims.AccessClaims` or a subclass
    of it (or of :class:`~bearerguard.claims.StandardClaims`); by default the
    one the issuers were built with (``claims_type=``), else
    :class:`~bearerguard.claims.AccessClaims`. Two different claims types
    (the issuers', or the issuers' and this one) are a
    :class:`~bearerguard.ConfigurationError`: a verifier returns one class.

    :meth:`verify` is for synchronous code; :meth:`averify` is its asyncio
    twin, which waits for key fetches without blocking the event loop. Both
    raise the :class:`~bearerguard.InvalidToken` family (401) for a bad
    token and :class:`~bearerguard.KeySetUnavailable` (503) when the
    issuer's keys cannot be had. Immutable; share one across threads and tasks.

    *meter_provider* (an OpenTelemetry ``MeterProvider``; the ``otel``
    extra) turns on metrics: verifications by outcome, error, issuer and
    algorithm, their latency, cache hits, and the fetches, failures,
    stale-served events and age of each issuer's
    :class:`~bearerguard.keyset.RemoteKeySet` (see the metrics guide).
    Without it, nothing imports ``opentelemetry``.

    *revocations* (a :class:`~bearerguard.Revocations`) checks every
    verified token against the deny list in Redis, cache hits included, and
    refuses a revoked one with :class:`~bearerguard.TokenRevoked` (401); the
    check is an in-memory lookup in a copy of the list at most
    ``staleness`` seconds old (see the revocation guide). With *redis_url*
    and no *revocations*, the deny list is checked with the defaults of
    :class:`~bearerguard.Revocations` over the verifier's own connection.

    *redis_url* (``redis://``, ``rediss://`` or ``unix://``; the ``redis``
    extra) shares state between the processes that verify tokens for the
    same issuers: each issuer's :class:`~bearerguard.keyset.RemoteKeySet`
    fetches once for the whole fleet and the others read its keys from
    Redis (see the guide to running several instances). Redis that is down
    or slow is worked around, never a reason to refuse a valid token.
    Without it, nothing is shared and nothing imports ``redis``.

    *mtls* turns on certificate-bound tokens (RFC 8705 §3): a token whose
    ``cnf`` has ``x5t#S256`` is accepted only when :meth:`verify` is given
    the TLS client certificate of that thumbprint (``client_certificate=``);
    without *mtls* such a token is refused. Every member of ``cnf`` must be
    satisfied by the request, or the token is refused (401 ``invalid_token``),
    unless its issuer's validator has ``allow_sender_constrained=True``.

    *introspection* (an :class:`~bearerguard.Introspection`) asks an
    authorization server about tokens this verifier cannot verify itself
    (RFC 7662): opaque tokens, or every token in its ``"always"`` mode. An
    active token's answer becomes :attr:`claims_type` claims checked by the
    same validator; ``active: false`` is :class:`~bearerguard.InvalidToken`
    (401), an endpoint that fails is
    :class:`~bearerguard.IntrospectionUnavailable` (503); the deny list of
    *revocations* applies to introspected tokens too. With it, *issuers* may
    be empty (every token is then introspected).
    """

    __slots__ = (
        "_cache",
        "_cache_lock",
        "_cache_size",
        "_claims_type",
        "_dpop",
        "_explainers",
        "_hits",
        "_introspector",
        "_issuers",
        "_local",
        "_max_token_size",
        "_metrics",
        "_misses",
        "_mtls",
        "_redis",
        "_resolvers",
        "_revocations",
        "_routes",
        "_unchecked_binding",
    )

    @overload
    def __init__(
        self: Verifier[AccessClaims],
        issuers: Iterable[Issuer | IssuerGroup | tuple[Issuer, ...]],
        claims_type: None = None,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        meter_provider: opentelemetry.metrics.MeterProvider | None = None,
        introspection: Introspection | None = None,
        revocations: Revocations | None = None,
        redis_url: str | None = None,
        mtls: bool = False,
        dpop: str = "off",
        dpop_policy: DPoPPolicy | None = None,
    ) -> None: ...

    @overload
    def __init__(
        self,
        issuers: Iterable[Issuer | IssuerGroup | tuple[Issuer, ...]],
        claims_type: type[C],
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        meter_provider: opentelemetry.metrics.MeterProvider | None = None,
        introspection: Introspection | None = None,
        revocations: Revocations | None = None,
        redis_url: str | None = None,
        mtls: bool = False,
        dpop: str = "off",
        dpop_policy: DPoPPolicy | None = None,
    ) -> None: ...

    def __init__(
        self,
        issuers: Iterable[Issuer | IssuerGroup | tuple[Issuer, ...]],
        claims_type: type[C] | None = None,
        *,
        cache_size: int = DEFAULT_CACHE_SIZE,
        meter_provider: opentelemetry.metrics.MeterProvider | None = None,
        introspection: Introspection | None = None,
        revocations: Revocations | None = None,
        redis_url: str | None = None,
        mtls: bool = False,
        dpop: str = "off",
        dpop_policy: DPoPPolicy | None = None,
    ) -> None:
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ConfigurationError("cache_size must be a non-negative integer (0: no cache)")
        if isinstance(issuers, Issuer | IssuerGroup):
            # A bare group would be read as its members, losing what it adds.
            raise ConfigurationError(
                "issuers must be a list of Issuer objects (a provider profile too: "
                "Verifier([providers.google(...)]))"
            )
        # A provider profile (bearerguard.providers) may be an IssuerGroup (or a tuple).
        items = list(issuers)
        flat: tuple[Issuer, ...] = tuple(member for item in items for member in members_of(item))
        # Groups that admit issuers beyond their members (Entra ID: any tenant).
        resolvers = tuple(i for i in items if isinstance(i, IssuerGroup) and i._resolve)
        if not flat and not resolvers and introspection is None:
            raise ConfigurationError("a Verifier needs at least one Issuer (or introspection=)")
        routes: dict[str, tuple[Issuer, Validator]] = {}
        for issuer in flat:
            if not isinstance(issuer, Issuer):
                raise ConfigurationError("issuers must be bearerguard.Issuer objects")
            if issuer.validator is None:
                raise ConfigurationError(
                    f"{issuer!r} has no validator: pass validator=Validator(aud=...)"
                )
            if issuer.url in routes:
                raise ConfigurationError(f"issuer {issuer.url!r} is configured twice")
            # cnf is the verifier's to check, per request (see _confirm).
            routes[issuer.url] = (issuer, _binding_checked_here(issuer.validator))
        chosen = _claims_type_of(claims_type, [*flat, *resolvers])
        self._issuers = flat
        self._resolvers = resolvers
        self._explainers = tuple(e for e in map(explainer_of, items) if e is not None)
        self._routes = routes
        if type(mtls) is not bool:
            raise ConfigurationError("mtls must be True or False")
        self._mtls = mtls
        if dpop not in DPOP_MODES:
            raise ConfigurationError("dpop must be 'off', 'allowed' or 'required'")
        if dpop_policy is not None and not isinstance(dpop_policy, DPoPPolicy):
            raise ConfigurationError("dpop_policy must be a bearerguard.DPoPPolicy")
        # None: DPoP off; else (required?, policy). RFC 9449 checks live in _dpop.
        self._dpop: tuple[bool, DPoPPolicy] | None = (
            None if dpop == "off" else (dpop == "required", dpop_policy or DPoPPolicy())
        )
        # allow_sender_constrained=True: the application checks the binding itself.
        self._unchecked_binding = frozenset(
            issuer.url
            for issuer, _ in routes.values()
            if issuer.validator is not None and issuer.validator.allow_sender_constrained
        )
        self._claims_type: type[C] = chosen  # type: ignore[assignment]
        # Parse with the largest cap; each issuer's own cap is applied after routing.
        self._max_token_size = max((i.max_token_size for i in flat), default=DEFAULT_MAX_TOKEN_SIZE)
        # An OrderedDict as LRU: get, move_to_end, pop and popitem are each one
        # C call on str keys, atomic under the GIL, so a hit takes no lock; the
        # lock only keeps inserts and evictions of concurrent misses in order.
        self._cache: OrderedDict[str, _Entry] | None = OrderedDict() if cache_size else None
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._metrics: Metrics | None = None
        if meter_provider is not None:
            if not callable(getattr(meter_provider, "get_meter", None)):
                raise ConfigurationError(
                    "meter_provider must be an OpenTelemetry MeterProvider "
                    "(pip install 'bearerguard[otel]')"
                )
            from ._metrics import Metrics

            # A group admitting issuers beyond its members reports its key set too.
            self._metrics = Metrics(meter_provider, [*flat, *resolvers])
        # One connection for everything shared through Redis (checked now, opened lazily).
        self._redis = RedisLink(redis_url) if redis_url is not None else None
        if self._redis is not None:
            # A group admitting issuers beyond its members has its own key set too.
            sources = [issuer.keys for issuer in flat] + [group.keys for group in resolvers]
            for keys in {id(source): source for source in sources}.values():
                if isinstance(keys, RemoteKeySet):
                    keys._share(self._redis)  # one JWKS fetch for the fleet
        if self._dpop is not None and self._redis is not None:
            required, policy = self._dpop
            if policy.replay_cache is None:  # redis_url=: proofs are remembered fleet-wide
                policy = dataclasses.replace(policy, replay_cache=RedisReplayCache(self._redis))
                self._dpop = (required, policy)
        if revocations is None and self._redis is not None:
            revocations = Revocations(self._redis)  # redis_url= alone: the defaults
        elif revocations is not None and not isinstance(revocations, Revocations):
            raise ConfigurationError("revocations must be a bearerguard.Revocations")
        self._revocations = revocations
        self._introspector: Introspector[C] | None = None
        self._local: Verifier[C] | None = None  # made on first use, see _local_verifier
        if introspection is not None:
            self._introspector = self._introspector_for(introspection)

    @property
    def issuers(self) -> tuple[Issuer, ...]:
        """The trusted issuers, in the order given."""
        return self._issuers

    @property
    def dpop(self) -> str:
        """The DPoP mode: ``"off"``, ``"allowed"`` or ``"required"`` (RFC 9449)."""
        if self._dpop is None:
            return "off"
        return "required" if self._dpop[0] else "allowed"

    @property
    def dpop_policy(self) -> DPoPPolicy | None:
        """How DPoP proofs are checked (``None`` when DPoP is off)."""
        return None if self._dpop is None else self._dpop[1]

    @property
    def mtls(self) -> bool:
        """Whether certificate-bound tokens are checked against the client certificate."""
        return self._mtls

    @property
    def redis_url(self) -> str | None:
        """The Redis this verifier shares state through (``None``: nothing is shared)."""
        return self._redis.url if self._redis is not None else None

    @property
    def revocations(self) -> Revocations | None:
        """The deny list every verification is checked against (``None``: none)."""
        return self._revocations

    @property
    def max_token_size(self) -> int:
        """The largest token any trusted issuer accepts (adapters cap headers with it)."""
        return self._max_token_size

    @property
    def claims_type(self) -> type[C]:
        """The claims class :meth:`verify` returns."""
        return self._claims_type

    def __repr__(self) -> str:
        return f"Verifier({list(self._routes)!r})"

    @property
    def cache_size(self) -> int:
        """The verified-token cache's capacity in entries (0: no cache)."""
        return self._cache_size

    def cache_info(self) -> CacheInfo:
        """Hits, misses and size of the verified-token cache."""
        if self._introspector is not None:  # with introspection=, JWTs are verified there
            return self._local_verifier().cache_info()
        size = len(self._cache) if self._cache is not None else 0
        return CacheInfo(hits=self._hits, misses=self._misses, size=size, maxsize=self._cache_size)

    def cache_clear(self) -> None:
        """Forget every cached token (the next use of each is verified in full).

        With ``introspection=``, the answers held in memory are forgotten too
        (not those in Redis).
        """
        if self._introspector is not None:
            self._introspector.cache_clear()
        if self._cache is not None:
            with self._cache_lock:
                self._cache.clear()

    # verify and averify differ only in how they ask the key source: the rest
    # is _cached (before a hit's key check) and _forget (after a failed one),
    # _route (before the full path's key lookup) and _finish (after it).

    def verify(
        self,
        token: str,
        *,
        now: Now = None,
        client_certificate: str | bytes | None = None,
        dpop: DPoPRequest | None = None,
    ) -> C:
        """Verify *token* and validate its claims; return them as :attr:`claims_type`.

        *now* (a timezone-aware datetime or POSIX seconds) defaults to the
        current time. May wait (bounded by the key set's timeout) for a key
        fetch: call :meth:`averify` from async code instead.

        *client_certificate* is the TLS client certificate the token came with
        (PEM or DER; ``None``: none), for tokens bound to one (RFC 8705 §3,
        ``cnf["x5t#S256"]``; the verifier needs ``mtls=True``). The binding is
        checked on every call, cached tokens included.

        *dpop* says the token came with ``Authorization: DPoP`` and carries
        the request's method, URL and ``DPoP`` header values (RFC 9449; the
        verifier needs ``dpop="allowed"`` or ``"required"``). The proof is
        checked on every call; a DPoP-bound token (``cnf.jkt``) without it is
        refused, and with ``dpop="required"`` so is every token without it.
        """
        if self._introspector is not None:
            return self._introspected(token, now, client_certificate, dpop)
        if self._metrics is not None:
            return self._measured_verify(token, now, self._metrics, client_certificate, dpop)
        t = _time() if now is None else to_timestamp(now)
        hit = self._cached(token, t)
        if hit is not None:
            claims, source, key, kid, _ = hit
            if key in source.get_keys(kid):
                self._hits += 1
                if self._revocations is not None:  # a hit is checked like a full verification
                    self._revocations.check(claims)
                # The binding is per request, so checked on hits too.
                if dpop is not None or self._dpop is not None or "cnf" in claims.raw:
                    self._record(self._confirm(claims, client_certificate, token, t, dpop))
                return claims  # type: ignore[no-any-return]
            self._forget(token)
        parts, issuer, validator = self._route(token)
        result = self._finish(token, t, parts, issuer, validator, issuer.keys.get_keys(parts[5]))
        if self._revocations is not None:
            self._revocations.check(result)
        if dpop is not None or self._dpop is not None or "cnf" in result.raw:
            self._record(self._confirm(result, client_certificate, token, t, dpop))
        return result

    async def averify(
        self,
        token: str,
        *,
        now: Now = None,
        client_certificate: str | bytes | None = None,
        dpop: DPoPRequest | None = None,
    ) -> C:
        """Async twin of :meth:`verify`: key fetches run off the event loop.

        If the awaiting task is cancelled, a key fetch it started carries on
        for the other callers.
        """
        if self._introspector is not None:
            return await self._aintrospected(token, now, client_certificate, dpop)
        if self._metrics is not None:
            return await self._measured_averify(token, now, self._metrics, client_certificate, dpop)
        t = _time() if now is None else to_timestamp(now)
        hit = self._cached(token, t)
        if hit is not None:
            claims, source, key, kid, _ = hit
            if key in await source.aget_keys(kid):
                self._hits += 1
                if self._revocations is not None:
                    await self._revocations.acheck(claims)
                if dpop is not None or self._dpop is not None or "cnf" in claims.raw:
                    await self._arecord(self._confirm(claims, client_certificate, token, t, dpop))
                return claims  # type: ignore[no-any-return]
            self._forget(token)
        parts, issuer, validator = self._route(token)
        keys = await issuer.keys.aget_keys(parts[5])
        result = self._finish(token, t, parts, issuer, validator, keys)
        if self._revocations is not None:
            await self._revocations.acheck(result)
        if dpop is not None or self._dpop is not None or "cnf" in result.raw:
            await self._arecord(self._confirm(result, client_certificate, token, t, dpop))
        return result

    # With introspection=: tokens this verifier cannot verify go to the endpoint.

    def _introspector_for(self, config: Introspection) -> Introspector[C]:
        from ._introspector import Introspector

        if not isinstance(config, Introspection):
            raise ConfigurationError("introspection must be a bearerguard.Introspection")
        route = self._routes.get(config.issuer)
        validator = config.validator or (route[0].validator if route is not None else None)
        if validator is None:
            raise ConfigurationError(
                f"Introspection(validator=...) is needed: no configured issuer is "
                f"{config.issuer!r}, whose validator would check introspected tokens"
            )
        return Introspector(
            config,
            # cnf in an answer is the verifier's to check, per request (see _confirm).
            validator=_binding_checked_here(validator),
            claims_type=self._claims_type,
            keys=route[0].keys if route is not None else None,
            redis=self._redis,
        )

    @property
    def introspection(self) -> Introspection | None:
        """The token introspection configuration (``None``: tokens are only verified locally)."""
        return self._introspector.config if self._introspector is not None else None

    def _local_verifier(self) -> Verifier[C]:
        """This verifier without introspection, sharing its cache, keys and settings.

        It verifies the JWTs of the configured issuers. Made on first use, from
        the finished verifier (two threads may each make one: they share all
        state but the hit counters).
        """
        local = self._local
        if local is None:
            local = copy.copy(self)
            local._introspector = None
            self._local = local
        return local

    def _is_local(self, token: str) -> bool:
        """Whether *token* is a JWT of a configured issuer (else it is introspected)."""
        if type(token) is not str or token.count(".") != 2:
            return False
        cache = self._cache
        if cache is not None and token in cache:  # verified here before: no second parse
            return True
        try:
            iss = parse(token, self._max_token_size)[1].get("iss")
        except InvalidToken:
            return False
        if type(iss) is not str:
            return False
        if iss in self._routes:
            return True
        try:  # a provider group may admit it (an Entra ID tenant)
            return bool(self._resolvers) and self._untrusted(iss) is not None
        except InvalidToken:
            return False

    def _introspected(
        self, token: str, now: Now, certificate: str | bytes | None, dpop: DPoPRequest | None
    ) -> C:
        intro = self._introspector
        assert intro is not None
        if self._is_local(token):
            claims = self._local_verifier().verify(
                token, now=now, client_certificate=certificate, dpop=dpop
            )
            if intro.mode == "always":  # the authorization server may have revoked it
                intro.introspect(token, _time() if now is None else to_timestamp(now))
            return claims
        self._check_opaque(token)
        t = _time() if now is None else to_timestamp(now)
        claims = intro.introspect(token, t)
        if self._revocations is not None:  # the deny list covers introspected tokens too
            self._revocations.check(claims)
        # RFC 9449 §6.2, RFC 8705 §3.2: an answer's cnf binds the token as a JWT's does.
        if dpop is not None or self._dpop is not None or "cnf" in claims.raw:
            self._record(self._confirm(claims, certificate, token, t, dpop))
        return claims

    async def _aintrospected(
        self, token: str, now: Now, certificate: str | bytes | None, dpop: DPoPRequest | None
    ) -> C:
        intro = self._introspector
        assert intro is not None
        if self._is_local(token):
            claims = await self._local_verifier().averify(
                token, now=now, client_certificate=certificate, dpop=dpop
            )
            if intro.mode == "always":
                await intro.aintrospect(token, _time() if now is None else to_timestamp(now))
            return claims
        self._check_opaque(token)
        t = _time() if now is None else to_timestamp(now)
        claims = await intro.aintrospect(token, t)
        if self._revocations is not None:
            await self._revocations.acheck(claims)
        if dpop is not None or self._dpop is not None or "cnf" in claims.raw:
            await self._arecord(self._confirm(claims, certificate, token, t, dpop))
        return claims

    def _check_opaque(self, token: str) -> None:
        """What the verifier checks of a token before introspecting it: its type and size."""
        if type(token) is not str:
            raise MalformedToken("token must be a string")
        if len(token) > self._max_token_size:
            raise TokenTooLarge(f"token is larger than {self._max_token_size} bytes")

    # With meter_provider=: the same steps as verify/averify, timed and counted.

    def _measured_verify(
        self,
        token: str,
        now: Now,
        metrics: Metrics,
        certificate: str | bytes | None,
        dpop: DPoPRequest | None,
    ) -> C:
        start = perf_counter()
        route: tuple[str, str] | None = None
        try:
            t = _time() if now is None else to_timestamp(now)
            hit = self._cached(token, t)
            if hit is not None:
                claims, source, key, kid, alg = hit
                if key in source.get_keys(kid):
                    self._hits += 1
                    if self._revocations is not None:
                        self._revocations.check(claims)
                    if dpop is not None or self._dpop is not None or "cnf" in claims.raw:
                        self._record(self._confirm(claims, certificate, token, t, dpop))
                    metrics.verified(start, claims.iss, alg, cached=True)
                    return claims  # type: ignore[no-any-return]
                self._forget(token)
            parts, issuer, validator = self._route(token)
            route = (self._label(issuer), parts[4])
            result = self._finish(
                token, t, parts, issuer, validator, issuer.keys.get_keys(parts[5])
            )
            if self._revocations is not None:
                self._revocations.check(result)
            if dpop is not None or self._dpop is not None or "cnf" in result.raw:
                self._record(self._confirm(result, certificate, token, t, dpop))
        except BearerGuardError as exc:
            metrics.refused(start, exc, route)
            raise
        metrics.verified(start, route[0], route[1], cached=False)
        return result

    async def _measured_averify(
        self,
        token: str,
        now: Now,
        metrics: Metrics,
        certificate: str | bytes | None,
        dpop: DPoPRequest | None,
    ) -> C:
        start = perf_counter()
        route: tuple[str, str] | None = None
        try:
            t = _time() if now is None else to_timestamp(now)
            hit = self._cached(token, t)
            if hit is not None:
                claims, source, key, kid, alg = hit
                if key in await source.aget_keys(kid):
                    self._hits += 1
                    if self._revocations is not None:
                        await self._revocations.acheck(claims)
                    if dpop is not None or self._dpop is not None or "cnf" in claims.raw:
                        await self._arecord(self._confirm(claims, certificate, token, t, dpop))
                    metrics.verified(start, claims.iss, alg, cached=True)
                    return claims  # type: ignore[no-any-return]
                self._forget(token)
            parts, issuer, validator = self._route(token)
            route = (self._label(issuer), parts[4])
            keys = await issuer.keys.aget_keys(parts[5])
            result = self._finish(token, t, parts, issuer, validator, keys)
            if self._revocations is not None:
                await self._revocations.acheck(result)
            if dpop is not None or self._dpop is not None or "cnf" in result.raw:
                await self._arecord(self._confirm(result, certificate, token, t, dpop))
        except BearerGuardError as exc:
            metrics.refused(start, exc, route)
            raise
        metrics.verified(start, route[0], route[1], cached=False)
        return result

    def _confirm(
        self,
        claims: StandardClaims,
        certificate: str | bytes | None,
        token: str = "",
        t: float = 0.0,
        dpop: DPoPRequest | None = None,
    ) -> Replay | None:
        """Refuse *claims* unless the request satisfies every member of their ``cnf``.

        RFC 7800 §3.1: ``cnf`` binds the token to a key; a thief without the
        key must not use it, so each member must be proved by the request
        (``x5t#S256``: the TLS client certificate, RFC 8705 §3) and a member
        bearerguard cannot check refuses the token. Runs on every request,
        cache hits included: the token is cached, the proof is not.

        ``jkt`` (RFC 9449 §6.1) is proved by the request's DPoP proof
        (*dpop*), checked here; the proof's replay key is returned for the
        caller to record once everything else passed (``None``: no proof).
        """
        jkt, replay = self._dpop_proof(claims, token, t, dpop)
        cnf = claims.raw.get("cnf")
        if jkt is not None and not hmac.compare_digest(claims.raw["cnf"]["jkt"], jkt):
            # Checked whatever the validator says: with DPoP on, bearerguard checks proofs.
            raise InvalidToken("DPoP proof key does not match the token's cnf.jkt")
        if cnf is None or claims.iss in self._unchecked_binding:
            return replay
        if self._dpop is not None and type(cnf) is dict and "jkt" in cnf:
            if jkt is None:
                # RFC 9449 §7.2: a DPoP-bound token presented as a bearer token.
                raise InvalidToken("DPoP-bound token presented without a DPoP proof")
            cnf = {name: value for name, value in cnf.items() if name != "jkt"}
            if not cnf:
                return replay
        failures = confirmation_failures(
            cnf, mtls=self._mtls, client_certificate=certificate, dpop=self._dpop is not None
        )
        if failures:
            raise InvalidClaims(failures)
        return replay

    def _dpop_proof(
        self, claims: StandardClaims, token: str, t: float, dpop: DPoPRequest | None
    ) -> tuple[str | None, Replay | None]:
        """``(jkt, replay entry)`` of the request's DPoP proof, ``(None, None)`` without one."""
        if self._dpop is None:
            if dpop is not None:
                raise InvalidToken("DPoP is not accepted here (the verifier has dpop='off')")
            return None, None
        required, policy = self._dpop
        if dpop is None:
            if required:
                raise InvalidToken("token must be presented with the DPoP scheme and a proof")
            return None, None
        jkt, replay = policy.check_proof(
            dpop.proofs, method=dpop.method, url=dpop.url, access_token=token, now=t
        )
        cnf = claims.raw.get("cnf")
        bound = cnf.get("jkt") if type(cnf) is dict else None
        if type(bound) is not str or not bound.isascii():  # compare_digest needs ASCII
            raise InvalidToken("token is not DPoP-bound (no cnf.jkt) but was sent as DPoP")
        return jkt, replay

    def _record(self, replay: Replay | None) -> None:
        """Record a DPoP proof as used; refuse it if it was used before (RFC 9449 §11.1)."""
        if replay is not None:
            policy = self._dpop[1]  # type: ignore[index]
            if not policy.cache.first_use(replay.key, replay.ttl):
                raise InvalidDPoPProof("DPoP proof has been used before (jti replay)")

    async def _arecord(self, replay: Replay | None) -> None:
        """:meth:`_record` off the event loop unless the cache is in memory."""
        if replay is not None:
            policy = self._dpop[1]  # type: ignore[index]
            cache = policy.cache
            if isinstance(cache, MemoryReplayCache):
                used = cache.first_use(replay.key, replay.ttl)
            else:
                used = await asyncio.to_thread(cache.first_use, replay.key, replay.ttl)
            if not used:
                raise InvalidDPoPProof("DPoP proof has been used before (jti replay)")

    def _cached(self, token: str, t: float) -> _Hit | None:
        """The cached result for *token* if its time window holds at *t*, else ``None``.

        The caller then asks the entry's key source whether its key is still
        in the set: a hit if so, :meth:`_forget` if not.
        """
        cache = self._cache
        if cache is None or type(token) is not str:
            return None
        entry = cache.get(token)
        if entry is not None:
            deadline, not_before, leeway, hit = entry
            if t < deadline and t + leeway >= not_before:
                # Most recently used now; dropped by _forget if its key check fails.
                try:  # noqa: SIM105 (a with-block costs more than the rest of a hit)
                    cache.move_to_end(token)
                except KeyError:  # evicted by another thread since the lookup
                    pass
                return hit
            cache.pop(token, None)
        self._misses += 1
        return None

    def _forget(self, token: str) -> None:
        """The cached token's key has left its set: verify it from scratch."""
        if self._cache is not None:
            self._cache.pop(token, None)
        self._misses += 1

    def _route(self, token: str) -> tuple[Parts, Issuer, Validator]:
        """Parse *token* once and pick its issuer by the unverified ``iss``.

        The unverified ``iss`` is trusted for nothing but this choice: the
        chosen issuer's size cap and algorithm allow-list apply next, its keys
        must then verify the signature, and the verified ``iss`` is checked
        again against that issuer (in :meth:`_finish`), in the order of
        :meth:`Issuer.unsafe_verify <bearerguard._issuer.Issuer.unsafe_verify>`.
        """
        parts = parse(token, self._max_token_size)
        iss = parts[1].get("iss")
        route = self._routes.get(iss) if type(iss) is str else None
        if route is None:
            route = self._untrusted(iss)
        issuer, validator = route
        if len(token) > issuer.max_token_size:
            raise TokenTooLarge(f"token is larger than {issuer.max_token_size} bytes")
        allowed = issuer.algorithms
        alg = parts[4]
        if allowed is not None and alg not in allowed:
            raise AlgorithmNotAllowed(f"algorithm {alg!r} is not allowed for this issuer")
        return parts, issuer, validator

    def _label(self, issuer: Issuer) -> str:
        """*issuer*'s URL as a metrics attribute; for an issuer a group admitted beyond
        its members (Entra ID, any tenant), the group's ``{tenantid}`` template, so
        tokens naming made-up tenants cannot multiply the metric series."""
        if issuer.url in self._routes:
            return issuer.url
        for group in self._resolvers:
            if issuer.keys is group.keys:
                return " ".join(group.urls)
        return issuer.url

    def _untrusted(self, iss: object) -> tuple[Issuer, Validator]:
        """An ``iss`` no configured issuer has: a group's issuer for it, or the refusal.

        Only a group that admits issuers beyond its members (an Entra ID
        profile accepting any tenant) can take it; otherwise the refusal says
        why when a provider profile knows (a tenant not allowed, another
        authorization server), with no network call.
        """
        if type(iss) is str:
            for group in self._resolvers:
                issuer = group.issuer_for(iss)
                if issuer is not None and issuer.validator is not None:
                    return issuer, issuer.validator
            for explain in self._explainers:
                reason = explain(iss)
                if reason is not None:
                    raise IssuerMismatch(reason)
        raise IssuerMismatch(UNTRUSTED)

    def _finish(
        self,
        token: str,
        t: float,
        parts: Parts,
        issuer: Issuer,
        validator: Validator,
        keys: Sequence[PublicJWK],
    ) -> C:
        """Verify the signature with *keys*, check the verified ``iss``, validate, remember."""
        header, payload, signing_input, signature, alg, kid = parts
        key = Issuer.find_key(alg, kid, keys, signing_input, signature)
        if payload.get("iss") != issuer.url:
            raise IssuerMismatch("token iss does not match the issuer")
        claims = validated_claims(payload, header.get("typ"), validator, self._claims_type, t)
        cache = self._cache
        if cache is not None:
            deadline, not_before = _time_window(claims, validator)
            entry = (deadline, not_before, validator._leeway, (claims, issuer.keys, key, kid, alg))
            with self._cache_lock:
                cache[token] = entry
                while len(cache) > self._cache_size:
                    cache.popitem(last=False)
        return claims


def _binding_checked_here(validator: Validator) -> Validator:
    """*validator* without its ``cnf`` refusal: the verifier checks ``cnf`` per request."""
    if validator.allow_sender_constrained:
        return validator
    return dataclasses.replace(validator, allow_sender_constrained=True)


def _claims_type_of(
    given: type[StandardClaims] | None, issuers: Sequence[Issuer | IssuerGroup]
) -> type[StandardClaims]:
    """The claims class a verifier returns: *given*, else the one the issuers name.

    Two different ones are a start-up error rather than one silently winning.
    """
    if given is not None and not (isinstance(given, type) and issubclass(given, StandardClaims)):
        raise ConfigurationError(
            "claims_type must be a subclass of bearerguard.AccessClaims (or StandardClaims), "
            f"e.g. claims_type=AccessClaims; got {given!r}"
        )
    named: dict[type[StandardClaims], str] = {}
    for issuer in issuers:
        if issuer.claims_type is not None:
            url = issuer.url if isinstance(issuer, Issuer) else issuer.urls[0]
            named.setdefault(issuer.claims_type, url)
    chosen = given or (next(iter(named)) if len(named) == 1 else AccessClaims)
    if given is None and len(named) > 1:
        listed = ", ".join(f"{url!r} claims_type={t.__qualname__}" for t, url in named.items())
        raise ConfigurationError(
            f"the issuers were built with different claims types ({listed}); a verifier "
            "returns one claims class: give every issuer the same claims_type="
        )
    for claims_type, url in named.items():
        if claims_type is not chosen:
            raise ConfigurationError(
                f"claims_type conflict: {chosen.__qualname__} was given to the verifier (or the "
                f"adapter's claims_type setting) but issuer {url!r} was built with "
                f"claims_type={claims_type.__qualname__}; set it in one place"
            )
    return chosen


def _time_window(claims: StandardClaims, validator: Validator) -> tuple[float, float]:
    """``(deadline, not_before)``: a cached token is valid at *t* iff
    ``t < deadline and t + leeway >= not_before``.

    Exactly the time checks of :func:`~bearerguard._validation.check_claims`,
    computed with the same expressions: ``exp`` (``t >= exp + leeway`` fails),
    ``max_age`` (``t > auth_time + max_age + leeway`` fails; the next float up
    turns that ``>`` into the deadline's ``<``), ``nbf``, ``iat`` and, with
    ``max_age``, ``auth_time`` (``t + leeway < nbf``, ``iat > t + leeway`` and
    ``auth_time > t + leeway`` fail). Checks the validator skips leave their
    bound open.
    """
    v = validator
    leeway = v._leeway
    deadline = math.inf
    if not v.ignore_exp and claims.exp is not None:
        deadline = claims.exp + leeway
    not_before = -math.inf
    if not v.ignore_auth_time and v._max_age is not None and claims.auth_time is not None:
        deadline = min(deadline, math.nextafter(claims.auth_time + v._max_age + leeway, math.inf))
        not_before = claims.auth_time
    if claims.nbf is not None:
        not_before = max(not_before, claims.nbf)
    if not v.ignore_iat and claims.iat is not None:
        not_before = max(not_before, claims.iat)
    return deadline, not_before


# Required scopes come from code (decorators, views), so a few tuples recur on
# every request: each is checked against the scope grammar once, not per call.
_CHECKED_SCOPES: set[tuple[str, ...]] = set()
_MAX_CHECKED_SCOPES = 1024


def require_scopes(claims: StandardClaims, *scopes: str) -> None:
    """Raise :class:`~bearerguard.InsufficientScope` unless *claims* grant every scope.

    *claims* must have a ``scopes`` set (as :class:`~bearerguard.claims.AccessClaims`
    has). The error lists the missing scopes; adapters answer 403 with
    ``error="insufficient_scope"`` and the required ``scope`` (RFC 6750 §3.1).
    """
    try:
        checked = scopes in _CHECKED_SCOPES
    except TypeError:  # an unhashable "scope": scope_tokens says what is wrong
        checked = False
    if not checked:
        scope_tokens(scopes, "require_scopes")  # RFC 6749 §3.3; raises, naming the scope
        if len(_CHECKED_SCOPES) < _MAX_CHECKED_SCOPES:
            _CHECKED_SCOPES.add(scopes)
    granted = getattr(claims, "scopes", None)
    if not isinstance(granted, frozenset | set):
        raise ConfigurationError(
            f"{type(claims).__name__} has no 'scopes' set; use AccessClaims or a subclass"
        )
    missing = [scope for scope in scopes if scope not in granted]
    if missing:
        raise InsufficientScope(scopes, missing)


def require_roles(claims: StandardClaims, *roles: str) -> None:
    """Raise :class:`~bearerguard.InsufficientRole` unless *claims* hold every role.

    *claims* must have a ``roles`` set (as :class:`~bearerguard.claims.AccessClaims`
    has, filled from the issuer's :class:`~bearerguard.ClaimSources`). At
    least one role is required. Adapters answer a missing role with 403
    ``error="insufficient_scope"`` (RFC 6750 §3.1 has no code for roles) and
    no ``scope`` attribute; the description names the missing roles.
    """
    required = role_names(roles, "require_roles")
    granted = getattr(claims, "roles", None)
    if not isinstance(granted, frozenset | set):
        raise ConfigurationError(
            f"{type(claims).__name__} has no 'roles' set; use AccessClaims or a subclass"
        )
    missing = [role for role in required if role not in granted]
    if missing:
        raise InsufficientRole(required, missing)


def require_auth(
    claims: StandardClaims,
    *,
    acr_values: str | Iterable[str] | None = None,
    max_age: int | None = None,
    leeway: float = DEFAULT_LEEWAY,
    now: Now = None,
) -> None:
    """Raise :class:`~bearerguard.InsufficientUserAuthentication` unless the user's
    authentication is strong and recent enough (RFC 9470).

    *acr_values*: the token's ``acr`` must be one of them (one value, or
    several in order of preference). *max_age*: the token's ``auth_time``
    must be at most that many whole seconds before *now*, give or take
    *leeway* seconds of clock skew (default 60, the
    :class:`~bearerguard.Validator`'s default; ``0`` for none): it fails when
    ``auth_time + max_age + leeway < now``. A token without the claim a
    requirement needs fails it too. At least one of *acr_values* and
    *max_age*; a wrong one is a :class:`~bearerguard.ConfigurationError`.
    Adapters answer 401 ``insufficient_user_authentication`` with the
    required ``acr_values`` and ``max_age`` in the challenge::

        require_auth(claims, acr_values=["phr", "phrh"], max_age=300)
    """
    AuthRequirement.of(acr_values, max_age, leeway, "require_auth").check(claims, now)
