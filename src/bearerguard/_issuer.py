"""One trusted token issuer: its URL, its keys, and the validation policy.

The Python counterpart of the Go library ajwt's ``Issuer``::

    from bearerguard import Issuer, Validator

    issuer = Issuer.from_oidc("https://login.example.com",
                              validator=Validator(aud="api://orders"))
    jws, claims = issuer.verify_and_validate(token)    # AccessClaims by default

``unsafe_verify`` checks the token's form, signature and ``iss`` only ("unsafe"
because expiry and audience are not checked); ``verify_and_validate`` adds the
claim checks of the :class:`~bearerguard.Validator` and raises if any
of them fails.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from time import time as _time
from typing import Any, TypeVar, overload

from ._algorithms import ALGORITHMS, admitted_algorithms
from ._errors import (
    AlgorithmNotAllowed,
    ConfigurationError,
    ExpiredToken,
    InvalidClaims,
    InvalidSignature,
    IssuerMismatch,
    TokenTooLarge,
    UnknownKey,
)
from ._fetch import Fetcher
from ._jwk import PublicJWK
from ._jws import DEFAULT_MAX_TOKEN_SIZE, JWS, DecodedToken, Parts, decode, parse, verified_jws
from ._keysource import KeySource, StaticKeySet
from ._validation import Now, Validator, check_claims, to_timestamp
from .claims import AccessClaims, StandardClaims
from .keyset import KeySetEvent, KeySetPolicy, RemoteKeySet

__all__ = ["MAX_KIDLESS_CANDIDATES", "Issuer", "validated_claims"]

C = TypeVar("C", bound=StandardClaims)

# A token without `kid` is tried against at most this many compatible keys, so a
# kid-less token cannot make the server run one signature check per key in a
# large key set.
MAX_KIDLESS_CANDIDATES = 4


class Issuer:
    """A trusted issuer. Immutable after construction; share one per issuer.

    *keys* is a list of :class:`~bearerguard.PublicJWK` or a key source
    such as :class:`~bearerguard.keyset.RemoteKeySet`. *algorithms* is an
    allow-list of JWS algorithms (``None``: every asymmetric algorithm that fits
    the key); ``EdDSA`` in it also admits tokens labelled with its RFC 9864
    names ``Ed25519`` and ``Ed448``. *validator* is required for
    :meth:`verify_and_validate`. *claims_type* (a subclass of
    :class:`~bearerguard.claims.StandardClaims`) is the class
    :meth:`verify_and_validate` returns when not told otherwise, and the one a
    :class:`~bearerguard.Verifier` of this issuer returns (default
    :class:`~bearerguard.claims.AccessClaims`).
    """

    __slots__ = ("_algorithms", "_claims_type", "_keys", "_max_token_size", "_url", "_validator")

    def __init__(
        self,
        url: str,
        keys: Iterable[PublicJWK] | KeySource,
        validator: Validator | None = None,
        *,
        algorithms: Iterable[str] | None = None,
        max_token_size: int = DEFAULT_MAX_TOKEN_SIZE,
        claims_type: type[StandardClaims] | None = None,
    ) -> None:
        if not isinstance(url, str) or not url:
            raise ConfigurationError("issuer url must be a non-empty string")
        if validator is not None and not isinstance(validator, Validator):
            raise ConfigurationError("validator must be a bearerguard.Validator")
        if algorithms is not None:
            algs = frozenset([algorithms] if isinstance(algorithms, str) else algorithms)
            unknown = sorted(a for a in algs if a not in ALGORITHMS)
            if unknown or not algs:
                raise ConfigurationError(
                    f"algorithms must be chosen from {', '.join(ALGORITHMS)}; got {unknown or '[]'}"
                    " (none and HS* are never accepted)"
                )
            # "EdDSA" also admits its RFC 9864 names Ed25519 and Ed448.
            self._algorithms: frozenset[str] | None = admitted_algorithms(algs)
        else:
            self._algorithms = None
        if (
            isinstance(max_token_size, bool)
            or not isinstance(max_token_size, int)
            or max_token_size < 256
        ):
            raise ConfigurationError("max_token_size must be an integer of at least 256")
        if isinstance(keys, RemoteKeySet) and keys.issuer not in (None, url):
            # A key set discovered for one issuer must not vouch for another.
            raise ConfigurationError(
                f"key set was discovered for issuer {keys.issuer!r}, not {url!r}"
            )
        if claims_type is not None and not (
            isinstance(claims_type, type) and issubclass(claims_type, StandardClaims)
        ):
            raise ConfigurationError(
                "claims_type must be a subclass of bearerguard.AccessClaims (or StandardClaims), "
                f"e.g. claims_type=AccessClaims; got {claims_type!r}"
            )
        self._url = url
        self._validator = validator
        self._max_token_size = max_token_size
        self._claims_type = claims_type
        self._keys: KeySource = keys if isinstance(keys, KeySource) else StaticKeySet(keys)

    # -- construction from the network -----------------------------------------
    #
    # Each builds a RemoteKeySet (refreshed, rotation- and outage-proof). By
    # default the keys are fetched now, so a wrong URL or issuer fails at
    # start-up as the Go library ajwt's constructors do; lazy=True defers every network
    # call to the first token (framework adapters configured at import time).

    @classmethod
    def from_jwks_url(
        cls,
        jwks_uri: str,
        *,
        issuer: str,
        validator: Validator | None = None,
        algorithms: Iterable[str] | None = None,
        fetcher: Fetcher | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        require_https: bool | None = None,
        policy: KeySetPolicy | None = None,
        lazy: bool = False,
        on_event: Callable[[KeySetEvent], None] | None = None,
    ) -> Issuer:
        """An issuer whose keys come from the JWKS at *jwks_uri*; *issuer* is the expected ``iss``.

        *timeout*, *max_bytes* and *require_https*, when given, override the
        same fields of *policy*. Raises :class:`~bearerguard.FetchError`
        when eager (the default) and the keys cannot be fetched.
        """
        policy = _policy(policy, timeout, max_bytes, require_https)
        keys = RemoteKeySet(jwks_uri, policy=policy, fetcher=fetcher, on_event=on_event)
        return cls._with_remote(issuer, keys, validator, algorithms, lazy)

    @classmethod
    def from_oidc(
        cls,
        issuer: str,
        *,
        validator: Validator | None = None,
        algorithms: Iterable[str] | None = None,
        fetcher: Fetcher | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        require_https: bool | None = None,
        policy: KeySetPolicy | None = None,
        lazy: bool = False,
        on_event: Callable[[KeySetEvent], None] | None = None,
    ) -> Issuer:
        """An issuer found by OpenID Connect discovery.

        *issuer* is the issuer identifier exactly as the provider publishes
        it: the metadata document's ``issuer`` must equal it, so it becomes
        :attr:`url`. Eager (default): discovery and the first key fetch happen
        now and raise :class:`~bearerguard.DiscoveryError` /
        :class:`~bearerguard.FetchError`; ``lazy=True``: on first use.
        """
        policy = _policy(policy, timeout, max_bytes, require_https)
        keys = RemoteKeySet.from_oidc(issuer, policy=policy, fetcher=fetcher, on_event=on_event)
        return cls._with_remote(issuer, keys, validator, algorithms, lazy)

    @classmethod
    def from_oauth2(
        cls,
        issuer: str,
        *,
        validator: Validator | None = None,
        algorithms: Iterable[str] | None = None,
        fetcher: Fetcher | None = None,
        timeout: float | None = None,
        max_bytes: int | None = None,
        require_https: bool | None = None,
        policy: KeySetPolicy | None = None,
        lazy: bool = False,
        on_event: Callable[[KeySetEvent], None] | None = None,
    ) -> Issuer:
        """An issuer found by RFC 8414 metadata (see :meth:`from_oidc`)."""
        policy = _policy(policy, timeout, max_bytes, require_https)
        keys = RemoteKeySet.from_oauth2(issuer, policy=policy, fetcher=fetcher, on_event=on_event)
        return cls._with_remote(issuer, keys, validator, algorithms, lazy)

    @classmethod
    def _with_remote(
        cls,
        url: str,
        keys: RemoteKeySet,
        validator: Validator | None,
        algorithms: Iterable[str] | None,
        lazy: bool,
    ) -> Issuer:
        if not isinstance(lazy, bool):
            raise ConfigurationError("lazy must be True or False")
        issuer = cls(url, keys, validator, algorithms=algorithms)  # config errors first
        if not lazy:
            keys.refresh()
        return issuer

    # -- inspection -------------------------------------------------------------

    @property
    def url(self) -> str:
        """The issuer identifier; tokens must carry exactly this ``iss``."""
        return self._url

    @property
    def validator(self) -> Validator | None:
        """The claim policy, or ``None`` (then only :meth:`unsafe_verify` works)."""
        return self._validator

    @property
    def keys(self) -> KeySource:
        """The key source."""
        return self._keys

    @property
    def algorithms(self) -> frozenset[str] | None:
        """The algorithm allow-list (``None``: whatever fits the key)."""
        return self._algorithms

    @property
    def max_token_size(self) -> int:
        """The largest token accepted, in bytes."""
        return self._max_token_size

    @property
    def claims_type(self) -> type[StandardClaims] | None:
        """The claims class this issuer's tokens are returned as (``None``: not set here)."""
        return self._claims_type

    def __repr__(self) -> str:
        return f"Issuer({self._url!r})"

    # -- verification -----------------------------------------------------------
    #
    # Every path runs the same checks in the same order: parse (size cap, strict
    # form, header) -> this issuer's size cap and algorithm allow-list -> keys
    # for the kid -> signature -> iss -> claim types -> claim policy -> typ.
    # The fast paths below only avoid building objects nobody asked for.

    def decode(self, token: str) -> DecodedToken:
        """Strictly parse *token* without verifying it: the first of two steps.

        The result holds the token's parts, none of them trusted yet: ``header``
        and ``payload`` (the decoded JSON objects), ``signing_input``,
        ``signature``, ``alg`` and ``kid``. Read what you need to route the token
        (its unverified ``iss``, say), then pass it to :meth:`verify_decoded`.
        A malformed token, one over this issuer's size cap or one whose ``alg``
        is not allowed raises an :class:`~bearerguard.InvalidToken` subclass.
        """
        decoded = decode(token, max_size=self._max_token_size)
        self._check_decoded(decoded, len(token))
        return decoded

    def unsafe_verify(self, token: str) -> JWS:
        """Decode, verify the signature and check ``iss``. No time or audience checks."""
        parts = self._parse(token)
        return self._verified(parts, self._keys.get_keys(parts[5]))

    async def aunsafe_verify(self, token: str) -> JWS:
        """Async twin of :meth:`unsafe_verify`; key fetches never block the loop."""
        parts = self._parse(token)
        return self._verified(parts, await self._keys.aget_keys(parts[5]))

    def verify_decoded(self, decoded: DecodedToken, size: int) -> JWS:
        """:meth:`unsafe_verify` for a token already parsed by :meth:`decode`.

        *size* is the token's length; this issuer's size cap and algorithm
        allow-list are applied here, as :meth:`decode` would have.
        """
        self._check_decoded(decoded, size)
        return self.check_signature(decoded, self._keys.get_keys(decoded.kid))

    def check_signature(self, decoded: DecodedToken, keys: Sequence[PublicJWK]) -> JWS:
        """Verify *decoded* against *keys* (those the key source gave for its ``kid``)."""
        d = decoded
        return self._verified(
            (d.header, d.payload, d.signing_input, d.signature, d.alg, d.kid), keys
        )

    # Each verification is parse (-> _parse), keys for the kid (the one step
    # the sync and async paths do differently), then _verified.

    def _parse(self, token: str) -> Parts:
        parts = parse(token, self._max_token_size)
        self._check_alg(parts[4])
        return parts

    def _check_decoded(self, decoded: DecodedToken, size: int) -> None:
        if size > self._max_token_size:
            raise TokenTooLarge(f"token is larger than {self._max_token_size} bytes")
        self._check_alg(decoded.alg)

    def _check_alg(self, alg: str) -> None:
        if self._algorithms is not None and alg not in self._algorithms:
            raise AlgorithmNotAllowed(f"algorithm {alg!r} is not allowed for this issuer")

    def _verified(self, parts: Parts, keys: Sequence[PublicJWK]) -> JWS:
        """The JWS of *parts* once one of *keys* verifies its signature and its ``iss`` is ours."""
        header, payload, signing_input, signature, alg, kid = parts
        key = self.find_key(alg, kid, keys, signing_input, signature)
        if payload.get("iss") != self._url:
            raise IssuerMismatch("token iss does not match the issuer")
        return verified_jws(header, payload, signature, key)

    @staticmethod
    def find_key(
        alg: str,
        kid: str | None,
        keys: Sequence[PublicJWK],
        signing_input: bytes,
        signature: bytes,
    ) -> PublicJWK:
        """The key among *keys* whose *alg* signature over *signing_input* verifies.

        Only keys that allow *alg* are tried, at most four of them, in order,
        so a token without ``kid`` cannot cost one signature check per key.
        """
        tried = 0
        for key in keys:
            if alg in key._allowed:
                verify = key._verifiers.get(alg) or key.verifier(alg)
                if verify(signing_input, signature):
                    return key
                tried += 1
                if tried == MAX_KIDLESS_CANDIDATES:
                    break
        if not tried:
            if kid is not None and keys:
                # RFC 8725 §3.1: the algorithm must fit the key (no RSA-key/HMAC confusion).
                raise AlgorithmNotAllowed(f"algorithm {alg!r} does not fit the key with that kid")
            raise UnknownKey("no key of this issuer matches the token's kid and alg")
        raise InvalidSignature("signature verification failed")

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
        """Verify *token* and validate its claims; raise on any failure.

        Returns the verified :class:`~bearerguard.JWS` and the claims as
        *claims_type* (default: the issuer's :attr:`claims_type`, else
        :class:`~bearerguard.claims.AccessClaims`).
        Claim failures raise one :class:`~bearerguard.InvalidClaims`
        (or :class:`~bearerguard.ExpiredToken`) listing every failed check.
        """
        validator, ts = self._validation_at(now)
        parts = self._parse(token)
        jws = self._verified(parts, self._keys.get_keys(parts[5]))
        return jws, self._claims(parts, validator, claims_type or self._claims_type, ts)

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
        validator, ts = self._validation_at(now)
        parts = self._parse(token)
        jws = self._verified(parts, await self._keys.aget_keys(parts[5]))
        return jws, self._claims(parts, validator, claims_type or self._claims_type, ts)

    def _validation_at(self, now: Now) -> tuple[Validator, float]:
        """The validator (checked before the token) and the time to validate at."""
        if self._validator is None:
            raise ConfigurationError(
                f"Issuer({self._url!r}) has no validator: pass validator=Validator(aud=...) "
                "to use verify_and_validate, or call unsafe_verify and validate yourself"
            )
        return self._validator, _time() if now is None else to_timestamp(now)

    @staticmethod
    def _claims(
        parts: Parts, validator: Validator, claims_type: type[Any] | None, ts: float
    ) -> Any:
        # The payload dict itself, not the verified JWS's read-only view of it:
        # through the view, each of the claims builder's lookups is a method call.
        typ = parts[0].get("typ")
        return validated_claims(parts[1], typ, validator, claims_type or AccessClaims, ts)


