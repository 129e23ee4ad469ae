"""BearerTokenMiddleware under WSGI and ASGI: users, claims, paths, CSRF, start-up checks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client

from bearerguard.django import BearerTokenMiddleware
from bearerguard.django._conf import get_config
from bearerguard.testing import LocalIssuer

from .testapp_backends import RecordingBackend
from .testapp_settings import guard_settings

RECORDING = "tests.django.testapp_backends.RecordingBackend"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def json_of(response: Any) -> Any:
    return json.loads(response.content)


def test_valid_token_makes_a_token_user(local_issuer: LocalIssuer) -> None:
    """request.user is a TokenUser named by `sub`, with the token's scopes and claims."""
    response = Client().get(
        "/whoami", headers=bearer(local_issuer.mint(sub="ann", scopes=["b", "a"]))
    )
    assert response.status_code == 200
    assert json_of(response) == {
        "user": "TokenUser",
        "username": "ann",
        "authenticated": True,
        "backend": "bearerguard.django.BearerTokenBackend",
        "scopes": ["a", "b"],
        "claims_sub": "ann",
    }


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        pytest.param({}, 200, id="no-token-passes"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, 200, id="other-scheme-passes"),
        pytest.param({"Authorization": "Bearer abc"}, 401, id="bad-token-refused"),
        pytest.param({"Authorization": "Bearer"}, 400, id="malformed-refused"),
    ],
)
def test_not_required_lets_only_tokenless_requests_through(
    local_issuer: LocalIssuer, configure: Callable[..., None], headers: dict[str, str], status: int
) -> None:
    """REQUIRED False: no bearer token → anonymous; a token that is sent must be good."""
    configure(BEARERGUARD=guard_settings(local_issuer, REQUIRED=False))
    response = Client().get("/whoami", headers=headers)
    assert response.status_code == status
    if status == 200:
        assert json_of(response) == {
            "user": "AnonymousUser",
            "username": "",
            "authenticated": False,
            "backend": None,
            "scopes": [],
            "claims_sub": None,
        }


@pytest.mark.parametrize(
    ("public_paths", "path", "status"),
    [
        pytest.param(["/open/*"], "/open/whoami", 200, id="prefix"),
        pytest.param(["/open/whoami"], "/open/whoami", 200, id="exact"),
        pytest.param(["/open"], "/open/whoami", 401, id="exact-is-not-a-prefix"),
        pytest.param(["/open/*"], "/whoami", 401, id="elsewhere"),
    ],
)
def test_public_paths_skip_authentication(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    public_paths: list[str],
    path: str,
    status: int,
) -> None:
    """PUBLIC_PATHS match request.path_info exactly, or as a prefix with a trailing `*`."""
    configure(BEARERGUARD=guard_settings(local_issuer, PUBLIC_PATHS=public_paths))
    assert Client().get(path).status_code == status


