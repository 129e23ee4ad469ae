"""The ``cnf`` (confirmation) claim: every member must be proved by the request.

RFC 7800 §3.1: a token with ``cnf`` is bound to a key its presenter must
prove it holds. bearerguard accepts such a token only when the request
satisfies *every* member it carries:

* ``x5t#S256``: the TLS client certificate's thumbprint (RFC 8705 §3), with
  the verifier's ``mtls=True``;
* ``jkt``: a DPoP proof by the key of that thumbprint (RFC 9449 §6.1);

any other member, or one whose mechanism is off, refuses the token (401
``invalid_token``), its description naming why. An API that checks no
binding at all (``mtls`` and DPoP off) refuses every ``cnf`` token as a
sender-constrained token presented as a bearer token.
"""

from __future__ import annotations

from collections.abc import Mapping

from ._mtls import certificate_binding_failure

__all__ = ["AS_BEARER", "confirmation_failures"]

#: The failure of every ``cnf`` token where no binding is checked (RFC 9449 §7.2, RFC 8705 §3).
AS_BEARER = "cnf: sender-constrained token presented as a bearer token"


def confirmation_failures(
    cnf: object, *, mtls: bool, client_certificate: str | bytes | None, dpop: bool = False
) -> list[str]:
    """Why the request does not satisfy the ``cnf`` claim *cnf*; empty when it does.

    *mtls* says whether certificate binding is checked, *client_certificate*
    is the request's certificate (``None``: none presented); *dpop* whether
    DPoP proofs are (the caller checks ``jkt`` itself then).
    """
    if not mtls and not dpop:
        return [AS_BEARER]
    if not isinstance(cnf, Mapping) or not cnf:
        return ["cnf: must be an object naming the key the token is bound to"]
    failures: list[str] = []
    for member, value in cnf.items():
        if member == "x5t#S256":
            failure = certificate_binding_failure(value, client_certificate, checked=mtls)
        elif member == "jkt":
            failure = "cnf: DPoP-bound token (jkt), and this API does not check DPoP proofs"
        else:
            # The member's name comes from the token: not echoed.
            failure = "cnf: the token is bound by a confirmation method bearerguard does not check"
        if failure is not None and failure not in failures:
            failures.append(failure)
    return failures
