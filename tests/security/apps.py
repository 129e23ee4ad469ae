"""One protected endpoint on every adapter, driven through each framework's own test client.

``open_clients(settings, django_settings)`` yields ``{adapter: send}``; ``send``
takes the ``Authorization`` values to put on ``GET /token`` (raw bytes, one
header line each) and returns an :class:`Answer`. Every adapter's endpoint
answers ``ok:<sub>`` as ``text/plain`` for an accepted token, so an accepted
token is visible in the body whatever its claims. ``ROLES_PATH`` answers the
same way, for a token with the role :data:`ROLE` only (each adapter's
``require_roles``).

Each app also has a probe, ``/probe``, a plain handler of ``OPTIONS`` and
``POST`` with no bearerguard decorator: it appends ``(method, body)`` to
:data:`PROBE_RUNS` before anything else, so a test sees whether user code ran
(``send(..., method="OPTIONS", path=PROBE_PATH, headers=..., body=...)``).

The seven ways in: Starlette and FastAPI (``JWTAuth``, ASGI), Flask
(``BearerGuard``), plain WSGI (``BearerAuthMiddleware``), and Django three
ways — the middleware under WSGI, the middleware under ASGI (the async
verification path), and Django REST framework's authentication class alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from asgiref.sync import async_to_sync
from fastapi import Depends, FastAPI
from flask import Flask, g, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from werkzeug.test import Client

from bearerguard import flask as bg_flask
from bearerguard import starlette as bg_starlette
from bearerguard import wsgi as bg_wsgi
from bearerguard._errors import BearerGuardError
from bearerguard._settings import GuardSettings

with warnings.catch_warnings():
    # Starlette asks for the httpx2 package; the client works the same on httpx.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient as FastAPITestClient
    from starlette.testclient import TestClient

__all__ = [
    "ADAPTERS",
    "PROBE_PATH",
    "PROBE_RUNS",
    "REALM",
    "ROLE",
    "ROLES_PATH",
    "TEXT",
    "TOKEN_PATH",
    "Answer",
    "Send",
    "ensure_django",
    "expected_answer",
    "ok_body",
    "open_clients",
    "probe_ran",
]

REALM = "bearerguard-security"
TOKEN_PATH = "/token"
PROBE_PATH = "/probe"
ROLES_PATH = "/roles"
ROLE = "admin"
TEXT = "text/plain; charset=utf-8"
ADAPTERS = ("starlette", "fastapi", "flask", "wsgi", "django", "django-asgi", "drf")
#: The response headers bearerguard decides; only these are compared.
COMPARED = ("content-type", "cache-control", "www-authenticate", "retry-after")

BEARER_MIDDLEWARE = "bearerguard.django.BearerTokenMiddleware"
BEARER_BACKEND = "bearerguard.django.BearerTokenBackend"


@dataclass(frozen=True, slots=True)
class Answer:
    """A response reduced to what bearerguard decides: status, its headers, the body."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @classmethod
    def of(cls, status: int, headers: Iterable[tuple[str, str]], body: bytes) -> Answer:
        kept = {name.lower(): value for name, value in headers if name.lower() in COMPARED}
        return cls(status, kept, body)


Headers = Sequence[tuple[bytes, bytes]]

#: Every run of any adapter's probe: ``(method, request body)``, in order.
PROBE_RUNS: list[tuple[str, bytes]] = []


def probe_ran(method: str, body: bytes) -> None:
    """Called first by every probe handler, before it looks at the request's claims."""
    PROBE_RUNS.append((method, body))


class Send(Protocol):
    """Send one request to an adapter's app (``GET /token`` unless told otherwise)."""

    def __call__(
        self,
        authorization: list[bytes],
        /,
        *,
        method: str = "GET",
        path: str = TOKEN_PATH,
        headers: Headers = (),
        body: bytes = b"",
    ) -> Answer: ...


def expected_answer(error: BearerGuardError | None, sub: object, settings: GuardSettings) -> Answer:
    """What every adapter must answer: the rendered *error*, or ``ok:<sub>`` when accepted."""
    if error is None:
        return Answer(200, {"content-type": TEXT}, ok_body(sub))
    rendered = settings.render(error)
    return Answer.of(rendered.status, rendered.headers, rendered.body)


def ok_body(sub: object) -> bytes:
    """The body of an accepted request: ``ok:<sub>`` (``ok:-`` when ``sub`` is not a string)."""
    return b"ok:" + (sub.encode("utf-8", "backslashreplace") if isinstance(sub, str) else b"-")


# -- Starlette / FastAPI ----------------------------------------------------------------------


