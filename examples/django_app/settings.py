"""Settings of the example Django API (see README.md).

bearerguard reads ``settings.BEARERGUARD``; here it is filled from
``BEARERGUARD_<KEY>`` environment variables, so the same project runs against
the local issuer or any OpenID Connect issuer::

    BEARERGUARD_OIDC=https://login.example.com BEARERGUARD_AUDIENCE=api://orders \\
        python -m examples.django_app.manage runserver

Values that parse as JSON (``true``, ``["/health"]``) are decoded; others are
taken as strings. No database: users come from the tokens (``USER_MODE``
``"stateless"``, the default).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

#: The ``BEARERGUARD`` keys read from ``BEARERGUARD_<KEY>`` environment variables.
ENV_KEYS = (
    "OIDC",
    "OAUTH2",
    "JWKS_URI",
    "ISSUER",
    "AUDIENCE",
    "REALM",
    "REQUIRED",
    "PUBLIC_PATHS",
    "RESOURCE",
    "USERNAME_CLAIM",
)


def bearerguard_from_env(environ: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The ``BEARERGUARD`` entries given as environment variables."""
    found: dict[str, Any] = {}
    for key in ENV_KEYS:
        raw = environ.get("BEARERGUARD_" + key)
        if raw is None:
            continue
        try:
            found[key] = json.loads(raw)
        except ValueError:
            found[key] = raw
    return found


BEARERGUARD = {"REALM": "orders", "PUBLIC_PATHS": ["/health"], **bearerguard_from_env()}

AUTHENTICATION_BACKENDS = ["bearerguard.django.BearerTokenBackend"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "bearerguard.django.BearerTokenMiddleware",
]

INSTALLED_APPS = [
    "django.contrib.auth",  # AnonymousUser for requests without a token
    "django.contrib.contenttypes",
    "rest_framework",
    "bearerguard.django",  # checks BEARERGUARD when Django starts
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "bearerguard.django.rest_framework.BearerTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "bearerguard.django.rest_framework.exception_handler",
}

DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-a-secret")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
ROOT_URLCONF = "examples.django_app.urls"
WSGI_APPLICATION = "examples.django_app.wsgi.application"
DATABASES: dict[str, Any] = {}
USE_TZ = True
