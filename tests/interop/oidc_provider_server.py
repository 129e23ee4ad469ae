"""panva's oidc-provider (Node.js) as a real authorization server on 127.0.0.1.

``tests/interop/oidc_provider/`` holds the server (``server.mjs``), a DPoP client
(``dpop_request.mjs``, on panva's ``dpop`` package) and their exact npm versions
(``package.json``, ``package-lock.json``). Nothing here installs anything:
``npm ci --prefix tests/interop/oidc_provider`` does (``.ci/run`` runs it). Without
``node`` or those ``node_modules`` the tests skip, unless
``BEARERGUARD_REQUIRE_NODE=1`` (set by ``.ci/run``), which makes them fail instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import selectors
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

SERVER_DIR = Path(__file__).parent / "oidc_provider"
STARTUP_TIMEOUT = 30.0
REQUEST_TIMEOUT = 10.0


def unavailable(reason: str) -> None:
    """Skip, or fail when ``BEARERGUARD_REQUIRE_NODE=1`` forbids skipping."""
    if os.environ.get("BEARERGUARD_REQUIRE_NODE") == "1":
        pytest.fail(f"{reason} (BEARERGUARD_REQUIRE_NODE=1 forbids skipping)", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True, slots=True, kw_only=True)
class OIDCProvider:
    """A running oidc-provider: its issuer, endpoints, resources and clients.

    * ``issuer``: ``http://127.0.0.1:<port>``, with a real discovery document at
      ``/.well-known/openid-configuration`` (``Issuer.from_oidc(issuer)`` works);
    * ``resource`` and ``other_resource``: resource indicators (RFC 8707) whose
      access tokens are RFC 9068 JWTs (ES256, ``typ`` ``at+jwt``), ``aud`` the
      resource; ``opaque_resource``: one whose tokens are opaque;
    * ``client_id`` / ``client_secret``: a client-credentials client
      (``client_secret_basic``) allowed ``scopes``; :meth:`token` uses it;
    * ``introspection_endpoint`` with ``introspection_client_id`` /
      ``introspection_client_secret``: a confidential client (the API itself)
      that may call token introspection (RFC 7662, ``client_secret_basic``).
      oidc-provider introspects opaque tokens only (``opaque_resource``); a JWT
      access token gets 400 ``unsupported_token_type``;
    * :meth:`dpop_request`: a DPoP-bound token and a proof for one request, both
      made by panva's code;
    * :meth:`user_token`: an access token from the authorization-code flow for the
      user ``account``, carrying the ``acr`` and ``auth_time`` of their sign-in
      (``acr_values`` lists the contexts the server knows).
    """

    issuer: str
    resource: str
    other_resource: str
    opaque_resource: str
    scopes: tuple[str, ...]
    client_id: str
    client_secret: str
    introspection_client_id: str
    introspection_client_secret: str
    web_client_id: str
    web_client_secret: str
    redirect_uri: str
    acr_values: tuple[str, ...]
    account: str
    token_endpoint: str
    introspection_endpoint: str
    jwks_uri: str
    discovery: dict[str, Any]

    def token(self, *, resource: str | None = None, scope: str = "api:read") -> str:
        """A client-credentials access token for *resource* (default: ``resource``)."""
        response = requests.post(
            self.token_endpoint,
            data={
                "grant_type": "client_credentials",
                "resource": resource or self.resource,
                "scope": scope,
            },
            auth=(self.client_id, self.client_secret),
            timeout=REQUEST_TIMEOUT,
        )
        response.raise_for_status()
        body = response.json()
        assert body["token_type"] == "Bearer", body
        return str(body["access_token"])

    def user_token(
        self,
        *,
        acr_values: str | None = None,
        max_age: int | None = None,
        login_age: int = 0,
        resource: str | None = None,
        scope: str = "openid api:read",
    ) -> str:
        """An access token from the authorization-code flow (with PKCE) for ``account``.

        The request carries *acr_values* and *max_age* as a client stepping up
        sends them (RFC 9470 §4); the server signs the user in with the first of
        *acr_values* (default: the first it knows), *login_age* seconds ago, so
        the token's ``acr`` and ``auth_time`` say so.
        """
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        params = {
            "client_id": self.web_client_id,
            "response_type": "code",
            "redirect_uri": self.redirect_uri,
            "scope": scope,
            "resource": resource or self.resource,
            "state": secrets.token_urlsafe(16),
            "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            "login_age": str(login_age),
        }
        if acr_values is not None:
            params["acr_values"] = acr_values
        if max_age is not None:
            params["max_age"] = str(max_age)
        url = f"{self.discovery['authorization_endpoint']}?{urlencode(params)}"
        with requests.Session() as browser:  # keeps the interaction cookies
            for _step in range(10):
                response = browser.get(url, allow_redirects=False, timeout=REQUEST_TIMEOUT)
                location = response.headers.get("location")
                if location is None:
                    raise AssertionError(f"authorization: {response.status_code} {response.text}")
                url = urljoin(url, location)
                if url.startswith(self.redirect_uri):
                    break
        answer = parse_qs(urlsplit(url).query)
        if "code" not in answer:
            raise AssertionError(f"authorization refused: {answer}")
        response = requests.post(
            self.token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": answer["code"][0],
                "redirect_uri": self.redirect_uri,
                "code_verifier": verifier,
                "resource": resource or self.resource,
            },
            auth=(self.web_client_id, self.web_client_secret),
            timeout=REQUEST_TIMEOUT,
        )
        if not response.ok:
            raise AssertionError(f"token endpoint: {response.status_code} {response.text}")
        return str(response.json()["access_token"])

    def dpop_request(
        self, method: str, url: str, *, resource: str | None = None, scope: str = "api:read"
    ) -> dict[str, Any]:
        """A DPoP-bound access token and a DPoP proof for ``method url``, made by panva's code.

        Runs ``dpop_request.mjs``: a new ES256 key, the client-credentials grant
        with a DPoP proof (so the token carries ``cnf.jkt``), then a proof for
        *method* and *url* bound to the token (``ath``). Returns
        ``{"access_token", "token_type": "DPoP", "proof", "jwk", "foreign_proof"}``,
        ``foreign_proof`` being a proof for the same request and token by another key.
        """
        command = [
            "node",
            str(SERVER_DIR / "dpop_request.mjs"),
            "--token-endpoint", self.token_endpoint,
            "--client-id", self.client_id,
            "--client-secret", self.client_secret,
            "--resource", resource or self.resource,
            "--scope", scope,
            "--method", method,
            "--url", url,
        ]  # fmt: skip
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=STARTUP_TIMEOUT, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"dpop_request.mjs failed: {done.stderr.strip()}")
        result: dict[str, Any] = json.loads(done.stdout)
        return result


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str | None:
    """The server's first stdout line, or ``None`` if it exits or says nothing in time."""
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        if not selector.select(timeout):
            return None
    line = proc.stdout.readline()
    return line or None


