"""A real OAuth 2.0 authorization server on 127.0.0.1: Flask + Authlib, served by werkzeug.

Authlib's own grant and endpoint classes do the protocol work: the
client credentials grant (RFC 6749 §4.4) issues opaque bearer tokens, and
its RFC 7662 ``IntrospectionEndpoint`` answers for them, authenticating the
calling API with ``client_secret_basic``, ``client_secret_post`` or
``private_key_jwt`` (Authlib's RFC 7523 client assertion). The server also
publishes RFC 8414 metadata and a JWKS, and answers with an RFC 9701 signed
JWT when asked (``Accept: application/token-introspection+jwt``).

``fault`` makes the introspection endpoint misbehave for the next requests
(``"slow"``, ``"500"``, ``"garbage"``, ``"oversized"``, ``"wrong_types"``,
``"tamper"``); ``gate`` holds its answers until the test sets it; ``counts``
says how many requests it received::

    with AuthServer() as server:
        token = server.issue(scope="orders:read")
        ...
        assert server.counts["introspect"] == 1
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import jwt
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin, grants
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask, Response, request
from joserfc.jwk import ECKey
from werkzeug.serving import WSGIRequestHandler, make_server

AUDIENCE = "api://orders"
API_SECRET = "s3cret with spaces & symbols"
APP_SECRET = "app-secret"
JWT_ANSWER = "application/token-introspection+jwt"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """No access log lines on stderr."""


@dataclass
class Client(ClientMixin):  # type: ignore[misc]
    """A registered client: the token-requesting app or an introspecting API."""

    client_id: str
    secret: str | None
    auth_method: str
    public_pem: bytes | None = None
    grant_types: tuple[str, ...] = ()

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        return self.secret is not None and secrets.compare_digest(self.secret, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.auth_method

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types

    def get_allowed_scope(self, scope: str) -> str:
        return scope


@dataclass
class Token(TokenMixin):  # type: ignore[misc]
    """An issued opaque access token and what introspection says about it."""

    access_token: str
    client_id: str
    scope: str
    issued_at: int
    expires_in: int
    sub: str | None = None
    aud: Any = AUDIENCE
    revoked: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def check_client(self, client: Client) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return self.issued_at + self.expires_in < time.time()

    def is_revoked(self) -> bool:
        return self.revoked


class PrivateKeyJWT(JWTBearerClientAssertion):  # type: ignore[misc]
    """RFC 7523 client authentication, the ``private_key_jwt`` method."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, server: AuthServer) -> None:
        super().__init__()
        self._server = server
        self._seen: set[str] = set()

    def get_audiences(self) -> list[str]:
        return [self._server.introspection_endpoint]

    def validate_jti(self, claims: Any, jti: str) -> bool:
        if jti in self._seen:
            return False
        self._seen.add(jti)
        return True

    def resolve_client_public_key(self, client: Client) -> ECKey:
        assert client.public_pem is not None
        key: ECKey = ECKey.import_key(client.public_pem)
        return key


class Introspection(IntrospectionEndpoint):  # type: ignore[misc]
    """Authlib's RFC 7662 endpoint over the server's token table."""

    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]

    def __init__(self, server: AuthServer) -> None:
        super().__init__(server.authlib)
        self._server = server

    def query_token(self, token_string: str, token_type_hint: str | None) -> Token | None:
        return self._server.tokens.get(token_string)

    def check_permission(self, token: Token, client: Client, request: Any) -> bool:
        return client.client_id in self._server.apis

    def introspect_token(self, token: Token) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "active": True,
            "client_id": token.client_id,
            "token_type": "Bearer",
            "scope": token.scope,
            "iss": self._server.url,
            "exp": token.issued_at + token.expires_in,
            "iat": token.issued_at,
            "aud": token.aud,
        }
        if token.sub is not None:
            answer["sub"] = token.sub
        answer.update(token.extra)
        return answer


