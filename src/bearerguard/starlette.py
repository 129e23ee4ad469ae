"""Starlette and FastAPI: the ``JWTAuth`` middleware and ``require_scopes``.

``JWTAuth`` is a pure ASGI middleware: it reads the ``Authorization`` header,
verifies the token on the async path (key fetches never block the event loop)
and sets ``scope["user"]`` and ``scope["auth"]`` the way Starlette's own
``AuthenticationMiddleware`` does, so ``request.user`` and
``starlette.authentication.requires`` work too::

    from starlette.applications import Starlette
    from bearerguard.starlette import JWTAuth, require_scopes

    @require_scopes("orders:read")
    async def list_orders(request):
        return JSONResponse({"sub": request.user.claims.sub})

    app = Starlette(routes=[Route("/orders", list_orders)])
    app.add_middleware(JWTAuth, oidc="https://login.example.com", audience="api://orders")

In FastAPI the same ``require_scopes`` is a dependency that returns the claims::

    @app.get("/orders")
    def orders(claims: AccessClaims = Depends(require_scopes("orders:read"))): ...

Refusals are rendered by :func:`bearerguard._http.error_response` (the bytes
every adapter sends). A WebSocket handshake that fails is closed before it is
accepted, with code 1008 (policy violation), or 1013 (try again later) when the
issuer's keys are unavailable.

Every request that is not public is authenticated, CORS preflights included:
an endpoint or mounted app that accepts ``OPTIONS`` never runs without a
token. Browsers send preflights without credentials, so put Starlette's
``CORSMiddleware`` outside ``JWTAuth`` (``add_middleware`` it after
``JWTAuth``, or list it first in ``middleware=[...]``): it answers preflights
itself and adds its headers to ``JWTAuth``'s refusals.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from starlette.authentication import AuthCredentials, BaseUser, UnauthenticatedUser
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._errors import BearerGuardError, ConfigurationError, KeySetUnavailable, MissingToken
from ._http import REFUSALS, access_token_in_query, bearer_token
from ._settings import GuardSettings
from .claims import StandardClaims
from .verifier import require_scopes as check_scopes

__all__ = [
    "JWTAuth",
    "TokenUser",
    "require_scopes",
    "require_token",
]

C = TypeVar("C", bound=StandardClaims)
F = TypeVar("F", bound=Callable[..., Any])

# RFC 6455 §7.4.1: 1008 policy violation; 1013 try again later (IANA registry).
WS_POLICY_VIOLATION = 1008
WS_TRY_AGAIN_LATER = 1013
_MAX_REASON = 123  # RFC 6455 §5.5: a close frame's reason fits in 123 bytes


def _route_path(scope: Scope) -> str:
    """The path below the app's mount point (``path`` minus ``root_path``), as routing sees it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root) :] or "/"
    return path


class TokenUser(BaseUser, Generic[C]):
    """``request.user`` for a verified token: the typed ``claims`` and their ``scopes``."""

    __slots__ = ("claims",)

    def __init__(self, claims: C) -> None:
        self.claims = claims

    @property
    def is_authenticated(self) -> bool:
        """Always true: a TokenUser exists only for a verified token."""
        return True

    @property
    def display_name(self) -> str:
        """The token's ``sub`` (or ``client_id`` for client-credentials tokens)."""
        return self.identity

    @property
    def identity(self) -> str:
        """The token's ``sub``, else its ``client_id``, else ``""``."""
        claims = self.claims
        return claims.sub or getattr(claims, "client_id", None) or ""

    @property
    def scopes(self) -> frozenset[str]:
        """The scopes the token grants."""
        scopes = getattr(self.claims, "scopes", None)
        return scopes if isinstance(scopes, frozenset) else frozenset()

    def __repr__(self) -> str:
        return f"TokenUser({self.identity!r})"


_ANONYMOUS = UnauthenticatedUser()


class _Refused(Exception):
    """Raised by :func:`require_scopes` before the endpoint runs; JWTAuth renders it."""

    def __init__(self, error: BearerGuardError) -> None:
        super().__init__("request refused by bearerguard.starlette (is JWTAuth installed?)")
        self.error = error


def _start_message(status: int, headers: tuple[tuple[str, str], ...]) -> Message:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return {"type": "http.response.start", "status": status, "headers": raw}


