"""One introspection request (RFC 7662 §2.1) and its checked answer (§2.2, RFC 9701).

:class:`IntrospectionCall` finds the endpoint (configured, or the
``introspection_endpoint`` of the authorization server's RFC 8414 metadata,
else its OpenID Connect discovery document), authenticates as the configured
client, POSTs the token and returns the answer as a JSON object whose
``active`` member is a boolean. Everything else (a timeout, a redirect, an
error status, a body that is too large or not JSON, an RFC 9701 answer whose
signature, ``typ``, ``iss`` or ``aud`` is wrong) raises
:class:`~bearerguard.IntrospectionUnavailable`: never an accepted token, never
a 401. The endpoint refusing our credentials is also logged at ERROR on
``"bearerguard.introspection"``: it is a misconfiguration to fix, not an
outage to wait out.
"""

from __future__ import annotations

import base64
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from ._caching import delta_seconds
from ._discovery import _get_json
from ._encoding import json_object
from ._errors import BearerGuardError, ConfigurationError, IntrospectionUnavailable
from ._introspection import Introspection
from ._issuer import Issuer
from ._jws import parse
from ._keysource import KeySource
from ._limits import DEFAULT_MAX_BYTES
from ._urls import check_url, oauth2_metadata_url, oidc_metadata_url, safe_url
from ._validation import normalize_typ

__all__ = ["ASSERTION_TYPE", "JWT_ANSWER", "IntrospectionCall", "log"]

log = logging.getLogger("bearerguard.introspection")

#: RFC 7523 §2.2: the ``client_assertion_type`` of a JWT client assertion.
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: RFC 9701 §5: the media type of a signed introspection answer.
JWT_ANSWER = "application/token-introspection+jwt"
_CHUNK = 16 * 1024
# Seconds a private_key_jwt assertion is valid: one request's worth.
_ASSERTION_LIFETIME = 60
# Seconds a failed discovery is not retried: each request fails at once meanwhile
# (503), instead of queueing behind a metadata fetch that is likely to fail again.
_DISCOVERY_RETRY = 5.0


