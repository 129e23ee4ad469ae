"""A misconfigured app stops its server at start-up, saying which setting to fix.

Real server processes under their default settings, each on a small app module
written to a temporary directory: uvicorn (``python -m uvicorn module:app``)
for Starlette, FastAPI, a bare ASGI app and Django's ASGI handler; Flask's own
``flask run``; and the standard library's ``wsgiref`` server for Flask, the
WSGI middleware and Django's WSGI handler. Each must exit non-zero without
serving, its stderr naming the setting and the close match.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bearerguard import ConfigurationError
from bearerguard.starlette import JWTAuth

#: Long enough for a loaded machine; a server that started serving never exits.
EXIT_WITHIN = 30
OIDC = "https://login.example.com"
TYPO = "unknown bearerguard setting audiance= (did you mean audience=?)"
CONFIG_TYPO = (
    "unknown bearerguard setting BEARERGUARD_AUDIANCE (did you mean BEARERGUARD_AUDIENCE?)"
)
DJANGO_TYPO = "settings.BEARERGUARD: unknown bearerguard setting AUDIANCE (did you mean AUDIENCE?)"

STARLETTE_TYPO = f"""
from starlette.applications import Starlette
from bearerguard.starlette import JWTAuth

app = Starlette()
app.add_middleware(JWTAuth, oidc={OIDC!r}, audiance="api://orders")
"""
FASTAPI_TYPO = f"""
from fastapi import FastAPI
from bearerguard.starlette import JWTAuth

app = FastAPI()
app.add_middleware(JWTAuth, oidc={OIDC!r}, audiance="api://orders")
"""
STARLETTE_NO_AUDIENCE = f"""
from starlette.applications import Starlette
from starlette.middleware import Middleware
from bearerguard.starlette import JWTAuth

app = Starlette(middleware=[Middleware(JWTAuth, oidc={OIDC!r})])
"""
BARE_ASGI = f"""
from bearerguard.starlette import JWTAuth

async def inner(scope, receive, send):
    raise AssertionError("never reached")

app = JWTAuth(inner, oidc={OIDC!r}, audience="api://orders", public_paths=["health"])
"""
FLASK_CONFIG_TYPO = f"""
from flask import Flask
from bearerguard.flask import BearerGuard

app = Flask(__name__)
app.config.update(BEARERGUARD_OIDC={OIDC!r}, BEARERGUARD_AUDIANCE="api://orders")
BearerGuard(app)
"""
FLASK_KEYWORD_TYPO = f"""
from flask import Flask
from bearerguard.flask import BearerGuard

app = Flask(__name__)
BearerGuard(app, oidc={OIDC!r}, audiance="api://orders")
"""
WSGI_TYPO = f"""
from bearerguard.wsgi import BearerAuthMiddleware

def inner(environ, start_response):
    raise AssertionError("never reached")

app = BearerAuthMiddleware(inner, oidc={OIDC!r}, audiance="api://orders")
"""
DJANGO_SETTINGS = f"""
SECRET_KEY = "not-a-secret"
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "urls"
INSTALLED_APPS = []
MIDDLEWARE = ["bearerguard.django.BearerTokenMiddleware"]
AUTHENTICATION_BACKENDS = ["bearerguard.django.BearerTokenBackend"]
BEARERGUARD = {{"OIDC": {OIDC!r}, "AUDIANCE": "api://orders"}}
"""
DJANGO_FILES = {"settings.py": DJANGO_SETTINGS, "urls.py": "urlpatterns = []\n"}
DJANGO_ASGI = """
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
from django.core.asgi import get_asgi_application

app = get_asgi_application()
"""
DJANGO_WSGI = """
import os
os.environ["DJANGO_SETTINGS_MODULE"] = "settings"
from django.core.wsgi import get_wsgi_application

app = get_wsgi_application()
"""
WSGIREF_SERVER = """
from wsgiref.simple_server import make_server
from app import app