class AuthServer:
    """The authorization server, started on a free loopback port (a context manager)."""

    def __init__(self) -> None:
        self.app = Flask("introspection-authserver")
        self.tokens: dict[str, Token] = {}
        self.counts: Counter[str] = Counter()
        self.fault: str | None = None
        self.delay = 0.0
        self.gate: threading.Event | None = None
        self.publish_introspection_endpoint = True
        self.signing_key = ec.generate_private_key(ec.SECP256R1())
        self.api_key = ec.generate_private_key(ec.SECP256R1())
        api_pem = self.api_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.clients = {
            "app": Client("app", APP_SECRET, "client_secret_basic", None, ("client_credentials",)),
            "orders-api": Client("orders-api", API_SECRET, "client_secret_basic"),
            "orders-api-post": Client("orders-api-post", API_SECRET, "client_secret_post"),
            "orders-api-jwt": Client("orders-api-jwt", None, "private_key_jwt", api_pem),
        }
        self.apis = {"orders-api", "orders-api-post", "orders-api-jwt"}
        self.authlib = AuthorizationServer(
            self.app, query_client=self.clients.get, save_token=self._save_token
        )
        self.authlib.register_grant(grants.ClientCredentialsGrant)
        self.authlib.register_client_auth_method("private_key_jwt", PrivateKeyJWT(self))
        self.authlib.register_endpoint(Introspection(self))
        self.app.add_url_rule("/token", "token", self._token, methods=["POST"])
        self.app.add_url_rule("/introspect", "introspect", self._introspect, methods=["POST"])
        self.app.add_url_rule("/jwks.json", "jwks", self._jwks)
        self.app.add_url_rule("/moved", "moved", self._moved, methods=["POST"])
        self.app.add_url_rule("/.well-known/oauth-authorization-server", "metadata", self._metadata)
        self._server = make_server(
            "127.0.0.1", 0, self.app, threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.introspection_endpoint = self.url + "/introspect"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle ------------------------------------------------------------------

    def __enter__(self) -> AuthServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.gate is not None:
            self.gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- what tests use -----------------------------------------------------------------

    def issue(self, scope: str = "orders:read", client: str = "app") -> str:
        """An opaque token from the real token endpoint (client credentials grant)."""
        import requests

        secret = self.clients[client].secret
        assert secret is not None
        answer = requests.post(
            self.url + "/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=(client, secret),
            timeout=5,
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def private_key_pem(self) -> bytes:
        """The ``orders-api-jwt`` client's private key (PEM) for ``private_key_jwt``."""
        return self.api_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    # -- endpoints ----------------------------------------------------------------------

    def _save_token(self, token: dict[str, Any], req: Any) -> None:
        self.tokens[token["access_token"]] = Token(
            access_token=token["access_token"],
            client_id=req.client.client_id,
            scope=token.get("scope", ""),
            issued_at=int(time.time()),
            expires_in=int(token["expires_in"]),
            sub=req.client.client_id,
        )

    def _token(self) -> Response:
        return self.authlib.create_token_response()  # type: ignore[no-any-return]

    def _metadata(self) -> Response:
        self.counts["metadata"] += 1
        document = {
            "issuer": self.url,
            "token_endpoint": self.url + "/token",
            "introspection_endpoint": self.introspection_endpoint,
            "jwks_uri": self.url + "/jwks.json",
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
            ],
        }
        if not self.publish_introspection_endpoint:
            del document["introspection_endpoint"]
        return Response(json.dumps(document), content_type="application/json")

    def _moved(self) -> Response:
        self.counts["moved"] += 1
        return Response("", status=307, headers={"Location": self.introspection_endpoint})

    def _jwks(self) -> Response:
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.signing_key.public_key()))
        jwk.update(kid="as-1", alg="ES256", use="sig")
        return Response(json.dumps({"keys": [jwk]}), content_type="application/json")

    def _introspect(self) -> Response:
        self.counts["introspect"] += 1
        if self.gate is not None:
            self.gate.wait(10)
        if self.delay:
            time.sleep(self.delay)
        fault = self.fault
        if fault == "500":
            return Response("boom", status=500)
        if fault == "garbage":
            return Response("<html>not json</html>", content_type="application/json")
        if fault == "oversized":
            padded = json.dumps({"active": True, "padding": "x" * 100_000})
            return Response(padded, content_type="application/json")
        answer: Response = self.authlib.create_endpoint_response("introspection")
        if answer.status_code != 200:
            return answer
        body: dict[str, Any] = answer.get_json()
        if fault == "wrong_types":
            body = {**body, "exp": "tomorrow"}
        if JWT_ANSWER in request.headers.get("Accept", ""):
            return self._signed(body)
        return Response(json.dumps(body), content_type="application/json")

    def _signed(self, answer: dict[str, Any]) -> Response:
        """RFC 9701 §5: the answer as a JWT signed with the server's key."""
        client_id = request.authorization.username if request.authorization else None
        client_id = client_id or request.form.get("client_id")
        claims = {
            "iss": self.url,
            "aud": client_id,
            "iat": int(time.time()),
            "token_introspection": answer,
        }
        signed = jwt.encode(
            claims,
            self.signing_key,
            algorithm="ES256",
            headers={"kid": "as-1", "typ": "token-introspection+jwt"},
        )
        if self.fault == "tamper":
            head, payload, signature = signed.split(".")
            forged = json.loads(jwt.utils.base64url_decode(payload))
            forged["token_introspection"]["scope"] = "orders:read orders:admin"
            payload = jwt.utils.base64url_encode(json.dumps(forged).encode()).decode()
            signed = f"{head}.{payload}.{signature}"
        return Response(signed, content_type=JWT_ANSWER)
