"""Discovery: JWKS and authorization-server metadata (OIDC Discovery 1.0 §4, RFC 8414 §3).

Every fetch goes through a :class:`~bearerguard.Fetcher` (the default
uses ``requests``) with a timeout, a body size cap and no redirects; every URL
passes :func:`~bearerguard._urls.check_url` (HTTPS required except for
loopback addresses); metadata locations follow :mod:`bearerguard._urls`.

A discovery document's ``issuer`` must equal the issuer that was asked for,
character for character (OIDC Discovery §4.3, RFC 8414 §3.3): otherwise one
tenant's metadata could vouch for another's tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._errors import ConfigurationError, DiscoveryError, FetchError, InvalidKey
from ._fetch import Fetcher, FetchResponse, default_fetcher, parse_json_response
from ._jwk import PublicJWK, parse_jwks
from ._limits import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT
from ._urls import check_url, oauth2_metadata_url, oidc_metadata_url, safe_url

__all__ = [
    "DiscoveryResult",
    "fetch_jwks",
    "fetch_jwks_from_oauth2",
    "fetch_jwks_from_oidc",
    "fetch_metadata",
    "jwks_uri_from_metadata",
    "keys_from_document",
]


def _get_json(
    url: str, what: str, fetcher: Fetcher | None, timeout: float, max_bytes: int
) -> tuple[dict[str, Any], FetchResponse]:
    response = (fetcher or default_fetcher())(url, headers={}, timeout=timeout, max_bytes=max_bytes)
    return parse_json_response(response, url, what), response


def fetch_jwks(
    url: str,
    *,
    fetcher: Fetcher | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    require_https: bool = True,
) -> list[PublicJWK]:
    """Fetch a JWKS document and return its usable keys (see :func:`parse_jwks`).

    Raises :class:`~bearerguard.FetchError` when the document cannot be
    fetched, is not a JWKS, or holds no usable key.
    """
    check_url(url, "jwks_uri", require_https=require_https)
    document, _ = _get_json(url, "JWKS", fetcher, timeout, max_bytes)
    return keys_from_document(document, url)


def keys_from_document(document: Mapping[str, Any], url: str) -> list[PublicJWK]:
    """Parse a fetched JWKS; zero usable keys is an error (never an empty key set)."""
    try:
        keys = parse_jwks(document)
    except InvalidKey as exc:
        raise FetchError(f"JWKS at {safe_url(url)}: {exc.description}") from None
    if not keys:
        raise FetchError(f"JWKS at {safe_url(url)} holds no usable signing key")
    return keys


@dataclass(frozen=True, slots=True)
class DiscoveryResult:
    """The outcome of discovery: the verified ``issuer``, its ``jwks_uri`` and keys."""

    issuer: str
    jwks_uri: str
    keys: list[PublicJWK]
    metadata: Mapping[str, Any] = field(repr=False, default_factory=dict)


def fetch_metadata(
    issuer: str,
    metadata_url: str,
    *,
    fetcher: Fetcher | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    require_https: bool = True,
) -> tuple[str, Mapping[str, Any]]:
    """Fetch a metadata document, check its ``issuer``, return ``(jwks_uri, metadata)``."""
    check_url(issuer, "issuer", require_https=require_https)
    document, _ = _get_json(metadata_url, "metadata document", fetcher, timeout, max_bytes)
    return jwks_uri_from_metadata(
        document, issuer, metadata_url, require_https=require_https
    ), document


def jwks_uri_from_metadata(
    document: Mapping[str, Any], issuer: str, metadata_url: str, *, require_https: bool = True
) -> str:
    """Check a metadata document's ``issuer`` and return its (checked) ``jwks_uri``.

    The ``issuer`` must equal *issuer* character for character (OIDC Discovery
    §4.3, RFC 8414 §3.3); :class:`~bearerguard.DiscoveryError` otherwise.
    """
    found = document.get("issuer")
    if found != issuer:
        raise DiscoveryError(
            f"metadata at {safe_url(metadata_url)} names issuer {str(found)[:200]!r}, "
            f"not {issuer!r}; configure the exact issuer string the provider publishes"
        )
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise DiscoveryError(f"metadata at {safe_url(metadata_url)} has no jwks_uri")
    try:
        check_url(jwks_uri, "jwks_uri", require_https=require_https)
    except ConfigurationError as exc:
        raise DiscoveryError(f"metadata at {safe_url(metadata_url)}: {exc.description}") from None
    plain_http = urlsplit(jwks_uri).scheme != "https"
    if require_https and plain_http and urlsplit(issuer).scheme == "https":
        # Plain http is allowed for loopback only so that local issuers work; an
        # https issuer's metadata must not point the fetcher at a local service.
        raise DiscoveryError(
            f"metadata at {safe_url(metadata_url)}: jwks_uri must use https for an https issuer"
        )
    return jwks_uri


def _discover(
    issuer: str,
    metadata_url: str,
    fetcher: Fetcher | None,
    timeout: float,
    max_bytes: int,
    require_https: bool,
) -> DiscoveryResult:
    jwks_uri, metadata = fetch_metadata(
        issuer,
        metadata_url,
        fetcher=fetcher,
        timeout=timeout,
        max_bytes=max_bytes,
        require_https=require_https,
    )
    keys = fetch_jwks(
        jwks_uri, fetcher=fetcher, timeout=timeout, max_bytes=max_bytes, require_https=require_https
    )
    return DiscoveryResult(issuer, jwks_uri, keys, metadata)


def fetch_jwks_from_oidc(
    issuer: str,
    *,
    fetcher: Fetcher | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    require_https: bool = True,
) -> DiscoveryResult:
    """OpenID Connect discovery: ``/.well-known/openid-configuration`` → ``jwks_uri`` → keys.

    *issuer* is the issuer identifier exactly as the provider publishes it:
    the document's ``issuer`` must equal it.
    """
    return _discover(issuer, oidc_metadata_url(issuer), fetcher, timeout, max_bytes, require_https)


def fetch_jwks_from_oauth2(
    issuer: str,
    *,
    fetcher: Fetcher | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    require_https: bool = True,
) -> DiscoveryResult:
    """RFC 8414 discovery: ``/.well-known/oauth-authorization-server[/path]`` → keys."""
    return _discover(
        issuer, oauth2_metadata_url(issuer), fetcher, timeout, max_bytes, require_https
    )
