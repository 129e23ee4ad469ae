"""Token introspection (RFC 7662): the configuration an API gives.

:class:`Introspection` says which authorization server answers for tokens
this API cannot verify itself (opaque tokens), how this API authenticates to
its introspection endpoint, and how long an answer may be reused. It is
passed as ``Verifier(..., introspection=...)`` or as the adapters'
``introspection=`` setting (Django ``"INTROSPECTION"``)::

    Introspection(
        issuer="https://login.example.com",
        client_id="orders-api",
        client_secret=os.environ["INTROSPECTION_SECRET"],
    )

The calls themselves live in :mod:`bearerguard._introspector`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ._errors import ConfigurationError
from ._limits import DEFAULT_TIMEOUT
from ._rules import seconds
from ._urls import check_url
from ._validation import Validator

__all__ = [
    "CLIENT_AUTH_METHODS",
    "DEFAULT_INTROSPECTION_MAX_BYTES",
    "INTROSPECTION_MODES",
    "ClientAuth",
    "Introspection",
    "IntrospectionMode",
]

#: ``"opaque"``: introspect only tokens that are not JWTs of a configured
#: issuer (those are verified locally, as without introspection);
#: ``"always"``: introspect every token, a JWT of a configured issuer after
#: its local verification passed (so a revoked JWT is refused at once).
IntrospectionMode = Literal["opaque", "always"]
INTROSPECTION_MODES: tuple[IntrospectionMode, ...] = ("opaque", "always")
#: RFC 6749 §2.3.1 (``client_secret_basic``, ``client_secret_post``) and
#: RFC 7523 §2.2 with OpenID Connect Core §9 (``private_key_jwt``).
ClientAuth = Literal["client_secret_basic", "client_secret_post", "private_key_jwt"]
CLIENT_AUTH_METHODS: tuple[ClientAuth, ...] = (
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
)
#: Largest introspection response read (bytes): answers are a few hundred bytes.
DEFAULT_INTROSPECTION_MAX_BYTES = 64 * 1024
# private_key_jwt: the signature algorithm each key type signs with by default.
_DEFAULT_ALG = {"RSA": "RS256", "P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}
_ALGS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Introspection:
    """Ask an authorization server whether a token is active (RFC 7662).

    *issuer* is the authorization server's issuer identifier: its
    introspection endpoint is found by RFC 8414 metadata (then OpenID Connect
    discovery) unless *endpoint* gives it, an answer's ``iss`` must equal it
    (an answer without ``iss`` gets it), and with *jwt_response* its keys
    verify the answers. *client_id* and the credentials authenticate this API
    to the endpoint: *client_auth* ``"client_secret_basic"`` (the default) or
    ``"client_secret_post"`` with *client_secret*; ``"private_key_jwt"``
    (RFC 7523) with *private_key* (a PEM string or bytes, or a
    ``cryptography`` private key), signed with *signing_alg* (default by key
    type: RS256, ES256/384/512, EdDSA) under *key_id* (the JWK ``kid`` the
    server knows it by); the assertion's ``aud`` is *assertion_audience*
    (default: the introspection endpoint URL).

    *mode* ``"opaque"`` introspects only tokens that are not JWTs of a
    configured issuer; ``"always"`` introspects every token, after local
    verification for a JWT. *validator* checks an active token's claims
    (audience, expiry, ...) exactly as for a JWT; by default the validator of
    the :class:`~bearerguard.Issuer` whose URL is *issuer*.

    An answer (active or not) is reused for at most *cache_ttl* seconds
    (default 60; ``0``: ask every time) and never past the token's ``exp``;
    at most *cache_size* answers are kept in memory, and in Redis when the
    verifier has ``redis_url``. A token revoked at the server is therefore
    still accepted for up to *cache_ttl* seconds. Each call may take
    *timeout* seconds and read *max_bytes*. With *jwt_response* the
    server is asked for an RFC 9701 signed answer
    (``application/token-introspection+jwt``) and anything else is refused.
    """

    issuer: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    client_auth: ClientAuth = "client_secret_basic"
    private_key: Any = field(default=None, repr=False)
    key_id: str | None = None
    signing_alg: str | None = None
    assertion_audience: str | None = None
    endpoint: str | None = None
    mode: IntrospectionMode = "opaque"
    validator: Validator | None = None
    jwt_response: bool = False
    cache_ttl: float = 60.0
    cache_size: int = 10_000
    timeout: float = DEFAULT_TIMEOUT
    max_bytes: int = DEFAULT_INTROSPECTION_MAX_BYTES
    _signing_key: Any = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        check_url(self.issuer, "Introspection issuer")
        if self.endpoint is not None:
            check_url(self.endpoint, "Introspection endpoint")
        if self.assertion_audience is not None and (
            not isinstance(self.assertion_audience, str) or not self.assertion_audience
        ):
            raise ConfigurationError("Introspection assertion_audience must be a non-empty string")
        if not isinstance(self.client_id, str) or not self.client_id:
            raise ConfigurationError("Introspection needs client_id=: this API's client id there")
        if self.mode not in INTROSPECTION_MODES:
            raise ConfigurationError(
                f"Introspection mode must be one of {', '.join(INTROSPECTION_MODES)}; "
                f"got {self.mode!r}"
            )
        if self.client_auth not in CLIENT_AUTH_METHODS:
            raise ConfigurationError(
                f"Introspection client_auth must be one of {', '.join(CLIENT_AUTH_METHODS)}; "
                f"got {self.client_auth!r}"
            )
        if self.validator is not None and not isinstance(self.validator, Validator):
            raise ConfigurationError("Introspection validator must be a bearerguard.Validator")
        if type(self.jwt_response) is not bool:
            raise ConfigurationError("Introspection jwt_response must be True or False")
        object.__setattr__(self, "cache_ttl", seconds(self.cache_ttl, "Introspection cache_ttl"))
        object.__setattr__(
            self, "timeout", seconds(self.timeout, "Introspection timeout", positive=True)
        )
        for name in ("cache_size", "max_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigurationError(f"Introspection {name} must be a non-negative integer")
        if self.max_bytes == 0:
            raise ConfigurationError("Introspection max_bytes must be positive")
        if self.client_auth == "private_key_jwt":
            self._check_private_key()
        else:
            if not isinstance(self.client_secret, str) or not self.client_secret:
                raise ConfigurationError(
                    f"Introspection client_auth={self.client_auth!r} needs client_secret= "
                    "(or use client_auth='private_key_jwt' with private_key=)"
                )
            if self.private_key is not None:
                raise ConfigurationError(
                    "Introspection private_key= goes with client_auth='private_key_jwt'"
                )

    def _check_private_key(self) -> None:
        if self.client_secret is not None:
            raise ConfigurationError(
                "Introspection client_auth='private_key_jwt' signs with private_key=; "
                "remove client_secret="
            )
        if self.private_key is None:
            raise ConfigurationError(
                "Introspection client_auth='private_key_jwt' needs private_key= "
                "(a PEM private key or a cryptography private key object)"
            )
        key, kind = _load_private_key(self.private_key)
        alg = self.signing_alg
        if alg is None:
            alg = _DEFAULT_ALG.get(kind, "EdDSA")
        if alg not in _ALGS or not _fits(alg, kind):
            raise ConfigurationError(
                f"Introspection signing_alg {alg!r} does not fit the {kind} private key"
            )
        if self.key_id is not None and (not isinstance(self.key_id, str) or not self.key_id):
            raise ConfigurationError("Introspection key_id must be a non-empty string")
        object.__setattr__(self, "signing_alg", alg)
        object.__setattr__(self, "_signing_key", key)


def _fits(alg: str, kind: str) -> bool:
    if kind == "RSA":
        return alg[:2] in ("RS", "PS")
    if kind.startswith("P-"):
        return alg == _DEFAULT_ALG[kind]
    return alg == "EdDSA"


def _load_private_key(value: Any) -> tuple[Any, str]:
    """*value* (PEM or key object) as a ``cryptography`` private key and its kind."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    key = value
    if isinstance(value, str | bytes):
        data = value.encode("ascii", "replace") if isinstance(value, str) else value
        try:
            key = load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise ConfigurationError(
                "Introspection private_key is not an unencrypted PEM private key"
            ) from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < 2048:
            raise ConfigurationError("Introspection private_key: RSA keys need 2048 bits or more")
        return key, "RSA"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        curves = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        kind = curves.get(key.curve.name)
        if kind is None:
            raise ConfigurationError("Introspection private_key: use a P-256, P-384 or P-521 key")
        return key, kind
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return key, "OKP"
    raise ConfigurationError(
        "Introspection private_key must be an RSA, EC or Ed25519 private key (PEM or object)"
    )
