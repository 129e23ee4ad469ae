"""Any WSGI application: the ``BearerAuthMiddleware`` and ``require_scopes``.

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

Refusals are rendered by :func:`bearerguard._http.error_response`: the same
bytes as every other adapter. No web framework is imported; the Flask adapter
uses the same request handling.

CORS preflights are authenticated like every other request, so wrap the CORS
layer *around* the middleware (``cors(BearerAuthMiddleware(app, ...))``): it
answers preflights, which carry no token, before they get here, and adds its
headers to the refusals that come back out.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ._environ import authenticate_environ, wsgi_status
from ._errors import BearerGuardError, ConfigurationError, MissingToken
from ._http import REFUSALS, ErrorResponse
from ._settings import GuardSettings
from .verifier import require_scopes as check_scopes

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "CLAIMS_KEY",
    "BearerAuthMiddleware",
    "require_scopes",
]

#: Where the middleware puts the verified claims (``None``: anonymous).
CLAIMS_KEY = "bearerguard.claims"
#: Where the middleware puts itself, for :func:`require_scopes`.
MIDDLEWARE_KEY = "bearerguard.middleware"


class BearerAuthMiddleware:
    """WSGI middleware that authenticates every request that is not public.

    Takes the :class:`~bearerguard._settings.GuardSettings` fields as keyword
    arguments (``oidc=``, ``audience=``, ``required=``, ``public_paths=``, ...)
    or a ready ``settings=``. With ``resource=`` it also serves the RFC 9728
    protected-resource metadata. ``OPTIONS`` requests, CORS preflights
    included, are authenticated like any other: the CORS layer goes outside.
    """

    def __init__(
        self, app: WSGIApplication, /, *, settings: GuardSettings | None = None, **options: Any
    ) -> None:
        if settings is None:
            settings = GuardSettings(**options)
        elif options:
            raise ConfigurationError(
                "BearerAuthMiddleware takes settings= or keyword settings, not both"
            )
        self.app = app
        self.settings = settings
        self.verifier = settings.build_verifier()
        self._required = settings.required
        self._is_public = settings.is_public
        metadata = settings.metadata
        self._metadata_path = metadata.path if metadata else None
        self._metadata_headers = list(metadata.headers) if metadata else []
        self._metadata_body = metadata.body if metadata else b""

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ[MIDDLEWARE_KEY] = self
        path = environ.get("PATH_INFO", "")
        if self._is_public(path):
            if path == self._metadata_path:
                return self._serve_metadata(environ, start_response)
            environ[CLAIMS_KEY] = None
            return self.app(environ, start_response)
        try:
            claims = authenticate_environ(environ, self.verifier, required=self._required)
        except REFUSALS as error:
            return self.refuse(start_response, error)
        environ[CLAIMS_KEY] = claims
        return self.app(environ, start_response)

    def refuse(self, start_response: StartResponse, error: BearerGuardError) -> list[bytes]:
        """Answer with the rendered response for *error*."""
        response: ErrorResponse = self.settings.render(error)
        start_response(wsgi_status(response.status), list(response.headers))
        return [response.body]

    def _serve_metadata(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> list[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            start_response(wsgi_status(405), [("allow", "GET, HEAD"), ("content-length", "0")])
            return []
        start_response(wsgi_status(200), list(self._metadata_headers))
        return [self._metadata_body] if method == "GET" else []


def require_scopes(*scopes: str) -> Callable[[WSGIApplication], WSGIApplication]:
    """Decorate a WSGI application so it runs only for tokens granting every scope.

    Must sit behind :class:`BearerAuthMiddleware`, which renders the refusal
    (401 without a token, 403 with ``insufficient_scope``). With no scopes it
    only requires a verified token.
    """
    for scope in scopes:
        if not isinstance(scope, str) or not scope or " " in scope:
            raise ConfigurationError("each required scope must be one non-empty scope token")

    def decorator(app: WSGIApplication) -> WSGIApplication:
        @functools.wraps(app)
        def guarded(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            middleware = environ.get(MIDDLEWARE_KEY)
            if not isinstance(middleware, BearerAuthMiddleware):
                raise ConfigurationError("require_scopes needs BearerAuthMiddleware around the app")
            claims = environ.get(CLAIMS_KEY)
            try:
                if claims is None:
                    raise MissingToken("bearer token required")
                if scopes:
                    check_scopes(claims, *scopes)
            except REFUSALS as error:
                return middleware.refuse(start_response, error)
            return app(environ, start_response)

        return guarded

    return decorator
