"""Starlette and FastAPI: the ``JWTAuth`` middleware, ``require_scopes``, ``_roles``, ``_auth``.

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

In FastAPI the same ``require_scopes`` is a dependency that returns the claims,
typed for mypy and editors with ``.depends()``; the route then appears in the
OpenAPI document with a security scheme and its scopes (see
:class:`OpenAPIScheme`), and Swagger UI's "Authorize" button works::

    orders_reader = require_scopes("orders:read").depends()

    @app.get("/orders")
    def orders(claims: AccessClaims = orders_reader): ...

Every adapter refuses with the same bytes (RFC 6750 §3): 400, 401 or 403 with
a ``WWW-Authenticate: Bearer`` challenge, or 503 with ``Retry-After`` when the
issuer's keys are unavailable, each with a small JSON body naming the error.
A WebSocket handshake that fails is closed before it is accepted, with code
1008 (policy violation), or 1013 (try again later) when the keys are
unavailable.

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
import re
from collections.abc import Callable, Iterable
from typing import Any, Generic, NoReturn, TypeVar, cast, overload

try:
    import starlette  # noqa: F401  (only to say what to install)
except ModuleNotFoundError as exc:
    raise ModuleNotFoundError(
        "bearerguard.starlette needs Starlette: pip install 'bearerguard[starlette]'",
        name=exc.name,
    ) from exc

from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._decision import Action, Decision, RequestGate, access_refusal
from ._dpop import DPoPRequest
from ._errors import BearerGuardError, ConfigurationError, InvalidRequest, KeySetUnavailable
from ._http import REFUSALS
from ._openapi import OpenAPIScheme, security_dependency
from ._rules import role_names, scope_tokens
from ._settings import GuardSettings
from ._step_up import DEFAULT_LEEWAY, AuthRequirement
from ._typed_claims import check_claims_type, wrong_claims_type
from ._users import TokenUser
from .claims import AccessClaims, StandardClaims

__all__ = [
    "JWTAuth",
    "OpenAPIScheme",
    "TokenUser",
    "require_auth",
    "require_roles",
    "require_scopes",
    "require_token",
]

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


def _dpop_request(
    gate: RequestGate, decision: Decision, scope: Scope, method: str
) -> DPoPRequest | None:
    """The DPoP side of a request whose token came with the DPoP scheme (RFC 9449)."""
    if decision.scheme != "DPoP":
        return None
    proofs = [value.decode("latin-1") for name, value in scope["headers"] if name == b"dpop"]
    path = scope.get("root_path", "") + _route_path(scope)
    return gate.dpop_request(decision, method, lambda: _origin(scope), path, proofs)


def _origin(scope: Scope) -> str:
    """``scheme://host[:port]`` as the server received the request (no proxy headers)."""
    scheme = {"ws": "http", "wss": "https"}.get(scope["scheme"], scope["scheme"])
    for name, value in scope["headers"]:
        if name == b"host":
            return f"{scheme}://{value.decode('latin-1')}"
    host, port = scope.get("server") or ("localhost", 80)
    return f"{scheme}://{host}:{port}"


_ANONYMOUS = UnauthenticatedUser()


class _Refused(Exception):
    """Raised by :func:`require_scopes` before the endpoint runs; JWTAuth renders it."""

    def __init__(self, error: BearerGuardError) -> None:
        super().__init__("request refused by bearerguard.starlette (is JWTAuth installed?)")
        self.error = error


# RFC 6750 §2.1: the b64token a bearer credential is made of.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def _take_subprotocol_token(scope: Scope, name: str) -> str | InvalidRequest | None:
    """Take the token offered right after the subprotocol *name* out of a handshake's scope.

    A browser cannot set ``Authorization`` on a WebSocket, so with
    ``websocket_subprotocol=`` it offers ``[name, token]`` as subprotocols.
    The token item leaves ``scope["subprotocols"]`` and the
    ``Sec-WebSocket-Protocol`` header, so the app can accept with *name*
    (or any other offered subprotocol) but never echo the token. Returns
    the token, ``None`` when *name* was not offered, or the refusal.
    """
    offered: list[str] = list(scope.get("subprotocols") or ())
    if name not in offered:
        return None
    kept: list[str] = []
    tokens: list[str] = []
    items = iter(offered)
    for item in items:
        kept.append(item)
        if item == name:
            token = next(items, None)
            if token is not None:
                tokens.append(token)
    scope["subprotocols"] = kept
    headers = [(key, value) for key, value in scope["headers"] if key != b"sec-websocket-protocol"]
    headers.append((b"sec-websocket-protocol", ", ".join(kept).encode("latin-1", "replace")))
    scope["headers"] = headers
    if len(tokens) > 1:
        return InvalidRequest("credentials sent in more than one way")
    if not tokens:
        return InvalidRequest(f"no token follows the {name} subprotocol")
    if _B64TOKEN.fullmatch(tokens[0]) is None:
        return InvalidRequest(f"the token after the {name} subprotocol is malformed")
    return tokens[0]


