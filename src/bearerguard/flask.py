"""Flask: ``BearerGuard`` and ``@require_scopes``, ``_roles``, ``_auth``, ``_token``.

::

    from flask import Flask, g
    from bearerguard.flask import BearerGuard, require_scopes

    app = Flask(__name__)
    guard = BearerGuard(app, oidc="https://login.example.com", audience="api://orders")

    @app.get("/orders")
    @require_scopes("orders:read")
    def orders():
        return {"sub": g.claims.sub}

Settings come from keyword arguments and from ``app.config`` keys named
``BEARERGUARD_<FIELD>`` (``BEARERGUARD_OIDC``, ``BEARERGUARD_AUDIENCE``,
``BEARERGUARD_REQUIRED``, ...; keyword arguments win), see
:class:`~bearerguard.GuardSettings`. Every request that is not public
is authenticated before its view runs; the claims are in ``g.claims``
(``None`` when anonymous requests are allowed with ``required=False``), and
:func:`current_claims` returns them typed for type checkers.

CORS: use flask-cors's ``CORS(app)`` (before or after ``BearerGuard``). A
preflight, which browsers send without a token, is answered without one only
where Flask answers ``OPTIONS`` itself (a route that does not list
``OPTIONS``), so no view runs; flask-cors adds its headers to that answer and
to the refusals. A view that handles ``OPTIONS`` itself, an unknown path and
flask-cors's ``@cross_origin`` decorator get no such exemption.

Every adapter refuses with the same bytes (RFC 6750 §3): 400, 401 or 403 with
a ``WWW-Authenticate: Bearer`` challenge, or 503 with ``Retry-After`` when the
issuer's keys are unavailable, each with a small JSON body naming the error.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, overload

try:
    import flask  # noqa: F401  (only to say what to install)
except ModuleNotFoundError as exc:
    raise ModuleNotFoundError(
        "bearerguard.flask needs Flask: pip install 'bearerguard[flask]'", name=exc.name
    ) from exc

from flask import Flask, Response, current_app, g, request

from ._decision import Action, Decision, RequestGate, access_refusal
from ._environ import decide_environ, verify_token
from ._errors import BearerGuardError, ConfigurationError
from ._http import REFUSALS, PlainResponse, is_cors_preflight
from ._rules import role_names, scope_tokens
from ._settings import GuardSettings
from ._step_up import DEFAULT_LEEWAY, AuthRequirement
from ._typed_claims import check_claims_type, wrong_claims_type
from .claims import AccessClaims, StandardClaims
from .verifier import Verifier

__all__ = [
    "BearerGuard",
    "current_claims",
    "require_auth",
    "require_roles",
    "require_scopes",
    "require_token",
]

F = TypeVar("F", bound=Callable[..., Any])
C = TypeVar("C", bound=StandardClaims)

#: The key of the per-app state in ``app.extensions``.
EXTENSION_KEY = "bearerguard"


class BearerGuardState:
    """What :meth:`BearerGuard.init_app` keeps in ``app.extensions["bearerguard"]``."""

    __slots__ = ("gate", "settings", "verifier")

    def __init__(self, settings: GuardSettings, verifier: Verifier[Any]) -> None:
        self.settings = settings
        self.verifier = verifier
        self.gate = RequestGate(settings, max_token_size=verifier.max_token_size)

    def authenticate(self) -> Response | None:
        """``before_request`` hook: set ``g.claims`` or answer the request here.

        The answer is the refusal, or the RFC 9728 document on its path. A
        CORS preflight for a route whose ``OPTIONS`` Flask answers itself is
        answered here with that same built-in response, without a token: no
        view would run for it. Answering here, rather than letting the
        request go on, also keeps the ``before_request`` hooks registered
        after this one from running; ``after_request`` hooks (flask-cors adds
        its headers there) run as for every response, refusals included.
        Any other preflight is authenticated like every request.
        """
        g.claims = None
        decision = decide_environ(self.gate, request.environ)
        action = decision.action
        if action is Action.PUBLIC:
            return None
        if action is not Action.RESPOND and _flask_answers_options():
            return current_app.make_default_options_response()
        if action is Action.VERIFY:
            claims = verify_token(
                self.gate, self.verifier, decision.token, request.environ, scheme=decision.scheme
            )
            if not isinstance(claims, Decision):
                g.claims = claims
                return None
            decision = claims
        elif action is Action.ANONYMOUS:
            return None
        assert decision.response is not None  # RESPOND and REFUSE carry one
        return _response(decision.response)

    def refuse(self, error: BearerGuardError) -> Response:
        """The Flask response for *error*."""
        response = self.gate.refusal(error).response
        assert response is not None
        return _response(response)


def _response(response: PlainResponse) -> Response:
    return current_app.response_class(
        response.body, status=response.status, headers=list(response.headers)
    )


def _flask_answers_options() -> bool:
    """Whether the request is a CORS preflight that Flask answers with no view.

    ``Flask.dispatch_request`` answers ``OPTIONS`` itself when the matched
    rule has ``provide_automatic_options`` (the view did not list
    ``OPTIONS``). An unknown path, a redirect, a 405, or a view that handles
    ``OPTIONS`` (``methods=["OPTIONS", ...]``, a ``MethodView`` with
    ``options``, flask-cors's ``@cross_origin``) all lead to user code: those
    are authenticated.
    """
    if request.method != "OPTIONS":
        return False  # the common case, decided without reading headers
    headers = request.headers
    if not is_cors_preflight(
        request.method, headers.get("Origin"), headers.get("Access-Control-Request-Method")
    ):
        return False
    rule = request.url_rule
    return (
        request.routing_exception is None
        and rule is not None
        and getattr(rule, "provide_automatic_options", False) is True
    )


class BearerGuard:
    """The Flask extension: ``BearerGuard(app, **settings)`` or ``init_app`` later.

    The keyword arguments are :class:`~bearerguard.GuardSettings`
    fields; they override ``BEARERGUARD_*`` keys of ``app.config``. A ready
    ``settings=`` object is used as it is, config keys aside. Nothing is
    fetched until the first token arrives.
    """

    def __init__(
        self, app: Flask | None = None, *, settings: GuardSettings | None = None, **options: Any
    ) -> None:
        if settings is not None and options:
            raise ConfigurationError("BearerGuard takes settings= or keyword settings, not both")
        self._settings = settings
        self._options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Configure *app*: read its config, build the verifier, register the hooks.

        Besides the ``before_request`` hook, error handlers for bearerguard's
        refusals: a view that raises :class:`~bearerguard.InsufficientScope`,
        :class:`~bearerguard.InsufficientRole`, :class:`~bearerguard.InvalidClaims`
        (any :class:`~bearerguard.InvalidToken`, ...) gets the same RFC 6750
        response the guard sends, not a 500.
        """
        if EXTENSION_KEY in app.extensions:
            raise ConfigurationError("BearerGuard is already initialised on this app")
        settings = self._settings or GuardSettings.from_mapping(
            app.config, prefix="BEARERGUARD_", **self._options
        )
        state = BearerGuardState(settings, settings.build_verifier())
        app.extensions[EXTENSION_KEY] = state
        # Also serves the RFC 9728 document (resource=): no route of the app's own.
        app.before_request(state.authenticate)
        # A refusal raised by a view (InsufficientScope, InvalidClaims, ...) is
        # answered as the guard answers its own; a handler the app registers
        # later for one of these classes wins.
        for error_class in REFUSALS:
            app.register_error_handler(error_class, state.refuse)

    @staticmethod
    def state(app: Flask | None = None) -> BearerGuardState:
        """What :meth:`init_app` keeps for *app* (default: the current app).

        Its ``settings`` and ``verifier`` (``verifier.cache_info()``, say);
        a :class:`~bearerguard.ConfigurationError` if *app* has no guard.
        """
        app = app or current_app
        state = app.extensions.get(EXTENSION_KEY)
        if not isinstance(state, BearerGuardState):
            raise ConfigurationError("BearerGuard is not initialised on this Flask app")
        return state


def require_scopes(*scopes: str) -> Callable[[F], F]:
    """Let the view run only for a verified token granting every one of *scopes*.

    Put it under the route decorator. Without a token: 401; with a token
    lacking a scope: 403 ``insufficient_scope`` naming the required scopes.
    """
    return _requirement(scope_tokens(scopes, "require_scopes"), ())


def require_roles(*roles: str) -> Callable[[F], F]:
    """Let the view run only for a verified token holding every one of *roles*.

    The roles are the claims' ``roles`` (where they come from:
    ``claim_sources=``). Put it under the route decorator. Without a token:
    401; with a token lacking a role: 403 ``insufficient_scope`` without a
    ``scope`` attribute, the description naming the missing roles.
    """
    return _requirement((), role_names(roles, "require_roles"))


def require_auth(
    *,
    acr_values: str | Iterable[str] | None = None,
    max_age: int | None = None,
    leeway: float = DEFAULT_LEEWAY,
) -> Callable[[F], F]:
    """Let the view run only for a token from a strong and recent enough authentication.

    RFC 9470: the token's ``acr`` must be one of *acr_values* and/or its
    ``auth_time`` at most *max_age* seconds old (give or take *leeway*, see
    :func:`bearerguard.require_auth`). Put it under the route decorator; it
    stacks with :func:`require_scopes` and :func:`require_roles`. Without a
    token: 401; otherwise 401 ``insufficient_user_authentication`` with the
    required ``acr_values`` and ``max_age`` in the challenge.
    """
    return _requirement((), (), AuthRequirement.of(acr_values, max_age, leeway, "require_auth"))


def _requirement(
    scopes: tuple[str, ...], roles: tuple[str, ...], auth: AuthRequirement | None = None
) -> Callable[[F], F]:
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            state = BearerGuard.state()
            refusal = access_refusal(g.get("claims"), scopes, roles, auth)
            if refusal is not None:
                return state.refuse(refusal)
            return current_app.ensure_sync(view)(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorator


def require_token(view: F) -> F:
    """Let the view run only for a verified token (useful with ``required=False``)."""
    return require_scopes()(view)


@overload
def current_claims() -> AccessClaims | None: ...


@overload
def current_claims(claims_type: type[C]) -> C | None: ...


def current_claims(claims_type: type[StandardClaims] | None = None) -> StandardClaims | None:
    """The current request's verified claims, typed; ``None`` when no token was verified.

    ``g.claims`` holds the same object, typed ``Any``; this says what it is to
    type checkers and editors: an :class:`~bearerguard.AccessClaims`, or the
    *claims_type* given (the class ``BearerGuard`` was configured with as
    ``claims_type=``)::

        @app.get("/orders")
        @require_scopes("orders:read")
        def orders():
            claims = current_claims()
            assert claims is not None  # require_scopes let the view run
            return {"owner": claims.sub}

    Claims of another type than the one asked for are a
    :class:`~bearerguard.ConfigurationError` naming both.
    """
    wanted = check_claims_type(
        AccessClaims if claims_type is None else claims_type, "current_claims"
    )
    claims = g.get("claims")
    if claims is None or isinstance(claims, wanted):
        return claims
    asked_by = (
        "current_claims()" if claims_type is None else f"current_claims({wanted.__qualname__})"
    )
    raise wrong_claims_type(claims, wanted, asked_by=asked_by, setting="BearerGuard's claims_type")
