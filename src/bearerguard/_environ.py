"""Bearer tokens in a WSGI environ: what the WSGI middleware and the Flask extension share.

No web framework is imported here. Both adapters ask :func:`decide_environ`
what to do with a request and verify a token with :func:`verify_token`; the
decision itself is :meth:`bearerguard._decision.RequestGate.decide`, the one
every adapter uses.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from ._decision import Action, Decision, RequestGate
from ._dpop import DPoPRequest
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
    *,
    scheme: str = "Bearer",
) -> StandardClaims | Decision:
    """The verified claims of *token*, or the gate's refusal of it.

    With ``mtls=True`` the client certificate comes from *environ* (the
    request's), see :class:`~bearerguard._mtls.CertificateSource`. A token
    that came with the DPoP *scheme* is verified with the request's proof.
    """
    certificates = gate.settings.certificates
    certificate = None
    if certificates is not None and environ is not None:
        certificate = certificates.from_environ(environ)
    dpop = None
    if scheme == "DPoP" and environ is not None:
        dpop = dpop_request(gate, environ)
    try:
        claims: StandardClaims = verifier.verify(token, client_certificate=certificate, dpop=dpop)
    except REFUSALS as error:
        return gate.refusal(error, token, scheme)
    return claims


def dpop_request(gate: RequestGate, environ: WSGIEnvironment) -> DPoPRequest | None:
    """The DPoP side of a WSGI request whose token came with the DPoP scheme (RFC 9449)."""
    proof = environ.get("HTTP_DPOP")
    # PEP 3333: the path is bytes decoded as latin-1; the htu has them percent-encoded.
    path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1")
    return gate.dpop_request(
        Decision(Action.VERIFY, scheme="DPoP"),
        environ.get("REQUEST_METHOD", "GET"),
        lambda: _origin(environ),
        path,
        () if proof is None else (proof,),
    )


def _origin(environ: WSGIEnvironment) -> str:
    """``scheme://host[:port]`` of the request as the server received it (no proxy headers)."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST")
    if not host:
        host = f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    return f"{scheme}://{host}"
