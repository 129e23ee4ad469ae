"""A real issuer on 127.0.0.1 for tests and local development.

::

    with LocalIssuer(audience="api://orders") as issuer:
        token = issuer.mint(sub="user-42", scopes=["orders:read"])
        # point the API under test at issuer.url: real discovery, real JWKS, real HTTP
        issuer.rotate()                       # a new signing key; the old one stays published
        issuer.force_status(503)              # the JWKS endpoint (and the others) now fail
        assert issuer.count(issuer.jwks_path) == 1

It serves OIDC discovery, RFC 8414 metadata, the JWKS and a token endpoint
(``client_credentials`` and ``refresh_token`` grants for the *clients* it is
given; see :class:`~bearerguard.issuing.TokenEndpoint`) with
``http.server.ThreadingHTTPServer`` in a daemon thread (no framework needed),
on an ephemeral port, and records every request it answers.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any

import jwt

from .._algorithms import PublicKey
from .._caching import etag_matches
from .._clock import WallClock
from .._errors import ConfigurationError
from .._jwk import PublicJWK
from .._mtls import certificate_thumbprint
from .._rules import scope_tokens
from .._urls import jwks_uri_for, oauth2_metadata_url, oidc_metadata_url, path_of
from ..issuing._clients import Client
from ..issuing._keys import KeyPair
from ..issuing._refresh import RefreshStore
from ..issuing._signer import ACCESS_TOKEN_TYP, KeyPairSigner
from ..issuing._token_endpoint import TokenEndpoint
from ..issuing._tokens import TokenIssuer
from ..issuing._wellknown import Response, WellKnownEndpoints, build_json_response
from ._faults import ActiveFault, Fault, RecordedRequest, apply_fault
from ._keypool import KeyPool, default_pool
from ._server import make_server

if TYPE_CHECKING:
    import cryptography.x509

    from ._dpop_key import DPoPKey

__all__ = ["LocalIssuer"]

_LOG_LIMIT = 10_000


class LocalIssuer:
    """An OAuth 2.0 / OIDC issuer on 127.0.0.1 that mints tokens on request.

    *audience* and *client_id* are the defaults of :meth:`mint`; *kty*,
    *bits* and *crv* choose the key type (RSA 2048 by default: realistic and
    quick). *path* gives the issuer identifier a path (``/tenant-a``). *port*
    0 picks a free port. *clock* is the time :meth:`mint` stamps tokens with.

    The token endpoint (:attr:`token_endpoint`) serves *clients*; a client
    without its own scopes may request *default_scopes*. Refresh tokens live
    in *refresh_store* (default: in memory, for as long as the issuer runs).
    """

    def __init__(
        self,
        *,
        audience: str = "api://test",
        client_id: str = "test-client",
        kty: str = "RSA",
        bits: int = 2048,
        crv: str | None = None,
        path: str = "",
        port: int = 0,
        token_ttl: int = 300,
        jwks_max_age: int = 300,
        metadata_max_age: int = 300,
        clock: WallClock = time.time,
        key_pool: KeyPool | None = None,
        clients: Iterable[Client] = (),
        default_scopes: Iterable[str] = (),
        refresh_store: RefreshStore | None = None,
    ) -> None:
        if path and (not path.startswith("/") or path.endswith("/") or "?" in path):
            raise ConfigurationError("path must be empty or like '/tenant' (no trailing '/')")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigurationError("port must be 0 (any free port) or a port number")
        self.audience = audience
        self.client_id = client_id
        self._spec = (kty, bits if kty == "RSA" else 0, crv)
        self._path = path
        self._port = port
        self._token_ttl = token_ttl
        self._jwks_max_age = jwks_max_age
        self._metadata_max_age = metadata_max_age
        self._clock = clock
        self._pool = key_pool or default_pool
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._keys: list[KeyPair] = []  # every key this issuer holds, oldest first
        self._active: KeyPair | None = None
        self._next: KeyPair | None = None
        self._dropped: set[str] = set()
        self._faults: dict[str | None, ActiveFault] = {}  # None: every path
        self._log: list[RecordedRequest] = []
        self._counts: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._endpoints: WellKnownEndpoints | None = None
        self._clients = tuple(clients)
        self._default_scopes = scope_tokens(default_scopes, "default_scopes", distinct=True)
        self._refresh_store = refresh_store
        self._token_endpoint: TokenEndpoint | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> LocalIssuer:
        """Bind 127.0.0.1, take a key, and serve in a daemon thread."""
        if self._server is not None:
            return self
        server = make_server(self._port, self._respond, self._record)
        self._server = server
        self._stopping.clear()
        with self._lock:
            if self._active is None:
                self._active = self._take_key()
            try:
                self._token_endpoint = self._new_token_endpoint()
            except BaseException:
                self._server = None
                server.server_close()
                raise
            self._publish()
        self._thread = threading.Thread(
            target=server.serve_forever,
            # A short poll makes stop() quick: shutdown() waits for the next poll.
            kwargs={"poll_interval": 0.02},
            name=f"bearerguard-issuer-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and return the keys to the pool (safe to call twice)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes delayed responses
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._pool.release(self._keys)
            self._keys, self._active, self._next = [], None, None
            self._dropped.clear()
            self._endpoints = None  # a restart gets a new port, hence a new issuer URL
            self._token_endpoint = None

    def __enter__(self) -> LocalIssuer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    # -- addresses --------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The TCP port (known once started)."""
        if self._server is None:
            raise ConfigurationError("the LocalIssuer is not running; call start()")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The issuer identifier: ``http://127.0.0.1:<port><path>`` (the tokens' ``iss``)."""
        return f"http://127.0.0.1:{self.port}{self._path}"

    @property
    def jwks_path(self) -> str:
        """The JWKS path (``/.well-known/jwks.json`` under the issuer's path)."""
        return path_of(self.jwks_uri)

    @property
    def oidc_path(self) -> str:
        """The OpenID Connect discovery path."""
        return path_of(self.oidc_url)

    @property
    def oauth2_path(self) -> str:
        """The RFC 8414 metadata path."""
        return path_of(self.oauth2_url)

    @property
    def token_path(self) -> str:
        """The token endpoint's path (``/token`` under the issuer's path)."""
        return self._path + "/token"

    @property
    def token_endpoint(self) -> str:
        """The token endpoint URL (RFC 6749 §3.2)."""
        return f"http://127.0.0.1:{self.port}{self.token_path}"

    @property
    def clients(self) -> tuple[Client, ...]:
        """The clients the token endpoint serves."""
        return self._clients

    @property
    def jwks_uri(self) -> str:
        """The JWKS URL."""
        return jwks_uri_for(self.url)

    @property
    def oidc_url(self) -> str:
        """The OpenID Connect discovery document URL."""
        return oidc_metadata_url(self.url)

    @property
    def oauth2_url(self) -> str:
        """The RFC 8414 metadata document URL."""
        return oauth2_metadata_url(self.url)

    # -- keys -------------------------------------------------------------------------

    @property
    def kid(self) -> str:
        """The ``kid`` of the key that signs new tokens."""
        return self._require_active().kid

    @property
    def keys(self) -> list[PublicJWK]:
        """The keys the JWKS publishes right now."""
        with self._lock:
            return self._published()

    def rotate(self, *, keep_old: bool = True) -> str:
        """Sign with a new key from now on and return its ``kid``.

        The safe rotation flow: the new key is (or already was, see
        :meth:`publish_next_key`) in the JWKS, and the old key stays published
        so its tokens keep verifying — unless *keep_old* is false.
        """
        with self._lock:
            old = self._require_active()
            new = self._next or self._take_key()
            self._next = None
            self._active = new
            if not keep_old:
                self._keys.remove(old)
                self._pool.release([old])
            self._publish()
            return new.kid

    def publish_next_key(self) -> str:
        """Publish the key the next :meth:`rotate` will activate, without signing with it."""
        with self._lock:
            if self._next is None:
                self._next = self._take_key()
                self._publish()
            return self._next.kid

    def drop_key(self, kid: str | None = None) -> None:
        """Leave a key out of the JWKS (default: the active one); tokens still use it."""
        with self._lock:
            self._dropped.add(kid or self._require_active().kid)
            self._publish()

    def restore_key(self, kid: str | None = None) -> None:
        """Publish a dropped key again (default: every dropped key)."""
        with self._lock:
            if kid is None:
                self._dropped.clear()
            else:
                self._dropped.discard(kid)
            self._publish()

    def _take_key(self) -> KeyPair:
        kty, bits, crv = self._spec
        pair = self._pool.acquire(kty, bits or 2048, crv)
        self._keys.append(pair)
        return pair

    def _require_active(self) -> KeyPair:
        if self._active is None:
            raise ConfigurationError("the LocalIssuer is not running; call start()")
        return self._active

    def _published(self) -> list[PublicJWK]:
        order = [k for k in (self._active, self._next) if k is not None]
        order += [k for k in reversed(self._keys) if k not in order]
        return [k.public_jwk for k in order if k.kid not in self._dropped]

    def _new_token_endpoint(self) -> TokenEndpoint:
        issuer = TokenIssuer(
            signer=_ActiveKeySigner(self),
            issuer=self.url,
            audience=self.audience,
            access_token_ttl=self._token_ttl,
            refresh_store=self._refresh_store,
            clock=self._clock,
        )
        return TokenEndpoint(
            issuer=issuer, clients=self._clients, default_scopes=self._default_scopes
        )

    def _publish(self) -> None:
        if self._server is None or self._token_endpoint is None:
            return
        keys = self._published()
        if self._endpoints is None:
            endpoint = self._token_endpoint
            self._endpoints = WellKnownEndpoints(
                issuer=self.url,
                keys=keys,
                token_endpoint=self.token_endpoint,
                grant_types_supported=endpoint.grant_types_supported,
                token_endpoint_auth_methods_supported=endpoint.token_endpoint_auth_methods_supported,
                scopes_supported=endpoint.scopes_supported,
                jwks_max_age=self._jwks_max_age,
                metadata_max_age=self._metadata_max_age,
            )
        else:
            self._endpoints.update_keys(keys)

    # -- tokens -----------------------------------------------------------------------

    def mint(
        self,
        sub: str = "test-user",
        scopes: Iterable[str] = (),
        expires_in: float | None = None,
        audience: str | Iterable[str] | None = None,
        *,
        kid: str | None = None,
        headers: Mapping[str, Any] | None = None,
        certificate: str | bytes | cryptography.x509.Certificate | None = None,
        dpop_key: DPoPKey | None = None,
        **claims: Any,
    ) -> str:
        """Sign an RFC 9068 access token with the active key (or the key *kid*).

        Claims: ``iss`` (this issuer), ``sub``, ``aud`` (*audience* or the
        default), ``iat``, ``exp`` (*expires_in* seconds later; negative for an
        expired token), ``jti``, ``client_id`` and ``scope``. Keyword
        arguments add claims or replace these; ``None`` removes one
        (``mint(exp=None)``). *headers* edits the JWS header the same way
        (``headers={"typ": "JWT"}``, ``headers={"kid": None}``).

        *certificate* (PEM, DER or a ``cryptography`` certificate) binds the
        token to that TLS client certificate (RFC 8705 §3): ``cnf`` gets its
        ``x5t#S256``, beside any member a ``cnf=`` claim gives, so an API with
        ``mtls=True`` accepts the token only from a client presenting it.
        *dpop_key* (a :class:`~bearerguard.testing.DPoPKey`) binds it to that
        key (RFC 9449 §6): ``cnf`` gets its ``jkt``, so an API with DPoP
        accepts it only with the key's proofs.
        """
        now = int(self._clock())
        ttl = self._token_ttl if expires_in is None else expires_in
        aud = self.audience if audience is None else audience
        payload: dict[str, Any] = {
            "iss": self.url,
            "sub": sub,
            "aud": aud if isinstance(aud, str) else list(aud),
            "iat": now,
            "exp": now + int(ttl),
            "jti": secrets.token_urlsafe(12),
            "client_id": self.client_id,
        }
        scope_list = scope_tokens(scopes, "scopes", distinct=True)
        if scope_list:
            payload["scope"] = " ".join(scope_list)
        payload.update(claims)
        if certificate is not None:
            cnf = payload.get("cnf")
            bound = dict(cnf) if isinstance(cnf, Mapping) else {}
            bound["x5t#S256"] = certificate_thumbprint(certificate)
            payload["cnf"] = bound
        if dpop_key is not None:
            cnf = payload.get("cnf")
            payload["cnf"] = {**(cnf if isinstance(cnf, Mapping) else {}), **dpop_key.cnf}
        payload = {k: v for k, v in payload.items() if v is not None}
        with self._lock:
            pair = self._require_active()
            if kid is not None:
                found = next((k for k in self._keys if k.kid == kid), None)
                if found is None:
                    raise ConfigurationError(f"this issuer holds no key {kid!r}")
                pair = found
        header: dict[str, Any] = {"kid": pair.kid, "typ": ACCESS_TOKEN_TYP}
        header.update(headers or {})
        if "kid" in header and header["kid"] is None:
            del header["kid"]
        # PyJWT drops a falsy typ itself.
        return jwt.encode(payload, pair.private_key, algorithm=pair.alg, headers=header)

    # -- faults -----------------------------------------------------------------------

    def inject(self, fault: Fault, path: str | None = None) -> None:
        """Apply *fault* to requests for *path* (``None``: every path)."""
        if not isinstance(fault, Fault):
            raise ConfigurationError("inject() needs a Fault")
        with self._lock:
            self._faults[path] = ActiveFault(fault)

    def force_status(
        self, status: int, path: str | None = None, *, times: int | None = None
    ) -> None:
        """Answer *status* (e.g. 503) instead of the document."""
        self.inject(Fault(status=status, times=times), path)

    def delay(self, seconds: float, path: str | None = None, *, times: int | None = None) -> None:
        """Wait *seconds* before answering."""
        self.inject(Fault(delay=seconds, times=times), path)

    def serve_malformed_json(self, path: str | None = None, *, times: int | None = None) -> None:
        """Send a cut-off JSON document with status 200."""
        self.inject(Fault(malformed_json=True, times=times), path)

    def override(
        self,
        path: str | None = None,
        *,
        body: Any = None,
        headers: Mapping[str, str | None] | None = None,
        status: int | None = None,
        times: int | None = None,
    ) -> None:
        """Replace the body and/or headers (``Cache-Control``, ``ETag``, ...) of responses."""
        self.inject(Fault(body=body, headers=dict(headers or {}), status=status, times=times), path)

    def clear_faults(self) -> None:
        """Serve normally again."""
        with self._lock:
            self._faults.clear()

    # -- request log ------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request served so far (a copy), oldest first."""
        with self._lock:
            return list(self._log)

    def count(self, path: str | None = None) -> int:
        """How many requests were served for *path* (``None``: in total)."""
        with self._lock:
            return sum(self._counts.values()) if path is None else self._counts[path]

    @property
    def counts(self) -> dict[str, int]:
        """Requests served per path."""
        with self._lock:
            return dict(self._counts)

    def clear_log(self) -> None:
        """Forget the requests served so far."""
        with self._lock:
            self._log.clear()
            self._counts.clear()

    # -- serving (called from the server's threads) --------------------------------

    def _fault_for(self, path: str) -> Fault | None:
        for key in (path, None):
            entry = self._faults.get(key)
            if entry is None:
                continue
            if entry.remaining is not None:
                entry.remaining -= 1
                if entry.remaining <= 0:
                    del self._faults[key]
            return entry.fault
        return None

    def _respond(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        with self._lock:
            fault = self._fault_for(path)
            endpoints = self._endpoints
            token_endpoint = self._token_endpoint
        if fault is not None and fault.delay:
            self._stopping.wait(fault.delay)
        if endpoints is None or token_endpoint is None:  # pragma: no cover - set before serving
            return build_json_response(b'{"error":"starting"}', max_age=0, status=503)
        if path == self.token_path:
            if body is None:
                response = token_endpoint.too_large()
            else:
                response = token_endpoint.respond(method, headers, body)
        else:
            response = endpoints.respond("GET" if method == "HEAD" else method, path)
        if fault is not None:
            response = apply_fault(fault, response)
        if response.status == 200 and etag_matches(
            headers.get("if-none-match"), response.header("etag")
        ):
            response = response.not_modified()
        return response

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            if len(self._log) >= _LOG_LIMIT:
                del self._log[: _LOG_LIMIT // 10]
            self._log.append(request)
            self._counts[request.path] += 1


class _ActiveKeySigner:
    """A :class:`~bearerguard.issuing.TokenSigner` on whichever key the issuer has active.

    The token endpoint's tokens follow :meth:`LocalIssuer.rotate` like minted ones.
    """

    __slots__ = ("_owner",)

    def __init__(self, owner: LocalIssuer) -> None:
        self._owner = owner

    def _signer(self) -> KeyPairSigner:
        # One attribute read, no lock: this runs under the issuer's lock too.
        return KeyPairSigner(self._owner._require_active())

    @property
    def kid(self) -> str:
        """The active key's id."""
        return self._signer().kid

    @property
    def alg(self) -> str:
        """The active key's algorithm."""
        return self._signer().alg

    @property
    def public_key(self) -> PublicKey:
        """The active public key."""
        return self._signer().public_key

    def sign(self, claims: Mapping[str, Any], *, typ: str = ACCESS_TOKEN_TYP) -> str:
        """Sign *claims* with the active key."""
        return self._signer().sign(claims, typ=typ)