def test_public_path_ignores_even_a_bad_token(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """A public path is not authenticated at all: the view sees no user and no claims."""
    configure(BEARERGUARD=guard_settings(local_issuer, PUBLIC_PATHS=["/open/*"]))
    response = Client().get("/open/whoami", headers={"Authorization": "Bearer abc"})
    assert response.status_code == 200
    assert json_of(response)["claims_sub"] is None
    assert json_of(response)["user"] == "AnonymousUser"


def test_metadata_document_is_served(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """With RESOURCE set, GET on the RFC 9728 well-known path returns the document."""
    configure(
        BEARERGUARD=guard_settings(
            local_issuer,
            RESOURCE="https://api.example.com/v1",
            RESOURCE_METADATA={"scopes_supported": ["read"]},
        )
    )
    response = Client().get("/.well-known/oauth-protected-resource/v1")
    assert response.status_code == 200
    assert response.content == (
        b'{"authorization_servers":["' + local_issuer.url.encode() + b'"],'
        b'"bearer_methods_supported":["header"],'
        b'"resource":"https://api.example.com/v1","scopes_supported":["read"]}'
    )
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=3600"


@pytest.mark.parametrize(
    ("method", "status", "allow"),
    [
        pytest.param("head", 200, None, id="head"),
        pytest.param("post", 405, "GET, HEAD", id="post"),
        pytest.param("delete", 405, "GET, HEAD", id="delete"),
    ],
)
def test_metadata_path_answers_get_and_head_only(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    method: str,
    status: int,
    allow: str | None,
) -> None:
    """As in every adapter: HEAD gets the document's headers, other methods 405 with Allow."""
    configure(BEARERGUARD=guard_settings(local_issuer, RESOURCE="https://api.example.com"))
    response = getattr(Client(), method)("/.well-known/oauth-protected-resource")
    assert (response.status_code, response.content, response.get("Allow")) == (
        status,
        b"",
        allow,
    )


def test_challenges_link_the_metadata(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """With RESOURCE set, a 401 challenge names the metadata URL (RFC 9728 §5.1)."""
    configure(
        BEARERGUARD=guard_settings(local_issuer, RESOURCE="https://api.example.com", REALM="r")
    )
    response = Client().get("/whoami")
    assert response["WWW-Authenticate"] == (
        'Bearer realm="r", '
        'resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"'
    )


@pytest.mark.parametrize(
    ("with_token", "status"),
    [
        pytest.param(True, 200, id="bearer-token-no-csrf-needed"),
        pytest.param(False, 403, id="csrf"),
    ],
)
def test_token_requests_are_exempt_from_csrf(
    local_issuer: LocalIssuer, configure: Callable[..., None], with_token: bool, status: int
) -> None:
    """A browser never sends a bearer token by itself: POST with one needs no CSRF token."""
    configure(BEARERGUARD=guard_settings(local_issuer, REQUIRED=False))
    headers = bearer(local_issuer.mint()) if with_token else {}
    response = Client(enforce_csrf_checks=True).post("/post", headers=headers)
    assert response.status_code == status


def test_safe_key_rotation_needs_no_refetch(
    bearerguard_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """Publish the next key, then sign with it: its tokens verify with the keys fetched once."""
    configure(BEARERGUARD=guard_settings(bearerguard_issuer))
    bearerguard_issuer.publish_next_key()
    client = Client()
    assert client.get("/whoami", headers=bearer(bearerguard_issuer.mint())).status_code == 200
    bearerguard_issuer.rotate()
    assert client.get("/whoami", headers=bearer(bearerguard_issuer.mint())).status_code == 200
    assert bearerguard_issuer.count(bearerguard_issuer.jwks_path) == 1


def test_one_verifier_per_configuration(
    bearerguard_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """Requests share one verifier: discovery and the JWKS are fetched once for many tokens."""
    configure(BEARERGUARD=guard_settings(bearerguard_issuer))
    for sub in ("a", "b", "c"):
        response = Client().get("/whoami", headers=bearer(bearerguard_issuer.mint(sub=sub)))
        assert response.status_code == 200
    assert bearerguard_issuer.counts == {
        bearerguard_issuer.oidc_path: 1,
        bearerguard_issuer.jwks_path: 1,
    }


def test_refused_token_fires_user_login_failed(local_issuer: LocalIssuer) -> None:
    """Django's user_login_failed signal fires, with the token itself scrubbed."""
    seen: list[dict[str, Any]] = []

    def record(sender: Any, credentials: dict[str, Any], **kwargs: Any) -> None:
        seen.append(credentials)

    user_login_failed.connect(record)
    try:
        response = Client().get("/whoami", headers=bearer(local_issuer.mint(expires_in=-3600)))
    finally:
        user_login_failed.disconnect(record)
    assert response.status_code == 401
    assert seen == [{"bearer_token": "********************"}]


# -- ASGI ----------------------------------------------------------------------------


def test_async_stack_uses_aauthenticate(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """Under ASGI the backend's aauthenticate (Verifier.averify) runs, never authenticate."""
    configure(AUTHENTICATION_BACKENDS=[RECORDING], ROOT_URLCONF="tests.django.testapp_async")
    RecordingBackend.calls.clear()
    response = async_to_sync(AsyncClient().get)(
        "/whoami", headers=bearer(local_issuer.mint(sub="amy"))
    )
    assert response.status_code == 200
    assert json_of(response) == {
        "user": "TokenUser",
        "username": "amy",
        "authenticated": True,
        "backend": RECORDING,
        "scopes": [],
        "claims_sub": "amy",
        "auser": "TokenUser",
    }
    assert RecordingBackend.calls == ["aauthenticate"]


def test_wsgi_stack_uses_authenticate(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """Under WSGI the backend's synchronous authenticate runs."""
    configure(AUTHENTICATION_BACKENDS=[RECORDING])
    RecordingBackend.calls.clear()
    assert Client().get("/whoami", headers=bearer(local_issuer.mint())).status_code == 200
    assert RecordingBackend.calls == ["authenticate"]


def test_key_fetch_does_not_block_the_event_loop(
    bearerguard_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """While the JWKS answers slowly, other tasks on the loop keep running."""
    configure(
        BEARERGUARD=guard_settings(bearerguard_issuer), ROOT_URLCONF="tests.django.testapp_async"
    )
    bearerguard_issuer.delay(0.4, bearerguard_issuer.jwks_path)
    token = bearerguard_issuer.mint()

    async def main() -> tuple[int, int]:
        request = asyncio.ensure_future(AsyncClient().get("/whoami", headers=bearer(token)))
        ticks = 0
        while not request.done():
            await asyncio.sleep(0.01)
            ticks += 1
        return (await request).status_code, ticks

    status, ticks = async_to_sync(main)()
    assert status == 200
    # A loop blocked for the 0.4 s fetch would tick only before and after it.
    assert ticks >= 20


def test_async_refusal_has_the_same_bytes(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """The ASGI path renders refusals through the same function as the WSGI path."""
    configure(ROOT_URLCONF="tests.django.testapp_async")
    token = local_issuer.mint(expires_in=-3600)
    sync = Client().get("/whoami", headers=bearer(token))
    asynchronous = async_to_sync(AsyncClient().get)("/whoami", headers=bearer(token))
    assert asynchronous.status_code == sync.status_code == 401
    assert asynchronous.content == sync.content
    assert asynchronous["WWW-Authenticate"] == sync["WWW-Authenticate"]


# -- start-up --------------------------------------------------------------------------


def _view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"")


def test_middleware_checks_settings_when_built(configure: Callable[..., None]) -> None:
    """A wrong BEARERGUARD stops the middleware chain from being built."""
    configure(BEARERGUARD={"OIDC": "https://login.example.com"})
    with pytest.raises(ImproperlyConfigured) as caught:
        BearerTokenMiddleware(_view)
    assert str(caught.value).startswith("settings.BEARERGUARD: audience= is required")


SESSIONS = "django.contrib.sessions.middleware.SessionMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
REMOTE_USER = "django.contrib.auth.middleware.RemoteUserMiddleware"
CSRF = "django.middleware.csrf.CsrfViewMiddleware"
BEARER = "bearerguard.django.BearerTokenMiddleware"


def order_error(ours: str, theirs: str) -> str:
    return (
        f"settings.MIDDLEWARE: put {ours!r} after {theirs!r}: placed before it, a request with "
        "a valid token and a session cookie would run as the session's user without CSRF checks"
    )


@pytest.mark.parametrize(
    ("middleware", "message"),
    [
        pytest.param([SESSIONS, AUTH, CSRF, BEARER], None, id="after-authentication"),
        pytest.param([CSRF, BEARER], None, id="no-authentication-middleware"),
        pytest.param([BEARER, SESSIONS, AUTH, CSRF], order_error(BEARER, AUTH),
                     id="before-authentication"),
        pytest.param(["bearerguard.django._middleware.BearerTokenMiddleware", SESSIONS, AUTH],
                     order_error("bearerguard.django._middleware.BearerTokenMiddleware", AUTH),
                     id="full-path-before-authentication"),
        pytest.param([SESSIONS, AUTH, BEARER, REMOTE_USER], order_error(BEARER, REMOTE_USER),
                     id="before-remote-user"),
    ],
)  # fmt: skip
def test_middleware_must_come_after_the_ones_setting_request_user(
    configure: Callable[..., None], middleware: list[str], message: str | None
) -> None:
    """AuthenticationMiddleware after it would swap the token's user for the session's."""
    configure(MIDDLEWARE=middleware)
    if message is None:
        BearerTokenMiddleware(_view)
        return
    with pytest.raises(ImproperlyConfigured) as caught:
        BearerTokenMiddleware(_view)
    assert str(caught.value) == message


def test_wrong_middleware_order_stops_the_handler_from_loading(
    configure: Callable[..., None], local_issuer: LocalIssuer
) -> None:
    """Django builds the chain on its first request: it fails instead of serving this one."""
    configure(MIDDLEWARE=[BEARER, SESSIONS, AUTH, CSRF])
    with pytest.raises(ImproperlyConfigured) as caught:
        Client(enforce_csrf_checks=True).post("/post", headers=bearer(local_issuer.mint()))
    assert str(caught.value) == order_error(BEARER, AUTH)


def test_middleware_adapts_to_sync_and_async() -> None:
    """Django gets a coroutine function for an async chain and a plain one for a sync chain."""

    async def async_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"")

    assert asyncio.iscoroutinefunction(BearerTokenMiddleware(async_view)) is True
    assert asyncio.iscoroutinefunction(BearerTokenMiddleware(_view)) is False
    assert (BearerTokenMiddleware.sync_capable, BearerTokenMiddleware.async_capable) == (True, True)
    assert get_config().guard.required is True
