"""Bearer tokens in a WSGI environ: what the WSGI middleware and the Flask extension share.

No web framework is imported here; both adapters call :func:`authenticate_environ`
and render its refusals with :func:`bearerguard._http.error_response`.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ._errors import MissingToken
from ._http import access_token_in_query, bearer_token
from .claims import StandardClaims
from .verifier import Verifier

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["authenticate_environ", "wsgi_status"]


def wsgi_status(status: int) -> str:
    """The WSGI status line for *status* (``"401 Unauthorized"``)."""
    return f"{status} {HTTPStatus(status).phrase}"


def authenticate_environ(
    environ: WSGIEnvironment, verifier: Verifier[Any], *, required: bool
) -> StandardClaims | None:
    """The verified claims of a WSGI request; ``None`` when anonymous is allowed.

    Raises a :data:`~bearerguard._http.REFUSALS` error for a request to refuse.
    Every method is authenticated alike, ``OPTIONS`` included: a CORS
    preflight has no token, so a CORS layer must answer it before this runs.
    """
    # WSGI servers join repeated header lines with ", "; bearer_token sees that.
    header = environ.get("HTTP_AUTHORIZATION")
    other = access_token_in_query(environ.get("QUERY_STRING", ""))
    try:
        token = bearer_token(header, other_credentials=other, max_size=verifier.max_token_size)
    except MissingToken:
        if required:
            raise
        return None
    claims: StandardClaims = verifier.verify(token)
    return claims
