"""Django configured once for these tests with ``settings.configure`` (no pytest-django).

This directory is deliberately not a package: as a package named ``django``
under ``tests/`` (which pytest puts on ``sys.path``) it would shadow Django.
Its helper modules (``testapp*.py``) are importable because pytest puts this
directory on ``sys.path`` when it imports this conftest.

``settings.BEARERGUARD`` points at the session's local issuer for every test;
a test changes settings with the ``configure`` fixture (``override_settings``
underneath, which also resets bearerguard's cached configuration).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test.utils import override_settings

import django
from bearerguard.testing import LocalIssuer

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.append(str(TESTS))  # for `adapters.cases`, the table every adapter shares

_DB_DIR = tempfile.mkdtemp(prefix="bearerguard-django-")

BEARER_MIDDLEWARE = "bearerguard.django.BearerTokenMiddleware"
BACKEND = "bearerguard.django.BearerTokenBackend"
COMMON_MIDDLEWARE = "django.middleware.common.CommonMiddleware"  # sets Content-Length

settings.configure(
    DEBUG=False,
    SECRET_KEY="bearerguard-tests-only",
    ALLOWED_HOSTS=["testserver", "127.0.0.1"],
    ROOT_URLCONF="testapp",
    USE_TZ=True,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "rest_framework",
        "bearerguard.django",  # its AppConfig checks BEARERGUARD during django.setup()
    ],
    MIDDLEWARE=[COMMON_MIDDLEWARE, "django.middleware.csrf.CsrfViewMiddleware", BEARER_MIDDLEWARE],
    AUTHENTICATION_BACKENDS=[BACKEND, "django.contrib.auth.backends.ModelBackend"],
    DATABASES={
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": f"{_DB_DIR}/db.sqlite3"}
    },
    DEFAULT_AUTO_FIELD="django.db.models.AutoField",
    PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
    REST_FRAMEWORK={
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "bearerguard.django.rest_framework.BearerTokenAuthentication"
        ],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "EXCEPTION_HANDLER": "bearerguard.django.rest_framework.exception_handler",
    },
    # Valid, and never contacted: every test points BEARERGUARD at a LocalIssuer.
    BEARERGUARD={
        "JWKS_URL": "http://127.0.0.1:9/jwks.json",
        "ISSUER": "http://127.0.0.1:9",
        "AUDIENCE": "api://test",
    },
)
django.setup()


def guard_settings(issuer: LocalIssuer, **keys: Any) -> dict[str, Any]:
    """A ``BEARERGUARD`` dict trusting *issuer*; *keys* add or replace settings."""
    return {"OIDC": issuer.url, "AUDIENCE": issuer.audience, **keys}


@pytest.fixture
def configure() -> Iterator[Callable[..., None]]:
    """``configure(NAME=value, ...)``: Django settings for the rest of this test."""
    active: list[override_settings] = []

    def apply(**values: Any) -> None:
        override = override_settings(**values)
        override.enable()
        active.append(override)

    yield apply
    for override in reversed(active):
        override.disable()


@pytest.fixture
def issuer(bearerguard_session_issuer: LocalIssuer) -> LocalIssuer:
    """The session's local issuer (for minting; tests that break it use their own)."""
    return bearerguard_session_issuer


@pytest.fixture(autouse=True)
def bearerguard_setting(issuer: LocalIssuer, configure: Callable[..., None]) -> None:
    """Every test starts with BEARERGUARD trusting the session issuer."""
    configure(BEARERGUARD=guard_settings(issuer))


@pytest.fixture(scope="session", autouse=True)
def _database_dir() -> Iterator[None]:
    yield
    from django.db import connections

    connections.close_all()
    shutil.rmtree(_DB_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def _migrated() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


@pytest.fixture
def db(_migrated: None) -> Iterator[None]:
    """The test database (auth tables), emptied of users after the test."""
    yield
    from django.contrib.auth import get_user_model

    get_user_model()._default_manager.all().delete()
