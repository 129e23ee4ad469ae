"""Local fakes of identity providers: their issuer URLs, token claims and JWKS quirks."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import jwt

from .._errors import ConfigurationError, FetchError
from .._fetch import FetchResponse, RequestsFetcher
from .._issuer import Issuer
from ..issuing._keys import KeyPair
from ..issuing._wellknown import Response, build_json_response
from ._faults import RecordedRequest
from ._keypool import default_pool
from ._server import make_server

__all__ = ["FakeProvider"]

_WELL_KNOWN = "/.well-known/openid-configuration"


class FakeProvider:
    """A local stand-in for one identity provider, served over HTTP on 127.0.0.1.

    Build one with :meth:`auth0`, :meth:`keycloak` or :meth:`cognito`. Its
    tokens carry the provider's own ``iss`` (the public URL your production
    configuration names), its claim layout and its header, and its JWKS has
    the provider's quirks. The discovery document and the JWKS are served at
    the provider's path layout on :attr:`url`; :attr:`fetcher` routes every
    request for the provider's public URLs there (and refuses any other
    host), and :meth:`profile` gives the matching :mod:`bearerguard.providers`
    issuer with that fetcher, so the configuration under test is the real one.
    """

    def __init__(
        self,
        provider: str,
        issuer: str,
        jwks_path: str,
        claims: Callable[[FakeProvider], dict[str, Any]],
        profile: Callable[..., Issuer],
        *,
        header: Mapping[str, Any] | None = None,
        encryption_key: bool = False,
        token_ttl: int = 300,
    ) -> None:
        parts = urlsplit(issuer)
        self.provider = provider
        self.issuer = issuer
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._discovery_path = parts.path.rstrip("/") + _WELL_KNOWN
        self._jwks_path = jwks_path
        self._claims = claims
        self._profile = profile
        self._header = dict(header or {"typ": "JWT"})
        self._encryption_key = encryption_key
        self._token_ttl = token_ttl
        self._lock = threading.Lock()
        self._keys: list[KeyPair] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._http = RequestsFetcher()
        self._documents: dict[str, bytes] = {}

    # -- the providers ------------------------------------------------------------------

    @classmethod
    def auth0(
        cls, domain: str = "example.eu.auth0.com", audience: str = "https://api.example.com"
    ) -> FakeProvider:
        """Auth0 with RBAC's "Add Permissions in the Access Token" on.

        ``iss`` is ``https://{domain}/``; ``aud`` is ``[audience,
        https://{domain}/userinfo]``; scopes are in ``scope`` and ``permissions``;
        the client is in ``azp``. The header carries ``typ: JWT``.
        """
        from .. import providers

        def claims(fake: FakeProvider) -> dict[str, Any]:
            return {
                "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
                "aud": [audience, f"https://{domain}/userinfo"],
                "azp": "my-spa-client",
                "scope": "openid profile",
                "permissions": [],
            }

        return cls(
            "auth0",
            f"https://{domain}/",
            "/.well-known/jwks.json",
            claims,
            lambda **o: providers.auth0(domain, audience, **o),
        )

    @classmethod
    def keycloak(
        cls,
        realm: str = "shop",
        *,
        base_url: str = "https://sso.example.com",
        client_id: str = "shop-frontend",
        audience: str | None = "account",
    ) -> FakeProvider:
        """Keycloak: ``iss`` is ``{base_url}/realms/{realm}``.

        Tokens carry ``typ: "Bearer"``, ``azp`` (*client_id*), ``aud``
        (*audience*, Keycloak's default ``account``), ``realm_access`` and
        ``resource_access`` roles, and ``scope``. The JWKS also publishes an
        RSA-OAEP key with ``use: enc``, as every Keycloak realm does.
        """
        from .. import providers

        base = base_url.rstrip("/")

        def claims(fake: FakeProvider) -> dict[str, Any]:
            return {
                "sub": "f1b2c3d4-0000-4000-8000-00000000cafe",
                "aud": audience,
                "typ": "Bearer",
                "azp": client_id,
                "scope": "openid profile email",
                "realm_access": {"roles": ["default-roles-" + realm, "offline_access"]},
                "resource_access": {client_id: {"roles": []}},
                "preferred_username": "alice",
            }

        return cls(
            "keycloak",
            f"{base}/realms/{realm}",
            urlsplit(base).path + f"/realms/{realm}/protocol/openid-connect/certs",
            claims,
            lambda **o: providers.keycloak(
                base, realm, audience=audience, client_id=client_id, **o
            ),
            encryption_key=True,
        )

    @classmethod
    def cognito(
        cls,
        region: str = "eu-west-1",
        user_pool_id: str = "eu-west-1_AbCdEf123",
        *,
        client_id: str = "3n4b5urk1ft4fl3mg5e62d9ado",
    ) -> FakeProvider:
        """Amazon Cognito access tokens: no ``aud``.

        ``iss`` is ``https://cognito-idp.{region}.amazonaws.com/{user_pool_id}``;
        tokens carry ``token_use: "access"``, ``client_id``, ``scope``,
        ``cognito:groups`` and ``username``; :meth:`profile` allows *client_id*.
        """
        from .. import providers

        def claims(fake: FakeProvider) -> dict[str, Any]:
            return {
                "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                "token_use": "access",
                "client_id": client_id,
                "scope": "aws.cognito.signin.user.admin",
                "cognito:groups": [],
                "username": "alice",
                "auth_time": int(time.time()),
                "jti": secrets.token_hex(8),
            }

        return cls(
            "cognito",
            f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}",
            f"/{user_pool_id}/.well-known/jwks.json",
            claims,
            lambda **o: providers.cognito(region, user_pool_id, client_ids=[client_id], **o),
        )

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> FakeProvider:
        """Bind 127.0.0.1 on a free port, take keys, and serve in a daemon thread."""
        if self._server is not None:
            return self
        with self._lock:
            self._keys = [default_pool.acquire("RSA", 2048, None)]
            if self._encryption_key:
                self._keys.append(default_pool.acquire("RSA", 2048, None))
        self._server = make_server(0, self._respond, self._record)
        self._publish()
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="bearerguard-fake-provider", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and give the keys back."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            default_pool.release(self._keys)
            self._keys = []

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Where the fake listens: ``http://127.0.0.1:{port}``."""
        if self._server is None:
            raise ConfigurationError("the FakeProvider is not running; call start()")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def jwks_uri(self) -> str:
        """The provider's public JWKS URL, as its discovery document names it."""
        return self._origin + self._jwks_path

    # -- documents ----------------------------------------------------------------------

    def _publish(self) -> None:
        signing = self._keys[0]
        jwk = signing.public_jwk.to_dict()
        jwk["use"] = "sig"
        keys = [jwk]
        if self._encryption_key:
            enc = self._keys[1].public_jwk.to_dict()
            enc.update({"use": "enc", "alg": "RSA-OAEP", "kid": enc["kid"] + "-enc"})
            keys.append(enc)
        discovery = {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [signing.alg],
        }
        self._documents = {
            self._discovery_path: json.dumps(discovery).encode(),
            self._jwks_path: json.dumps({"keys": keys}).encode(),
        }

    def _respond(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        document = self._documents.get(path)
        if document is None or method not in ("GET", "HEAD"):
            return build_json_response(b'{"error":"not_found"}', max_age=0, status=404)
        return build_json_response(document, max_age=300)

    def _record(self, request: RecordedRequest) -> None:
        pass

    # -- offline use --------------------------------------------------------------------

    def fetcher(
        self, url: str, *, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> FetchResponse:
        """A :class:`~bearerguard.Fetcher`: the provider's URLs are fetched from this fake.

        Any URL on another host raises :class:`~bearerguard.FetchError`, so a
        test never reaches the network.
        """
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self._origin:
            raise FetchError(f"the fake {self.provider} serves {self._origin} only, not {url!r}")
        local = self.url + parts.path + (f"?{parts.query}" if parts.query else "")
        return self._http(local, headers=headers, timeout=timeout, max_bytes=max_bytes)

    def profile(self, **options: Any) -> Issuer:
        """The matching :mod:`bearerguard.providers` issuer, fetching from this fake.

        *options* go to the provider function (``leeway=``, ``algorithms=``, ...).
        """
        return self._profile(fetcher=self.fetcher, **options)

    def mint(self, **claims: Any) -> str:
        """A token shaped like this provider's access tokens.

        Keyword arguments add claims or replace the defaults; ``None`` removes
        one (``mint(aud=None)``). ``iss``, ``iat`` and ``exp`` are set unless given.
        """
        now = int(time.time())
        payload: dict[str, Any] = {"iss": self.issuer, "iat": now, "exp": now + self._token_ttl}
        payload.update(self._claims(self))
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        with self._lock:
            if not self._keys:
                raise ConfigurationError("the FakeProvider is not running; call start()")
            pair = self._keys[0]
        header = {"kid": pair.kid, **self._header}
        return jwt.encode(payload, pair.private_key, algorithm=pair.alg, headers=header)
