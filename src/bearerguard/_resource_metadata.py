"""RFC 9728 protected-resource metadata: the document an API publishes about itself.

An OAuth client (an MCP client, for one) that gets a 401 from an API reads the
challenge's ``resource_metadata="…"`` link, fetches this document and learns
which authorization servers issue tokens for the API::

    metadata = ResourceMetadata.build(
        "https://api.example.com/v1", authorization_servers=["https://login.example.com"]
    )
    metadata.url   # https://api.example.com/.well-known/oauth-protected-resource/v1
    metadata.path  # /.well-known/oauth-protected-resource/v1 (what adapters serve)

The adapters build one from :class:`~bearerguard.GuardSettings`
(``resource=``) and serve :attr:`ResourceMetadata.body` with
:attr:`ResourceMetadata.headers`; nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import ConfigurationError
from ._rules import scope_tokens
from ._urls import RESOURCE_WELL_KNOWN, check_url, path_of, resource_metadata_url

__all__ = [
    "METADATA_WELL_KNOWN",
    "ResourceMetadata",
    "protected_resource_metadata",
    "resource_metadata_url",
]

#: RFC 9728 §3: the well-known URI suffix of protected-resource metadata.
METADATA_WELL_KNOWN = RESOURCE_WELL_KNOWN
_CACHE_CONTROL = "public, max-age=3600"


def protected_resource_metadata(
    resource: str,
    *,
    authorization_servers: Iterable[str] = (),
    scopes_supported: Iterable[str] | None = None,
    **members: Any,
) -> dict[str, Any]:
    """The RFC 9728 §2 protected-resource metadata document for *resource*.

    ``bearer_methods_supported`` is ``["header"]``: bearerguard accepts tokens
    only in the ``Authorization`` header (RFC 6750 §2.1). *members* adds any
    other registered or custom member (``resource_name``, ``jwks_uri``, ...).
    """
    document: dict[str, Any] = {
        "resource": resource,
        "bearer_methods_supported": ["header"],
    }
    servers = list(authorization_servers)
    if servers:
        document["authorization_servers"] = servers
    if scopes_supported is not None:
        # RFC 9728 §2: scope values as in RFC 6749 §3.3.
        document["scopes_supported"] = list(scope_tokens(scopes_supported, "scopes_supported"))
    for name, value in members.items():
        if value is None:
            document.pop(name, None)
        else:
            document[name] = value
    return document


@dataclass(frozen=True, slots=True)
class ResourceMetadata:
    """A rendered RFC 9728 document: where it lives and the response that serves it."""

    url: str
    path: str
    document: Mapping[str, Any]
    body: bytes
    headers: tuple[tuple[str, str], ...]

    @classmethod
    def build(cls, resource: str, **members: Any) -> ResourceMetadata:
        """Check *resource* and render its document (see :func:`protected_resource_metadata`)."""
        # RFC 9728 §1.2: an https URL without a fragment (plain http only for loopback).
        check_url(resource, "resource")
        try:
            document = protected_resource_metadata(resource, **members)
            body = json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"resource_metadata= is not a JSON object: {exc}") from None
        url = resource_metadata_url(resource)
        headers = (
            ("content-type", "application/json"),
            ("cache-control", _CACHE_CONTROL),
            ("content-length", str(len(body))),
        )
        return cls(url, path_of(url), document, body, headers)
