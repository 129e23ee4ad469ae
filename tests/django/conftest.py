"""Django configured once for these tests with ``settings.configure`` (no pytest-django).

The test project's modules are ``tests.django.testapp*`` (URLconfs, views,
backends and the ``testapp_users`` models app).

``settings.BEARERGUARD`` points at the session's local issuer for every test;
a test changes settings with the ``configure`` fixture (``override_settings``
underneath, which also resets bearerguard's cached configuration).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Any

import django
import pytest
from django.conf import settings
from django.test.utils import override_settings

from bearerguard.testing import LocalIssuer

from .testapp_settings import SETTINGS, guard_settings

settings.configure(**SETTINGS)
django.setup()
# DRF copies REST_FRAMEWORK's default authentication and permission classes into
# APIView's class body on first import: import it now, under SETTINGS, so no test's
# REST_FRAMEWORK override can be the one it keeps (testapp_drf's views rely on them).
importlib.import_module("rest_framework.views")


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
def local_issuer(bearerguard_session_issuer: LocalIssuer) -> LocalIssuer:
    """The session's local issuer (for minting; tests that break it use their own)."""
    return bearerguard_session_issuer


@pytest.fixture(scope="session")
def partner() -> Iterator[LocalIssuer]:
    """A second trusted issuer (same audience), for the tests of several issuers."""
    with LocalIssuer(kty="EC", path="/partner") as second:
        yield second


@pytest.fixture(autouse=True)
def bearerguard_setting(local_issuer: LocalIssuer, configure: Callable[..., None]) -> None:
    """Every test starts with BEARERGUARD trusting the session issuer."""
    configure(BEARERGUARD=guard_settings(local_issuer))


@pytest.fixture(scope="session", autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    from django.db import connections

    connections.close_all()  # the directory itself goes at exit (testapp_settings)


@pytest.fixture(scope="session")
def _migrated() -> None:
    from django.core.management import call_command

    # run_syncdb: testapp_users has no migrations.
    call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)


@pytest.fixture
def db(_migrated: None) -> Iterator[None]:
    """The test database (auth tables), emptied of users after the test."""
    yield
    from django.contrib.auth import get_user_model

    get_user_model()._default_manager.all().delete()