@contextmanager
def oidc_provider_server() -> Iterator[OIDCProvider]:
    """Start ``server.mjs`` on a free port and yield it described; stop it afterwards."""
    node = shutil.which("node")
    if node is None:
        unavailable("node is not on PATH; install Node.js 20 or later")
    if not (SERVER_DIR / "node_modules" / "oidc-provider").is_dir():
        unavailable("oidc-provider is not installed: npm ci --prefix tests/interop/oidc_provider")
    assert node is not None
    with tempfile.TemporaryFile("w+") as errors:
        for _attempt in range(3):  # the free port may be taken between probe and listen
            proc = subprocess.Popen(
                [node, "server.mjs", str(_free_port())],
                cwd=SERVER_DIR,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
            )
            line = _first_line(proc, STARTUP_TIMEOUT)
            if line is not None:
                break
            proc.kill()
            proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
        else:
            errors.seek(0)
            raise AssertionError(f"oidc-provider did not start: {errors.read()[-2000:]}")
        try:
            settings = json.loads(line)
            discovery = requests.get(
                settings["issuer"] + "/.well-known/openid-configuration", timeout=REQUEST_TIMEOUT
            ).json()
            yield OIDCProvider(
                issuer=settings["issuer"],
                resource=settings["resource"],
                other_resource=settings["other_resource"],
                opaque_resource=settings["opaque_resource"],
                scopes=tuple(settings["scopes"]),
                client_id=settings["client_id"],
                client_secret=settings["client_secret"],
                introspection_client_id=settings["introspection_client_id"],
                introspection_client_secret=settings["introspection_client_secret"],
                web_client_id=settings["web_client_id"],
                web_client_secret=settings["web_client_secret"],
                redirect_uri=settings["redirect_uri"],
                acr_values=tuple(settings["acr_values"]),
                account=settings["account"],
                token_endpoint=discovery["token_endpoint"],
                introspection_endpoint=discovery["introspection_endpoint"],
                jwks_uri=discovery["jwks_uri"],
                discovery=discovery,
            )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