class JWTAuth:
    """Pure ASGI middleware that authenticates HTTP and WebSocket requests.

    Takes the :class:`~bearerguard._settings.GuardSettings` fields as keyword
    arguments (``oidc=``, ``audience=``, ``required=``, ``public_paths=``, ...)
    or a ready ``settings=``. Everything is prepared here, once; no network
    call is made until the first token arrives. Lifespan and other scope types
    pass straight through. CORS preflights get no exemption: a CORS layer
    belongs outside this middleware.
    """

    def __init__(
        self, app: ASGIApp, /, *, settings: GuardSettings | None = None, **options: Any
    ) -> None:
        if settings is None:
            settings = GuardSettings(**options)
        elif options:
            raise ConfigurationError("JWTAuth takes settings= or keyword settings, not both")
        self.app = app
        self.settings = settings
        self.verifier = settings.build_verifier()
        self._required = settings.required
        self._is_public = settings.is_public
        metadata = settings.metadata
        self._metadata_path = metadata.path if metadata else None
        self._metadata_start = _start_message(200, metadata.headers) if metadata else None
        self._metadata_body = metadata.body if metadata else b""
        self._not_allowed = _start_message(405, (("allow", "GET, HEAD"), ("content-length", "0")))
        missing = settings.render(MissingToken("bearer token required"))
        self._missing = (_start_message(missing.status, missing.headers), missing.body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        if self._is_public(path):
            if path == self._metadata_path and kind == "http":
                await self._serve_metadata(scope, send)
                return
            # Keep a user an outer middleware (e.g. sessions) may have set.
            scope.setdefault("user", _ANONYMOUS)
            scope.setdefault("auth", AuthCredentials())
            await self.app(scope, receive, send)
            return
        try:
            claims = await self._authenticate(scope)
        except REFUSALS as error:
            await self._refuse(scope, send, error)
            return
        if claims is None:
            scope.setdefault("user", _ANONYMOUS)
            scope.setdefault("auth", AuthCredentials())
        else:
            user: TokenUser[Any] = TokenUser(claims)
            scope["user"] = user
            scope["auth"] = AuthCredentials(sorted(user.scopes))
        try:
            await self.app(scope, receive, send)
        except _Refused as refused:
            # require_scopes raises before the endpoint has sent anything.
            await self._refuse(scope, send, refused.error)

    async def _authenticate(self, scope: Scope) -> StandardClaims | None:
        values = [value for name, value in scope["headers"] if name == b"authorization"]
        # Several header lines are joined as WSGI servers join them, so every
        # adapter sees (and answers) the same thing.
        header = None if not values else values[0] if len(values) == 1 else b", ".join(values)
        other = access_token_in_query(scope.get("query_string", b""))
        try:
            token = bearer_token(
                header, other_credentials=other, max_size=self.verifier.max_token_size
            )
        except MissingToken:
            if self._required:
                raise
            return None
        claims: StandardClaims = await self.verifier.averify(token)
        return claims

    async def _refuse(self, scope: Scope, send: Send, error: BearerGuardError) -> None:
        if scope["type"] == "websocket":
            # Closing before accept makes the server answer the handshake with 403.
            body = json.loads(self.settings.render(error).body)
            reason = f"{body['error']}: {body.get('error_description', '')}"
            code = (
                WS_TRY_AGAIN_LATER if isinstance(error, KeySetUnavailable) else WS_POLICY_VIOLATION
            )
            await send({"type": "websocket.close", "code": code, "reason": reason[:_MAX_REASON]})
            return
        if isinstance(error, MissingToken):
            start, payload = self._missing
        else:
            response = self.settings.render(error)
            start, payload = _start_message(response.status, response.headers), response.body
        await send(start)
        await send({"type": "http.response.body", "body": payload})

    async def _serve_metadata(self, scope: Scope, send: Send) -> None:
        method = scope["method"]
        if method != "GET" and method != "HEAD":
            await send(self._not_allowed)
            await send({"type": "http.response.body", "body": b""})
            return
        assert self._metadata_start is not None
        await send(self._metadata_start)
        body = self._metadata_body if method == "GET" else b""
        await send({"type": "http.response.body", "body": body})


class ScopeRequirement:
    """What :func:`require_scopes` returns: a decorator and a FastAPI dependency.

    As a decorator it wraps a Starlette endpoint (sync or async, HTTP or
    WebSocket, function or ``HTTPEndpoint`` method) and checks the scopes
    before the endpoint runs. As a dependency (``Depends(...)`` or
    ``Security(...)``) FastAPI calls it with the connection and gets the
    claims. A refusal (401 without a token, 403 for a missing scope) is
    rendered by :class:`JWTAuth`.
    """

    __slots__ = ("scopes",)
    # What FastAPI reads to inject the connection (FastAPI is never imported here).
    __signature__ = inspect.Signature(
        [
            inspect.Parameter(
                "connection", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HTTPConnection
            )
        ]
    )

    def __init__(self, scopes: tuple[str, ...]) -> None:
        for scope in scopes:
            if not isinstance(scope, str) or not scope or " " in scope:
                raise ConfigurationError("each required scope must be one non-empty scope token")
        self.scopes = scopes

    def __repr__(self) -> str:
        return f"require_scopes({', '.join(map(repr, self.scopes))})"

    def __call__(self, connection: Any) -> Any:
        """Check *connection* (dependency use), or wrap an endpoint (decorator use)."""
        if isinstance(connection, HTTPConnection):
            return self.check(connection)
        if callable(connection):
            return self._wrap(connection)
        raise TypeError("require_scopes(...) decorates an endpoint or checks a connection")

    def check(self, connection: HTTPConnection) -> Any:
        """The verified claims of *connection*, if they grant every required scope."""
        scope = connection.scope
        if "user" not in scope:
            raise ConfigurationError("require_scopes needs the JWTAuth middleware on this app")
        user = scope["user"]
        if not isinstance(user, TokenUser):
            raise _Refused(MissingToken("bearer token required"))
        if self.scopes:
            try:
                check_scopes(user.claims, *self.scopes)
            except REFUSALS as error:
                raise _Refused(error) from None
        return user.claims

    def _wrap(self, endpoint: F) -> F:
        check = self.check

        def connection_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> HTTPConnection:
            for value in (*args, *kwargs.values()):
                if isinstance(value, HTTPConnection):
                    return value
            raise ConfigurationError(
                f"@{self!r} needs {endpoint.__qualname__} to take the request or websocket"
            )

        if inspect.iscoroutinefunction(endpoint):

            @functools.wraps(endpoint)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                check(connection_of(args, kwargs))
                return await endpoint(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(endpoint)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check(connection_of(args, kwargs))
            return endpoint(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


def require_scopes(*scopes: str) -> ScopeRequirement:
    """Require a verified token granting every one of *scopes*.

    Decorate an endpoint (``@require_scopes("orders:read")``) or use it as a
    FastAPI dependency (``Depends(require_scopes("orders:read"))``, which
    returns the claims). With no scopes it only requires a verified token.
    """
    return ScopeRequirement(scopes)


#: Require a verified token, any scopes: ``@require_token`` or ``Depends(require_token)``.
require_token = ScopeRequirement(())