def validated_claims(
    payload: Mapping[str, Any],
    typ: str | None,
    validator: Validator,
    claims_type: type[C],
    now: float,
) -> C:
    """*payload* of a verified token as *claims_type*, once *validator* passes it at *now*.

    Raises :class:`~bearerguard.InvalidClaims` (or
    :class:`~bearerguard.ExpiredToken`) listing every failed check,
    the header ``typ`` check included.
    """
    claims = claims_type.from_payload(payload, validator.claim_sources)
    failures = check_claims(claims, validator, now)
    typ_failure = validator.check_typ(typ)
    if typ_failure is not None:
        failures.append(typ_failure)
    if failures:
        # Only a passed exp is "expired"; a missing exp is plain invalid (nothing to renew).
        if any(f.startswith("exp: token has expired") for f in failures):
            raise ExpiredToken(failures)
        raise InvalidClaims(failures)
    return claims


def _policy(
    policy: KeySetPolicy | None,
    timeout: float | None,
    max_bytes: int | None,
    require_https: bool | None,
) -> KeySetPolicy:
    """*policy* (default :class:`KeySetPolicy`) with the legacy keyword overrides applied."""
    if policy is None:
        policy = KeySetPolicy()
    elif not isinstance(policy, KeySetPolicy):
        raise ConfigurationError("policy must be a KeySetPolicy")
    overrides: dict[str, Any] = {}
    if timeout is not None:
        overrides["timeout"] = timeout
    if max_bytes is not None:
        overrides["max_bytes"] = max_bytes
    if require_https is not None:
        overrides["require_https"] = require_https
    return dataclasses.replace(policy, **overrides) if overrides else policy
