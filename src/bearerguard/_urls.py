"""URL policy: which URLs bearerguard fetches or publishes, and where metadata lives.

:func:`check_url` is the one rule for a configured or discovered URL: absolute
``http(s)`` without credentials or fragment, ``https`` unless the host is a
loopback address (local development and tests). :func:`safe_url` is how a URL
appears in messages and logs.

The well-known locations (RFC 8615), used by the verifying side to find
metadata and by the issuing side to serve it:

* OpenID Connect Discovery 1.0 §4: ``/.well-known/openid-configuration``
  *appended* to the issuer;
* RFC 8414 §3.1: ``/.well-known/oauth-authorization-server`` *inserted*
  between the issuer's host and its path;
* RFC 9728 §3.1: ``/.well-known/oauth-protected-resource`` inserted between
  the resource's host and its path (a query stays at the end);
* ``/.well-known/jwks.json`` under the issuer: not a registered URI, only the
  location the issuing side publishes keys at unless told otherwise.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit, urlunsplit

from ._errors import ConfigurationError

__all__ = [
    "JWKS_WELL_KNOWN",
    "OAUTH2_WELL_KNOWN",
    "OIDC_WELL_KNOWN",
    "RESOURCE_WELL_KNOWN",
    "check_url",
    "is_loopback",
    "jwks_uri_for",
    "oauth2_metadata_url",
    "oidc_metadata_url",
    "path_of",
    "resource_metadata_url",
    "safe_url",
    "same_origin_path",
]

OIDC_WELL_KNOWN = "/.well-known/openid-configuration"
OAUTH2_WELL_KNOWN = "/.well-known/oauth-authorization-server"
RESOURCE_WELL_KNOWN = "/.well-known/oauth-protected-resource"
JWKS_WELL_KNOWN = "/.well-known/jwks.json"


def safe_url(url: str) -> str:
    """A URL without query or credentials, for messages and logs."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # a malformed host (bad IPv6 literal)
        return "<invalid URL>"
    try:
        port = parts.port
    except ValueError:  # a port out of range or not numeric
        port = None
    if port:
        host = f"{host}:{port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))[:200]


def is_loopback(host: str) -> bool:
    """Whether *host* (a URL's host name) is ``localhost`` or a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: str, what: str, *, require_https: bool = True) -> str:
    """Validate a configured or discovered URL; loopback may use plain HTTP."""
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"{what} must be a non-empty URL string")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not numeric
    except ValueError:
        raise ConfigurationError(f"{what} is not a valid URL (host or port)") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"{what} must be an absolute http(s) URL, got {safe_url(url)!r}")
    if parts.username or parts.password:
        raise ConfigurationError(f"{what} must not contain credentials")
    if parts.fragment:
        raise ConfigurationError(f"{what} must not contain a fragment")
    if require_https and parts.scheme != "https" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{what} must use https (plain http is only allowed for loopback addresses): "
            f"{safe_url(url)!r}"
        )
    return url


def _appended(url: str, well_known: str) -> str:
    return url.rstrip("/") + well_known


def _inserted(url: str, well_known: str) -> str:
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, well_known + path, parts.query, ""))


def oidc_metadata_url(issuer: str) -> str:
    """OIDC Discovery §4: ``{issuer}/.well-known/openid-configuration``."""
    return _appended(issuer, OIDC_WELL_KNOWN)


def oauth2_metadata_url(issuer: str) -> str:
    """RFC 8414 §3.1: the well-known segment goes between host and path."""
    return _inserted(issuer, OAUTH2_WELL_KNOWN)


def resource_metadata_url(resource: str) -> str:
    """RFC 9728 §3.1: the metadata URL of *resource* (well-known between host and path)."""
    return _inserted(resource, RESOURCE_WELL_KNOWN)


def jwks_uri_for(issuer: str) -> str:
    """The JWKS location the issuing side uses by default: ``{issuer}/.well-known/jwks.json``."""
    return _appended(issuer, JWKS_WELL_KNOWN)


def path_of(url: str) -> str:
    """The path of *url*, what a server routes on (``/`` for none)."""
    return urlsplit(url).path or "/"


def same_origin_path(url: str, origin: str) -> str | None:
    """The path of *url* when it is on *origin*'s scheme, host and port, else ``None``."""
    a, b = urlsplit(url), urlsplit(origin)
    if (a.scheme, a.netloc) != (b.scheme, b.netloc):
        return None
    return path_of(url)
