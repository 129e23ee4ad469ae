"""The one response table every adapter must answer byte for byte.

Framework-free data, importable by any adapter's tests (``from adapters.cases
import CASES``). Each adapter under test serves the same small API, configured
with :func:`table_settings` (or :func:`table_mapping`, for settings files):

* ``TOKEN_PATH`` needs a valid token and answers ``text/plain; charset=utf-8``
  with the token's ``sub`` (``SUB``), with a ``Content-Length``;
* ``SCOPED_PATH`` needs scope ``SCOPE`` and answers the same way;
* ``PUBLIC_PATH`` is a public path and answers ``public``;
* the RFC 9728 document is served at ``METADATA_PATH``.

A case says which request to send (path, query, ``Authorization`` values as
bytes, with ``{name}`` filled from the minted tokens) and exactly what must
come back: status, the headers bearerguard sets, and the body bytes. Cases
with ``keys_down`` go to an app configured with :func:`unavailable_settings`
(a fresh one per request). :class:`Observed` reduces a response to what is
compared; ``case.expected()`` is what it must equal.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from bearerguard import Issuer, Validator
from bearerguard._settings import GuardSettings
from bearerguard.keyset import RemoteKeySet
from bearerguard.testing import LocalIssuer
from bearerguard.verifier import Verifier

REALM = "bearerguard-test"
AUDIENCE = "api://test"
SCOPE = "write"
SUB = "test-user"
RESOURCE = "https://api.test.example/v1"
RESOURCE_METADATA = "https://api.test.example/.well-known/oauth-protected-resource/v1"
METADATA_PATH = "/.well-known/oauth-protected-resource/v1"
TOKEN_PATH = "/token"
SCOPED_PATH = "/scoped"
PUBLIC_PATH = "/public"

#: The content type of the test API's own (successful) answers.
TEXT = "text/plain; charset=utf-8"
#: The response headers bearerguard sets; only these are compared.
COMPARED_HEADERS = (
    "content-type",
    "content-length",
    "cache-control",
    "www-authenticate",
    "retry-after",
)


def table_mapping(issuer_url: str) -> dict[str, Any]:
    """The table's configuration as upper-case keys (Django's ``BEARERGUARD = {...}``)."""
    return {
        "OIDC": issuer_url,
        "AUDIENCE": AUDIENCE,
        "REALM": REALM,
        "PUBLIC_PATHS": [PUBLIC_PATH],
        "RESOURCE": RESOURCE,
        "RESOURCE_METADATA": {"scopes_supported": ["read", SCOPE]},
    }


def unavailable_mapping(down: LocalIssuer) -> dict[str, Any]:
    """Keys of a table configuration whose only issuer is down.

    A fresh verifier each call, on a frozen clock: its first fetch fails and
    ``Retry-After`` is exactly the key set's 30 s cooldown.
    """
    keys = RemoteKeySet.from_oidc(down.url, clock=lambda: 1000.0)
    verifier = Verifier([Issuer(down.url, keys, Validator(aud=AUDIENCE))])
    mapping = table_mapping(down.url)
    del mapping["OIDC"], mapping["AUDIENCE"]
    return {**mapping, "VERIFIER": verifier}


def table_settings(issuer_url: str) -> GuardSettings:
    """The settings every adapter in the table is configured with."""
    return GuardSettings.from_mapping(table_mapping(issuer_url))


def unavailable_settings(down: LocalIssuer) -> GuardSettings:
    """Settings whose only issuer is down (see :func:`unavailable_mapping`)."""
    return GuardSettings.from_mapping(unavailable_mapping(down))


def tamper(token: str) -> str:
    """The token with another ``sub`` in a well-formed payload and the old signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def mint_tokens(issuer: LocalIssuer, down: LocalIssuer) -> dict[str, str]:
    """Every token the table refers to, by name."""
    valid = issuer.mint(sub=SUB, scopes=["read"])
    return {
        "valid": valid,
        "writer": issuer.mint(sub=SUB, scopes=["read", SCOPE]),
        "expired": issuer.mint(sub=SUB, scopes=["read"], expires_in=-3600),
        "wrong_audience": issuer.mint(sub=SUB, audience="api://another-api"),
        "foreign": issuer.mint(sub=SUB, iss="https://evil.example"),
        "tampered": tamper(valid),
        "down": down.mint(sub=SUB, scopes=["read"]),
        # RFC 8705 §3: bound to a TLS client certificate's SHA-256 thumbprint.
        "certificate_bound": issuer.mint(
            sub=SUB, cnf={"x5t#S256": "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg"}
        ),
        # RFC 9449 §6: bound to a DPoP key's RFC 7638 thumbprint.
        "dpop_bound": issuer.mint(
            sub=SUB, cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
        ),
    }