def _start_message(status: int, headers: tuple[tuple[str, str], ...]) -> Message:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    return {"type": "http.response.start", "status": status, "headers": raw}


class JWTAuth:
    """Pure ASGI middleware that authenticates HTTP and WebSocket requests.

    Takes the :class:`~bearerguard.GuardSettings` fields as keyword
    arguments (``oidc=``, ``audience=``, ``required=``, ``public_paths=``, ...)
    or a ready ``settings=``. Everything is prepared here, once; no network
    call is made until the first token arrives. Lifespan and other scope types
    pass straight through. CORS preflights get no exemption: a CORS layer
    belongs outside this middleware.

    Browsers cannot set ``Authorization`` on a WebSocket handshake. With
    ``websocket_subprotocol="bearer"`` (off by default) a handshake may carry
    the token as the subprotocol offered right after that name, as a page's
    ``new WebSocket(url, ["bearer", token])`` does. The token item is removed
    from ``scope["subprotocols"]`` and the ``Sec-WebSocket-Protocol`` header
    before the app runs, so the app accepts with the name
    (``websocket.accept(subprotocol="bearer")``) and cannot echo the token. A
    handshake with both an ``Authorization`` header and a subprotocol token is
    refused (``invalid_request``), as is a token in the query string. Proxies
    that log handshake headers log this token: send short-lived tokens only.

    A bearerguard refusal (:class:`~bearerguard.InsufficientScope`,
    :class:`~bearerguard.InsufficientRole`, :class:`~bearerguard.InvalidClaims`,
    any :class:`~bearerguard.InvalidToken`, ...) raised by the app below it
    (a FastAPI dependency, a Starlette endpoint) before the response started
    is answered as this middleware answers its own refusals: the same RFC 6750
    bytes, never a 500. No exception handler needs registering.

    A wrong setting (``audiance=``, no ``audience=``, ...) stops the server at
    start-up: the :class:`~bearerguard.ConfigurationError` is answered to the
    ASGI lifespan ``startup`` event as ``lifespan.startup.failed``, so uvicorn
    and hypercorn log its message and exit. Without a lifespan (uvicorn
    ``--lifespan off``, a ``TestClient`` outside ``with``) every request
    raises it, and the server answers 500.
    """

    def __init__(
        self, app: ASGIApp, /, *, settings: GuardSettings | None = None, **options: Any
    ) -> None:
        self.app = app
        self._misconfigured: ConfigurationError | None = None
        try:
            settings = GuardSettings.of(settings, options, "JWTAuth")
            verifier = settings.build_verifier()
        except ConfigurationError as error:
            # Starlette and FastAPI build their middleware inside the first ASGI
            # call, the lifespan one: raised from there, the error would make
            # uvicorn (lifespan="auto") and hypercorn carry on without lifespan
            # support and serve 500s. Kept, it fails the start-up in __call__.
            self._misconfigured = error
            return
        self.settings = settings
        self.verifier = verifier
        self.gate = RequestGate(settings, max_token_size=verifier.max_token_size)
        self._subprotocol = settings.websocket_subprotocol
        self._certificates = settings.certificates  # None: mtls is off

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._misconfigured is not None:
            await self._refuse_to_start(self._misconfigured, scope, receive, send)
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        values = [value for name, value in scope["headers"] if name == b"authorization"]
        # Several header lines are joined as WSGI servers join them, so every
        # adapter sees (and answers) the same thing.
        header = None if not values else values[0] if len(values) == 1 else b", ".join(values)
        # RFC 6455 §4.1: the opening handshake is a GET.
        method = scope["method"] if kind == "http" else "GET"
        query = scope.get("query_string", b"")
        conflict: InvalidRequest | None = None
        if kind == "websocket" and self._subprotocol is not None:
            carried = _take_subprotocol_token(scope, self._subprotocol)
            if isinstance(carried, InvalidRequest):
                conflict = carried
            elif carried is not None:
                if header is None:
                    header = f"Bearer {carried}"
                else:  # RFC 6750 §2: one way only, as for a query token
                    conflict = InvalidRequest("credentials sent in more than one way")
        decision = self.gate.decide(method, _route_path(scope), header, query)
        if conflict is not None and decision.action is not Action.PUBLIC:
            decision = self.gate.refusal(conflict)
        action = decision.action
        if action is Action.VERIFY:
            certificates = self._certificates
            certificate = None if certificates is None else certificates.from_scope(scope)
            try:
                claims: StandardClaims = await self.verifier.averify(
                    decision.token,
                    client_certificate=certificate,
                    dpop=_dpop_request(self.gate, decision, scope, method),
                )
            except REFUSALS as error:
                refusal = self.gate.refusal(error, decision.token, decision.scheme)
                await self._answer(scope, send, refusal)
                return
            user: TokenUser[Any] = TokenUser(claims)
            scope["user"] = user
            scope["auth"] = AuthCredentials(sorted(user.scopes))
        elif action is Action.REFUSE or (action is Action.RESPOND and kind == "http"):
            await self._answer(scope, send, decision)
            return
        else:
            # Public, anonymous, or a WebSocket to the RFC 9728 document's path (HTTP
            # only). Keep a user an outer middleware (e.g. sessions) may have set.
            scope.setdefault("user", _ANONYMOUS)
            scope.setdefault("auth", AuthCredentials())
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except _Refused as refused:
            # require_scopes raises before the endpoint has sent anything.
            await self._answer(scope, send, self.gate.refusal(refused.error))
        except REFUSALS as error:
            # Raised by the app's own code (a FastAPI dependency, an endpoint):
            # answered as this middleware answers it, unless the response began.
            if started:
                raise
            await self._answer(scope, send, self.gate.refusal(error))

    @staticmethod
    async def _refuse_to_start(
        error: ConfigurationError, scope: Scope, receive: Receive, send: Send
    ) -> NoReturn:
        message = f"JWTAuth: {error.description}"
        if scope["type"] == "lifespan" and (await receive())["type"] == "lifespan.startup":
            # ASGI lifespan spec: the server logs the message and stops.
            await send({"type": "lifespan.startup.failed", "message": message})
        # A new exception each time: raising the kept one would grow its traceback.
        raise ConfigurationError(message) from None

    async def _answer(self, scope: Scope, send: Send, decision: Decision) -> None:
        response = decision.response
        assert response is not None  # RESPOND and REFUSE carry one
        error = decision.error
        if scope["type"] == "websocket" and error is not None:
            # Closing before accept makes the server answer the handshake with 403.
            body = json.loads(response.body)
            reason = f"{body['error']}: {body.get('error_description', '')}"
            code = (
                WS_TRY_AGAIN_LATER if isinstance(error, KeySetUnavailable) else WS_POLICY_VIOLATION
            )
            await send({"type": "websocket.close", "code": code, "reason": reason[:_MAX_REASON]})
            return
        await send(_start_message(response.status, response.headers))
        await send({"type": "http.response.body", "body": response.body})


