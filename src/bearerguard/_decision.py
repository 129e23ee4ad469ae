"""The per-request decision every adapter makes, without I/O.

An adapter turns its request into plain values (method, path, the
``Authorization`` header value(s), the query string), asks
:meth:`RequestGate.decide` what to do, and translates the answer into its
framework's objects. The answer is a :class:`Decision`:

* ``PUBLIC``: a public path; go on unauthenticated;
* ``ANONYMOUS``: no token, and ``required=False``; go on unauthenticated;
* ``VERIFY``: verify :attr:`Decision.token` (the one I/O step, the adapter's:
  sync or async), then go on with the claims, or answer
  :meth:`RequestGate.refusal` of the error raised;
* ``RESPOND``: send :attr:`Decision.response` (the RFC 9728 document, or 405
  on its path);
* ``REFUSE``: send :attr:`Decision.response`, the rendering of
  :attr:`Decision.error`.

A view's own requirement (``require_token``, ``require_scopes``,
``require_roles``, ``require_auth``) is decided, once the request went on, by
:func:`access_refusal`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import NamedTuple, TypeVar

from ._dpop import DPoPRequest
from ._dpop_url import request_origin, request_url
from ._errors import (
    BearerGuardError,
    InsufficientRole,
    InsufficientScope,
    InsufficientUserAuthentication,
    InvalidToken,
    MissingToken,
)
from ._http import REFUSALS, PlainResponse, access_token_in_query, authorization_credentials
from ._settings import GuardSettings
from ._step_up import AuthRequirement
from .claims import StandardClaims
from .verifier import require_roles, require_scopes

__all__ = [
    "Action",
    "Decision",
    "RequestGate",
    "access_refusal",
]


class Action(enum.Enum):
    """What an adapter does with a request (see the module docstring)."""

    PUBLIC = "public"
    ANONYMOUS = "anonymous"
    VERIFY = "verify"
    RESPOND = "respond"
    REFUSE = "refuse"


class Decision(NamedTuple):
    """One request's fate: an :class:`Action` and what it needs.

    A named tuple, not a frozen dataclass: it is built on every request, and
    a tuple is built in half the time, immutable all the same.
    """

    action: Action
    #: ``VERIFY``: the bearer token to verify.
    token: str = ""
    #: ``RESPOND`` and ``REFUSE``: the response to send.
    response: PlainResponse | None = None
    #: ``REFUSE``: why (a WebSocket handshake is closed, not answered, so it needs the error).
    error: BearerGuardError | None = None
    #: ``VERIFY``: the scheme the token came with, ``"Bearer"`` or ``"DPoP"`` (RFC 9449 §7.1).
    scheme: str = "Bearer"


_PUBLIC = Decision(Action.PUBLIC)
_ANONYMOUS = Decision(Action.ANONYMOUS)
# RFC 9110 §15.5.6: a 405 lists the methods the resource allows.
_NOT_ALLOWED = Decision(
    Action.RESPOND,
    response=PlainResponse(405, (("allow", "GET, HEAD"), ("content-length", "0")), b""),
)


class RequestGate:
    """The per-request decision for one adapter's settings; everything is prepared here.

    *max_token_size* is the verifier's cap: a larger token is refused before
    any verification starts.
    """

    __slots__ = (
        "_dpop",
        "_external_url",
        "_is_public",
        "_max_token_size",
        "_metadata_get",
        "_metadata_head",
        "_metadata_path",
        "_missing",
        "_missing_error",
        "_required",
        "settings",
    )

    def __init__(self, settings: GuardSettings, *, max_token_size: int) -> None:
        self.settings = settings
        self._required = settings.required
        # RFC 9449 §7.1: "Authorization: DPoP" is read only when DPoP is on.
        self._dpop = settings.dpop_mode != "off"
        self._external_url = settings.external_url
        self._is_public = settings.is_public
        self._max_token_size = max_token_size
        metadata = settings.metadata
        self._metadata_path = metadata.path if metadata else None
        headers = metadata.headers if metadata else ()
        body = metadata.body if metadata else b""
        self._metadata_get = Decision(Action.RESPOND, response=PlainResponse(200, headers, body))
        # RFC 9110 §9.3.2: HEAD gets GET's headers (Content-Length included), no body.
        self._metadata_head = Decision(Action.RESPOND, response=PlainResponse(200, headers, b""))
        # RFC 6750 §3.1: no credentials, so a challenge without an error code.
        missing = MissingToken("bearer token required")
        response = settings.render(missing, report=False)  # reported per request
        self._missing = Decision(Action.REFUSE, response=response, error=missing)
        self._missing_error = missing

    def decide(
        self,
        method: str,
        path: str,
        authorization: str | bytes | Sequence[str | bytes] | None,
        query: str | bytes,
    ) -> Decision:
        """What to do with a request to *path* (below the app's mount point).

        *authorization* is the ``Authorization`` header value, or every value
        when the request had several; *query* the raw query string (a token
        there is refused, RFC 6750 §2.3). Public paths are never authenticated;
        the RFC 9728 document's path answers ``GET``/``HEAD`` and refuses other
        methods with 405.
        """
        if self._is_public(path):
            if path == self._metadata_path:
                if method == "GET":
                    return self._metadata_get
                return self._metadata_head if method == "HEAD" else _NOT_ALLOWED
            return _PUBLIC
        return self.credentials(authorization, query, required=self._required)

    def credentials(
        self,
        authorization: str | bytes | Sequence[str | bytes] | None,
        query: str | bytes,
        *,
        required: bool,
    ) -> Decision:
        """``VERIFY`` the request's bearer token, ``REFUSE`` a malformed one, or no token.

        Without bearer credentials: ``REFUSE`` (401) when *required*, else
        ``ANONYMOUS``. A view decorator that authenticates the request itself
        passes ``required=True``; Django REST framework's authentication class
        ``False`` (its permissions decide).
        """
        try:
            scheme, token = authorization_credentials(
                authorization,
                other_credentials=access_token_in_query(query),
                max_size=self._max_token_size,
                dpop=self._dpop,
            )
        except MissingToken:
            if not required:
                return _ANONYMOUS
            self.settings.report(self._missing_error)
            return self._missing
        except REFUSALS as error:
            return self.refusal(error)
        if scheme == "DPoP":
            return Decision(Action.VERIFY, token, scheme="DPoP")
        return Decision(Action.VERIFY, token)

    def dpop_request(
        self,
        decision: Decision,
        method: str,
        origin: Callable[[], str],
        path: str | bytes,
        proofs: Sequence[str],
    ) -> DPoPRequest | None:
        """What the verifier needs of a request whose token came with the DPoP scheme.

        ``None`` for a bearer token. The URL is ``external_url`` (or, without
        it, *origin*: the request's own ``scheme://host``) followed by *path*,
        the full path the server received; *proofs* are its ``DPoP`` header
        values.
        """
        if decision.scheme != "DPoP":
            return None
        base = self._external_url or request_origin(origin())
        return DPoPRequest(method, request_url(base, path), tuple(proofs))

    def refusal(
        self, error: BearerGuardError, token: str | None = None, scheme: str = "Bearer"
    ) -> Decision:
        """``REFUSE`` with *error* rendered the way every adapter sends it.

        The refusal is reported (logged, ``on_refusal``) with *token*, the
        refused token when there was one. A token error of a token that came
        with the DPoP *scheme* is answered with a DPoP challenge (RFC 9449 §7.1).
        """
        if scheme == "DPoP" and isinstance(error, InvalidToken) and error.scheme != "DPoP":
            error = _in_scheme(error, "DPoP")
        if isinstance(error, MissingToken):
            self.settings.report(error)
            return self._missing  # the same bytes whatever the message
        return Decision(Action.REFUSE, response=self.settings.render(error, token), error=error)


def access_refusal(
    claims: StandardClaims | None,
    scopes: Sequence[str],
    roles: Sequence[str] = (),
    auth: AuthRequirement | None = None,
) -> MissingToken | InsufficientScope | InsufficientRole | InsufficientUserAuthentication | None:
    """Why a view that needs a token granting *scopes* and *roles* must not run, or ``None``.

    *claims* are the request's verified claims (``None``: no token was
    verified, so 401). With no *scopes* and no *roles* any verified token
    will do; a missing scope is 403 ``insufficient_scope`` naming the
    required scopes, a missing role 403 ``insufficient_scope`` describing the
    missing roles (see :class:`~bearerguard.InsufficientRole`). *auth*, a
    step-up requirement (RFC 9470), is checked last: a user who authenticates
    again gets no scope or role the client was not granted, so a token that
    fails both is told about the scope first. A DPoP-bound token (accepted
    only with the DPoP scheme) is refused in a DPoP challenge (RFC 9449 §7.1).
    """
    if claims is None:
        return MissingToken("bearer token required")
    if scopes:
        try:
            require_scopes(claims, *scopes)
        except InsufficientScope as error:
            return _in_scheme_of(claims, error)
    if roles:
        try:
            require_roles(claims, *roles)
        except InsufficientRole as error:
            return _in_scheme_of(claims, error)
    if auth is not None:
        try:
            auth.check(claims)
        except InsufficientUserAuthentication as error:
            return _in_scheme_of(claims, error)
    return None


E = TypeVar("E", bound=BearerGuardError)


def _in_scheme(error: E, scheme: str) -> E:
    """A copy of *error* answered in *scheme*; the raised error is left as it is.

    One raised error may answer several requests (a single-flight
    introspection call, for one), each in the scheme its token came with.
    """
    kind = type(error)
    clone = kind.__new__(kind, *error.args)  # no __init__: the attributes are copied
    clone.__dict__.update(error.__dict__)
    clone.scheme = scheme
    return clone


def _in_scheme_of(claims: StandardClaims, error: E) -> E:
    """*error*, answered in the DPoP scheme when *claims* are DPoP-bound (``cnf.jkt``)."""
    cnf = claims.raw.get("cnf")
    if type(cnf) is dict and "jkt" in cnf:
        error.scheme = "DPoP"
    return error