async def _starlette_token(request: Request) -> PlainTextResponse:
    return PlainTextResponse(ok_body(request.user.claims.sub), media_type="text/plain")


async def _starlette_probe(request: Request) -> PlainTextResponse:
    probe_ran(request.method, await request.body())
    return PlainTextResponse(ok_body(request.user.claims.sub), media_type="text/plain")


def _starlette_app(settings: GuardSettings) -> Starlette:
    app = Starlette(
        routes=[
            Route(TOKEN_PATH, _starlette_token),
            Route(ROLES_PATH, bg_starlette.require_roles(ROLE)(_starlette_token)),
            Route(PROBE_PATH, _starlette_probe, methods=["OPTIONS", "POST"]),
        ]
    )
    app.add_middleware(bg_starlette.JWTAuth, settings=settings)
    return app


def _fastapi_app(settings: GuardSettings) -> FastAPI:
    app = FastAPI(openapi_url=None)

    @app.get(TOKEN_PATH)
    async def token(claims: Any = Depends(bg_starlette.require_token)) -> PlainTextResponse:
        return PlainTextResponse(ok_body(claims.sub), media_type="text/plain")

    @app.get(ROLES_PATH)
    async def roles(claims: Any = Depends(bg_starlette.require_roles(ROLE))) -> PlainTextResponse:
        return PlainTextResponse(ok_body(claims.sub), media_type="text/plain")

    app.add_api_route(PROBE_PATH, _starlette_probe, methods=["OPTIONS", "POST"])
    app.add_middleware(bg_starlette.JWTAuth, settings=settings)
    return app


@contextmanager
def _asgi_client(app: Any, client_class: type[TestClient] = TestClient) -> Iterator[Send]:
    with client_class(app, base_url="http://api.test") as client:

        def send(
            authorization: list[bytes],
            /,
            *,
            method: str = "GET",
            path: str = TOKEN_PATH,
            headers: Headers = (),
            body: bytes = b"",
        ) -> Answer:
            lines = [(b"authorization", value) for value in authorization] + list(headers)
            response = client.request(method, path, headers=lines, content=body or None)
            return Answer.of(response.status_code, response.headers.items(), response.content)

        yield send


# -- Flask / WSGI -----------------------------------------------------------------------------


def _flask_app(settings: GuardSettings) -> Flask:
    app = Flask(__name__)
    bg_flask.BearerGuard(app, settings=settings)

    @app.get(TOKEN_PATH)
    def token() -> tuple[bytes, int, dict[str, str]]:
        return ok_body(g.claims.sub), 200, {"content-type": TEXT}

    @app.get(ROLES_PATH)
    @bg_flask.require_roles(ROLE)
    def roles() -> tuple[bytes, int, dict[str, str]]:
        return ok_body(g.claims.sub), 200, {"content-type": TEXT}

    @app.route(PROBE_PATH, methods=["OPTIONS", "POST"])
    def probe() -> tuple[bytes, int, dict[str, str]]:
        probe_ran(request.method, request.get_data())
        return ok_body(g.claims.sub), 200, {"content-type": TEXT}

    return app


def _wsgi_app(settings: GuardSettings) -> bg_wsgi.BearerAuthMiddleware:
    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # TOKEN_PATH answers any method, as the other frameworks' /token need not.
        if environ["PATH_INFO"] == PROBE_PATH:
            size = int(environ.get("CONTENT_LENGTH") or 0)
            probe_ran(environ["REQUEST_METHOD"], environ["wsgi.input"].read(size))
        body = ok_body(environ[bg_wsgi.CLAIMS_KEY].sub)
        start_response("200 OK", [("Content-Type", TEXT), ("Content-Length", str(len(body)))])
        return [body]

    with_role = bg_wsgi.require_roles(ROLE)(app)

    def dispatch(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        chosen = with_role if environ["PATH_INFO"] == ROLES_PATH else app
        return chosen(environ, start_response)

    return bg_wsgi.BearerAuthMiddleware(dispatch, settings=settings)


@contextmanager
def _wsgi_client(app: Any) -> Iterator[Send]:
    client = Client(app)

    def send(
        authorization: list[bytes],
        /,
        *,
        method: str = "GET",
        path: str = TOKEN_PATH,
        headers: Headers = (),
        body: bytes = b"",
    ) -> Answer:
        # PEP 3333: header values reach the app as latin-1 text.
        lines = [(b"Authorization", value) for value in authorization] + list(headers)
        text = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in lines]
        response = client.open(path, method=method, headers=text, data=body or None)
        try:
            return Answer.of(response.status_code, response.headers.items(), response.get_data())
        finally:
            response.close()

    yield send


# -- Django -----------------------------------------------------------------------------------


