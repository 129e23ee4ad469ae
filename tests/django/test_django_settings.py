"""settings.BEARERGUARD: checked at start-up with messages that say what to change."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from testapp_backends import AppClaims
from testapp_settings import BACKEND, guard_settings

from bearerguard import ConfigurationError
from bearerguard.django import (
    BearerTokenBackend,
    DjangoConfig,
    TokenUser,
    get_config,
    reset_config,
)
from bearerguard.django.apps import BearerGuardConfig
from bearerguard.testing import LocalIssuer


@pytest.mark.parametrize(
    ("setting", "backends", "message"),
    [
        pytest.param(
            None,
            [BACKEND],
            "settings.BEARERGUARD is not set: add for example BEARERGUARD = "
            "{'OIDC': 'https://login.example.com', 'AUDIENCE': 'api://orders'}",
            id="missing",
        ),
        pytest.param(
            "https://login.example.com",
            [BACKEND],
            "settings.BEARERGUARD: must be a dict such as {'OIDC': ..., 'AUDIENCE': ...}",
            id="not-a-dict",
        ),
        pytest.param(
            {"USER_MODE": "ldap"},
            [BACKEND],
            "settings.BEARERGUARD: USER_MODE must be one of 'stateless', 'lookup', 'create', "
            "got 'ldap'",
            id="user-mode",
        ),
        pytest.param(
            {"USERNAME_CLAIM": ""},
            [BACKEND],
            "settings.BEARERGUARD: USERNAME_CLAIM must be a claim name such as 'sub'",
            id="username-claim",
        ),
        pytest.param(
            {},
            ["django.contrib.auth.backends.ModelBackend", "testapp_backends.PasswordOnlyBackend"],
            "no authentication backend accepts bearer tokens: add "
            "'bearerguard.django.BearerTokenBackend' to settings.AUTHENTICATION_BACKENDS",
            id="no-bearer-backend",
        ),
    ],
)
def test_django_setting_errors(
    issuer: LocalIssuer,
    configure: Callable[..., None],
    setting: Any,
    backends: list[str],
    message: str,
) -> None:
    """Each mistake is an ImproperlyConfigured saying what to write instead."""
    if isinstance(setting, dict):
        setting = guard_settings(issuer, **setting)
    configure(BEARERGUARD=setting, AUTHENTICATION_BACKENDS=backends)
    with pytest.raises(ImproperlyConfigured) as caught:
        get_config()
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("setting", "starts"),
    [
        pytest.param({}, "settings.BEARERGUARD: no token issuer configured", id="empty"),
        pytest.param(
            {"OIDC": "https://login.example.com"},
            "settings.BEARERGUARD: audience= is required",
            id="no-audience",
        ),
        pytest.param(
            {"OIDC": "https://login.example.com", "AUDIENCE": "a", "AUDIENCES": "b"},
            "settings.BEARERGUARD: unknown bearerguard setting(s) AUDIENCES",
            id="typo",
        ),
    ],
)
def test_shared_setting_errors_are_wrapped(
    configure: Callable[..., None], setting: dict[str, Any], starts: str
) -> None:
    """The shared settings' ConfigurationError becomes ImproperlyConfigured, cause kept."""
    configure(BEARERGUARD=setting)
    with pytest.raises(ImproperlyConfigured) as caught:
        get_config()
    assert str(caught.value).startswith(starts)
    assert isinstance(caught.value.__cause__, ConfigurationError)
    assert str(caught.value) == f"settings.BEARERGUARD: {caught.value.__cause__.description}"


def test_database_user_modes_need_the_auth_app(
    issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """USER_MODE lookup/create without django.contrib.auth installed is refused at start-up."""
    configure(
        INSTALLED_APPS=["django.contrib.contenttypes"],
        BEARERGUARD=guard_settings(issuer, USER_MODE="create"),
    )
    with pytest.raises(ImproperlyConfigured) as caught:
        get_config()
    assert str(caught.value) == (
        "settings.BEARERGUARD: USER_MODE 'create' needs 'django.contrib.auth' in "
        "INSTALLED_APPS (or use USER_MODE 'stateless')"
    )


def test_app_config_checks_at_ready(configure: Callable[..., None]) -> None:
    """With "bearerguard.django" in INSTALLED_APPS, ready() checks the setting."""
    app_config = apps.get_app_config("bearerguard")
    assert isinstance(app_config, BearerGuardConfig)
    configure(BEARERGUARD={"OIDC": "https://login.example.com"})
    with pytest.raises(ImproperlyConfigured):
        app_config.ready()


def test_configuration_is_cached_and_reset(
    issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """One configuration (one verifier) until the setting changes or reset_config()."""
    first = get_config()
    assert get_config() is first
    configure(BEARERGUARD=guard_settings(issuer, REALM="other"))
    second = get_config()
    assert second is not first
    assert second.guard.realm == "other"
    reset_config()
    assert get_config() is not second


def test_configuration_holds_the_django_keys(
    issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """USER_MODE and USERNAME_CLAIM are read next to the shared keys."""
    configure(BEARERGUARD=guard_settings(issuer, USER_MODE="lookup", USERNAME_CLAIM="email"))
    config = get_config()
    assert isinstance(config, DjangoConfig)
    assert (config.user_mode, config.username_claim) == ("lookup", "email")
    assert config.guard.issuer_urls == (issuer.url,)
    assert [i.url for i in config.verifier.issuers] == [issuer.url]


def test_claims_type_by_dotted_path(issuer: LocalIssuer, configure: Callable[..., None]) -> None:
    """CLAIMS_TYPE may name the claims class by its dotted path."""
    configure(BEARERGUARD=guard_settings(issuer, CLAIMS_TYPE="testapp_backends.AppClaims"))
    token = issuer.mint(**{"https://example.com/tenant": "acme"})
    user = BearerTokenBackend().authenticate(None, bearer_token=token)
    assert isinstance(user, TokenUser)
    assert isinstance(user.claims, AppClaims)
    assert user.claims.tenant == "acme"


def test_no_network_before_the_first_token(
    bearerguard_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """Building the configuration (start-up) fetches nothing; the first token does."""
    configure(BEARERGUARD=guard_settings(bearerguard_issuer))
    get_config()
    assert bearerguard_issuer.count() == 0
    token = bearerguard_issuer.mint()
    assert Client().get("/whoami", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert bearerguard_issuer.count() == 2


@pytest.mark.parametrize(
    ("statement", "absent"),
    [
        pytest.param("import bearerguard", "django", id="core"),
        pytest.param("import bearerguard.django", "rest_framework", id="django-adapter"),
    ],
)
def test_imports_stay_light(statement: str, absent: str) -> None:
    """`import bearerguard` loads no Django; the Django adapter loads no DRF."""
    code = (
        f"import sys; {statement}; print(any(m.split('.')[0] == {absent!r} for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout == "False\n"
