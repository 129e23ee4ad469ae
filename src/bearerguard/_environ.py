"""Bearer tokens in a WSGI environ: what the WSGI middleware and the Flask extension share.

No web framework is imported here. Both adapters ask :func:`decide_environ`
what to do with a request and verify a token with :func:`verify_token`; the
decision itself is :meth:`bearerguard._decision.RequestGate.decide`, the one
every adapter uses.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ._decision import Decision, RequestGate
from ._http import REFUSALS
from .claims import StandardClaims
from .verifier import Verifier

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = ["decide_environ", "verify_token", "wsgi_status"]


def wsgi_status(status: int) -> str:
    """The WSGI status line for *status* (``"401 Unauthorized"``)."""
    return f"{status} {HTTPStatus(status).phrase}"


def decide_environ(gate: RequestGate, environ: WSGIEnvironment) -> Decision:
    """The gate's decision for a WSGI request.

    Every method is decided alike, ``OPTIONS`` included: a CORS preflight has
    no token, so a CORS layer must answer it before this runs.
    """
    # WSGI servers join repeated header lines with ", "; bearer_token sees that.
    return gate.decide(
        environ.get("REQUEST_METHOD", "GET"),
        environ.get("PATH_INFO", ""),
        environ.get("HTTP_AUTHORIZATION"),
        environ.get("QUERY_STRING", ""),
    )


def verify_token(
    gate: RequestGate,
    verifier: Verifier[Any],
    token: str,
    environ: WSGIEnvironment | None = None,
) -> StandardClaims | Decision:
    """The verified claims of *token*, or the gate's refusal of it.

    With ``mtls=True`` the client certificate comes from *environ* (the
    request's), see :class:`~bearerguard._mtls.CertificateSource`.
    """
    certificates = gate.settings.certificates
    certificate = None
    if certificates is not None and environ is not None:
        certificate = certificates.from_environ(environ)
    try:
        claims: StandardClaims = verifier.verify(token, client_certificate=certificate)
    except REFUSALS as error:
        return gate.refusal(error, token)
    return claims
