"""Claim validation policy: an ``ajwt``-style ``Validator``, fitted to access tokens.

Defaults (RFC 9068 §4, RFC 8725 §3.8–3.10): ``iss``, ``exp`` and ``aud`` are
required; ``sub``, ``iat`` and ``nbf`` are checked when present;
``auth_time``/``amr``/``nonce``/``azp``/``jti`` are checked when an expectation
is configured (``max_age``, ``required_amrs``, ``nonce``, ``azp``, ``jti``).
``required_claims`` and ``checks`` add the application's own policy. An
``ignore_*`` flag is the only way to skip a check, and a Validator that would
take an ID token for an access token (no ``aud``, and nothing else that tells
them apart) cannot be built::

    v = Validator(aud="api://orders")
    failures = v.validate(claims, now=time.time())   # [] when every check holds

    # Amazon Cognito: access tokens carry no aud, but token_use and client_id
    Validator(ignore_aud=True,
              required_claims={"token_use": "access", "client_id": {"app-1", "app-2"}})
"""

from __future__ import annotations

import math
import time
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError, InvalidClaims
from ._rules import seconds, strings
from ._sources import DEFAULT_CLAIM_SOURCES, ClaimSources

if TYPE_CHECKING:
    from .claims import StandardClaims

__all__ = [
    "ACCESS_TOKEN_CLAIMS",
    "DEFAULT_TYP",
    "ClaimCheck",
    "Validator",
    "check_claims",
    "normalize_typ",
    "to_timestamp",
    "validate_standard_claims",
]

DEFAULT_TYP = frozenset({"at+jwt", "jwt"})
MAX_LEEWAY = 300.0
# RFC 9068 §2.2: claims an access token in the JWT profile must carry.
RFC9068_REQUIRED = ("iss", "exp", "aud", "sub", "client_id", "iat", "jti")

Now = datetime | float | int | None

#: A check of the application's own: it gets the claims (of the claims type
#: in use) and returns its failures: ``None`` or an empty iterable when the
#: claims pass, one string or an iterable of strings (``"tid: tenant not
#: allowed"``) when they do not. Raising :class:`~bearerguard.InvalidClaims`
#: counts its ``failures``.
ClaimCheck = Callable[[Any], "str | Iterable[str] | None"]

#: Claims whose value tells an issuer's access tokens from its ID tokens, so
#: that a required value for one of them (``required_claims``) binds tokens to
#: an API that has no audience to check: ``token_use`` (Amazon Cognito:
#: ``access`` or ``id``), ``client_id`` (RFC 9068 §2.2; ID tokens carry none),
#: ``cid`` (Okta), ``appid`` (Microsoft Entra ID v1.0) and ``typ`` (Keycloak's
#: claim: ``Bearer`` or ``ID``). ``azp`` is not one: OpenID Connect ID tokens
#: carry it too (OpenID Connect Core §2).
ACCESS_TOKEN_CLAIMS = ("token_use", "client_id", "cid", "appid", "typ")

_FLAGS = (
    "ignore_iss",
    "ignore_sub",
    "ignore_aud",
    "ignore_exp",
    "ignore_jti",
    "ignore_iat",
    "ignore_auth_time",
    "ignore_nonce",
    "ignore_amr",
    "ignore_azp",
    "rfc9068",
    "require_typ",
    "allow_sender_constrained",
)


def to_timestamp(now: Now) -> float:
    """POSIX seconds from a timezone-aware datetime, a number, or ``None`` (current time)."""
    if now is None:
        return time.time()
    if isinstance(now, datetime):
        if now.tzinfo is None or now.utcoffset() is None:
            raise ConfigurationError("now must be a timezone-aware datetime (e.g. tz=UTC)")
        return now.timestamp()
    if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
        raise ConfigurationError("now must be a timezone-aware datetime or POSIX seconds")
    return float(now)


def normalize_typ(typ: str) -> str:
    """RFC 7515 §4.1.9: media types compare case-insensitively, ``application/`` optional."""
    typ = typ.lower()
    return typ[12:] if typ.startswith("application/") else typ


def _seconds(value: float | timedelta | None, name: str) -> float | None:
    if value is None:
        return None
    return seconds(value.total_seconds() if isinstance(value, timedelta) else value, name)


def _strings(value: str | Iterable[str] | None, name: str) -> tuple[str, ...]:
    return () if value is None else strings(value, name)


