"""A pure-ASGI app serving an issuer's JWKS and metadata (no framework needed).

::

    ring = KeyRing("/etc/bearerguard/keys")
    app = WellKnownApp(issuer="https://login.example.com", keys=ring.public_keys())
    # uvicorn module:app — or wrap your own token endpoint app:
    app = WellKnownApp(issuer=..., keys=..., app=token_endpoint_app)

Serves ``/.well-known/jwks.json``, ``/.well-known/openid-configuration`` and
``/.well-known/oauth-authorization-server`` (paths follow the issuer's own
path, per OIDC Discovery §4 and RFC 8414 §3). Every response is precomputed;
a request costs a dict lookup. Other paths go to *app* if given, else 404.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from typing import Any

from ..jwk import PublicJWK
from .wellknown import WellKnownEndpoints

__all__ = ["ASGIApp", "WellKnownApp"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class WellKnownApp:
    """ASGI app for the well-known documents; optionally in front of another app.

    Arguments are those of :class:`~bearerguard.issuing.wellknown.WellKnownEndpoints`;
    :meth:`update_keys` publishes a new key set without a restart.
    """

    def __init__(
        self,
        *,
        issuer: str,
        keys: Iterable[PublicJWK],
        metadata: Mapping[str, Any] | None = None,
        jwks_max_age: int = 900,
        metadata_max_age: int = 3600,
        require_https: bool = True,
        app: ASGIApp | None = None,
    ) -> None:
        self.endpoints = WellKnownEndpoints(
            issuer=issuer,
            keys=keys,
            metadata=metadata,
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
            await send(
                {
                    "type": "http.response.start",
                    "status": response.status,
                    "headers": response.raw_headers,
                }
            )
            await send({"type": "http.response.body", "body": response.body})
        elif self._app is not None:
            await self._app(scope, receive, send)
        elif kind == "lifespan":
            # Nothing to set up or tear down; acknowledge both events.
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        # Other scope types (websocket) are not served: returning closes them.
