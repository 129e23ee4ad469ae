"""``BearerTokenMiddleware``: every request's bearer token, checked before the view.

::

    MIDDLEWARE = [
        "corsheaders.middleware.CorsMiddleware",                    # if you serve browsers
        ...,
        "django.contrib.auth.middleware.AuthenticationMiddleware",  # if you use sessions too
        "bearerguard.django.BearerTokenMiddleware",                 # after both: checked
    ]

Synchronous and asynchronous: under ASGI the token is verified with
``Verifier.averify`` (through the backends' ``aauthenticate``), so the event
loop never waits for a key fetch.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, cast

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.module_loading import import_string

from .._decision import Action
from .._http import REFUSALS
from ._conf import get_config
from ._core import (
    CHECKED_ATTRIBUTE,
    aauthenticate_token,
    authenticate_token,
    decide,
    error_http_response,
    http_response,
    remember_claims,
    set_anonymous,
)

if TYPE_CHECKING:
    from ._conf import DjangoConfig

__all__ = ["BearerTokenMiddleware"]

GetResponse = Callable[[HttpRequest], HttpResponseBase]
AsyncGetResponse = Callable[[HttpRequest], Awaitable[HttpResponseBase]]


class BearerTokenMiddleware:
    """Authenticate each request by its ``Authorization: Bearer`` token.

    * valid token: ``request.user`` is the backend's user (a ``TokenUser`` by
      default) and ``request.auth_claims`` the verified claims;
    * no token: 401 with a bare ``Bearer`` challenge when ``REQUIRED`` is true
      (the default), else the request goes on with ``request.auth_claims = None``
      and the user other middleware set (or ``AnonymousUser``);
    * malformed header → 400, bad token → 401, keys unavailable → 503, each
      with the same bytes as every other adapter;
    * ``PUBLIC_PATHS`` (matched against ``request.path_info``; a trailing ``*``
      makes a prefix) are not authenticated; with ``RESOURCE`` set, the RFC 9728
      metadata document is served at its well-known path.

    ``settings.BEARERGUARD`` is checked when Django builds the middleware chain,
    so a wrong setting stops the server from starting, not the first request;
    so is its place in ``settings.MIDDLEWARE``: after ``AuthenticationMiddleware``
    (and ``RemoteUserMiddleware``), which would otherwise replace the token's
    user with the session's on a request already exempt from CSRF checks, and
    after django-cors-headers' ``CorsMiddleware``, which answers CORS
    preflights (browsers send them without a token) and adds CORS headers to
    every response, refusals included.

    There is no exception for preflights here: an ``OPTIONS`` request that
    ``CorsMiddleware`` does not answer is authenticated like any other.

    A bearerguard refusal a view raises (:class:`~bearerguard.InsufficientScope`,
    :class:`~bearerguard.InsufficientRole`, :class:`~bearerguard.InvalidClaims`,
    ...) is answered by :meth:`process_exception` with the same RFC 6750
    response, not a 500.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse | AsyncGetResponse) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)
        get_config()  # ImproperlyConfigured at start-up, not on a request
        _check_position(type(self))

    def __call__(self, request: HttpRequest) -> HttpResponseBase | Awaitable[HttpResponseBase]:
        if self.async_mode:
            return self.__acall__(request)
        config = get_config()
        step = _begin(request, config)
        if isinstance(step, HttpResponseBase):
            return step
        if step is not None:
            error = authenticate_token(request, step)
            if error is not None:
                return error_http_response(error, config, step)
        # Sync mode: Django gave a synchronous get_response.
        return cast(GetResponse, self.get_response)(request)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        config = get_config()
        step = _begin(request, config)
        if isinstance(step, HttpResponseBase):
            return step
        if step is not None:
            error = await aauthenticate_token(request, step)
            if error is not None:
                return error_http_response(error, config, step)
        return await cast(AsyncGetResponse, self.get_response)(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The RFC 6750 response for a bearerguard refusal the view raised; else ``None``."""
        if isinstance(exception, REFUSALS):
            return error_http_response(exception, get_config())
        return None


# Middleware that must come before BearerTokenMiddleware: (module, classes, what goes wrong).
# Looked up in sys.modules, not imported: their apps may not be installed, and
# a subclass named in settings.MIDDLEWARE has loaded its module already.
_RUNS_BEFORE = (
    (
        "django.contrib.auth.middleware",
        ("AuthenticationMiddleware", "RemoteUserMiddleware"),
        "a request with a valid token and a session cookie would run as the session's user "
        "without CSRF checks",
    ),
    (
        "corsheaders.middleware",
        ("CorsMiddleware",),
        "CORS preflights would be refused with 401 and refusals would carry no CORS headers, "
        "so browsers could read neither",
    ),
)


def _check_position(middleware: type[BearerTokenMiddleware]) -> None:
    """Refuse a ``settings.MIDDLEWARE`` where a middleware that must run first comes later."""
    paths = [path for path in getattr(settings, "MIDDLEWARE", None) or () if isinstance(path, str)]
    ours = next((i for i, path in enumerate(paths) if _is(_load(path), middleware)), None)
    if ours is None:
        return  # built by hand, outside settings.MIDDLEWARE
    for path in paths[ours + 1 :]:
        found = _load(path)
        for module_name, names, consequence in _RUNS_BEFORE:
            module = sys.modules.get(module_name)
            if module is not None and _is(found, tuple(getattr(module, n) for n in names)):
                raise ImproperlyConfigured(
                    f"settings.MIDDLEWARE: put {paths[ours]!r} after {path!r}: placed before "
                    f"it, {consequence}"
                )


def _load(path: str) -> object:
    try:
        return import_string(path)
    except ImportError:
        return None  # Django reports it when it loads the middleware


def _is(found: object, classes: type | tuple[type, ...]) -> bool:
    return isinstance(found, type) and issubclass(found, classes)


def _begin(request: HttpRequest, config: DjangoConfig) -> HttpResponseBase | str | None:
    """A response to send at once, the token to verify, or ``None`` to go on without one."""
    decision = decide(request, config)
    action = decision.action
    if action is Action.VERIFY:
        setattr(request, CHECKED_ATTRIBUTE, True)
        return decision.token
    if decision.response is not None:  # RESPOND, REFUSE
        return http_response(decision.response)
    remember_claims(request, None)
    set_anonymous(request)
    if action is Action.ANONYMOUS:
        # Looked at and found without a token: the decorator and DRF need not look again.
        setattr(request, CHECKED_ATTRIBUTE, True)
    return None
