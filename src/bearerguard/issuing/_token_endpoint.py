"""A token endpoint (RFC 6749 §3.2) without I/O: request in, response out.

::

    endpoint = TokenEndpoint(
        issuer=TokenIssuer(signer=..., issuer="https://login.example.com", audience="api://orders"),
        clients=[Client(client_id="orders-batch", client_secret="s3cret", scopes=("orders:read",))],
    )
    response = endpoint.respond("POST", headers, body)   # status, headers, body

Grants: ``client_credentials`` (RFC 6749 §4.4) and ``refresh_token``
(RFC 6749 §6, rotated with reuse detection by the issuer's refresh store).
Client authentication: ``client_secret_basic`` and ``client_secret_post``
(RFC 6749 §2.3.1), secrets compared in constant time. Every response is JSON
with ``Cache-Control: no-store`` (RFC 6749 §5.1); errors follow RFC 6749 §5.2.

Refresh tokens come only to clients configured with ``refresh=True``: for
them ``client_credentials`` returns one (RFC 6749 §4.4.3 advises against it
for production servers; see :mod:`bearerguard.issuing._clients`), and only
they may use the ``refresh_token`` grant.

The shells that do the I/O are :class:`bearerguard.issuing.TokenEndpointApp`
(ASGI) and the local issuer of :mod:`bearerguard.testing` (``bearerguard
serve-issuer``); both cap the body at :attr:`TokenEndpoint.max_body`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from .._errors import BearerGuardError, ConfigurationError
from .._rules import NOT_NQSCHAR, parse_scope, scope_tokens
from ._clients import Client, unique_clients
from ._errors import InvalidGrant, InvalidScope
from ._token_request import (
    InvalidClient,
    InvalidTokenRequest,
    TokenRequest,
    TokenRequestError,
    UnauthorizedClient,
    UnsupportedGrantType,
    parse_token_request,
)
from ._tokens import TokenIssuer, TokenResponse
from ._wellknown import Response, no_store_response

__all__ = ["DEFAULT_MAX_BODY", "TokenEndpoint"]

logger = logging.getLogger("bearerguard.issuing")

CLIENT_CREDENTIALS = "client_credentials"
REFRESH_TOKEN = "refresh_token"
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
DEFAULT_MAX_BODY = 16 * 1024  # a token request is a few hundred bytes

_ERRORS: tuple[type[BearerGuardError], ...] = (TokenRequestError, InvalidGrant, InvalidScope)


def _digest(secret: str) -> bytes:
    # Comparing digests keeps the comparison's time independent of the secrets' lengths.
    return hashlib.sha256(secret.encode("utf-8")).digest()


def _json(
    status: int, document: Mapping[str, Any], extra: Iterable[tuple[str, str]] = ()
) -> Response:
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    # RFC 6749 §5.1: tokens and errors are never cached (Pragma for HTTP/1.0 caches).
    return no_store_response(status, body, (("pragma", "no-cache"), *extra))


def error_response(
    code: str, description: str, status: int = 400, extra: Iterable[tuple[str, str]] = ()
) -> Response:
    """An RFC 6749 §5.2 error response."""
    # RFC 6749 §5.2: error_description is NQSCHAR only.
    safe = NOT_NQSCHAR.sub("?", description.replace("§", "section "))[:300]
    return _json(status, {"error": code, "error_description": safe}, extra)


class TokenEndpoint:
    """Issues tokens to *clients* through *issuer* (a :class:`TokenIssuer`).

    *default_scopes* are what a client configured without scopes may request
    (and what it gets when it names none). *realm* goes into the
    ``WWW-Authenticate: Basic`` challenge of ``invalid_client`` answers.
    """

    def __init__(
        self,
        *,
        issuer: TokenIssuer,
        clients: Iterable[Client],
        default_scopes: Iterable[str] = (),
        max_body: int = DEFAULT_MAX_BODY,
        realm: str | None = None,
    ) -> None:
        if not isinstance(issuer, TokenIssuer):
            raise ConfigurationError("issuer must be a TokenIssuer")
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 256:
            raise ConfigurationError("max_body must be an integer of at least 256 bytes")
        self._issuer = issuer
        self._clients = {c.client_id: c for c in unique_clients(clients)}
        self._default_scopes = scope_tokens(default_scopes, "default_scopes", distinct=True)
        self.max_body = max_body
        realm = issuer.issuer if realm is None else realm
        if not realm.isprintable() or '"' in realm or "\\" in realm:
            raise ConfigurationError("realm must be printable, without quotes or backslashes")
        self._challenge = (("www-authenticate", f'Basic realm="{realm}"'),)
        # Compared against when the client is unknown, so that both cases take as long.
        self._unknown = _digest("\x00unknown client")
        self._not_allowed = error_response(
            "invalid_request", "the token endpoint takes POST", 405, (("allow", "POST"),)
        )
        self._too_large = error_response(
            "invalid_request", f"the request body is larger than {max_body} bytes", 413
        )

    # -- what the metadata publishes ------------------------------------------------------

    @property
    def clients(self) -> tuple[Client, ...]:
        """The configured clients."""
        return tuple(self._clients.values())

    @property
    def grant_types_supported(self) -> tuple[str, ...]:
        """``client_credentials``, and ``refresh_token`` when a client may refresh."""
        refresh = any(c.refresh for c in self._clients.values())
        return (CLIENT_CREDENTIALS, REFRESH_TOKEN) if refresh else (CLIENT_CREDENTIALS,)

    @property
    def token_endpoint_auth_methods_supported(self) -> tuple[str, ...]:
        """``client_secret_basic`` and ``client_secret_post``."""
        return AUTH_METHODS

    @property
    def scopes_supported(self) -> tuple[str, ...]:
        """Every scope a client may request, default scopes first."""
        scopes = dict.fromkeys(self._default_scopes)
        for client in self._clients.values():
            scopes.update(dict.fromkeys(client.scopes or ()))
        return tuple(scopes)

    # -- requests -------------------------------------------------------------------------

    def too_large(self) -> Response:
        """The answer to a body over ``max_body`` bytes (HTTP 413, ``invalid_request``)."""
        return self._too_large

    def respond(self, method: str, headers: Mapping[str, str], body: bytes) -> Response:
        """The response to one request; *headers* has lower-case names."""
        if method != "POST":
            return self._not_allowed
        if len(body) > self.max_body:
            return self._too_large
        try:
            return _json(200, self.token(parse_token_request(headers, body)).to_dict())
        except _ERRORS as exc:
            extra = self._challenge if isinstance(exc, InvalidClient) else ()
            return error_response(exc.code or "invalid_request", exc.description, exc.status, extra)
        except Exception as exc:
            if isinstance(exc, BearerGuardError) and exc.status == 503:
                # A full or unreachable refresh store: nothing was issued; try again later.
                code = exc.code or "temporarily_unavailable"
                return error_response(code, exc.description, 503, (("retry-after", "5"),))
            # Any other store or signer failure: the client learns nothing about it.
            logger.exception("token endpoint failed")
            return error_response("server_error", "the server could not issue a token", 500)

    def token(self, request: TokenRequest) -> TokenResponse:
        """Authenticate the client and run the grant; raises the RFC 6749 §5.2 errors."""
        grant_type = request.params.get("grant_type")
        if grant_type is None:
            raise InvalidTokenRequest("grant_type is missing")
        client = self.authenticate(request)
        if grant_type == CLIENT_CREDENTIALS:
            return self._client_credentials(client, request.params)
        if grant_type == REFRESH_TOKEN:
            return self._refresh(client, request.params)
        raise UnsupportedGrantType("supported grant types: " + " ".join(self.grant_types_supported))

    def authenticate(self, request: TokenRequest) -> Client:
        """The client the request authenticates as (RFC 6749 §2.3.1), or ``invalid_client``."""
        body_id = request.params.get("client_id")
        body_secret = request.params.get("client_secret")
        if request.basic is not None:
            if body_secret is not None:
                raise InvalidTokenRequest(
                    "use one client authentication method: Basic or client_secret in the body"
                )
            readings = request.basic
            if body_id is not None and all(body_id != cid for cid, _ in readings):
                raise InvalidTokenRequest("client_id differs from the Basic credentials")
        elif body_id is not None and body_secret is not None:
            readings = ((body_id, body_secret),)
        else:
            raise InvalidClient(
                "authenticate the client: HTTP Basic (client_secret_basic) or client_id and "
                "client_secret in the body (client_secret_post)"
            )
        found: Client | None = None
        for client_id, secret in readings:
            client = self._clients.get(client_id)
            expected = self._unknown if client is None else _digest(client.client_secret)
            # Every reading is compared, so the time taken tells nothing.
            if hmac.compare_digest(_digest(secret), expected) and client is not None:
                found = found or client
        if found is None:
            raise InvalidClient("client authentication failed")
        return found

    # -- grants ---------------------------------------------------------------------------

    def _requested_scopes(self, params: Mapping[str, str]) -> tuple[str, ...] | None:
        value = params.get("scope")
        if value is None:
            return None
        scopes = parse_scope(value)
        if scopes is None:
            raise InvalidScope("scope is malformed: scope tokens separated by single spaces")
        return scopes

    def _client_credentials(self, client: Client, params: Mapping[str, str]) -> TokenResponse:
        allowed = self._default_scopes if client.scopes is None else client.scopes
        requested = self._requested_scopes(params)
        if requested is None:
            granted = allowed  # RFC 6749 §3.3: the client's default scopes
        else:
            refused = [s for s in requested if s not in allowed]
            if refused:
                raise InvalidScope(f"scope not allowed for this client: {' '.join(refused)}")
            granted = requested
        # RFC 9068 §2.2: without a resource owner, sub names the client.
        return self._issuer.issue(
            client.client_id, client.client_id, granted, refresh=client.refresh
        )

    def _refresh(self, client: Client, params: Mapping[str, str]) -> TokenResponse:
        if not client.refresh:
            raise UnauthorizedClient("this client may not use the refresh_token grant")
        token = params.get("refresh_token")
        if token is None:
            raise InvalidTokenRequest("refresh_token is missing")
        # Rotation and reuse detection happen in the issuer's refresh store;
        # a replayed token revokes its grant and is answered invalid_grant.
        return self._issuer.refresh(
            token, client_id=client.client_id, scopes=self._requested_scopes(params)
        )
