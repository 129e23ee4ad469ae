"""The one exception hierarchy of bearerguard.

Every error carries the RFC 6750 ``error`` code and the HTTP status an adapter
answers with, so the rendering to a response lives in one place
(:mod:`bearerguard._http`). Messages are short and safe: they never contain the
token, a signature or key material, because they end up in ``error_description``
headers and in logs.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "AlgorithmNotAllowed",
    "BearerGuardDeprecationWarning",
    "BearerGuardError",
    "ConfigurationError",
    "DiscoveryError",
    "ExpiredToken",
    "FetchError",
    "InsufficientRole",
    "InsufficientScope",
    "InsufficientUserAuthentication",
    "IntrospectionUnavailable",
    "InvalidClaims",
    "InvalidDPoPProof",
    "InvalidKey",
    "InvalidRequest",
    "InvalidSignature",
    "InvalidToken",
    "IssuerMismatch",
    "KeySetUnavailable",
    "MalformedToken",
    "MissingToken",
    "RevocationUnavailable",
    "TokenRevoked",
    "TokenTooLarge",
    "UnknownKey",
    "UnsupportedToken",
    "UseDPoPNonce",
]


class BearerGuardError(Exception):
    """Base of every error bearerguard raises on purpose.

    ``code`` is the RFC 6750 §3.1 error code (``None`` where the RFC wants no
    code), ``status`` the HTTP status an adapter answers with, and
    ``description`` a short text safe to show a client.
    """

    code: str | None = None
    status: int = 500
    #: The authentication scheme of the challenge an adapter answers with:
    #: ``"DPoP"`` for a token presented with the DPoP scheme (RFC 9449 §7.1).
    scheme: str = "Bearer"

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class ConfigurationError(BearerGuardError, ValueError):
    """The library was set up wrongly; raised at start-up, never for a client's input."""

    code = "configuration_error"
    status = 500


class InvalidKey(BearerGuardError, ValueError):
    """A JWK or key file is unusable: malformed, private, too weak, or degenerate."""

    code = "invalid_key"
    status = 500


class MissingToken(BearerGuardError):
    """The request carried no credentials at all.

    RFC 6750 §3.1: the challenge then carries no error code.
    """

    code = None
    status = 401


class InvalidRequest(BearerGuardError):
    """The ``Authorization`` header is malformed or credentials were sent twice."""

    code = "invalid_request"
    status = 400


class InvalidToken(BearerGuardError):
    """The token is malformed, forged, expired, or not meant for this API."""

    code = "invalid_token"
    status = 401


class MalformedToken(InvalidToken):
    """The token is not a well-formed compact JWS."""


class TokenTooLarge(MalformedToken):
    """The token is larger than the configured size cap."""


class UnsupportedToken(InvalidToken):
    """A well-formed token of a kind bearerguard does not accept (JWE, ``crit``, ``b64``)."""


class AlgorithmNotAllowed(InvalidToken):
    """The header ``alg`` is not allowed, or does not fit the key."""


class UnknownKey(InvalidToken):
    """No key in the issuer's key set matches the token's ``kid`` and ``alg``."""


class InvalidSignature(InvalidToken):
    """The signature does not verify with the selected key."""


class IssuerMismatch(InvalidToken):
    """The token's ``iss`` is not the issuer it was checked against."""


class InvalidClaims(InvalidToken):
    """One or more claim checks failed; ``failures`` lists every one of them."""

    def __init__(self, failures: Iterable[str]) -> None:
        self.failures: tuple[str, ...] = tuple(failures)
        super().__init__("; ".join(self.failures) or "invalid claims")


class ExpiredToken(InvalidClaims):
    """The token's ``exp`` has passed (other failed checks are listed too)."""


class TokenRevoked(InvalidToken):
    """The token is on the deny list (see :class:`~bearerguard.Revocations`).

    Revoked by its ``jti``, or as a token of a subject or client issued
    before a revocation; adapters answer 401 ``invalid_token``, "token has
    been revoked".
    """


class InvalidDPoPProof(InvalidToken):
    """The request's DPoP proof is missing, malformed, or fails a check of RFC 9449 §4.3.

    Adapters answer 401 with ``WWW-Authenticate: DPoP
    error="invalid_dpop_proof"`` and the accepted ``algs``.
    """

    code = "invalid_dpop_proof"
    scheme = "DPoP"


