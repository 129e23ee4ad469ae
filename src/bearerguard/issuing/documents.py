"""The documents an issuer publishes: its JWKS and its metadata.

::

    jwks_document([signer.public_jwk])        # {"keys": [{"kty": "RSA", "kid": ..., ...}]}
    discovery_document("https://login.example.com", signing_algs=["RS256"])

The same metadata document serves OpenID Connect Discovery 1.0
(``/.well-known/openid-configuration``) and RFC 8414
(``/.well-known/oauth-authorization-server``); members one of them does not
define are ignored by the other's clients.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..discovery import check_url
from ..errors import ConfigurationError
from ..jwk import PublicJWK
from .keys import KeyPair
from .signer import TokenSigner, public_jwk_of

__all__ = [
    "discovery_document",
    "jwks_document",
    "jwks_uri_for",
    "oauth2_metadata_path",
    "oidc_metadata_path",
]

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


def jwks_uri_for(issuer: str) -> str:
    """The conventional JWKS location of *issuer*: ``{issuer}/.well-known/jwks.json``."""
    return issuer.rstrip("/") + "/.well-known/jwks.json"


def oidc_metadata_path(issuer: str) -> str:
    """OIDC Discovery §4.1: the issuer's path + ``/.well-known/openid-configuration``."""
    return urlsplit(issuer).path.rstrip("/") + "/.well-known/openid-configuration"


def oauth2_metadata_path(issuer: str) -> str:
    """RFC 8414 §3.1: ``/.well-known/oauth-authorization-server`` + the issuer's path."""
    return "/.well-known/oauth-authorization-server" + urlsplit(issuer).path.rstrip("/")


def _check_issuer(issuer: str, require_https: bool) -> None:
    check_url(issuer, "issuer", require_https=require_https)
    # RFC 8414 §2: the issuer identifier has no query or fragment component.
    if urlsplit(issuer).query:
        raise ConfigurationError("issuer must not contain a query")


def discovery_document(
    issuer: str,
    *,
    jwks_uri: str | None = None,
    signing_algs: Iterable[str] = ("RS256",),
    authorization_endpoint: str | None = None,
    token_endpoint: str | None = None,
    scopes_supported: Iterable[str] | None = None,
    response_types_supported: Iterable[str] = ("code",),
    grant_types_supported: Iterable[str] | None = None,
    extra: Mapping[str, Any] | None = None,
    require_https: bool = True,
) -> dict[str, Any]:
    """Authorization-server metadata for *issuer* (OIDC Discovery §3, RFC 8414 §2).

    *jwks_uri* defaults to :func:`jwks_uri_for`; *signing_algs* are the JWS
    algorithms of the published keys. Endpoints are included when given.
    *extra* adds members but cannot replace ``issuer`` or ``jwks_uri``. URLs
    must be ``https`` except on loopback addresses (for local development).
    """
    _check_issuer(issuer, require_https)
    jwks_uri = jwks_uri or jwks_uri_for(issuer)
    check_url(jwks_uri, "jwks_uri", require_https=require_https)
    algs = [signing_algs] if isinstance(signing_algs, str) else list(dict.fromkeys(signing_algs))
    if not algs or not all(isinstance(a, str) and a for a in algs):
        raise ConfigurationError("signing_algs must name at least one algorithm")
    if "none" in algs or any(a.startswith("HS") for a in algs):
        raise ConfigurationError("signing_algs must be asymmetric (no 'none', no HS*)")
    doc: dict[str, Any] = {"issuer": issuer, "jwks_uri": jwks_uri}
    for name, url in (
        ("authorization_endpoint", authorization_endpoint),
        ("token_endpoint", token_endpoint),
    ):
        if url is not None:
            doc[name] = check_url(url, name, require_https=require_https)
    doc["response_types_supported"] = list(response_types_supported)
    doc["subject_types_supported"] = ["public"]
    doc["id_token_signing_alg_values_supported"] = algs
    if grant_types_supported is not None:
        doc["grant_types_supported"] = list(grant_types_supported)
    if scopes_supported is not None:
        doc["scopes_supported"] = list(scopes_supported)
    if extra:
        clash = sorted({"issuer", "jwks_uri"}.intersection(extra))
        if clash:
            raise ConfigurationError(f"extra may not replace {', '.join(clash)}")
        doc.update(extra)
    return doc


def same_origin_path(url: str, issuer: str) -> str | None:
    """The path of *url* when it is on the issuer's origin (so we can serve it), else None."""
    a, b = urlsplit(url), urlsplit(issuer)
    if (a.scheme, a.netloc) != (b.scheme, b.netloc):
        return None
    return urlunsplit(("", "", a.path, "", "")) or "/"
