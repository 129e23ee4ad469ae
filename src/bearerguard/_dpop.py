"""DPoP proofs (RFC 9449): checking that the client holds the key its token is bound to.

A DPoP-bound access token carries ``cnf.jkt``, the RFC 7638 thumbprint of a
key the client holds. With each request the client sends a *proof*: a small
JWS in the ``DPoP`` header, signed by that key, naming the request's method
and URL and hashing the access token. :meth:`DPoPPolicy.check_proof` makes
every check of RFC 9449 §4.3 with the library's own strict JWS, JSON,
base64url and JWK code, and returns the thumbprint of the proof's key; the
:class:`~bearerguard.verifier.Verifier` compares it with the token's
``cnf.jkt``.

Replayed proofs are refused through a :class:`ReplayCache` (one ``jti`` per
key is accepted once while its ``iat`` is inside the window):
:class:`MemoryReplayCache` (bounded, per process) by default, or
:class:`RedisReplayCache` when several instances serve the same API.
Server nonces (RFC 9449 §8) are stateless: an HMAC of the current time window
under a shared secret, so instances sharing the secret agree without talking.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from ._algorithms import ALGORITHMS
from ._dpop_replay import MemoryReplayCache, RedisReplayCache, ReplayCache
from ._dpop_url import normalized_htu
from ._encoding import b64url_encode
from ._errors import (
    ConfigurationError,
    InvalidDPoPProof,
    InvalidKey,
    InvalidToken,
    UseDPoPNonce,
)
from ._jwk import PublicJWK
from ._jws import parse

__all__ = [
    "DEFAULT_DPOP_ALGORITHMS",
    "DPOP_MODES",
    "DPoPPolicy",
    "DPoPRequest",
    "MemoryReplayCache",
    "RedisReplayCache",
    "ReplayCache",
]

#: The values of ``dpop=``: refuse bound tokens, accept both kinds, or DPoP only.
DPOP_MODES = ("off", "allowed", "required")
#: The proof algorithms accepted by default (asymmetric only, RFC 9449 §4.2).
DEFAULT_DPOP_ALGORITHMS = (
    "ES256",
    "ES384",
    "ES512",
    "PS256",
    "PS384",
    "PS512",
    "RS256",
    "EdDSA",
    "Ed25519",
)
#: A proof larger than this is refused before it is parsed.
DEFAULT_MAX_PROOF_SIZE = 8192
_MAX_JTI = 256
_MAX_KEY_CACHE = 1024


class DPoPNonces:
    """Stateless server nonces (RFC 9449 §8): an HMAC of the time window.

    A nonce is ``base64url(window || HMAC-SHA256(secret, window)[:16])`` with
    ``window = floor(now / lifetime)``; the current and the previous window's
    nonces are accepted, so a nonce lives between one and two lifetimes.
    Instances sharing *secret* issue and accept the same nonces.
    """

    __slots__ = ("_lifetime", "_secret")

    def __init__(self, secret: bytes, lifetime: float) -> None:
        self._secret = secret
        self._lifetime = lifetime

    def _for(self, window: int) -> str:
        raw = window.to_bytes(8, "big")
        mac = hmac.new(self._secret, raw, hashlib.sha256).digest()[:16]
        return b64url_encode(raw + mac)

    def current(self, now: float) -> str:
        """The nonce to hand out at *now*."""
        return self._for(int(now // self._lifetime))

    def accepts(self, nonce: object, now: float) -> bool:
        """Whether *nonce* is this or the previous window's nonce."""
        # compare_digest raises on non-ASCII text: such a nonce is simply not ours.
        if type(nonce) is not str or len(nonce) != 32 or not nonce.isascii():
            return False
        window = int(now // self._lifetime)
        return any(hmac.compare_digest(nonce, self._for(w)) for w in (window, window - 1))


@dataclass(frozen=True, slots=True, kw_only=True)
class DPoPPolicy:
    """How DPoP proofs are checked. Immutable; build once at start-up.

    ``algorithms``: the proof algorithms accepted (asymmetric only; also
    announced in the ``algs`` challenge parameter). ``max_age``: seconds a
    proof stays acceptable after its ``iat``; ``leeway``: seconds of clock
    skew allowed either way. ``replay_cache``: where used ``jti`` values are
    remembered (default: a :class:`MemoryReplayCache` of this policy; a
    :class:`RedisReplayCache` when several instances serve the API).
    ``nonce_secret`` (at least 32 bytes, shared by every instance) turns on
    server nonces (RFC 9449 §8): a proof must carry a nonce issued within
    the last ``nonce_lifetime`` to two ``nonce_lifetime`` seconds, and a proof
    without one is answered ``use_dpop_nonce`` with a ``DPoP-Nonce`` header.
    ``max_proof_size``: bytes; a larger ``DPoP`` header is refused unparsed.
    """

    algorithms: Sequence[str] = DEFAULT_DPOP_ALGORITHMS
    max_age: float = 300.0
    leeway: float = 5.0
    replay_cache: ReplayCache | None = field(default=None, compare=False)
    nonce_secret: bytes | str | None = field(default=None, repr=False, compare=False)
    nonce_lifetime: float = 300.0
    max_proof_size: int = DEFAULT_MAX_PROOF_SIZE
    _algorithms: frozenset[str] = field(init=False, repr=False, compare=False)
    _cache: ReplayCache = field(init=False, repr=False, compare=False)
    _nonces: DPoPNonces | None = field(init=False, repr=False, compare=False)
    _keys: dict[str, tuple[PublicJWK, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        algorithms = (self.algorithms,) if isinstance(self.algorithms, str) else self.algorithms
        algorithms = tuple(algorithms)
        unknown = [a for a in algorithms if not isinstance(a, str) or a not in ALGORITHMS]
        if unknown or not algorithms:
            raise ConfigurationError(
                "DPoPPolicy(algorithms=) must list asymmetric JWS algorithms from "
                f"{', '.join(sorted(ALGORITHMS))}; got {unknown or 'none'}"
            )
        object.__setattr__(self, "algorithms", algorithms)
        object.__setattr__(self, "_algorithms", frozenset(algorithms))
        for name in ("max_age", "leeway", "nonce_lifetime"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigurationError(f"DPoPPolicy({name}=) must be a number of seconds >= 0")
        if self.max_age <= 0 or self.nonce_lifetime <= 0:
            raise ConfigurationError("DPoPPolicy max_age= and nonce_lifetime= must be > 0")
        size = self.max_proof_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 256:
            raise ConfigurationError("DPoPPolicy(max_proof_size=) must be an integer >= 256")
        cache = self.replay_cache
        if cache is None:
            cache = MemoryReplayCache()
        elif not isinstance(cache, ReplayCache):
            raise ConfigurationError(
                "DPoPPolicy(replay_cache=) must have a first_use(key, ttl) method "
                "(MemoryReplayCache, RedisReplayCache or your own)"
            )
        object.__setattr__(self, "_cache", cache)
        secret = self.nonce_secret
        nonces = None
        if secret is not None:
            raw = secret.encode("utf-8") if isinstance(secret, str) else secret
            if not isinstance(raw, bytes) or len(raw) < 32:
                raise ConfigurationError(
                    "DPoPPolicy(nonce_secret=) must be at least 32 bytes, the same on every "
                    "instance (e.g. secrets.token_bytes(32))"
                )
            nonces = DPoPNonces(raw, float(self.nonce_lifetime))
        object.__setattr__(self, "_nonces", nonces)
        object.__setattr__(self, "_keys", {})

    @property
    def algs(self) -> str:
        """The ``algs`` challenge parameter: the accepted algorithms, space-separated."""
        return " ".join(self.algorithms)

    @property
    def cache(self) -> ReplayCache:
        """The replay cache in use."""
        return self._cache

    def nonce(self, now: float) -> str | None:
        """The server nonce to hand out at *now*, or ``None`` without nonces."""
        return None if self._nonces is None else self._nonces.current(now)

    @property
    def replay_ttl(self) -> float:
        """Seconds a proof id is remembered: as long as its ``iat`` can be accepted."""
        return self.max_age + 2 * self.leeway

    def check_proof(
        self,
        proofs: Iterable[str],
        *,
        method: str,
        url: str,
        access_token: str,
        now: float,
    ) -> tuple[str, Replay]:
        """Check the request's ``DPoP`` header value(s) (RFC 9449 §4.3).

        Returns ``(jkt, replay)``: the RFC 7638 thumbprint of the proof's
        key and the entry to record in the replay cache, a ``(key, ttl)``
        pair (the caller records it last, once every other check passed). Raises
        :class:`~bearerguard.InvalidDPoPProof` naming the failed check, or
        :class:`~bearerguard.UseDPoPNonce` when a current nonce is needed.
        """
        values = tuple(proofs)
        if not values:
            raise InvalidDPoPProof("DPoP proof is missing (send one DPoP header)")
        # RFC 9449 §4.3 check 1: exactly one header; joined repeated lines hold a comma.
        if len(values) > 1 or "," in values[0]:
            raise InvalidDPoPProof("more than one DPoP header")
        proof = values[0]
        if type(proof) is not str or not proof.isascii():
            raise InvalidDPoPProof("DPoP proof is not a compact JWS")
        proof = proof.strip(" \t")
        if len(proof) > self.max_proof_size:
            raise InvalidDPoPProof(f"DPoP proof is larger than {self.max_proof_size} bytes")
        try:
            header, payload, signing_input, signature, alg, _ = parse(proof, self.max_proof_size)
        except InvalidToken as error:
            raise InvalidDPoPProof(f"DPoP proof: {error.description}") from None
        if header.get("typ") != "dpop+jwt":
            raise InvalidDPoPProof("DPoP proof typ must be dpop+jwt")
        if alg not in self._algorithms:
            raise InvalidDPoPProof(f"DPoP proof algorithm {alg!r} is not allowed")
        key, jkt = self._key(proof[: proof.index(".")], header.get("jwk"))
        if alg not in key._allowed:
            raise InvalidDPoPProof(f"DPoP proof algorithm {alg!r} does not fit its jwk")
        if not key.verifier(alg)(signing_input, signature):
            raise InvalidDPoPProof("DPoP proof signature verification failed")
        if payload.get("htm") != method:
            raise InvalidDPoPProof("DPoP proof htm does not match the request method")
        htu = payload.get("htu")
        expected = normalized_htu(url)
        if expected is None or type(htu) is not str or normalized_htu(htu) != expected:
            raise InvalidDPoPProof("DPoP proof htu does not match the request URL")
        iat = payload.get("iat")
        if type(iat) is not int and type(iat) is not float:
            raise InvalidDPoPProof("DPoP proof iat is missing or not a number")
        if iat > now + self.leeway:
            raise InvalidDPoPProof("DPoP proof iat is in the future")
        if iat < now - self.max_age - self.leeway:
            raise InvalidDPoPProof("DPoP proof is too old (iat)")
        jti = payload.get("jti")
        if type(jti) is not str or not jti or len(jti) > _MAX_JTI:
            raise InvalidDPoPProof("DPoP proof jti is missing or not a short string")
        ath = payload.get("ath")
        # A JSON escape puts non-ASCII text in an ASCII proof; compare_digest would raise on it.
        if (
            type(ath) is not str
            or not ath.isascii()
            or not hmac.compare_digest(ath, access_token_hash(access_token))
        ):
            raise InvalidDPoPProof("DPoP proof ath does not match the access token")
        nonces = self._nonces
        if nonces is not None and not nonces.accepts(payload.get("nonce"), now):
            raise UseDPoPNonce("DPoP proof needs the server's current nonce", nonces.current(now))
        # Remembered exactly as long as this proof's iat can be accepted, so a cache that
        # must forget an id early knows until when that id's proof stays dangerous.
        return jkt, Replay(f"{jkt}:{jti}", max(1.0, iat + self.max_age + self.leeway - now))

    def _key(self, h64: str, jwk: object) -> tuple[PublicJWK, str]:
        """The proof's public key and its thumbprint, parsed once per distinct header."""
        found = self._keys.get(h64)
        if found is not None:
            return found
        if not isinstance(jwk, dict):
            raise InvalidDPoPProof("DPoP proof header has no jwk object")
        try:
            key = PublicJWK.from_dict(jwk)
        except InvalidKey as error:
            raise InvalidDPoPProof(f"DPoP proof jwk: {error.description}") from None
        found = (key, key.thumbprint())
        if len(self._keys) >= _MAX_KEY_CACHE:
            self._keys.clear()
        self._keys[h64] = found
        return found


class Replay(NamedTuple):
    """A proof's entry in the replay cache: its key and how long it must be remembered.

    ``ttl`` runs until the proof's ``iat`` can no longer be accepted
    (``iat + max_age + leeway``), never less than a second.
    """

    key: str
    ttl: float


def access_token_hash(token: str) -> str:
    """The ``ath`` of *token*: base64url SHA-256 of its ASCII bytes (RFC 9449 §4.2)."""
    return b64url_encode(hashlib.sha256(token.encode("ascii")).digest())


@dataclass(frozen=True, slots=True)
class DPoPRequest:
    """A request that presented its token with ``Authorization: DPoP`` (RFC 9449 §7.1).

    ``method`` is the HTTP method, ``url`` the URL the client addressed
    (``scheme://host[:port]/path``; a query and fragment are ignored), and
    ``proofs`` every ``DPoP`` header value the request carried (one is
    required). Pass it to :meth:`Verifier.verify <bearerguard.verifier.Verifier.verify>`::

        claims = verifier.verify(
            token, dpop=DPoPRequest("GET", "https://api.example.com/orders", (proof,))
        )
    """

    method: str
    url: str
    proofs: Sequence[str] = ()

    def __post_init__(self) -> None:
        proofs = self.proofs
        object.__setattr__(self, "proofs", (proofs,) if isinstance(proofs, str) else tuple(proofs))
