"""Serving the well-known documents, without I/O: request in, response out.

:class:`WellKnownEndpoints` answers ``GET``/``HEAD`` for the JWKS, the OIDC
discovery document and the RFC 8414 metadata, with ``ETag`` and
``If-None-Match`` (304), ``Cache-Control`` and CORS. The ASGI app
(:mod:`bearerguard.issuing._asgi`) and the local test issuer
(:mod:`bearerguard.testing`) are thin shells around it.

Cache lifetimes: verifiers cache the JWKS for its ``max-age`` (bearerguard
clamps it to [1 min, 24 h]), so a new key must be published at least that long
before it signs — see :class:`~bearerguard.issuing.RotationPolicy`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .._caching import etag_matches
from .._errors import ConfigurationError
from .._jwk import PublicJWK
from .._rules import seconds, strings
from .._urls import oauth2_metadata_url, oidc_metadata_url, path_of, same_origin_path
from ._documents import authorization_server_metadata, discovery_document, jwks_document

__all__ = [
    "JWKS_MAX_AGE",
    "METADATA_MAX_AGE",
    "Response",
    "WellKnownEndpoints",
    "build_json_response",
    "no_store_response",
]

#: Default ``max-age`` of the JWKS (seconds): short, so a new key reaches verifiers soon.
JWKS_MAX_AGE = 900
#: Default ``max-age`` of the metadata documents (seconds): they rarely change.
METADATA_MAX_AGE = 3600


@dataclass(frozen=True, slots=True)
class Response:
    """A response to send: status, header pairs (lower-case names), body.

    ``raw_headers`` are the same pairs encoded once for ASGI servers.
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    raw_headers: tuple[tuple[bytes, bytes], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        raw = tuple((k.encode("latin-1"), v.encode("latin-1")) for k, v in self.headers)
        object.__setattr__(self, "raw_headers", raw)

    def header(self, name: str) -> str | None:
        """The first value of header *name* (lower-case), or ``None``."""
        return next((v for k, v in self.headers if k == name), None)

    def without_body(self) -> Response:
        """The answer to HEAD: the same status and headers (Content-Length too), no body."""
        return Response(self.status, self.headers, b"")

    def not_modified(self) -> Response:
        """The 304 for a matching ``If-None-Match`` (RFC 9110 §15.4.5: validators, caching)."""
        keep = ("cache-control", "etag", "access-control-allow-origin")
        return Response(304, tuple(h for h in self.headers if h[0] in keep), b"")


@dataclass(frozen=True, slots=True)
class _Route:
    get: Response
    head: Response
    not_modified: Response
    etag: str | None

    @classmethod
    def of(cls, response: Response) -> _Route:
        return cls(
            response, response.without_body(), response.not_modified(), response.header("etag")
        )


def _json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=False).encode("utf-8")