@dataclass(frozen=True, slots=True)
class Observed:
    """What came back, reduced to what the table compares."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @classmethod
    def of(cls, status: int, headers: Mapping[str, str], body: bytes) -> Observed:
        """Keep the compared headers, names in lower case (HTTP names are case-insensitive)."""
        lowered = {name.lower(): value for name, value in headers.items()}
        kept = {name: lowered[name] for name in COMPARED_HEADERS if name in lowered}
        return cls(status, kept, body)


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """One request and the exact response every adapter must give."""

    id: str
    authorization: tuple[bytes, ...] = ()
    query: str = ""
    path: str = TOKEN_PATH
    keys_down: bool = False
    status: int
    challenge: str | None = None
    body: bytes = b""
    retry_after: str | None = None
    content_type: str = "application/json"

    def header_values(self, tokens: Mapping[str, str]) -> list[bytes]:
        """The ``Authorization`` values to send, tokens filled in."""
        filled = {name.encode(): token.encode() for name, token in tokens.items()}
        values = []
        for value in self.authorization:
            for name, token in filled.items():
                value = value.replace(b"{" + name + b"}", token)
            values.append(value)
        return values

    def expected(self) -> Observed:
        """The response this case requires."""
        headers = {"content-type": self.content_type, "content-length": str(len(self.body))}
        if self.status != 200:
            headers["cache-control"] = "no-store"
        if self.challenge is not None:
            headers["www-authenticate"] = self.challenge
        if self.retry_after is not None:
            headers["retry-after"] = self.retry_after
        return Observed(self.status, headers, self.body)


def _challenge(*params: str) -> str:
    return ", ".join(
        [f'Bearer realm="{REALM}"', *params, f'resource_metadata="{RESOURCE_METADATA}"']
    )


def _refusal(code: str, description: str, *extra: str) -> tuple[str, bytes]:
    challenge = _challenge(f'error="{code}"', f'error_description="{description}"', *extra)
    body = json.dumps({"error": code, "error_description": description}, separators=(",", ":"))
    return challenge, body.encode()


NO_TOKEN_BODY = b'{"error":"unauthorized","error_description":"bearer token required"}'
UNAVAILABLE_BODY = (
    b'{"error":"temporarily_unavailable","error_description":"signing keys unavailable"}'
)


def metadata_body(issuer_url: str) -> bytes:
    """The RFC 9728 document the table's settings describe."""
    document = {
        "authorization_servers": [issuer_url],
        "bearer_methods_supported": ["header"],
        "resource": RESOURCE,
        "scopes_supported": ["read", SCOPE],
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _invalid_request(case_id: str, description: str, **fields: Any) -> Case:
    challenge, body = _refusal("invalid_request", description)
    return Case(id=case_id, status=400, challenge=challenge, body=body, **fields)


def _invalid_token(case_id: str, description: str, **fields: Any) -> Case:
    challenge, body = _refusal("invalid_token", description)
    return Case(id=case_id, status=401, challenge=challenge, body=body, **fields)


_scope_challenge, _scope_body = _refusal(
    "insufficient_scope", f"missing scope: {SCOPE}", f'scope="{SCOPE}"'
)

CASES: list[Case] = [
    # Accepted.
    Case(
        id="valid-token",
        authorization=(b"Bearer {valid}",),
        status=200,
        body=SUB.encode(),
        content_type=TEXT,
    ),
    Case(
        id="scheme-is-case-insensitive",
        authorization=(b"bEaReR {valid}",),
        status=200,
        body=SUB.encode(),
        content_type=TEXT,
    ),
    Case(
        id="scoped-with-scope",
        path=SCOPED_PATH,
        authorization=(b"Bearer {writer}",),
        status=200,
        body=SUB.encode(),
        content_type=TEXT,
    ),
    Case(
        id="public-path-without-token",
        path=PUBLIC_PATH,
        status=200,
        body=b"public",
        content_type=TEXT,
    ),
    # RFC 6750 §3.1: no credentials → a bare challenge, no error code.
    Case(id="no-token", status=401, challenge=_challenge(), body=NO_TOKEN_BODY),
    Case(
        id="no-token-scoped",
        path=SCOPED_PATH,
        status=401,
        challenge=_challenge(),
        body=NO_TOKEN_BODY,
    ),
    Case(
        id="wrong-scheme",
        authorization=(b"Basic dXNlcjpwYXNzd29yZA==",),
        status=401,
        challenge=_challenge(),
        body=NO_TOKEN_BODY,
    ),
    # dpop="off" (the table's setting): the DPoP scheme is another scheme (RFC 9449 §7.1).
    Case(
        id="dpop-scheme-with-dpop-off",
        authorization=(b"DPoP {dpop_bound}",),
        status=401,
        challenge=_challenge(),
        body=NO_TOKEN_BODY,
    ),
    # Malformed requests → 400 invalid_request.
    _invalid_request(
        "bearer-without-token",
        "Authorization header has no token after Bearer",
        authorization=(b"Bearer",),
    ),
    _invalid_request(
        "token-with-spaces", "Authorization header is malformed", authorization=(b"Bearer abc def",)
    ),
    _invalid_request(
        "two-authorization-headers",
        "more than one Authorization header",
        authorization=(b"Bearer {valid}", b"Bearer {valid}"),
    ),
    _invalid_request(
        "header-and-query-token",
        "credentials sent in more than one way",
        authorization=(b"Bearer {valid}",),
        query="access_token=abc",
    ),
    _invalid_request(
        "query-token-only",
        "token must be sent in the Authorization header",
        query="a=1&access_token=abc",
    ),
    _invalid_request(
        "wrong-scheme-and-query-token",
        "token must be sent in the Authorization header",
        authorization=(b"Basic dXNlcjpwYXNz",),
        query="access_token=abc",
    ),
    # Hostile headers: 400/401, never 500.
    _invalid_request(
        "binary-header",
        "Authorization header is not ASCII",
        authorization=(b"Bearer \xff\xfe\xfd",),
    ),
    _invalid_request(
        "many-spaces",
        "Authorization header has no token after Bearer",
        authorization=(b"Bearer" + b" " * 4000,),
    ),
    _invalid_request(
        "spaces-then-garbage",
        "Authorization header is malformed",
        authorization=(b"Bearer " + b" " * 1000 + b"a b",),
    ),
    _invalid_token(
        "huge-header",
        "token is larger than 16384 bytes",
        authorization=(b"Bearer " + b"A" * 20000,),
    ),
    # Bad tokens → 401 invalid_token with a short, safe description.
    _invalid_token(
        "not-a-jwt",
        "token is not a compact JWS (three dot-separated segments)",
        authorization=(b"Bearer abc",),
    ),
    _invalid_token("expired", "exp: token has expired", authorization=(b"Bearer {expired}",)),
    _invalid_token(
        "wrong-audience",
        "aud: token is not meant for this audience",
        authorization=(b"Bearer {wrong_audience}",),
    ),
    # No binding checked (mtls and dpop off): every cnf token is refused as a bearer token.
    _invalid_token(
        "certificate-bound-token-without-mtls",
        "cnf: sender-constrained token presented as a bearer token",
        authorization=(b"Bearer {certificate_bound}",),
    ),
    _invalid_token(
        "dpop-bound-token-with-dpop-off",
        "cnf: sender-constrained token presented as a bearer token",
        authorization=(b"Bearer {dpop_bound}",),
    ),
    _invalid_token(
        "untrusted-issuer",
        "token iss is not a trusted issuer",
        authorization=(b"Bearer {foreign}",),
    ),
    _invalid_token(
        "tampered", "signature verification failed", authorization=(b"Bearer {tampered}",)
    ),
    # Verified but not allowed → 403 insufficient_scope naming the scope.
    Case(
        id="missing-scope",
        path=SCOPED_PATH,
        authorization=(b"Bearer {valid}",),
        status=403,
        challenge=_scope_challenge,
        body=_scope_body,
    ),
    # Keys unreachable and none cached → 503 with Retry-After, never 401.
    Case(
        id="keys-unavailable",
        authorization=(b"Bearer {down}",),
        keys_down=True,
        status=503,
        body=UNAVAILABLE_BODY,
        retry_after="30",
    ),
]


def params() -> list[Any]:
    """The cases as ``pytest.param``, with their ids."""
    return [pytest.param(case, id=case.id) for case in CASES]
