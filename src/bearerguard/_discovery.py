"""Fetching JWKS and authorization-server metadata (OIDC Discovery 1.0 §4, RFC 8414 §3).

Every fetch goes through a :class:`Fetcher` (the default uses ``requests``) with
a timeout, a body size cap, no redirects, and HTTPS required except for
loopback addresses. A discovery document's ``issuer`` must equal the issuer
that was asked for, character for character (OIDC Discovery §4.3, RFC 8414 §3.3):
otherwise one tenant's metadata could vouch for another's tokens.
"""

from __future__ import annotations

import ipaddress
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from ._encoding import json_object
from ._errors import BearerGuardError, ConfigurationError, DiscoveryError, FetchError, InvalidKey
from ._jwk import PublicJWK, parse_jwks

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "DiscoveryResult",
    "FetchResponse",
    "Fetcher",
    "RequestsFetcher",
    "cache_lifetime",
    "check_url",
    "default_fetcher",
    "fetch_jwks",
    "fetch_jwks_from_oauth2",
    "fetch_jwks_from_oidc",
    "fetch_metadata",
    "json_response",
    "jwks_uri_from_metadata",
    "keys_from_document",
    "oauth2_metadata_url",
    "oidc_metadata_url",
    "safe_url",
]

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 256 * 1024
_CHUNK = 16 * 1024


@dataclass(frozen=True, slots=True)
class FetchResponse:
    """What a fetcher got: status, headers (lower-case names) and body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@runtime_checkable
class Fetcher(Protocol):
    """Performs one HTTP GET. Must not follow redirects; must honour the limits.

    Raises :class:`~bearerguard._errors.FetchError` for network failures, a
    body over *max_bytes*, or a transfer that exceeds *timeout* in total.
    """

    def __call__(
        self, url: str, *, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> FetchResponse:
        """GET *url*."""
        ...


class RequestsFetcher:
    """The default :class:`Fetcher`, on a ``requests.Session`` (connection reuse).

    The *timeout* bounds each connect and read and, checked after every read,
    the whole transfer: a server that trickles bytes is cut off after at most
    about twice *timeout* (a :class:`~bearerguard.keyset.RemoteKeySet` never
    lets a caller wait longer than *timeout* regardless).
    """

    def __init__(self, *, session: Any = None, trust_env: bool = False) -> None:
        import requests  # deferred: keeps `import bearerguard` cheap

        self._requests = requests
        if session is None:
            session = requests.Session()
            # By default no proxies, CA bundles or .netrc from the environment:
            # where keys come from should not change with a variable. Pass
            # trust_env=True (HTTPS_PROXY, REQUESTS_CA_BUNDLE, ...) or a
            # configured requests.Session (client certificates, private CAs).
            session.trust_env = trust_env
        self._session = session

    def __call__(
        self, url: str, *, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> FetchResponse:
        """GET *url* with the limits applied."""
        requests = self._requests
        deadline = time.monotonic() + timeout
        try:
            resp = self._session.get(
                url,
                headers={"Accept": "application/json", **headers},
                timeout=(timeout, timeout),
                allow_redirects=False,
                stream=True,
            )
            try:
                declared = _delta(resp.headers.get("Content-Length", ""))
                if declared is not None and declared > max_bytes:
                    raise FetchError(
                        f"response from {safe_url(url)} is larger than {max_bytes} bytes"
                    )
                body = bytearray()
                raw = resp.raw
                while True:
                    # read1: returns after one socket read, so the deadline is
                    # checked between reads even when the server trickles bytes.
                    chunk = raw.read1(_CHUNK, decode_content=True)
                    if not chunk:
                        break
                    body += chunk
                    if len(body) > max_bytes:
                        raise FetchError(
                            f"response from {safe_url(url)} is larger than {max_bytes} bytes"
                        )
                    if time.monotonic() > deadline:
                        raise FetchError(f"fetching {safe_url(url)} took longer than {timeout:g}s")
                return FetchResponse(
                    resp.status_code,
                    {k.lower(): v for k, v in resp.headers.items()},
                    bytes(body),
                )
            finally:
                resp.close()
        except requests.Timeout:
            raise FetchError(f"fetching {safe_url(url)} timed out after {timeout:g}s") from None
        except requests.RequestException as exc:
            raise FetchError(f"fetching {safe_url(url)} failed: {type(exc).__name__}") from None

    def close(self) -> None:
        """Close pooled connections (the fetcher stays usable and reconnects)."""
        self._session.close()


_default_fetcher: RequestsFetcher | None = None


def default_fetcher() -> Fetcher:
    """The process-wide :class:`RequestsFetcher`, created on first use."""
    global _default_fetcher
    if _default_fetcher is None:
        _default_fetcher = RequestsFetcher()
    return _default_fetcher


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


def _is_loopback(host: str) -> bool:
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
    if require_https and parts.scheme != "https" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"{what} must use https (plain http is only allowed for loopback addresses): "
            f"{safe_url(url)!r}"
        )
    return url


def _get_json(
    url: str, what: str, fetcher: Fetcher | None, timeout: float, max_bytes: int
) -> tuple[dict[str, Any], FetchResponse]:
    response = (fetcher or default_fetcher())(url, headers={}, timeout=timeout, max_bytes=max_bytes)
    return json_response(response, url, what), response


def json_response(response: FetchResponse, url: str, what: str) -> dict[str, Any]:
    """The JSON object of a 200 response; anything else raises :class:`FetchError`."""
    if 300 <= response.status < 400:
        raise FetchError(
            f"{what} at {safe_url(url)} redirected (HTTP {response.status}); "
            "redirects are not followed"
        )
    if response.status != 200:
        raise FetchError(f"{what} at {safe_url(url)} answered HTTP {response.status}")
    try:
        return json_object(response.body, what)
    except BearerGuardError as exc:
        raise FetchError(f"{what} at {safe_url(url)}: {exc.description}") from None


def fetch_jwks(
    url: str,
    *,
    fetcher: Fetcher | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    require_https: bool = True,
) -> list[PublicJWK]:
    """Fetch a JWKS document and return its usable keys (see :func:`parse_jwks`).

    Raises :class:`~bearerguard._errors.FetchError` when the document cannot be
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