C = TypeVar("C", bound=StandardClaims)

#: How FastAPI's OpenAPI document shows a requirement given no ``scheme=``: HTTP bearer, JWT.
BEARER_SCHEME = OpenAPIScheme()

# The keyword FastAPI passes a requirement's claims by (see ScopeRequirement.__signature__).
_CLAIMS_PARAMETER = "bearerguard_claims"

_CONNECTION_SIGNATURE = inspect.Signature(
    [inspect.Parameter("connection", inspect.Parameter.POSITIONAL_ONLY, annotation=HTTPConnection)]
)


class _RequirementSignature:
    """``ScopeRequirement.__signature__``: the parameters FastAPI reads to call a requirement.

    With FastAPI installed, one parameter whose default is ``Security(...)`` on
    the requirement's security dependency, so the route's OpenAPI operation
    lists the scheme and the scopes, and FastAPI hands over the checked claims.
    Without FastAPI, the connection. On the class itself, none (``inspect``
    reads ``__init__``).
    """

    def __get__(
        self, requirement: ScopeRequirement[Any] | None, owner: type | None = None
    ) -> inspect.Signature | None:
        if requirement is None:
            return None
        signature = requirement._signature
        if signature is None:
            signature = requirement._signature = requirement._fastapi_signature()
        return signature


