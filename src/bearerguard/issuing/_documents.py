"""The documents an issuer publishes: its JWKS and its metadata.

::

    jwks_document([signer.public_jwk])        # {"keys": [{"kty": "RSA", "kid": ..., ...}]}
    authorization_server_metadata(
        "https://login.example.com",
        token_endpoint="https://login.example.com/token",
        grant_types_supported=["client_credentials"],
    )                       # RFC 8414: /.well-known/oauth-authorization-server
    discovery_document("https://login.example.com", signing_algs=["RS256"], ...)
                            # plus OIDC's members: /.well-known/openid-configuration

The metadata publishes only what the server does. Two rules of RFC 8414 §2
shape it: grant types that use the authorization endpoint
(``authorization_code``, ``implicit``) need an ``authorization_endpoint``, and
``grant_types_supported`` left out means exactly those two, so a server with a
token endpoint and no authorization endpoint must list its grant types.

``response_types_supported`` is REQUIRED by RFC 8414 §2 and by OpenID Connect
Discovery 1.0 §3, yet response types are answered by an authorization
endpoint. Without one, the builders publish ``["none"]`` (the registered
response type that issues nothing) rather than claim ``code``; RFC 8414
erratum 7793 proposes making the member optional in that case, and RFC 8414
§3.2 forbids an empty array.

A server without an authorization endpoint is not an OpenID Provider (OIDC
Discovery §3 requires ``authorization_endpoint``). Its
``/.well-known/openid-configuration`` document still helps verifiers that
discover keys through OIDC discovery; RFC 8414 metadata is the complete
description of such a server.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from .._errors import ConfigurationError
from .._jwk import PublicJWK
from .._rules import scope_tokens
from .._urls import check_url, jwks_uri_for
from ._keys import KeyPair
from ._signer import TokenSigner, public_jwk_of

__all__ = ["authorization_server_metadata", "discovery_document", "jwks_document"]

KeyLike = PublicJWK | KeyPair | TokenSigner


def _jwk(key: KeyLike) -> PublicJWK:
    if isinstance(key, PublicJWK):
        return key
    if isinstance(key, KeyPair):
        return key.public_jwk
    if isinstance(key, TokenSigner):
        return public_jwk_of(key)
    raise ConfigurationError(
        f"JWKS entries must be PublicJWK, KeyPair or TokenSigner objects, not {type(key).__name__}"
    )


def jwks_document(keys: Iterable[KeyLike]) -> dict[str, list[dict[str, str]]]:
    """A JWK Set (RFC 7517 §5) of the public halves of *keys*, in order.

    Only public members are ever written. Two different keys with one ``kid``
    are a configuration error (verifiers pick keys by ``kid``); the same key
    listed twice appears once.
    """
    seen: dict[str, PublicJWK] = {}
    out: list[dict[str, str]] = []
    for key in keys:
        jwk = _jwk(key)
        previous = seen.get(jwk.kid)
        if previous is not None:
            if previous.to_dict() != jwk.to_dict():
                raise ConfigurationError(f"two different keys share the kid {jwk.kid!r}")
            continue
        seen[jwk.kid] = jwk
        out.append(jwk.to_dict())
    return {"keys": out}


def _check_issuer(issuer: str, require_https: bool) -> None:
    check_url(issuer, "issuer", require_https=require_https)
    # RFC 8414 §2: the issuer identifier has no query or fragment component.
    if urlsplit(issuer).query:
        raise ConfigurationError("issuer must not contain a query")


# RFC 8414 §2: these grant types send the user agent to the authorization endpoint.
_AUTHORIZATION_ENDPOINT_GRANTS = ("authorization_code", "implicit")
# Members the builders check; ``extra`` cannot replace them.
_BUILT = frozenset(
    {
        "issuer",
        "jwks_uri",
        "authorization_endpoint",
        "token_endpoint",
        "scopes_supported",
        "response_types_supported",
        "grant_types_supported",
        "token_endpoint_auth_methods_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    }
)


def _names(values: Iterable[str], name: str) -> list[str]:
    """A list of distinct non-empty strings; a lone string is one value, not its letters."""
    items = [values] if isinstance(values, str) else list(values)
    if not all(isinstance(v, str) and v and v.strip() == v for v in items):
        raise ConfigurationError(f"{name} must be non-empty strings without surrounding spaces")
    if len(set(items)) != len(items):
        raise ConfigurationError(f"{name} lists a value twice")
    return items


def authorization_server_metadata(
    issuer: str,
    *,
    jwks_uri: str | None = None,
    authorization_endpoint: str | None = None,
    token_endpoint: str | None = None,
    grant_types_supported: Iterable[str] | None = None,
    token_endpoint_auth_methods_supported: Iterable[str] | None = None,
    scopes_supported: Iterable[str] | None = None,
    response_types_supported: Iterable[str] | None = None,
    extra: Mapping[str, Any] | None = None,
    require_https: bool = True,
) -> dict[str, Any]:
    """RFC 8414 §2 authorization-server metadata for *issuer*.

    *jwks_uri* defaults to ``{issuer}/.well-known/jwks.json``. Endpoints and
    lists are published when given; an empty list is left out (RFC 8414 §3.2).
    *response_types_supported* defaults to ``["code"]`` with an
    *authorization_endpoint* and to ``["none"]`` without one: the member is
    required, but only an authorization endpoint answers response types
    (RFC 8414 erratum 7793 proposes making it optional then). A token
    endpoint without an authorization endpoint needs *grant_types_supported*,
    since RFC 8414 reads its absence as ``authorization_code`` and
    ``implicit``. *extra* adds other members.
    URLs must be ``https`` except on loopback addresses (local development).

    >>> authorization_server_metadata(
    ...     "https://login.example.com",
    ...     token_endpoint="https://login.example.com/token",
    ...     grant_types_supported=["client_credentials"],
    ... )["response_types_supported"]
    ['none']
    """
    _check_issuer(issuer, require_https)
    jwks_uri = jwks_uri or jwks_uri_for(issuer)
    check_url(jwks_uri, "jwks_uri", require_https=require_https)
    doc: dict[str, Any] = {"issuer": issuer}
    for name, url in (
        ("authorization_endpoint", authorization_endpoint),
        ("token_endpoint", token_endpoint),
    ):
        if url is not None:
            doc[name] = check_url(url, name, require_https=require_https)
    doc["jwks_uri"] = jwks_uri
    if scopes_supported is not None:
        scopes = list(scope_tokens(scopes_supported, "scopes_supported", distinct=True))
        if scopes:
            doc["scopes_supported"] = scopes
    if response_types_supported is None:
        response_types = ["code"] if authorization_endpoint is not None else ["none"]
    else:
        response_types = _names(response_types_supported, "response_types_supported")
        if not response_types:
            raise ConfigurationError(
                "response_types_supported must not be empty (RFC 8414 §2 requires it); "
                "leave it out to get the default"
            )
        if authorization_endpoint is None and response_types != ["none"]:
            raise ConfigurationError(
                "response_types_supported describes the authorization endpoint; "
                "give authorization_endpoint or leave response_types_supported out"
            )
    doc["response_types_supported"] = response_types
    if grant_types_supported is not None:
        grants = _names(grant_types_supported, "grant_types_supported")
        if authorization_endpoint is None:
            needs = [g for g in _AUTHORIZATION_ENDPOINT_GRANTS if g in grants]
            if needs:
                raise ConfigurationError(
                    f"grant_types_supported lists {', '.join(needs)}, which needs an "
                    "authorization_endpoint (RFC 8414 §2)"
                )
        if grants:
            doc["grant_types_supported"] = grants
    elif token_endpoint is not None and authorization_endpoint is None:
        raise ConfigurationError(
            "with a token_endpoint and no authorization_endpoint, give grant_types_supported "
            "(RFC 8414 §2 reads its absence as authorization_code and implicit)"
        )
    if token_endpoint_auth_methods_supported is not None:
        if token_endpoint is None:
            raise ConfigurationError("token_endpoint_auth_methods_supported needs token_endpoint")
        methods = _names(
            token_endpoint_auth_methods_supported, "token_endpoint_auth_methods_supported"
        )
        if methods:
            doc["token_endpoint_auth_methods_supported"] = methods
    _add_extra(doc, extra)
    return doc


def discovery_document(
    issuer: str,
    *,
    jwks_uri: str | None = None,
    signing_algs: Iterable[str] = ("RS256",),
    authorization_endpoint: str | None = None,
    token_endpoint: str | None = None,
    grant_types_supported: Iterable[str] | None = None,
    token_endpoint_auth_methods_supported: Iterable[str] | None = None,
    scopes_supported: Iterable[str] | None = None,
    response_types_supported: Iterable[str] | None = None,
    extra: Mapping[str, Any] | None = None,
    require_https: bool = True,
) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 §3 metadata: :func:`authorization_server_metadata` plus
    ``subject_types_supported`` and ``id_token_signing_alg_values_supported``.

    *signing_algs* are the JWS algorithms of the published keys (OIDC requires
    the member and ``RS256`` among its values; with EC or EdDSA keys only, the
    document names those). Without an *authorization_endpoint* this is not an
    OpenID Provider's document (OIDC Discovery §3 requires that endpoint):
    serve it for verifiers that discover keys through OIDC, and point clients
    at the RFC 8414 document.
    """
    algs = [signing_algs] if isinstance(signing_algs, str) else list(dict.fromkeys(signing_algs))
    if not algs or not all(isinstance(a, str) and a for a in algs):
        raise ConfigurationError("signing_algs must name at least one algorithm")
    if "none" in algs or any(a.startswith("HS") for a in algs):
        raise ConfigurationError("signing_algs must be asymmetric (no 'none', no HS*)")
    doc = authorization_server_metadata(
        issuer,
        jwks_uri=jwks_uri,
        authorization_endpoint=authorization_endpoint,
        token_endpoint=token_endpoint,
        grant_types_supported=grant_types_supported,
        token_endpoint_auth_methods_supported=token_endpoint_auth_methods_supported,
        scopes_supported=scopes_supported,
        response_types_supported=response_types_supported,
        require_https=require_https,
    )
    # Access tokens carry public subject identifiers: the client's or the user's id.
    doc["subject_types_supported"] = ["public"]
    doc["id_token_signing_alg_values_supported"] = algs
    _add_extra(doc, extra)
    return doc


def _add_extra(doc: dict[str, Any], extra: Mapping[str, Any] | None) -> None:
    if not extra:
        return
    clash = sorted(_BUILT.intersection(extra))
    if clash:
        raise ConfigurationError(
            f"extra may not replace {', '.join(clash)}; use the keyword arguments"
        )
    doc.update(extra)
