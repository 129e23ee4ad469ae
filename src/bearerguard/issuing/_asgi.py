"""Pure-ASGI apps for an issuer: its well-known documents and its token endpoint.

::

    ring = KeyRing("/etc/bearerguard/keys")
    app = WellKnownApp(issuer="https://login.example.com", keys=ring.public_keys())
    # uvicorn module:app — or in front of a token endpoint:
    endpoint = TokenEndpoint(issuer=token_issuer, clients=load_clients("clients.json"))
    app = WellKnownApp(
        issuer="https://login.example.com",
        keys=ring.public_keys(),
        token_endpoint="https://login.example.com/token",
        grant_types_supported=endpoint.grant_types_supported,
        token_endpoint_auth_methods_supported=endpoint.token_endpoint_auth_methods_supported,
        scopes_supported=endpoint.scopes_supported,
        app=TokenEndpointApp(endpoint, path="/token"),
    )

:class:`WellKnownApp` serves ``/.well-known/jwks.json``,
``/.well-known/openid-configuration`` and
``/.well-known/oauth-authorization-server`` (paths follow the issuer's own
path, per OIDC Discovery §4 and RFC 8414 §3). Every response is precomputed;
a request costs a dict lookup. Other paths go to *app* if given, else 404.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any

from .._errors import ConfigurationError
from .._jwk import PublicJWK
from ._token_endpoint import TokenEndpoint
from ._wellknown import JWKS_MAX_AGE, METADATA_MAX_AGE, Response, WellKnownEndpoints

__all__ = ["ASGIApp", "TokenEndpointApp", "WellKnownApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class WellKnownApp:
    """ASGI app for the well-known documents; optionally in front of another app.

    *keys* are the published keys (active, next and retired). The RFC 8414
    path serves :func:`authorization_server_metadata` and the OIDC path
    :func:`discovery_document`, both built with *token_endpoint*,
    *grant_types_supported*, *token_endpoint_auth_methods_supported* and
    *scopes_supported* (give them for a server with a token endpoint; without,
    the documents only tell verifiers where the keys are). *metadata* instead
    serves one document of your own at both paths. The JWKS is served at the
    ``jwks_uri`` path when it is on the issuer's own origin. *jwks_max_age* and
    *metadata_max_age* are the ``Cache-Control`` max-age of each response.
    With *require_https* (the default) an issuer or JWKS URL on plain
    ``http`` is a configuration error, loopback addresses aside. Other paths go
    to *app*, else 404. :meth:`update_keys` publishes a new key set without a
    restart.
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
        app: ASGIApp | None = None,
    ) -> None:
        self.endpoints = WellKnownEndpoints(
            issuer=issuer,
            keys=keys,
            metadata=metadata,
            token_endpoint=token_endpoint,
            grant_types_supported=grant_types_supported,
            token_endpoint_auth_methods_supported=token_endpoint_auth_methods_supported,
            scopes_supported=scopes_supported,
            jwks_max_age=jwks_max_age,
            metadata_max_age=metadata_max_age,
            require_https=require_https,
        )
        self._app = app

    def update_keys(self, keys: Iterable[PublicJWK]) -> None:
        """Publish a new key set (e.g. after ``bearerguard keys rotate``)."""
        self.endpoints.update_keys(keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and not path.startswith(root):
                path = root + path
            if self._app is not None and path not in self.endpoints.paths:
                await self._app(scope, receive, send)
                return
            if_none_match = None
            for name, value in scope.get("headers", ()):
                if name == b"if-none-match":
                    if_none_match = value.decode("latin-1")
                    break
            response = self.endpoints.respond(scope["method"], path, if_none_match)
            await _send(send, response)
        elif self._app is not None:
            await self._app(scope, receive, send)
        elif kind == "lifespan":
            await _acknowledge_lifespan(receive, send)
        # Other scope types (websocket) are not served: returning closes them.


async def _acknowledge_lifespan(receive: Receive, send: Send) -> None:
    """Nothing to set up or tear down: acknowledge both lifespan events."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _send(send: Send, response: Response) -> None:
    await send(
        {"type": "http.response.start", "status": response.status, "headers": response.raw_headers}
    )
    await send({"type": "http.response.body", "body": response.body})


class TokenEndpointApp:
    """ASGI shell of a :class:`~bearerguard.issuing.TokenEndpoint` at *path*.

    Reads at most ``endpoint.max_body`` bytes of a request body (a larger one
    is answered 413 without reading the rest) and runs the endpoint in a worker
    thread, since a refresh store may do blocking I/O (Redis). Other paths go
    to *app* if given, else 404.
    """

    def __init__(
        self, endpoint: TokenEndpoint, *, path: str = "/token", app: ASGIApp | None = None
    ) -> None:
        if not isinstance(endpoint, TokenEndpoint):
            raise ConfigurationError("TokenEndpointApp needs a TokenEndpoint")
        if not path.startswith("/"):
            raise ConfigurationError("path must start with '/'")
        self.endpoint = endpoint
        self.path = path
        self._app = app
        self._not_found = WellKnownEndpoints.not_found()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http" or scope["path"] != self.path:
            if self._app is not None:
                await self._app(scope, receive, send)
            elif scope["type"] == "http":
                await _send(send, self._not_found)
            elif scope["type"] == "lifespan":
                await _acknowledge_lifespan(receive, send)
            return
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            name, value = raw_name.decode("latin-1").lower(), raw_value.decode("latin-1")
            # RFC 9110 §5.3: repeated fields combine into one comma-separated value.
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        body = await self._read_body(headers, receive)
        if body is None:
            response = self.endpoint.too_large()
        else:
            response = await asyncio.to_thread(
                self.endpoint.respond, scope["method"], headers, body
            )
        await _send(send, response)

    async def _read_body(self, headers: Mapping[str, str], receive: Receive) -> bytes | None:
        limit = self.endpoint.max_body
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b""  # the client went away; the answer is not read
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)