class ScopeRequirement(Generic[C]):
    """What :func:`require_scopes` returns: a decorator and a FastAPI dependency.

    As a decorator it wraps a Starlette endpoint (sync or async, HTTP or
    WebSocket, function or ``HTTPEndpoint`` method) and checks the scopes
    before the endpoint runs. As a dependency (``Depends(...)`` or
    ``Security(...)``, or typed: ``depends()``) FastAPI calls it with the
    connection and gets the claims, and the route's OpenAPI operation lists
    its security scheme and scopes. A refusal (401 without a token, 403 for
    a missing scope) is rendered by :class:`JWTAuth`. :func:`require_roles`
    returns one too, with ``roles`` (the document lists no scopes for it:
    roles are not OAuth scopes), and :func:`require_auth` one with ``auth``.
    """

    __slots__ = ("_security", "_signature", "auth", "claims_type", "roles", "scheme", "scopes")
    __signature__ = _RequirementSignature()

    def __init__(
        self,
        scopes: tuple[str, ...],
        *,
        claims_type: type[C] | None = None,
        scheme: OpenAPIScheme | None = None,
        roles: tuple[str, ...] = (),
        auth: AuthRequirement | None = None,
    ) -> None:
        self.scopes = scope_tokens(scopes, "require_scopes")
        self.roles = role_names(roles, "require_roles") if roles else ()
        self.auth = auth
        if scheme is not None and not isinstance(scheme, OpenAPIScheme):
            raise ConfigurationError(
                "require_scopes: scheme= must be a bearerguard.starlette.OpenAPIScheme"
            )
        self.claims_type = cast(
            "type[C]",
            check_claims_type(
                AccessClaims if claims_type is None else claims_type, "require_scopes"
            ),
        )
        self.scheme = BEARER_SCHEME if scheme is None else scheme
        self._security: Any = None
        self._signature: inspect.Signature | None = None

    def __repr__(self) -> str:
        arguments = [repr(name) for name in self.roles or self.scopes]
        auth = self.auth
        if auth is not None:
            if auth.acr_values:
                arguments.append(f"acr_values={auth.acr_values!r}")
            if auth.max_age is not None:
                arguments.append(f"max_age={auth.max_age}")
        if self.claims_type is not AccessClaims:
            arguments.append(f"claims_type={self.claims_type.__qualname__}")
        return f"{self._kind}({', '.join(arguments)})"

    @property
    def _kind(self) -> str:
        if self.auth is not None:
            return "require_auth"
        return "require_roles" if self.roles else "require_scopes"

    @overload
    def __call__(self, target: HTTPConnection, /) -> C: ...

    @overload
    def __call__(self, target: F, /) -> F: ...

    def __call__(self, target: Any = None, /, **dependencies: Any) -> Any:
        """Wrap an endpoint (decorator use), or check a connection and return its claims.

        FastAPI calls it with the claims its security dependency checked.
        """
        if _CLAIMS_PARAMETER in dependencies:
            return dependencies[_CLAIMS_PARAMETER]
        if isinstance(target, HTTPConnection):
            return self.check(target)
        if callable(target):
            return self._wrap(target)
        raise TypeError("require_scopes(...) decorates an endpoint or checks a connection")

    def check(self, connection: HTTPConnection) -> C:
        """The verified claims of *connection*, if they grant every required scope and role."""
        return self._claims(connection, self.scopes)

    def depends(self) -> C:
        """This requirement as a FastAPI parameter default, typed as its claims.

        ``claims: AccessClaims = require_scopes("orders:read").depends()`` is
        ``Security(...)`` for FastAPI, and for a type checker a value of the
        requirement's claims type, so ``claims: int = ...`` is an error (plain
        ``Depends(...)`` is ``Any``). Define it once at module level and use
        the name as the default where several routes share it.
        """
        try:
            from fastapi import Security
        except ModuleNotFoundError as exc:
            raise ModuleNotFoundError(
                f"{self!r}.depends() is for FastAPI: pip install fastapi", name=exc.name
            ) from exc
        return cast(C, Security(self._security_dependency(), scopes=list(self.scopes)))

    def _claims(self, connection: HTTPConnection, scopes: tuple[str, ...]) -> C:
        scope = connection.scope
        if "user" not in scope:
            raise ConfigurationError(f"{self._kind} needs the JWTAuth middleware on this app")
        user = scope["user"]
        claims = user.claims if isinstance(user, TokenUser) else None
        refusal = access_refusal(claims, scopes, self.roles, self.auth)
        if refusal is not None:
            raise _Refused(refusal)
        assert claims is not None  # access_refusal refuses a request without claims
        if isinstance(claims, self.claims_type):
            return claims
        raise wrong_claims_type(
            claims, self.claims_type, asked_by=repr(self), setting="JWTAuth's claims_type"
        )

    def _security_dependency(self) -> Any:
        """The FastAPI security dependency that documents and checks this requirement."""
        if self._security is None:
            self._security = security_dependency(self.scheme, self._claims)
        return self._security

    def _fastapi_signature(self) -> inspect.Signature:
        try:
            from fastapi import Security
        except ModuleNotFoundError:
            return _CONNECTION_SIGNATURE
        default = Security(self._security_dependency(), scopes=list(self.scopes))
        parameter = inspect.Parameter(
            _CLAIMS_PARAMETER, inspect.Parameter.KEYWORD_ONLY, default=default
        )
        return inspect.Signature([parameter])

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


