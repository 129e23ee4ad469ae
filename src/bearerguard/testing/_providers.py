"""Local fakes of identity providers: their issuer URLs, token claims and JWKS quirks."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import jwt

from .._errors import ConfigurationError, FetchError
from .._fetch import FetchResponse, RequestsFetcher
from .._issuer import Issuer
from .._issuer_group import IssuerGroup
from ..issuing._keys import KeyPair
from ..issuing._wellknown import Response, build_json_response
from ._faults import RecordedRequest
from ._keypool import default_pool
from ._server import make_server

if TYPE_CHECKING:
    from ..providers import _AnyTenant

__all__ = ["FakeProvider"]

_WELL_KNOWN = "/.well-known/openid-configuration"


class FakeProvider:
    """A local stand-in for one identity provider, served over HTTP on 127.0.0.1.

    Build one with :meth:`auth0`, :meth:`entra`, :meth:`okta`, :meth:`keycloak`,
    :meth:`cognito` or :meth:`google`. Its
    tokens carry the provider's own ``iss`` (the public URL your production
    configuration names), its claim layout and its header, and its JWKS has
    the provider's quirks. The discovery document and the JWKS are served at
    the provider's path layout on :attr:`url`; :attr:`fetcher` routes every
    request for the provider's public URLs there (and refuses any other
    host), and :meth:`profile` gives the matching :mod:`bearerguard.providers`
    issuer with that fetcher, so the configuration under test is the real one.

    Create fakes with the class methods; the constructor's arguments describe a
    provider's layout and are not meant to be called directly.
    """

    def __init__(
        self,
        provider: str,
        issuer: str,
        jwks_uri: str,
        claims: Callable[[Mapping[str, Any]], dict[str, Any]],
        profile: Callable[..., Issuer | IssuerGroup],
        *,
        header: Mapping[str, Any] | None = None,
        encryption_key: bool = False,
        x5t: bool = False,
        discovery_issuer: str | None = None,
        token_ttl: int = 300,
    ) -> None:
        parts = urlsplit(issuer)
        jwks = urlsplit(jwks_uri)
        self.provider = provider
        self.issuer = issuer
        self.jwks_uri = jwks_uri
        self._origins = {f"{parts.scheme}://{parts.netloc}", f"{jwks.scheme}://{jwks.netloc}"}
        self._discovery_path = parts.path.rstrip("/") + _WELL_KNOWN
        self._discovery_issuer = discovery_issuer or issuer
        self._jwks_path = jwks.path
        self._x5t = x5t
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
        self._counts: Counter[str] = Counter()

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

        def claims(given: Mapping[str, Any]) -> dict[str, Any]:
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
            f"https://{domain}/.well-known/jwks.json",
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

        def claims(given: Mapping[str, Any]) -> dict[str, Any]:
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
            f"{base}/realms/{realm}/protocol/openid-connect/certs",
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

        def claims(given: Mapping[str, Any]) -> dict[str, Any]:
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
            f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}/.well-known/jwks.json",
            claims,
            lambda **o: providers.cognito(region, user_pool_id, client_ids=[client_id], **o),
        )

    @classmethod
    def entra(
        cls,
        tenant: str = "72f988bf-86f1-41af-91ab-2d7cd011db47",
        audience: str = "api://orders",
        *,
        versions: tuple[int, ...] = (2,),
        allowed_tenants: Iterable[str] | Literal[_AnyTenant.ANY_TENANT] | None = None,
        client_id: str = "6e74172b-be56-4843-9ff4-e66a39bb12e3",
    ) -> FakeProvider:
        """Microsoft Entra ID: v2.0 tokens by default, v1.0 with ``mint(ver="1.0")``.

        v2.0: ``iss`` ``https://login.microsoftonline.com/{tid}/v2.0``, ``azp``;
        v1.0: ``iss`` ``https://sts.windows.net/{tid}/``, ``appid``. Both carry
        ``ver``, ``tid``, ``scp`` (space-separated), ``roles`` and ``oid``, and
        the header carries ``x5t`` beside ``kid``. *tenant* ``"organizations"``
        or ``"common"`` makes a multi-tenant fake: its discovery document names
        the issuer ``https://login.microsoftonline.com/{tenantid}/v2.0`` (the
        template), tokens come from the first of *allowed_tenants* unless
        ``mint(tid=...)`` names another, and :meth:`profile` allows
        *allowed_tenants*; with ``allowed_tenants=providers.ANY_TENANT`` the
        profile accepts every tenant and tokens come from
        ``5f2b7c1e-8d4a-4e6b-9a3c-1d7e0f9b2c48`` unless ``mint(tid=...)``
        names another. *versions* are the versions :meth:`profile` accepts.
        """
        from .. import providers

        multi = tenant in ("common", "organizations")
        any_tenant = allowed_tenants is providers.ANY_TENANT
        if allowed_tenants is providers.ANY_TENANT:
            tenants = ["5f2b7c1e-8d4a-4e6b-9a3c-1d7e0f9b2c48"]
        elif multi:
            tenants = sorted(allowed_tenants or ())
        else:
            tenants = [tenant]
        if not tenants:
            raise ConfigurationError(
                f"FakeProvider.entra({tenant!r}) needs allowed_tenants= (the tenant IDs it "
                "serves, or providers.ANY_TENANT)"
            )
        home = tenants[0]
        allowed = allowed_tenants if any_tenant else tenants if multi else None
        login = "https://login.microsoftonline.com"

        def claims(given: Mapping[str, Any]) -> dict[str, Any]:
            tid = given.get("tid", home)
            common = {
                "aud": audience,
                "tid": tid,
                "oid": "00000000-0000-0000-66f3-3332eca7ea81",
                "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
                "scp": "user_impersonation",
                "roles": [],
                "name": "Alice",
            }
            if given.get("ver") == "1.0":
                return {
                    **common,
                    "iss": f"https://sts.windows.net/{tid}/",
                    "ver": "1.0",
                    "appid": client_id,
                    "appidacr": "1",
                }
            return {
                **common,
                "iss": f"{login}/{tid}/v2.0",
                "ver": "2.0",
                "azp": client_id,
                "azpacr": "1",
            }

        return cls(
            "entra",
            f"{login}/{tenant}/v2.0",
            f"{login}/{tenant}/discovery/v2.0/keys",
            claims,
            lambda **o: providers.entra(
                tenant,
                audience,
                versions=versions,
                allowed_tenants=allowed,
                **o,
            ),
            x5t=True,
            discovery_issuer=f"{login}/{{tenantid}}/v2.0" if multi else None,
        )

    @classmethod
    def okta(
        cls,
        domain: str = "example.okta.com",
        audience: str = "api://default",
        *,
        authorization_server: str = "default",
        client_id: str = "0oa1b2c3d4e5f6g7h8i9",
    ) -> FakeProvider:
        """Okta, a custom authorization server: ``iss`` ``https://{domain}/oauth2/{server}``.

        Tokens carry ``ver: 1``, ``jti`` ``AT....``, ``scp`` as an array,
        ``cid`` (*client_id*), ``uid`` and the user's login as ``sub``; the keys
        are at ``/oauth2/{server}/v1/keys``.
        """
        from .. import providers

        def claims(given: Mapping[str, Any]) -> dict[str, Any]:
            return {
                "ver": 1,
                "jti": "AT." + secrets.token_urlsafe(24),
                "aud": audience,
                "cid": client_id,
                "uid": "00u1a2b3c4d5e6f7g8h9",
                "scp": ["openid", "profile"],
                "sub": "alice@example.com",
                "auth_time": int(time.time()),
            }

        base = f"https://{domain}/oauth2/{authorization_server}"
        return cls(
            "okta",
            base,
            f"{base}/v1/keys",
            claims,
            lambda **o: providers.okta(
                domain, audience, authorization_server=authorization_server, **o
            ),
        )

    @classmethod
    def google(cls, audience: str = "https://orders-abc123-ew.a.run.app") -> FakeProvider:
        """Google-signed ID tokens for service-to-service calls (Cloud Run, IAP).

        ``iss`` is ``https://accounts.google.com`` (``mint(iss="accounts.google.com")``
        gives the other form Google writes); ``aud`` is *audience*, the
        receiving service's URL; ``azp``, ``email`` and ``email_verified``
        name the calling service account. The keys are at
        ``https://www.googleapis.com/oauth2/v3/certs``.
        """
        from .. import providers

        def claims(given: Mapping[str, Any]) -> dict[str, Any]:
            return {
                "aud": audience,
                "azp": "107517467455664443765",
                "sub": "107517467455664443765",
                "email": "caller@example-project.iam.gserviceaccount.com",
                "email_verified": True,
            }

        return cls(
            "google",
            "https://accounts.google.com",
            "https://www.googleapis.com/oauth2/v3/certs",
            claims,
            lambda **o: providers.google(audience, **o),
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
            target=self._server.serve_forever,
            # A short poll makes stop() quick: shutdown() waits for the next poll.
            kwargs={"poll_interval": 0.02},
            name="bearerguard-fake-provider",
            daemon=True,
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
            self._thread.join(timeout=5)
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

    # -- documents ----------------------------------------------------------------------

    def _publish(self) -> None:
        signing = self._keys[0]
        jwk = signing.public_jwk.to_dict()
        jwk["use"] = "sig"
        if self._x5t:
            jwk["x5t"] = signing.kid
        keys = [jwk]
        if self._encryption_key:
            enc = self._keys[1].public_jwk.to_dict()
            enc.update({"use": "enc", "alg": "RSA-OAEP", "kid": enc["kid"] + "-enc"})
            keys.append(enc)
        discovery = {
            "issuer": self._discovery_issuer,
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
        with self._lock:
            self._counts[request.path] += 1

    @property
    def counts(self) -> dict[str, int]:
        """How many requests the fake served, per path (``{}`` when nothing was fetched)."""
        with self._lock:
            return dict(self._counts)

    # -- offline use --------------------------------------------------------------------

    def fetcher(
        self, url: str, *, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> FetchResponse:
        """A :class:`~bearerguard.Fetcher`: the provider's URLs are fetched from this fake.

        Any URL on another host raises :class:`~bearerguard.FetchError`, so a
        test never reaches the network.
        """
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" not in self._origins:
            served = " and ".join(sorted(self._origins))
            raise FetchError(f"the fake {self.provider} serves {served} only, not {url!r}")
        local = self.url + parts.path + (f"?{parts.query}" if parts.query else "")
        return self._http(local, headers=headers, timeout=timeout, max_bytes=max_bytes)

    def profile(self, **options: Any) -> Issuer | IssuerGroup:
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
        payload.update(self._claims(claims))
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        with self._lock:
            if not self._keys:
                raise ConfigurationError("the FakeProvider is not running; call start()")
            pair = self._keys[0]
        header = {"kid": pair.kid, **self._header}
        if self._x5t:
            header["x5t"] = pair.kid
        return jwt.encode(payload, pair.private_key, algorithm=pair.alg, headers=header)
