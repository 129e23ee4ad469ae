"""Transport: one HTTP GET with a timeout, a body size cap and no redirects.

:class:`Fetcher` is the call protocol every fetch goes through, and the seam
for running offline (``fetcher=``); :class:`RequestsFetcher` is the default,
on ``requests``. :func:`parse_json_response` reads a fetched JSON document.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ._caching import delta_seconds
from ._encoding import json_object
from ._errors import BearerGuardError, FetchError
from ._urls import safe_url

__all__ = ["FetchResponse", "Fetcher", "RequestsFetcher", "default_fetcher", "parse_json_response"]

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

    Raises :class:`~bearerguard.FetchError` for network failures, a
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
                declared = delta_seconds(resp.headers.get("Content-Length", ""))
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


def parse_json_response(response: FetchResponse, url: str, what: str) -> dict[str, Any]:
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
