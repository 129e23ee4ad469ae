"""bearerguard: accept JWT bearer access tokens safely and fast.

The core (this package's top level) imports no web framework::

    from bearerguard import Issuer, Validator, AccessClaims

    issuer = Issuer.from_oidc("https://login.example.com",
                              validator=Validator(aud="api://orders"))
    jws, claims = issuer.verify_and_validate(token)

Framework adapters live in ``bearerguard.starlette``, ``bearerguard.flask``,
``bearerguard.wsgi`` and ``bearerguard.django``; the issuing toolkit in
``bearerguard.issuing``; the local test issuer in ``bearerguard.testing``.
"""

from __future__ import annotations

from ._discovery import DiscoveryResult, fetch_jwks, fetch_jwks_from_oauth2, fetch_jwks_from_oidc
from ._dpop import DPoPPolicy, DPoPRequest, MemoryReplayCache, RedisReplayCache, ReplayCache
from ._errors import (
    AlgorithmNotAllowed,
    BearerGuardDeprecationWarning,
    BearerGuardError,
    ConfigurationError,
    DiscoveryError,
    ExpiredToken,
    FetchError,
    InsufficientRole,
    InsufficientScope,
    InsufficientUserAuthentication,
    IntrospectionUnavailable,
    InvalidClaims,
    InvalidDPoPProof,
    InvalidKey,
    InvalidRequest,
    InvalidSignature,
    InvalidToken,
    IssuerMismatch,
    KeySetUnavailable,
    MalformedToken,
    MissingToken,
    RevocationUnavailable,
    TokenRevoked,
    TokenTooLarge,
    UnknownKey,
    UnsupportedToken,
    UseDPoPNonce,
)
from ._fetch import Fetcher, FetchResponse, RequestsFetcher
from ._introspection import Introspection
from ._issuer import Issuer
from ._jwk import PublicJWK, parse_jwks
from ._jws import JWS
from ._keysource import KeySource, StaticKeySet
from ._mtls import certificate_thumbprint
from ._refusals import Refusal
from ._revocation import Revocations
from ._settings import GuardSettings
from ._sources import ClaimSources
from ._validation import Validator, validate_standard_claims
from .claims import AccessClaims, StandardClaims, claim
from .keyset import KeySetEvent, KeySetPolicy, KeySetStatus, RemoteKeySet
from .verifier import Verifier, require_auth, require_roles, require_scopes

__version__ = "0.1.0"

__all__ = [
    "JWS",
    "AccessClaims",
    "AlgorithmNotAllowed",
    "BearerGuardDeprecationWarning",
    "BearerGuardError",
    "ClaimSources",
    "ConfigurationError",
    "DPoPPolicy",
    "DPoPRequest",
    "DiscoveryError",
    "DiscoveryResult",
    "ExpiredToken",
    "FetchError",
    "FetchResponse",
    "Fetcher",
    "GuardSettings",
    "InsufficientRole",
    "InsufficientScope",
    "InsufficientUserAuthentication",
    "Introspection",
    "IntrospectionUnavailable",
    "InvalidClaims",
    "InvalidDPoPProof",
    "InvalidKey",
    "InvalidRequest",
    "InvalidSignature",
    "InvalidToken",
    "Issuer",
    "IssuerMismatch",
    "KeySetEvent",
    "KeySetPolicy",
    "KeySetStatus",
    "KeySetUnavailable",
    "KeySource",
    "MalformedToken",
    "MemoryReplayCache",
    "MissingToken",
    "PublicJWK",
    "RedisReplayCache",
    "Refusal",
    "RemoteKeySet",
    "ReplayCache",
    "RequestsFetcher",
    "RevocationUnavailable",
    "Revocations",
    "StandardClaims",
    "StaticKeySet",
    "TokenRevoked",
    "TokenTooLarge",
    "UnknownKey",
    "UnsupportedToken",
    "UseDPoPNonce",
    "Validator",
    "Verifier",
    "certificate_thumbprint",
    "claim",
    "fetch_jwks",
    "fetch_jwks_from_oauth2",
    "fetch_jwks_from_oidc",
    "parse_jwks",
    "require_auth",
    "require_roles",
    "require_scopes",
    "validate_standard_claims",
]
