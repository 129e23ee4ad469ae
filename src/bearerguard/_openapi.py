"""How FastAPI's OpenAPI document describes ``bearerguard.starlette``'s requirements.

FastAPI documents a route's security from its dependencies: a dependency that is
a ``fastapi.security.base.SecurityBase`` puts its ``model`` in the document's
``components.securitySchemes``, and its ``scheme_name``, with the scopes that
``Security(..., scopes=[...])`` declared on the way to it, in the operation's
``security``. Swagger UI reads both: an "Authorize" button, a lock on each
protected operation, and the token sent with "Try it out".

``require_scopes`` and ``require_token`` depend on such an object, which also
does the check (the scopes it is called with are the ones the document lists,
so the two cannot disagree). It is built the first time FastAPI analyses a
route: FastAPI is imported only then, and a Starlette app never imports it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._errors import ConfigurationError
from ._rules import scope_tokens

if TYPE_CHECKING:
    from fastapi.openapi.models import SecurityBase as SecuritySchemeModel
    from fastapi.security.base import SecurityBase
    from starlette.requests import HTTPConnection

__all__ = ["OpenAPIScheme", "security_dependency"]

#: Checks a connection against scopes and returns its claims (or raises the refusal).
Check = Callable[["HTTPConnection", tuple[str, ...]], Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAPIScheme:
    """How FastAPI's OpenAPI document and Swagger UI describe the bearer token.

    The default, ``OpenAPIScheme()``, is an HTTP bearer scheme with
    ``bearerFormat: JWT``: Swagger UI's "Authorize" dialog takes a token and
    sends it as ``Authorization: Bearer``. Given the issuer's ``token_url`` it
    is an OAuth 2.0 scheme whose flow Swagger UI runs to get a token: the
    authorization code flow (RFC 6749 §4.1) with ``authorization_url`` too,
    else client credentials (§4.4). Pass it to
    :func:`~bearerguard.starlette.require_scopes` as ``scheme=``::

        docs_scheme = OpenAPIScheme(
            authorization_url="https://login.example.com/authorize",
            token_url="https://login.example.com/oauth/token",
            scopes={"orders:read": "Read your orders"},
        )
        orders_read = require_scopes("orders:read", scheme=docs_scheme)

    *name* is the key in ``components.securitySchemes`` (default ``bearerAuth``,
    or ``oauth2`` for an OAuth 2.0 scheme); *scopes* maps each scope to the
    text Swagger UI shows beside it; *refresh_url* is the flow's refresh URL.
    Each route's required scopes are listed in its ``security`` either way.
    """

    name: str | None = None
    description: str | None = None
    token_url: str | None = None
    authorization_url: str | None = None
    refresh_url: str | None = None
    scopes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for setting in ("name", "description", "token_url", "authorization_url", "refresh_url"):
            value = getattr(self, setting)
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigurationError(f"OpenAPIScheme: {setting}= must be a non-empty string")
        if not isinstance(self.scopes, Mapping) or not all(
            isinstance(text, str) for text in self.scopes.values()
        ):
            raise ConfigurationError(
                "OpenAPIScheme: scopes= must map each scope to its description (a string)"
            )
        scope_tokens(tuple(self.scopes), "OpenAPIScheme: scopes=")
        if self.token_url is None:
            given = [s for s in ("authorization_url", "refresh_url") if getattr(self, s)]
            if self.scopes:
                given.append("scopes")
            if given:
                raise ConfigurationError(
                    f"OpenAPIScheme: {'= and '.join(given)}= describe an OAuth 2.0 flow, "
                    "which needs the issuer's token_url= too"
                )
        if self.name is None:
            object.__setattr__(self, "name", "bearerAuth" if self.token_url is None else "oauth2")
        object.__setattr__(self, "scopes", MappingProxyType(dict(self.scopes)))


def security_dependency(scheme: OpenAPIScheme, check: Check) -> SecurityBase:
    """A FastAPI security dependency: documents *scheme* and, called, returns *check*'s claims.

    FastAPI calls it with the connection and the scopes every ``Security``
    on the way declared (``SecurityScopes``), the same scopes the document
    lists for the route.
    """
    return _security_type()(scheme, check)


@functools.lru_cache(maxsize=256)
def _declared(scopes: tuple[str, ...]) -> tuple[str, ...]:
    # Security(..., scopes=[...]) of the user's own: the same grammar as require_scopes.
    return scope_tokens(scopes, "Security(scopes=...)")


@functools.cache
def _security_type() -> Callable[[OpenAPIScheme, Check], SecurityBase]:
    """The ``SecurityBase`` subclass, defined on first use (it imports FastAPI)."""
    from fastapi.security import SecurityScopes
    from fastapi.security.base import SecurityBase
    from starlette.requests import HTTPConnection

    class BearerGuardSecurity(SecurityBase):
        # FastAPI reads the parameters from here: it injects the connection
        # (HTTP or WebSocket) and the declared scopes.
        __signature__ = inspect.Signature(
            [
                inspect.Parameter(
                    "connection", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HTTPConnection
                ),
                inspect.Parameter(
                    "security_scopes",
                    inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    annotation=SecurityScopes,
                ),
            ]
        )

        def __init__(self, scheme: OpenAPIScheme, check: Check) -> None:
            self.model = _model(scheme)
            assert scheme.name is not None  # filled in by OpenAPIScheme
            self.scheme_name = scheme.name
            self._check = check

        def __repr__(self) -> str:
            return f"<bearerguard security scheme {self.scheme_name!r}>"

        # A coroutine function, so FastAPI calls it on the event loop, not in a thread.
        async def __call__(
            self, connection: HTTPConnection, security_scopes: SecurityScopes
        ) -> Any:
            return self._check(connection, _declared(tuple(security_scopes.scopes)))

    return BearerGuardSecurity


def _model(scheme: OpenAPIScheme) -> SecuritySchemeModel:
    """The OpenAPI Security Scheme Object of *scheme*, as FastAPI's model."""
    from fastapi.openapi import models

    if scheme.token_url is None:
        return models.HTTPBearer(bearerFormat="JWT", description=scheme.description)
    scopes = dict(scheme.scopes)
    flows = (
        models.OAuthFlows(
            clientCredentials=models.OAuthFlowClientCredentials(
                tokenUrl=scheme.token_url, refreshUrl=scheme.refresh_url, scopes=scopes
            )
        )
        if scheme.authorization_url is None
        else models.OAuthFlows(
            authorizationCode=models.OAuthFlowAuthorizationCode(
                authorizationUrl=scheme.authorization_url,
                tokenUrl=scheme.token_url,
                refreshUrl=scheme.refresh_url,
                scopes=scopes,
            )
        )
    )
    return models.OAuth2(flows=flows, description=scheme.description)