def build_json_response(
    body: bytes, *, max_age: int, status: int = 200, extra: Iterable[tuple[str, str]] = ()
) -> Response:
    """A cacheable JSON response with a strong ``ETag`` over *body*."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = (
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("cache-control", f"public, max-age={max_age}"),
        ("etag", etag),
        # Browsers' OIDC clients fetch these documents cross-origin; they are public.
        ("access-control-allow-origin", "*"),
        ("x-content-type-options", "nosniff"),
        *extra,
    )
    return Response(status, headers, body)


def no_store_response(status: int, body: bytes, extra: Iterable[tuple[str, str]] = ()) -> Response:
    """A JSON response no cache may keep (errors, tokens), with *extra* headers after."""
    headers = (
        ("content-type", "application/json"),
        ("content-length", str(len(body))),
        ("cache-control", "no-store"),
        ("x-content-type-options", "nosniff"),
        *extra,
    )
    return Response(status, headers, body)


_NOT_FOUND = no_store_response(404, b'{"error":"not_found"}')
_NOT_FOUND_HEAD = _NOT_FOUND.without_body()
_NOT_ALLOWED = no_store_response(405, b'{"error":"method_not_allowed"}', (("allow", "GET, HEAD"),))


def _listed(values: Iterable[str] | None, name: str) -> list[str] | None:
    return None if values is None else list(strings(values, name))


class WellKnownEndpoints:
    """The JWKS and metadata of one issuer, ready to serve.

    *keys* are the published keys (active, next and retired). The RFC 8414
    path serves :func:`~bearerguard.issuing.authorization_server_metadata` and
    the OIDC path :func:`~bearerguard.issuing.discovery_document`, both built
    with *token_endpoint*, *grant_types_supported*,
    *token_endpoint_auth_methods_supported* and *scopes_supported* (give them
    for a server with a token endpoint; without, the documents only tell
    verifiers where the keys are). *metadata* instead serves one document of
    your own at both paths. The JWKS is served at the ``jwks_uri`` path when
    it is on the issuer's own origin. :meth:`update_keys` swaps the key set
    atomically (after a rotation).
    """

    def __init__(
        self,
        *,
        issuer: str,
        keys: Iterable[PublicJWK],
        metadata: Mapping[str, Any] | None = None,
        token_endpoint: str | None = None,
        grant_types_supported: Iterable[str] | None = None,
        token_endpoint_auth_methods_supported: Iterable[str] | None = None,
        scopes_supported: Iterable[str] | None = None,
        jwks_max_age: int = JWKS_MAX_AGE,
        metadata_max_age: int = METADATA_MAX_AGE,
        require_https: bool = True,
    ) -> None:
        # Cache-Control max-age is delta-seconds: a whole number (RFC 9111 §1.2.2).
        seconds(jwks_max_age, "jwks_max_age", whole=True)
        seconds(metadata_max_age, "metadata_max_age", whole=True)
        self._issuer = issuer
        self._require_https = require_https
        self._custom_metadata = dict(metadata) if metadata is not None else None
        self._server: dict[str, Any] = {
            "token_endpoint": token_endpoint,
            "grant_types_supported": _listed(grant_types_supported, "grant_types_supported"),
            "token_endpoint_auth_methods_supported": _listed(
                token_endpoint_auth_methods_supported, "token_endpoint_auth_methods_supported"
            ),
            "scopes_supported": _listed(scopes_supported, "scopes_supported"),
        }
        if metadata is not None and any(v is not None for v in self._server.values()):
            raise ConfigurationError(
                "give either metadata or the token endpoint's members, not both"
            )
        self._jwks_max_age = jwks_max_age
        self._metadata_max_age = metadata_max_age
        self._routes: dict[str, _Route] = {}
        self.update_keys(keys)

    @property
    def issuer(self) -> str:
        """The issuer identifier."""
        return self._issuer

    @property
    def paths(self) -> tuple[str, ...]:
        """The paths served."""
        return tuple(self._routes)

    @staticmethod
    def not_found() -> Response:
        """The 404 answer to a path no endpoint serves."""
        return _NOT_FOUND

    def update_keys(self, keys: Iterable[PublicJWK]) -> None:
        """Publish a new key set (and refresh the metadata's algorithm list)."""
        keys = list(keys)
        jwks = jwks_document(keys)
        if self._custom_metadata is not None:
            metadata = self._custom_metadata
            if metadata.get("issuer") != self._issuer:
                raise ConfigurationError("metadata['issuer'] must equal the issuer")
            oauth2 = oidc = metadata
        else:
            algs = list(dict.fromkeys(k.alg for k in keys if k.alg)) or ["RS256"]
            oauth2 = authorization_server_metadata(
                self._issuer, require_https=self._require_https, **self._server
            )
            oidc = discovery_document(
                self._issuer, signing_algs=algs, require_https=self._require_https, **self._server
            )
        jwks_uri = oauth2.get("jwks_uri")
        max_age = self._metadata_max_age
        oidc_route = _Route.of(build_json_response(_json(oidc), max_age=max_age))
        routes = {
            path_of(oidc_metadata_url(self._issuer)): oidc_route,
            path_of(oauth2_metadata_url(self._issuer)): (
                oidc_route
                if oauth2 is oidc
                else _Route.of(build_json_response(_json(oauth2), max_age=max_age))
            ),
        }
        jwks_path = same_origin_path(jwks_uri, self._issuer) if isinstance(jwks_uri, str) else None
        if jwks_path is not None:
            jwks_response = build_json_response(_json(jwks), max_age=self._jwks_max_age)
            routes[jwks_path] = _Route.of(jwks_response)
        self._routes = routes  # one assignment: readers see the old or the new set

    def respond(self, method: str, path: str, if_none_match: str | None = None) -> Response:
        """The response to ``method path``; every possible response is built in advance."""
        route = self._routes.get(path)
        if route is None:
            return _NOT_FOUND_HEAD if method == "HEAD" else _NOT_FOUND
        if method == "GET" or method == "HEAD":
            if if_none_match is not None and etag_matches(if_none_match, route.etag):
                return route.not_modified
            return route.get if method == "GET" else route.head
        return _NOT_ALLOWED

    def document(self, path: str) -> bytes:
        """The body served at *path* (``KeyError`` if none)."""
        return self._routes[path].get.body
