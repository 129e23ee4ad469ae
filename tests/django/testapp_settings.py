"""The Django settings of these tests, and helpers the test modules share."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from typing import Any

from bearerguard.testing import LocalIssuer

DB_DIR = tempfile.mkdtemp(prefix="bearerguard-django-")
atexit.register(shutil.rmtree, DB_DIR, ignore_errors=True)

BEARER_MIDDLEWARE = "bearerguard.django.BearerTokenMiddleware"
BACKEND = "bearerguard.django.BearerTokenBackend"
COMMON_MIDDLEWARE = "django.middleware.common.CommonMiddleware"  # sets Content-Length

SETTINGS: dict[str, Any] = {
    "DEBUG": False,
    "SECRET_KEY": "bearerguard-tests-only",
    "ALLOWED_HOSTS": ["testserver", "127.0.0.1"],
    "ROOT_URLCONF": "tests.django.testapp",
    "USE_TZ": True,
    "INSTALLED_APPS": [
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "rest_framework",
        "corsheaders",  # django-cors-headers, for the CORS tests
        "tests.django.testapp_users",  # custom user models (AUTH_USER_MODEL in the username tests)
        "bearerguard.django",  # its AppConfig checks BEARERGUARD during django.setup()
    ],
    "MIDDLEWARE": [
        COMMON_MIDDLEWARE,
        "django.middleware.csrf.CsrfViewMiddleware",
        BEARER_MIDDLEWARE,
    ],
    "AUTHENTICATION_BACKENDS": [BACKEND, "django.contrib.auth.backends.ModelBackend"],
    "DATABASES": {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": f"{DB_DIR}/db.sqlite3"}
    },
    "DEFAULT_AUTO_FIELD": "django.db.models.AutoField",
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "REST_FRAMEWORK": {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "bearerguard.django.rest_framework.BearerTokenAuthentication"
        ],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        "EXCEPTION_HANDLER": "bearerguard.django.rest_framework.exception_handler",
    },
    # Valid, and never contacted: every test points BEARERGUARD at a LocalIssuer.
    "BEARERGUARD": {
        "JWKS_URI": "http://127.0.0.1:9/jwks.json",
        "ISSUER": "http://127.0.0.1:9",
        "AUDIENCE": "api://test",
    },
}


def guard_settings(issuer: LocalIssuer, **keys: Any) -> dict[str, Any]:
    """A ``BEARERGUARD`` dict trusting *issuer*; *keys* add or replace settings."""
    return {"OIDC": issuer.url, "AUDIENCE": issuer.audience, **keys}