def ensure_django() -> None:
    """Configure Django for this process unless a conftest already has (``tests/django``).

    Called from fixtures, after collection, so ``tests/django/conftest.py`` has
    configured Django first when the whole suite runs. Each request below
    overrides the settings it depends on, so either configuration serves.
    """
    import django
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bearerguard-security-tests-only",
        ALLOWED_HOSTS=["testserver"],
        ROOT_URLCONF="tests.security.django_urls",
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "rest_framework",
            "bearerguard.django",
        ],
        MIDDLEWARE=[BEARER_MIDDLEWARE],
        AUTHENTICATION_BACKENDS=[BEARER_BACKEND],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        # Valid and never contacted: every request overrides BEARERGUARD.
        BEARERGUARD={
            "JWKS_URI": "http://127.0.0.1:9/jwks.json",
            "ISSUER": "http://127.0.0.1:9",
            "AUDIENCE": "api://security",
        },
        REST_FRAMEWORK=_DRF,
    )
    django.setup()
    # As in tests/django/conftest.py: APIView keeps the REST_FRAMEWORK defaults of its first
    # import, so it is imported here, under _DRF, before any test overrides REST_FRAMEWORK.
    import rest_framework.views  # noqa: F401


_DRF = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "bearerguard.django.rest_framework.BearerTokenAuthentication"
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "bearerguard.django.rest_framework.exception_handler",
}


def _django_overrides(variant: str, bearerguard: Mapping[str, Any]) -> dict[str, Any]:
    common = {"AUTHENTICATION_BACKENDS": [BEARER_BACKEND], "BEARERGUARD": dict(bearerguard)}
    if variant == "drf":
        return {
            **common,
            "ROOT_URLCONF": "tests.security.drf_urls",
            "MIDDLEWARE": [],
            "REST_FRAMEWORK": _DRF,
        }
    return {
        **common,
        "ROOT_URLCONF": "tests.security.django_urls",
        "MIDDLEWARE": [BEARER_MIDDLEWARE],
    }


@contextmanager
def _django_client(variant: str, bearerguard: Mapping[str, Any]) -> Iterator[Send]:
    from django.test import AsyncClient
    from django.test import Client as DjangoClient
    from django.test.client import FakePayload
    from django.test.utils import override_settings

    overrides = _django_overrides(variant, bearerguard)

    def send(
        authorization: list[bytes],
        /,
        *,
        method: str = "GET",
        path: str = TOKEN_PATH,
        headers: Headers = (),
        body: bytes = b"",
    ) -> Answer:
        # The settings are per request: other tests (and other profiles) change them.
        with override_settings(**overrides):
            if variant == "django-asgi":
                lines = [(b"host", b"testserver")]
                lines += [(b"authorization", value) for value in authorization]
                lines += [(name.lower(), value) for name, value in headers]
                scope: dict[str, Any] = {"method": method, "path": path, "query_string": b""}
                if body:
                    lines.append((b"content-length", str(len(body)).encode()))
                    scope["_body_file"] = FakePayload(body)

                async def call() -> Any:
                    return await AsyncClient().request(**scope, headers=lines)

                response = async_to_sync(call)()
            else:
                extra: dict[str, Any] = {}
                if authorization:
                    # What a WSGI server hands the app: latin-1 text, repeated lines joined.
                    joined = ", ".join(value.decode("latin-1") for value in authorization)
                    extra["HTTP_AUTHORIZATION"] = joined
                for name, value in headers:
                    key = "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
                    extra[key] = value.decode("latin-1")
                response = DjangoClient().generic(method, path, data=body, **extra)
        return Answer.of(response.status_code, response.items(), response.content)

    yield send


# -- all of them -------------------------------------------------------------------------------


@contextmanager
def open_clients(
    settings: GuardSettings, django_bearerguard: Mapping[str, Any]
) -> Iterator[dict[str, Send]]:
    """A ``send`` per adapter; Django reads *django_bearerguard* as ``settings.BEARERGUARD``."""
    ensure_django()
    with ExitStack() as stack:
        clients = {
            "starlette": stack.enter_context(_asgi_client(_starlette_app(settings))),
            "fastapi": stack.enter_context(_asgi_client(_fastapi_app(settings), FastAPITestClient)),
            "flask": stack.enter_context(_wsgi_client(_flask_app(settings))),
            "wsgi": stack.enter_context(_wsgi_client(_wsgi_app(settings))),
        }
        for variant in ("django", "django-asgi", "drf"):
            clients[variant] = stack.enter_context(_django_client(variant, django_bearerguard))
        assert tuple(clients) == ADAPTERS
        yield clients
