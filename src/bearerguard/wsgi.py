"""Any WSGI app: ``BearerAuthMiddleware``, ``require_scopes``/``_roles``/``_auth``/``_token``.

The middleware verifies the bearer token of every request that is not public
and puts the typed claims in ``environ["bearerguard.claims"]`` (``None`` for an
anonymous request when ``required=False``)::

    from bearerguard.wsgi import BearerAuthMiddleware, require_scopes

    @require_scopes("orders:read")
    def orders(environ, start_response):
        claims = environ["bearerguard.claims"]
        ...

    app = BearerAuthMiddleware(orders, oidc="https://login.example.com",
                               audience="api://orders")

Every adapter refuses with the same bytes (RFC 6750 §3): 400, 401 or 403 with
a ``WWW-Authenticate: Bearer`` challenge, or 503 with ``Retry-After`` when the
issuer's keys are unavailable, each with a small JSON body naming the error.
No web framework is imported; the Flask adapter uses the same request handling.

CORS preflights are authenticated like every other request, so wrap the CORS
layer *around* the middleware (``cors(BearerAuthMiddleware(app, ...))``): it
answers preflights, which carry no token, before they get here, and adds its
headers to the refusals that come back out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._decision import Action, Decision, RequestGate, access_refusal
from ._environ import decide_environ, verify_token, wsgi_status
from ._errors import BearerGuardError, ConfigurationError
from ._http import PlainResponse
from ._rules import role_names, scope_tokens
from ._settings import GuardSettings
from ._step_up import DEFAULT_LEEWAY, AuthRequirement

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "CLAIMS_KEY",
    "BearerAuthMiddleware",
    "require_auth",
    "require_roles",
    "require_scopes",
    "require_token",
]

#: Where the middleware puts the verified claims (``None``: anonymous).
CLAIMS_KEY = "bearerguard.claims"
#: Where the middleware puts itself, for :func:`require_scopes` and :func:`require_roles`.
MIDDLEWARE_KEY = "bearerguard.middleware"


class BearerAuthMiddleware:
    """WSGI middleware that authenticates every request that is not public.

    Takes the :class:`~bearerguard.GuardSettings` fields as keyword
    arguments (``oidc=``, ``audience=``, ``required=``, ``public_paths=``, ...)
    or a ready ``settings=``. With ``resource=`` it also serves the RFC 9728
    protected-resource metadata. ``OPTIONS`` requests, CORS preflights
    included, are authenticated like any other: the CORS layer goes outside.
    """

    def __init__(
        self, app: WSGIApplication, /, *, settings: GuardSettings | None = None, **options: Any
    ) -> None:
        settings = GuardSettings.of(settings, options, "BearerAuthMiddleware")
        self.app = app
        self.settings = settings
        self.verifier = settings.build_verifier()
        self.gate = RequestGate(settings, max_token_size=self.verifier.max_token_size)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ[MIDDLEWARE_KEY] = self
        decision = decide_environ(self.gate, environ)
        action = decision.action
        if action is Action.VERIFY:
            claims = verify_token(
                self.gate, self.verifier, decision.token, environ, scheme=decision.scheme
            )
            if not isinstance(claims, Decision):
                environ[CLAIMS_KEY] = claims
                return self.app(environ, start_response)
            decision = claims
        elif action is Action.PUBLIC or action is Action.ANONYMOUS:
            environ[CLAIMS_KEY] = None
            return self.app(environ, start_response)
        assert decision.response is not None  # RESPOND and REFUSE carry one
        return _send(start_response, decision.response)

    def refuse(self, start_response: StartResponse, error: BearerGuardError) -> list[bytes]:
        """Answer with the rendered response for *error*."""
        response = self.gate.refusal(error).response
        assert response is not None
        return _send(start_response, response)


def _send(start_response: StartResponse, response: PlainResponse) -> list[bytes]:
    start_response(wsgi_status(response.status), list(response.headers))
    return [response.body] if response.body else []


def require_scopes(*scopes: str) -> Callable[[WSGIApplication], WSGIApplication]:
    """Decorate a WSGI application so it runs only for tokens granting every scope.

    Must sit behind :class:`BearerAuthMiddleware`, which renders the refusal
    (401 without a token, 403 with ``insufficient_scope``). With no scopes it
    only requires a verified token.
    """
    return _requirement(scope_tokens(scopes, "require_scopes"), (), "require_scopes")


def require_roles(*roles: str) -> Callable[[WSGIApplication], WSGIApplication]:
    """Decorate a WSGI application so it runs only for tokens holding every role.

    The roles are the claims' ``roles`` (where they come from:
    ``claim_sources=``). Must sit behind :class:`BearerAuthMiddleware`: 401
    without a token, 403 ``insufficient_scope`` without a ``scope`` attribute
    when a role is missing, the description naming the missing roles.
    """
    return _requirement((), role_names(roles, "require_roles"), "require_roles")


def require_auth(
    *,
    acr_values: str | Iterable[str] | None = None,
    max_age: int | None = None,
    leeway: float = DEFAULT_LEEWAY,
) -> Callable[[WSGIApplication], WSGIApplication]:
    """Decorate a WSGI application so it runs only after a strong and recent authentication.

    RFC 9470: the token's ``acr`` must be one of *acr_values* and/or its
    ``auth_time`` at most *max_age* seconds old (give or take *leeway*, see
    :func:`bearerguard.require_auth`). Must sit behind
    :class:`BearerAuthMiddleware`: 401 without a token, 401
    ``insufficient_user_authentication`` with the required ``acr_values``
    and ``max_age`` when the authentication falls short.
    """
    auth = AuthRequirement.of(acr_values, max_age, leeway, "require_auth")
    return _requirement((), (), "require_auth", auth)


def _requirement(
    scopes: tuple[str, ...],
    roles: tuple[str, ...],
    name: str,
    auth: AuthRequirement | None = None,
) -> Callable[[WSGIApplication], WSGIApplication]:
    def decorator(app: WSGIApplication) -> WSGIApplication:
        @functools.wraps(app)
        def guarded(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            middleware = environ.get(MIDDLEWARE_KEY)
            if not isinstance(middleware, BearerAuthMiddleware):
                raise ConfigurationError(f"{name} needs BearerAuthMiddleware around the app")
            refusal = access_refusal(environ.get(CLAIMS_KEY), scopes, roles, auth)
            if refusal is not None:
                return middleware.refuse(start_response, refusal)
            return app(environ, start_response)

        return guarded

    return decorator


def require_token(app: WSGIApplication) -> WSGIApplication:
    """Let *app* run only for a verified token (useful with ``required=False``).

    ``@require_token`` is ``@require_scopes()``: 401 without a token.
    """
    return require_scopes()(app)