def _required(value: object) -> tuple[tuple[str, frozenset[str]], ...]:
    """``required_claims`` as ``(claim, accepted values)`` pairs, each checked."""
    if value is None:
        return ()
    if not isinstance(value, Mapping):
        raise ConfigurationError(
            "required_claims must map claim names to a value or a set of accepted values, "
            "e.g. {'token_use': 'access', 'client_id': {'app-1', 'app-2'}}"
        )
    pairs = []
    for name, accepted in value.items():
        if not isinstance(name, str) or not name:
            raise ConfigurationError("required_claims: claim names must be non-empty strings")
        values = strings(accepted, f"required_claims[{name!r}]", required=True)
        pairs.append((name, frozenset(values)))
    return tuple(pairs)


def _checks(value: object) -> tuple[ClaimCheck, ...]:
    if callable(value) or not isinstance(value, Iterable) or isinstance(value, str):
        raise ConfigurationError("checks must be a list of functions of the claims")
    checks = tuple(value)
    for check in checks:
        if not callable(check):
            raise ConfigurationError(f"checks: {check!r} is not a function of the claims")
    return checks


# What binds tokens to an API that has no audience to check (both messages say it).
_BINDINGS = (
    f"require a claim only its access tokens carry ({', '.join(ACCESS_TOKEN_CLAIMS)}), e.g. "
    "required_claims={'token_use': 'access', 'client_id': {'<app client id>'}} "
    "(Amazon Cognito), "
    "or set rfc9068=True when the provider marks access tokens typ at+jwt"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Validator:
    """What a token's claims must satisfy. Immutable; build once at start-up.

    ``aud`` may be one audience or several (any overlap with the token's
    ``aud`` passes). ``leeway`` (seconds, default 60) absorbs clock skew for
    ``exp``, ``nbf``, ``iat`` and ``auth_time``. ``allowed_typ`` lists the
    accepted header ``typ`` values (``None`` accepts any) and ``require_typ``
    refuses tokens without one; ``rfc9068=True`` is the strict access-token
    profile: ``typ`` must be ``at+jwt`` and the RFC 9068 claims must be present.
    Tokens with a ``cnf`` (confirmation) claim are bound to a key (DPoP, mTLS)
    and refused unless ``allow_sender_constrained=True`` (then checking the
    proof of possession is the caller's job).

    The application's own policy: ``required_claims`` maps claim names to
    the value a claim must have, or a set of accepted values
    (``{"token_use": "access", "client_id": {"app-1", "app-2"}}``; the claim
    must be a string). ``checks`` are functions of the claims (of the claims
    type in use) that return their failures: ``None`` or nothing when the
    claims pass, one string or several (``"tid: tenant not allowed"``) when
    they do not; raising :class:`~bearerguard.InvalidClaims` counts its
    ``failures``, and returning anything else is a
    :class:`~bearerguard.ConfigurationError`. Both are listed in
    ``InvalidClaims.failures`` after the built-in failures. A check runs when
    a token is verified; a repeated token served from a
    :class:`~bearerguard.Verifier`'s cache is not checked again, so a check
    should depend on the claims alone::

        def tenant_allowed(claims):
            if claims.raw.get("tid") not in TENANTS:
                return "tid: tenant not allowed"

        Validator(aud="api://orders", checks=[tenant_allowed])

    ``ignore_aud=True`` needs something else that binds tokens to this API,
    or construction fails, since the issuer's ID tokens would pass:
    ``rfc9068=True`` (or ``allowed_typ=["at+jwt"], require_typ=True``), or a
    required value for a claim that tells access tokens from ID tokens:
    ``token_use`` (Amazon Cognito), ``client_id`` (RFC 9068 §2.2), ``cid``
    (Okta), ``appid`` (Microsoft Entra ID v1.0) or ``typ`` (Keycloak's claim).
    ``azp`` is not one: OpenID Connect ID tokens carry it too.

    ``claim_sources`` says which claims fill ``scopes``, ``roles`` and
    ``client_id`` of :class:`~bearerguard.claims.AccessClaims` for this
    issuer (see :class:`~bearerguard.ClaimSources`).
    """

    ignore_iss: bool = False
    iss: str | None = None
    ignore_sub: bool = False
    sub: str | None = None
    ignore_aud: bool = False
    aud: str | Iterable[str] | None = None
    ignore_exp: bool = False
    ignore_jti: bool = False
    jti: str | None = None
    ignore_iat: bool = False
    ignore_auth_time: bool = False
    max_age: float | timedelta | None = None
    ignore_nonce: bool = False
    nonce: str | None = None
    ignore_amr: bool = False
    required_amrs: Iterable[str] = ()
    ignore_azp: bool = False
    azp: str | None = None
    leeway: float | timedelta = 60.0
    rfc9068: bool = False
    allowed_typ: Iterable[str] | None = DEFAULT_TYP
    require_typ: bool = False
    allow_sender_constrained: bool = False
    required_claims: Mapping[str, str | Iterable[str]] | None = field(default=None, hash=False)
    checks: Iterable[ClaimCheck] = ()
    claim_sources: ClaimSources = DEFAULT_CLAIM_SOURCES
    _aud: frozenset[str] = field(init=False, repr=False, compare=False)
    _required: tuple[tuple[str, frozenset[str]], ...] = field(init=False, repr=False, compare=False)
    _leeway: float = field(init=False, repr=False, compare=False)
    _max_age: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for flag in _FLAGS:
            # ignore_aud="false" is truthy: a switch that turns a check off must be a real bool.
            if type(getattr(self, flag)) is not bool:
                raise ConfigurationError(f"{flag} must be True or False")
        aud = _strings(self.aud, "aud")
        if not aud and not self.ignore_aud:
            raise ConfigurationError(
                "Validator needs aud= (the audience this API's tokens carry, e.g. "
                "'api://orders'); for a provider whose access tokens carry no aud, "
                "pass ignore_aud=True and " + _BINDINGS
            )
        object.__setattr__(self, "aud", aud[0] if len(aud) == 1 else aud)
        object.__setattr__(self, "_aud", frozenset(aud))
        object.__setattr__(self, "required_amrs", _strings(self.required_amrs, "required_amrs"))
        leeway = _seconds(self.leeway, "leeway")
        assert leeway is not None
        if leeway > MAX_LEEWAY:
            raise ConfigurationError(f"leeway must be at most {MAX_LEEWAY:.0f} seconds")
        object.__setattr__(self, "leeway", leeway)
        object.__setattr__(self, "_leeway", leeway)
        max_age = _seconds(self.max_age, "max_age")
        object.__setattr__(self, "max_age", max_age)
        object.__setattr__(self, "_max_age", max_age)
        for name in ("iss", "sub", "jti", "nonce", "azp"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigurationError(f"{name} must be a non-empty string")
        if self.rfc9068:
            object.__setattr__(self, "allowed_typ", frozenset({"at+jwt"}))
            object.__setattr__(self, "require_typ", True)
        elif self.allowed_typ is not None:
            # _strings, not tuple(): allowed_typ="JWT" means one type, not "J", "W", "T".
            typs = _strings(self.allowed_typ, "allowed_typ")
            object.__setattr__(self, "allowed_typ", frozenset(normalize_typ(t) for t in typs))
        required = _required(self.required_claims)
        object.__setattr__(self, "_required", required)
        object.__setattr__(
            self, "required_claims", types.MappingProxyType(dict(required)) if required else None
        )
        object.__setattr__(self, "checks", _checks(self.checks))
        if not isinstance(self.claim_sources, ClaimSources):
            raise ConfigurationError("claim_sources must be a bearerguard.ClaimSources")
        if self.ignore_aud and not self._binds_access_tokens():
            raise ConfigurationError(
                "ignore_aud=True alone would accept ID tokens (and tokens for other APIs) "
                "as access tokens: set aud= to the audience this API's tokens carry, or "
                "keep ignore_aud=True and " + _BINDINGS
            )

    def _binds_access_tokens(self) -> bool:
        """Whether a check other than ``aud`` tells this API's access tokens from ID tokens."""
        if self.require_typ and self.allowed_typ == frozenset({"at+jwt"}):
            return True  # RFC 9068 §2.1, §4: ID tokens are not typ at+jwt
        return any(name in ACCESS_TOKEN_CLAIMS for name, _ in self._required)

    @property
    def audiences(self) -> frozenset[str]:
        """The accepted audiences."""
        return self._aud

    def check_typ(self, typ: str | None) -> str | None:
        """The failure for a header ``typ`` under this policy, or ``None`` when it passes."""
        if typ is None:
            return "typ: header typ is required" if self.require_typ else None
        allowed = self.allowed_typ
        if allowed is not None and normalize_typ(typ) not in allowed:
            return "typ: token type is not accepted (wrong kind of token)"
        return None

    def validate(self, claims: StandardClaims, now: Now = None) -> list[str]:
        """Every failed check for *claims* at *now*; an empty list means valid.

        *now* is a timezone-aware datetime or POSIX seconds (default: the
        current time).
        """
        return validate_standard_claims(claims, self, now)


def validate_standard_claims(
    claims: StandardClaims, validator: Validator, now: Now = None
) -> list[str]:
    """Every failed check of *claims* against *validator* at *now* (empty: valid).

    *now* is a timezone-aware datetime or POSIX seconds (default: the current
    time).
    """
    return check_claims(claims, validator, to_timestamp(now))


def check_claims(claims: StandardClaims, validator: Validator, t: float) -> list[str]:
    """:func:`validate_standard_claims` at POSIX seconds *t* (already converted)."""
    v = validator
    leeway = v._leeway
    failures: list[str] = []

    if not v.ignore_iss:
        if claims.iss is None:
            failures.append("iss: required claim is missing")
        elif v.iss is not None and claims.iss != v.iss:
            failures.append("iss: token is from another issuer")
    if not v.ignore_sub:
        if claims.sub is not None and not claims.sub:
            failures.append("sub: must not be empty")
        elif v.sub is not None and claims.sub != v.sub:
            failures.append("sub: unexpected subject")
    if not v.ignore_aud:
        if not claims.aud:
            failures.append("aud: required claim is missing")
        elif v._aud.isdisjoint(claims.aud):
            failures.append("aud: token is not meant for this audience")
    if not v.ignore_exp:
        if claims.exp is None:
            failures.append("exp: required claim is missing")
        elif t >= claims.exp + leeway:
            failures.append("exp: token has expired")
    if claims.nbf is not None and t + leeway < claims.nbf:
        failures.append("nbf: token is not valid yet")
    if not v.ignore_iat and claims.iat is not None and claims.iat > t + leeway:
        failures.append("iat: token was issued in the future")
    if not v.ignore_jti and v.jti is not None and claims.jti != v.jti:
        failures.append("jti: unexpected token id")
    if not v.ignore_auth_time and v._max_age is not None:
        if claims.auth_time is None:
            failures.append("auth_time: required claim is missing (max_age is set)")
        elif claims.auth_time > t + leeway:
            # Ahead of the clock by more than the leeway, it would satisfy max_age for longer.
            failures.append("auth_time: authentication is in the future")
        elif t > claims.auth_time + v._max_age + leeway:
            failures.append("auth_time: authentication is older than max_age")
    if not v.ignore_nonce and v.nonce is not None and claims.nonce != v.nonce:
        failures.append("nonce: does not match")
    if not v.ignore_amr and v.required_amrs:
        missing = [m for m in v.required_amrs if m not in claims.amr]
        if missing:
            failures.append("amr: missing authentication methods " + " ".join(missing))
    if not v.ignore_azp and v.azp is not None and claims.azp != v.azp:
        failures.append("azp: unexpected authorized party")
    if not v.allow_sender_constrained and "cnf" in claims.raw:
        # RFC 9449 §7.2 / RFC 8705 §3: a token bound to a key (DPoP `jkt`, mTLS
        # `x5t#S256`) is only valid with proof of that key; accepting it as a plain
        # bearer token would let a thief replay it. Opt in only if you check the proof.
        failures.append("cnf: sender-constrained token presented as a bearer token")
    if v.rfc9068:
        raw = claims.raw
        absent = [name for name in RFC9068_REQUIRED if raw.get(name) is None]
        if absent:
            failures.append("rfc9068: missing required claims " + " ".join(absent))
    for name, accepted in v._required:
        value = claims.raw.get(name)
        if value is None:
            failures.append(f"{name}: required claim is missing")
        elif type(value) is not str or value not in accepted:
            failures.append(f"{name}: not an accepted value")
    for check in v.checks:
        failures += _check_failures(check, claims)
    return failures


def _check_failures(check: ClaimCheck, claims: StandardClaims) -> list[str]:
    """What one of the application's checks says of *claims*: its failures, in order."""
    try:
        result: object = check(claims)
    except InvalidClaims as error:
        return list(error.failures)
    if result is None:
        return []
    found: list[object]
    if isinstance(result, str):
        found = [result]
    elif isinstance(result, Iterable):
        found = list(result)
    else:
        found = [result]  # refused below
    failures: list[str] = []
    for failure in found:
        if not isinstance(failure, str) or not failure:
            got = "an empty string" if failure == "" else type(failure).__name__
            raise ConfigurationError(
                f"claim check {getattr(check, '__qualname__', check)!r} must return None, "
                f"a failure string or failure strings; got {got}"
            )
        failures.append(failure)
    return failures
