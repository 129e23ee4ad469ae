"""The public API, pinned: every public module and the exact names it exports.

A change here is a change to what users may import, so it is always deliberate:
add a name to the table together with its docs and a CHANGELOG line; remove or
rename one only after a release that warned about it
(:class:`bearerguard.BearerGuardDeprecationWarning`).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest

import bearerguard

PUBLIC: dict[str, list[str]] = {
    "bearerguard": [
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
        "JWS",
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
    ],
    "bearerguard.claims": [
        "AccessClaims",
        "ClaimSources",
        "StandardClaims",
        "claim",
    ],
    "bearerguard.keyset": [
        "EventKind",
        "KeySetEvent",
        "KeySetPolicy",
        "KeySetStatus",
        "RemoteKeySet",
    ],
    "bearerguard.providers": [
        "ANY_TENANT",
        "IssuerGroup",
        "auth0",
        "cognito",
        "entra",
        "google",
        "keycloak",
        "okta",
    ],
    "bearerguard.verifier": [
        "CacheInfo",
        "Verifier",
        "require_auth",
        "require_roles",
        "require_scopes",
    ],
    "bearerguard.starlette": [
        "JWTAuth",
        "OpenAPIScheme",
        "TokenUser",
        "require_auth",
        "require_roles",
        "require_scopes",
        "require_token",
    ],
    "bearerguard.flask": [
        "BearerGuard",
        "current_claims",
        "require_auth",
        "require_roles",
        "require_scopes",
        "require_token",
    ],
    "bearerguard.wsgi": [
        "BearerAuthMiddleware",
        "CLAIMS_KEY",
        "require_auth",
        "require_roles",
        "require_scopes",
        "require_token",
    ],
    "bearerguard.django": [
        "BearerTokenBackend",
        "BearerTokenMiddleware",
        "TokenUser",
        "claims_of",
        "require_auth",
        "require_roles",
        "require_scopes",
        "require_token",
    ],
    "bearerguard.django.rest_framework": [
        "BearerTokenAuthentication",
        "BearerTokenError",
        "HasRoles",
        "HasScopes",
        "RequireAuth",
        "RequireRoles",
        "RequireScopes",
        "exception_handler",
    ],
    "bearerguard.issuing": [
        "AccessToken",
        "AccessTokenClaims",
        "Client",
        "InMemoryRefreshStore",
        "InvalidGrant",
        "InvalidScope",
        "KeyPair",
        "KeyPairSigner",
        "KeyRing",
        "KeyState",
        "RedisRefreshStore",
        "RefreshStore",
        "RefreshStoreFull",
        "RefreshTokenClaims",
        "RefreshTokenReused",
        "RotationPolicy",
        "TokenEndpoint",
        "TokenEndpointApp",
        "TokenIssuer",
        "TokenRequestError",
        "TokenResponse",
        "TokenSigner",
        "WellKnownApp",
        "authorization_server_metadata",
        "discovery_document",
        "generate_key_pair",
        "jwks_document",
        "load_clients",
        "load_key_pair",
        "write_key_files",
    ],
    "bearerguard.testing": [
        "DPoPKey",
        "FakeProvider",
        "Fault",
        "KeyPool",
        "LocalIssuer",
        "RecordedRequest",
    ],
    "bearerguard.testing.plugin": [
        "bearerguard_issuer",
        "bearerguard_issuer_factory",
        "bearerguard_session_issuer",
    ],
}

#: Modules that are neither public nor private by name: ``python -m bearerguard``
#: and the Django app configuration (Django finds it by the name ``apps``).
CONVENTIONAL = {"bearerguard.__main__", "bearerguard.django.apps"}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_module_exports_exactly_the_pinned_names(module: str) -> None:
    """``__all__`` of each public module is the pinned list."""
    assert sorted(importlib.import_module(module).__all__) == PUBLIC[module]


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_exported_name_resolves(module: str) -> None:
    """Each pinned name is an attribute of its module (no stale ``__all__`` entry)."""
    mod = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(mod, name)]
    assert missing == []


def test_every_other_module_is_private() -> None:
    """A module is either public (pinned above) or has a leading underscore in its path."""
    unpinned = []
    for info in pkgutil.walk_packages(bearerguard.__path__, "bearerguard."):
        name = info.name
        if name in PUBLIC or name in CONVENTIONAL:
            continue
        if not any(part.startswith("_") for part in name.split(".")[1:]):
            unpinned.append(name)
    assert unpinned == []


def test_one_token_user_class_for_every_adapter() -> None:
    """``TokenUser`` is one class, whether imported from the Starlette or the Django adapter."""
    starlette = importlib.import_module("bearerguard.starlette")
    django = importlib.import_module("bearerguard.django")
    assert starlette.TokenUser is django.TokenUser


def _first_parameter(function: Callable[..., Any]) -> str:
    return next(p for p in inspect.signature(function).parameters if p not in ("self", "cls"))


@pytest.mark.parametrize(
    ("function", "name"),
    [
        pytest.param(bearerguard.Issuer.from_oidc, "issuer", id="Issuer.from_oidc"),
        pytest.param(bearerguard.Issuer.from_oauth2, "issuer", id="Issuer.from_oauth2"),
        pytest.param(bearerguard.Issuer.from_jwks_url, "jwks_uri", id="Issuer.from_jwks_url"),
        pytest.param(bearerguard.fetch_jwks_from_oidc, "issuer", id="fetch_jwks_from_oidc"),
        pytest.param(bearerguard.fetch_jwks_from_oauth2, "issuer", id="fetch_jwks_from_oauth2"),
        pytest.param(bearerguard.RemoteKeySet.from_oidc, "issuer", id="RemoteKeySet.from_oidc"),
        pytest.param(bearerguard.RemoteKeySet.from_oauth2, "issuer", id="RemoteKeySet.from_oauth2"),
        pytest.param(bearerguard.RemoteKeySet, "jwks_uri", id="RemoteKeySet"),
    ],
)
def test_one_name_per_concept(function: Callable[..., Any], name: str) -> None:
    """The issuer identifier is ``issuer`` and the JWKS URL ``jwks_uri`` wherever they are taken."""
    assert _first_parameter(function) == name
