"""Errors of the issuing side that the verifier never raises.

A token endpoint answers these with RFC 6749 §5.2 error responses: HTTP 400
and the ``code`` as the ``error`` member. Messages are safe to show a client:
they never contain a token, a token hash, or key material.
"""

from __future__ import annotations

from .._errors import BearerGuardError

__all__ = ["InvalidGrant", "InvalidScope", "RefreshStoreFull", "RefreshTokenReused"]


class InvalidGrant(BearerGuardError):
    """The refresh token is unknown, expired, revoked, malformed or another client's."""

    code = "invalid_grant"
    status = 400


class RefreshTokenReused(InvalidGrant):
    """An already redeemed refresh token was presented again.

    RFC 9700 §4.14.2: one of the two parties holding it is an attacker, and the
    server cannot tell which, so every token of the grant (the *family*) has
    been revoked.
    """


class InvalidScope(BearerGuardError):
    """A refresh asked for scopes beyond those originally granted (RFC 6749 §6)."""

    code = "invalid_scope"
    status = 400


class RefreshStoreFull(BearerGuardError):
    """The refresh store has no room for a new token and refused it; nothing was lost.

    Raised by :class:`~bearerguard.issuing.RedisRefreshStore` when Redis is at
    ``maxmemory`` with ``maxmemory-policy noeviction``: the grant or rotation
    fails (the presented refresh token stays unused) instead of Redis dropping
    data. Answer HTTP 503 so the client retries later; the fix is more memory.
    """

    code = "temporarily_unavailable"
    status = 503
