"""A fetcher that serves identity providers' discovery and JWKS URLs from a LocalIssuer."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from bearerguard._fetch import FetchResponse, RequestsFetcher
from bearerguard.testing import LocalIssuer

__all__ = ["ProviderFetcher", "mint"]


class ProviderFetcher:
    """Serves provider URLs offline: discovery documents naming *jwks*, and the
    LocalIssuer's JWKS at every JWKS URL. Counts every URL asked for."""

    def __init__(self, local: LocalIssuer, jwks_urls: set[str]) -> None:
        self.local = local
        self.jwks_urls = jwks_urls
        self.counts: Counter[str] = Counter()
        self._http = RequestsFetcher()

    def __call__(
        self, url: str, *, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> FetchResponse:
        self.counts[url] += 1
        if url in self.jwks_urls:
            return self._http(
                self.local.jwks_uri, headers=headers, timeout=timeout, max_bytes=max_bytes
            )
        suffix = "/.well-known/openid-configuration"
        if url.endswith(suffix):
            issuer = url[: -len(suffix)]
            if issuer == "https://example.eu.auth0.com":
                issuer += "/"  # Auth0 publishes its issuer with the trailing "/"
            document = {"issuer": issuer, "jwks_uri": issuer.rstrip("/") + "/jwks.json"}
            self.jwks_urls.add(document["jwks_uri"])
            body = json.dumps(document).encode()
            return FetchResponse(200, {"content-type": "application/json"}, body)
        return FetchResponse(404, {}, b"")


def mint(local: LocalIssuer, claims: dict[str, Any], typ: str = "JWT") -> str:
    """A token with exactly *claims* (plus iat/exp), signed by *local*."""
    defaults = {"sub": None, "aud": None, "jti": None, "client_id": None}
    return local.mint(headers={"typ": typ}, **{**defaults, **claims})