@overload
def require_scopes(
    *scopes: str, scheme: OpenAPIScheme | None = None
) -> ScopeRequirement[AccessClaims]: ...


@overload
def require_scopes(
    *scopes: str, claims_type: type[C], scheme: OpenAPIScheme | None = None
) -> ScopeRequirement[C]: ...


def require_scopes(
    *scopes: str,
    claims_type: type[StandardClaims] | None = None,
    scheme: OpenAPIScheme | None = None,
) -> ScopeRequirement[Any]:
    """Require a verified token granting every one of *scopes*.

    Decorate an endpoint (``@require_scopes("orders:read")``) or use it as a
    FastAPI dependency (``Depends(require_scopes("orders:read"))``, which
    returns the claims; ``require_scopes("orders:read").depends()`` is the
    same, typed). With no scopes it only requires a verified token.

    The claims are an :class:`~bearerguard.AccessClaims` for type checkers
    and editors; with ``claims_type=OrderClaims`` (the class ``JWTAuth`` was
    given as ``claims_type=``) they are an ``OrderClaims``. In FastAPI's
    OpenAPI document the route lists *scheme* (default: HTTP bearer, JWT)
    with *scopes*.
    """
    return ScopeRequirement(scopes, claims_type=claims_type, scheme=scheme)


@overload
def require_roles(
    *roles: str, scheme: OpenAPIScheme | None = None
) -> ScopeRequirement[AccessClaims]: ...


@overload
def require_roles(
    *roles: str, claims_type: type[C], scheme: OpenAPIScheme | None = None
) -> ScopeRequirement[C]: ...


def require_roles(
    *roles: str,
    claims_type: type[StandardClaims] | None = None,
    scheme: OpenAPIScheme | None = None,
) -> ScopeRequirement[Any]:
    """Require a verified token holding every one of *roles* (at least one).

    Used as :func:`require_scopes` is: decorate an endpoint
    (``@require_roles("admin")``) or use it as a FastAPI dependency
    (``Depends(require_roles("admin"))`` or, typed,
    ``require_roles("admin").depends()``), which returns the claims. The
    roles are the claims' ``roles`` (where they come from:
    ``claim_sources=``). A missing role is 403 ``insufficient_scope``
    without a ``scope`` attribute, the description naming the missing roles.
    In FastAPI's OpenAPI document the route lists *scheme*, with no scopes.
    """
    return ScopeRequirement(
        (), claims_type=claims_type, scheme=scheme, roles=role_names(roles, "require_roles")
    )


@overload
def require_auth(
    *,
    acr_values: str | Iterable[str] | None = None,
    max_age: int | None = None,
    leeway: float = DEFAULT_LEEWAY,
    scheme: OpenAPIScheme | None = None,
) -> ScopeRequirement[AccessClaims]: ...


@overload
def require_auth(
    *,
    acr_values: str | Iterable[str] | None = None,
    max_age: int | None = None,
    leeway: float = DEFAULT_LEEWAY,
    claims_type: type[C],
    scheme: OpenAPIScheme | None = None,
) -> ScopeRequirement[C]: ...


def require_auth(
    *,
    acr_values: str | Iterable[str] | None = None,
    max_age: int | None = None,
    leeway: float = DEFAULT_LEEWAY,
    claims_type: type[StandardClaims] | None = None,
    scheme: OpenAPIScheme | None = None,
) -> ScopeRequirement[Any]:
    """Require a token from a strong and recent enough authentication (RFC 9470).

    The token's ``acr`` must be one of *acr_values* and/or its ``auth_time``
    at most *max_age* seconds old (give or take *leeway*, see
    :func:`bearerguard.require_auth`). Used as :func:`require_scopes` is: a
    decorator that stacks with the others, or a FastAPI dependency
    (``require_auth(acr_values="mfa").depends()``) that returns the claims.
    A shortfall is 401 ``insufficient_user_authentication`` with the
    required ``acr_values`` and ``max_age`` in the challenge.
    """
    auth = AuthRequirement.of(acr_values, max_age, leeway, "require_auth")
    return ScopeRequirement((), claims_type=claims_type, scheme=scheme, auth=auth)


#: Require a verified token, any scopes: ``@require_token``, ``Depends(require_token)``,
#: or typed, ``claims: AccessClaims = require_token.depends()``.
require_token: ScopeRequirement[AccessClaims] = ScopeRequirement((), claims_type=AccessClaims)