class UseDPoPNonce(InvalidDPoPProof):
    """The DPoP proof lacks the server's current nonce (RFC 9449 §8).

    Adapters answer 401 ``error="use_dpop_nonce"`` with a ``DPoP-Nonce``
    header holding ``nonce``; the client retries with a proof carrying it.
    """

    code = "use_dpop_nonce"

    def __init__(self, description: str, nonce: str) -> None:
        super().__init__(description)
        self.nonce = nonce


class InsufficientScope(BearerGuardError):
    """The token is valid but lacks scopes the endpoint requires (RFC 6750 §3.1)."""

    code = "insufficient_scope"
    status = 403

    def __init__(self, required: Iterable[str], missing: Iterable[str]) -> None:
        self.required: tuple[str, ...] = tuple(required)
        self.missing: tuple[str, ...] = tuple(sorted(set(missing)))
        super().__init__("missing scope: " + " ".join(self.missing))


class InsufficientRole(BearerGuardError):
    """The token is valid but lacks roles the endpoint requires.

    RFC 6750 §3.1 has no code for roles, so adapters answer as for a missing
    scope, 403 ``insufficient_scope``, without a ``scope`` attribute; the
    description names the missing roles.
    """

    code = "insufficient_scope"
    status = 403

    def __init__(self, required: Iterable[str], missing: Iterable[str]) -> None:
        self.required: tuple[str, ...] = tuple(required)
        self.missing: tuple[str, ...] = tuple(sorted(set(missing)))
        super().__init__("missing role: " + ", ".join(self.missing))


class InsufficientUserAuthentication(BearerGuardError):
    """The token is valid, but the user's authentication does not meet the endpoint's needs.

    RFC 9470 §3: the authentication context (``acr``) is not one of
    ``acr_values``, or the authentication (``auth_time``) is older than
    ``max_age`` seconds, or the token lacks the claim to tell. Adapters answer
    401 ``insufficient_user_authentication`` with the ``acr_values`` and
    ``max_age`` the endpoint requires, so the client can ask the authorization
    server for a token from a new authentication with those values.
    """

    code = "insufficient_user_authentication"
    status = 401

    def __init__(
        self, description: str, *, acr_values: Iterable[str] = (), max_age: int | None = None
    ) -> None:
        super().__init__(description)
        #: The acceptable ``acr`` values, in order of preference (empty: any).
        self.acr_values: tuple[str, ...] = tuple(acr_values)
        #: The endpoint's maximum authentication age in seconds (``None``: any).
        self.max_age = max_age


class KeySetUnavailable(BearerGuardError):
    """No usable keys: the issuer's keys cannot be fetched and none are cached.

    Adapters answer 503 with ``Retry-After`` rather than 401: the token may be
    fine, the failure is on the server side.
    """

    code = "temporarily_unavailable"
    status = 503
    #: What the client is told (the description above is for logs): which
    #: server-side part did not answer, never why.
    unavailable = "signing keys unavailable"

    def __init__(self, description: str, *, retry_after: int = 30) -> None:
        super().__init__(description)
        self.retry_after = retry_after


class RevocationUnavailable(KeySetUnavailable):
    """The revocation deny list cannot be read, and revocation checks are required.

    Raised only by a :class:`~bearerguard.Revocations` with
    ``required=True`` (or when writing to the deny list fails). A
    :class:`KeySetUnavailable`, so every adapter answers it the same way:
    503 with ``Retry-After``; the token may be fine.
    """

    unavailable = "token revocation list unavailable"


class FetchError(KeySetUnavailable):
    """Fetching a JWKS or metadata document failed (network, status, size, content)."""


class DiscoveryError(FetchError):
    """A discovery document is unusable (no ``jwks_uri``, ``issuer`` differs, ...)."""


class IntrospectionUnavailable(KeySetUnavailable):
    """The token introspection endpoint (RFC 7662) gave no usable answer.

    It timed out, failed, answered with an error status, or sent an answer
    that is not a well-formed introspection response (not JSON, too large,
    members of the wrong type, an RFC 9701 signature that does not verify).
    Adapters answer 503 with ``Retry-After``, as for unreachable keys: the
    token may be fine, and it is never accepted nor refused with 401 on such
    an answer.
    """

    unavailable = "token introspection unavailable"

    def __init__(self, description: str, *, retry_after: int = 10) -> None:
        super().__init__(description, retry_after=retry_after)


class BearerGuardDeprecationWarning(DeprecationWarning):
    """A spelling or feature that still works but goes away in a later release.

    Its message names the replacement. Filter on this class to see (or turn
    into errors) only bearerguard's deprecations:
    ``warnings.simplefilter("error", BearerGuardDeprecationWarning)``.
    """