def oidc_metadata_url(issuer: str) -> str:
    """OIDC Discovery §4: ``{issuer}/.well-known/openid-configuration``."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def oauth2_metadata_url(issuer: str) -> str:
    """RFC 8414 §3.1: the well-known segment goes between host and path."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    well_known = "/.well-known/oauth-authorization-server" + path
    return urlunsplit((parts.scheme, parts.netloc, well_known, parts.query, ""))


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
    §4.3, RFC 8414 §3.3); :class:`~bearerguard._errors.DiscoveryError` otherwise.
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


_CACHE_DIRECTIVE = re.compile(r'\s*([A-Za-z-]+)\s*(?:=\s*("?)([^",]*)\2)?\s*')


def cache_lifetime(headers: Mapping[str, str]) -> float | None:
    """Freshness lifetime from ``Cache-Control`` and ``Age`` (RFC 9111 §4.2.1, §4.2.3).

    ``max-age`` minus ``Age``, at least 0; ``no-store``/``no-cache`` mean 0;
    ``None`` when the response states no lifetime (or states it unreadably),
    so the caller falls back to its default. *headers* use lower-case names.
    """
    value = headers.get("cache-control")
    if value is None:
        return None
    max_age: int | None = None
    for part in value.split(","):
        match = _CACHE_DIRECTIVE.fullmatch(part)
        if match is None:
            continue
        name = match.group(1).lower()
        if name in ("no-store", "no-cache"):
            return 0.0
        if name == "max-age" and max_age is None:
            max_age = _delta(match.group(3) or "")
            if max_age is None:
                return None  # an unreadable max-age: fall back to the default lifetime
    if max_age is None:
        return None
    age = _delta(headers.get("age", "")) or 0
    return float(max(max_age - age, 0))


_DIGITS = re.compile(r"[0-9]+")
_MAX_DELTA = 2**31  # RFC 9111 §1.2.2: larger delta-seconds are taken as 2^31


def _delta(text: str) -> int | None:
    """Non-negative decimal seconds (ASCII digits only); ``None`` if not one."""
    text = text.strip()
    if not _DIGITS.fullmatch(text):
        return None
    return _MAX_DELTA if len(text) > 10 else min(int(text), _MAX_DELTA)


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
    base_url: str,
    *,
    fetcher: Fetcher | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    require_https: bool = True,
) -> DiscoveryResult:
    """OpenID Connect discovery: ``/.well-known/openid-configuration`` → ``jwks_uri`` → keys.

    *base_url* is the issuer identifier exactly as the provider publishes it.
    """
    return _discover(
        base_url, oidc_metadata_url(base_url), fetcher, timeout, max_bytes, require_https
    )


def fetch_jwks_from_oauth2(
    base_url: str,
    *,
    fetcher: Fetcher | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    require_https: bool = True,
) -> DiscoveryResult:
    """RFC 8414 discovery: ``/.well-known/oauth-authorization-server[/path]`` → keys."""
    return _discover(
        base_url, oauth2_metadata_url(base_url), fetcher, timeout, max_bytes, require_https
    )