class IntrospectionCall:
    """Introspects tokens at one authorization server as one client; thread-safe.

    *keys* are the authorization server's signing keys (needed for
    ``jwt_response``). No network call until the first token.
    """

    def __init__(self, config: Introspection, keys: KeySource | None) -> None:
        if config.jwt_response and keys is None:
            raise ConfigurationError(
                "Introspection(jwt_response=True) verifies answers with the authorization "
                f"server's keys: add an Issuer for {config.issuer!r} to the verifier"
            )
        self._config = config
        self._keys = keys
        self._endpoint = config.endpoint
        self._lock = threading.Lock()
        self._session: Any = None
        self._discovery_failure = ""
        self._retry_discovery_at = 0.0

    @property
    def endpoint(self) -> str | None:
        """The introspection endpoint (``None`` until discovery has found it)."""
        return self._endpoint

    def __call__(self, token: str) -> dict[str, Any]:
        """The authorization server's answer for *token*; ``active`` is a bool."""
        endpoint = self._endpoint or self._discover()
        form, headers = self._credentials(endpoint)
        form["token"] = token
        form["token_type_hint"] = "access_token"
        headers["Accept"] = JWT_ANSWER if self._config.jwt_response else "application/json"
        status, content_type, body = self._post(endpoint, form, headers)
        where = safe_url(endpoint)
        if status != 200:
            raise self._refused(status, body, where)
        if self._config.jwt_response:
            answer = self._signed_answer(body, content_type, where)
        else:
            try:
                answer = json_object(body, "introspection answer")
            except BearerGuardError as exc:
                raise IntrospectionUnavailable(
                    f"introspection endpoint {where}: {exc.description}"
                ) from None
        if type(answer.get("active")) is not bool:
            raise IntrospectionUnavailable(
                f"introspection endpoint {where}: the answer's active member is not a boolean"
            )
        return answer

    # -- the endpoint -------------------------------------------------------------

    def _discover(self) -> str:
        """RFC 8414 §3 metadata (then OIDC Discovery §4): ``introspection_endpoint``."""
        issuer = self._config.issuer
        with self._lock:
            if self._endpoint is not None:
                return self._endpoint
            if time.monotonic() < self._retry_discovery_at:
                raise IntrospectionUnavailable(self._discovery_failure)
            try:
                self._endpoint = self._discovered(issuer)
            except IntrospectionUnavailable as exc:
                self._discovery_failure = exc.description
                self._retry_discovery_at = time.monotonic() + _DISCOVERY_RETRY
                raise
            return self._endpoint

    def _discovered(self, issuer: str) -> str:
        """The checked ``introspection_endpoint`` of *issuer*'s metadata."""
        document: Mapping[str, Any] | None = None
        failure = ""
        for url in (oauth2_metadata_url(issuer), oidc_metadata_url(issuer)):
            try:
                document, _ = _get_json(
                    url, "metadata document", None, self._config.timeout, DEFAULT_MAX_BYTES
                )
                break
            except BearerGuardError as exc:
                failure = exc.description
        if document is None:
            raise IntrospectionUnavailable(f"introspection endpoint not found: {failure}")
        if document.get("issuer") != issuer:
            raise IntrospectionUnavailable(
                f"metadata of {issuer!r} names another issuer; "
                "configure the exact issuer string the authorization server publishes"
            )
        endpoint = document.get("introspection_endpoint")
        try:
            if not isinstance(endpoint, str):
                raise ConfigurationError("it has no introspection_endpoint")
            check_url(endpoint, "introspection_endpoint")
            if urlsplit(issuer).scheme == "https" and urlsplit(endpoint).scheme != "https":
                raise ConfigurationError("introspection_endpoint must use https")
        except ConfigurationError as exc:
            raise IntrospectionUnavailable(
                f"metadata of {issuer!r}: {exc.description}; "
                "or configure Introspection(endpoint=...)"
            ) from None
        return endpoint

    # -- client authentication ----------------------------------------------------

    def _credentials(self, endpoint: str) -> tuple[dict[str, str], dict[str, str]]:
        """The form members and headers that authenticate this client."""
        c = self._config
        if c.client_auth == "client_secret_basic":
            # RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
            assert c.client_secret is not None  # checked by Introspection
            pair = f"{quote(c.client_id, safe='')}:{quote(c.client_secret, safe='')}"
            basic = base64.b64encode(pair.encode("utf-8")).decode("ascii")
            return {}, {"Authorization": f"Basic {basic}"}
        if c.client_auth == "client_secret_post":
            assert c.client_secret is not None
            return {"client_id": c.client_id, "client_secret": c.client_secret}, {}
        return {
            "client_id": c.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self._assertion(endpoint),
        }, {}

    def _assertion(self, endpoint: str) -> str:
        """RFC 7523 §3: a short-lived JWT signed with the client's private key."""
        import jwt  # PyJWT: the library's JOSE signer

        c = self._config
        now = int(time.time())
        claims = {
            "iss": c.client_id,
            "sub": c.client_id,
            "aud": c.assertion_audience or endpoint,
            "iat": now,
            "exp": now + _ASSERTION_LIFETIME,
            "jti": secrets.token_urlsafe(16),  # RFC 7523 §3 item 7: single use
        }
        headers = {"kid": c.key_id} if c.key_id else None
        return jwt.encode(claims, c._signing_key, algorithm=c.signing_alg, headers=headers)

    # -- the request --------------------------------------------------------------

    def _post(
        self, url: str, form: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, str, bytes]:
        """POST *form* with the limits: timeout, size cap, no redirects."""
        import requests  # deferred: keeps `import bearerguard` cheap

        if self._session is None:
            session = requests.Session()
            session.trust_env = False  # as the key fetcher: no proxies from the environment
            self._session = session
        c = self._config
        where = safe_url(url)
        deadline = time.monotonic() + c.timeout
        try:
            resp = self._session.post(
                url,
                data=form,
                headers=headers,
                timeout=(c.timeout, c.timeout),
                allow_redirects=False,
                stream=True,
            )
            try:
                declared = delta_seconds(resp.headers.get("Content-Length", ""))
                if declared is not None and declared > c.max_bytes:
                    raise IntrospectionUnavailable(
                        f"introspection answer from {where} is larger than {c.max_bytes} bytes"
                    )
                body = bytearray()
                while chunk := resp.raw.read1(_CHUNK, decode_content=True):
                    body += chunk
                    if len(body) > c.max_bytes:
                        raise IntrospectionUnavailable(
                            f"introspection answer from {where} is larger than {c.max_bytes} bytes"
                        )
                    if time.monotonic() > deadline:
                        raise IntrospectionUnavailable(
                            f"introspection at {where} took longer than {c.timeout:g}s"
                        )
                return resp.status_code, resp.headers.get("Content-Type", ""), bytes(body)
            finally:
                resp.close()
        except requests.Timeout:
            raise IntrospectionUnavailable(
                f"introspection at {where} timed out after {c.timeout:g}s"
            ) from None
        except requests.RequestException as exc:
            raise IntrospectionUnavailable(
                f"introspection at {where} failed: {type(exc).__name__}"
            ) from None

    def _refused(self, status: int, body: bytes, where: str) -> IntrospectionUnavailable:
        """The error for a non-200 answer; our own credentials refused are logged at ERROR."""
        if status in (400, 401, 403):
            code = ""
            try:
                error = json_object(body, "error").get("error")
                if isinstance(error, str):
                    code = f" ({error[:40]!r})"
            except BearerGuardError:
                pass
            log.error(
                "introspection endpoint %s refused this API's request with HTTP %d%s: check "
                "Introspection client_id=%r, its client secret or private key, and "
                "client_auth=%r (the method the authorization server has registered for it)",
                where,
                status,
                code,
                self._config.client_id,
                self._config.client_auth,
            )
            return IntrospectionUnavailable(
                f"introspection endpoint {where} refused this API's credentials (HTTP {status})"
            )
        if 300 <= status < 400:
            return IntrospectionUnavailable(
                f"introspection endpoint {where} redirected (HTTP {status}); "
                "redirects are not followed"
            )
        return IntrospectionUnavailable(f"introspection endpoint {where} answered HTTP {status}")

    # -- RFC 9701 -----------------------------------------------------------------

    def _signed_answer(self, body: bytes, content_type: str, where: str) -> dict[str, Any]:
        """The ``token_introspection`` member of a verified RFC 9701 JWT answer."""
        c = self._config
        if content_type.partition(";")[0].strip().lower() != JWT_ANSWER:
            raise IntrospectionUnavailable(
                f"introspection endpoint {where} did not send a signed answer ({JWT_ANSWER})"
            )
        keys = self._keys
        assert keys is not None  # checked in __init__
        try:
            header, payload, signing_input, signature, alg, kid = parse(
                body.decode("ascii").strip(), c.max_bytes
            )
            typ = header.get("typ")
            if not isinstance(typ, str) or normalize_typ(typ) != "token-introspection+jwt":
                raise IntrospectionUnavailable(
                    f"signed introspection answer from {where} refused: "
                    "its typ is not token-introspection+jwt"
                )
            Issuer.find_key(alg, kid, keys.get_keys(kid), signing_input, signature)
        except UnicodeDecodeError:
            raise IntrospectionUnavailable(
                f"signed introspection answer from {where} is not a JWS"
            ) from None
        except IntrospectionUnavailable:
            raise
        except BearerGuardError as exc:
            raise IntrospectionUnavailable(
                f"signed introspection answer from {where} refused: {exc.description}"
            ) from None
        aud = payload.get("aud")
        audiences = (aud,) if isinstance(aud, str) else aud if isinstance(aud, list) else ()
        inner = payload.get("token_introspection")
        if payload.get("iss") != c.issuer:
            problem = "its iss is not the configured issuer"
        elif c.client_id not in audiences:
            problem = "its aud does not name this API's client_id"
        elif not isinstance(inner, dict):
            problem = "it has no token_introspection object"
        else:
            return inner
        raise IntrospectionUnavailable(
            f"signed introspection answer from {where} refused: {problem}"
        )