make_server("127.0.0.1", 0, app).serve_forever()
"""
UVICORN = ["-m", "uvicorn", "app:app", "--port", "0"]
FLASK_RUN = ["-m", "flask", "--app", "app", "run", "--port", "0"]
WSGIREF = ["serve.py"]


def _write(directory: Path, files: dict[str, str]) -> None:
    for name, source in files.items():
        (directory / name).write_text(textwrap.dedent(source), encoding="utf-8")


def _run(directory: Path, arguments: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=EXIT_WITHIN,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("files", "arguments", "message"),
    [
        pytest.param({"app.py": STARLETTE_TYPO}, UVICORN, f"JWTAuth: {TYPO}", id="starlette"),
        pytest.param({"app.py": FASTAPI_TYPO}, UVICORN, f"JWTAuth: {TYPO}", id="fastapi"),
        pytest.param(
            {"app.py": STARLETTE_NO_AUDIENCE},
            UVICORN,
            "JWTAuth: audience= is required",
            id="starlette-middleware-list-no-audience",
        ),
        pytest.param(
            {"app.py": BARE_ASGI},
            UVICORN,
            "JWTAuth: public_paths entries must be paths starting with '/', got 'health'",
            id="bare-asgi-app",
        ),
        pytest.param(
            {"app.py": DJANGO_ASGI, **DJANGO_FILES}, UVICORN, DJANGO_TYPO, id="django-asgi"
        ),
    ],
)
def test_uvicorn_exits_at_start_up(
    files: dict[str, str], arguments: list[str], message: str, tmp_path: Path
) -> None:
    """uvicorn, default settings: a wrong setting stops the process before it serves."""
    _write(tmp_path, files)
    result = _run(tmp_path, arguments)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Uvicorn running on" not in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("files", "arguments", "message"),
    [
        pytest.param({"app.py": FLASK_CONFIG_TYPO}, FLASK_RUN, CONFIG_TYPO, id="flask-run-config"),
        pytest.param({"app.py": FLASK_KEYWORD_TYPO}, FLASK_RUN, TYPO, id="flask-run-keyword"),
        pytest.param(
            {"app.py": FLASK_CONFIG_TYPO, "serve.py": WSGIREF_SERVER},
            WSGIREF,
            CONFIG_TYPO,
            id="wsgiref-flask-config",
        ),
        pytest.param(
            {"app.py": WSGI_TYPO, "serve.py": WSGIREF_SERVER},
            WSGIREF,
            TYPO,
            id="wsgiref-wsgi-middleware",
        ),
        pytest.param(
            {"app.py": DJANGO_WSGI, "serve.py": WSGIREF_SERVER, **DJANGO_FILES},
            WSGIREF,
            DJANGO_TYPO,
            id="wsgiref-django",
        ),
    ],
)
def test_wsgi_server_exits_at_start_up(
    files: dict[str, str], arguments: list[str], message: str, tmp_path: Path
) -> None:
    """flask run and a wsgiref server: a wrong setting stops the process before it serves."""
    _write(tmp_path, files)
    result = _run(tmp_path, arguments)
    assert result.returncode != 0
    assert message in result.stderr
    assert "Running on" not in result.stderr


@pytest.fixture
def uvicorn_without_lifespan(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """``uvicorn --lifespan off`` serving the misspelt Starlette app on a Unix socket."""
    _write(tmp_path, {"app.py": STARLETTE_TYPO})
    socket = tmp_path / "uvicorn.sock"
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app:app", "--lifespan", "off", "--uds", str(socket)],
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + EXIT_WITHIN
        while not socket.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("uvicorn --lifespan off did not start")
            time.sleep(0.05)
        yield socket, process
    finally:
        process.terminate()
        process.wait(timeout=EXIT_WITHIN)
        assert process.stderr is not None
        process.stderr.close()


@pytest.mark.slow
def test_without_lifespan_every_request_is_a_plain_500(
    uvicorn_without_lifespan: tuple[Path, subprocess.Popen[str]],
) -> None:
    """uvicorn --lifespan off: requests get the server's bare 500; the log says what to fix."""
    socket, process = uvicorn_without_lifespan
    with httpx.Client(transport=httpx.HTTPTransport(uds=str(socket))) as client:
        response = client.get("http://localhost/")
    process.terminate()
    assert process.stderr is not None
    _, log = process.communicate(timeout=EXIT_WITHIN)
    assert (response.status_code, response.content) == (500, b"Internal Server Error")
    assert f"ConfigurationError: JWTAuth: {TYPO}" in log
    assert "TypeError" not in log


# -- the ASGI contract, without a server -----------------------------------------


def test_lifespan_startup_fails_with_the_message() -> None:
    """The lifespan startup event is answered with lifespan.startup.failed and its message."""
    app = JWTAuth(Starlette(), oidc=OIDC, audiance="api://orders")
    sent: list[Any] = []

    async def receive() -> dict[str, str]:
        return {"type": "lifespan.startup"}

    async def send(message: Any) -> None:
        sent.append(message)

    with pytest.raises(ConfigurationError) as caught:
        asyncio.run(app({"type": "lifespan"}, receive, send))
    assert caught.value.description == f"JWTAuth: {TYPO}"
    assert sent == [{"type": "lifespan.startup.failed", "message": f"JWTAuth: {TYPO}"}]


def test_test_client_start_up_raises_the_configuration_error() -> None:
    """``with TestClient(app)``: the start-up raises the ConfigurationError, not a TypeError."""
    app = Starlette()
    app.add_middleware(JWTAuth, oidc=OIDC, audiance="api://orders")
    with pytest.raises(ConfigurationError) as caught, TestClient(app):
        pass  # pragma: no cover - the start-up fails
    assert caught.value.description == f"JWTAuth: {TYPO}"
