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

from bearerguard import BearerGuardDeprecationWarning, ConfigurationError
from bearerguard.django import BearerTokenBackend, TokenUser
from bearerguard.django._conf import DjangoConfig, get_config, reset_config
from bearerguard.django.apps import BearerGuardConfig
from bearerguard.testing import LocalIssuer

from .testapp_backends import AppClaims
from .testapp_settings import BACKEND, guard_settings


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
            [
                "django.contrib.auth.backends.ModelBackend",
                "tests.django.testapp_backends.PasswordOnlyBackend",
            ],
            "no authentication backend accepts bearer tokens: add "
            "'bearerguard.django.BearerTokenBackend' to settings.AUTHENTICATION_BACKENDS",
            id="no-bearer-backend",
        ),
    ],
)
def test_django_setting_errors(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    setting: Any,
    backends: list[str],
    message: str,
) -> None:
    """Each mistake is an ImproperlyConfigured saying what to write instead."""
    if isinstance(setting, dict):
        setting = guard_settings(local_issuer, **setting)
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
            "settings.BEARERGUARD: unknown bearerguard setting AUDIENCES (did you mean AUDIENCE?)",
            id="typo",
        ),
        pytest.param(
            {"OIDC": "https://login.example.com", "AUDIENCE": "a", "USERMODE": "lookup"},
            "settings.BEARERGUARD: unknown bearerguard setting USERMODE (did you mean USER_MODE?)",
            id="typo-in-a-django-key",
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


PARTNER = "https://partner.example"
NAMESPACE_NEEDED = (
    "USER_MODE {mode!r} with 2 issuers needs USERNAME_PREFIXES (a distinct "
    "username prefix per issuer) or USERNAME_MAPPER: a 'sub' value is unique only within its "
    "issuer, so one issuer could log in as another issuer's user"
)

PREFIX_SHARED = (
    "USERNAME_PREFIXES must give each issuer a different prefix, also when case and accents "
    "are ignored (as many databases compare usernames)"
)


def _two_issuers(issuer: LocalIssuer, keys: dict[str, Any]) -> dict[str, Any]:
    """BEARERGUARD with the session issuer and PARTNER; "{corp}" in prefix keys is its URL."""
    prefixes = keys.get("USERNAME_PREFIXES")
    if isinstance(prefixes, dict):
        prefixes = {url.format(corp=issuer.url): value for url, value in prefixes.items()}
        keys = {**keys, "USERNAME_PREFIXES": prefixes}
    return guard_settings(issuer, OIDC=[issuer.url, PARTNER], **keys)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        pytest.param({"USER_MODE": "lookup"}, NAMESPACE_NEEDED.format(mode="lookup"),
                     id="lookup-needs-a-namespace"),
        pytest.param({"USER_MODE": "create"}, NAMESPACE_NEEDED.format(mode="create"),
                     id="create-needs-a-namespace"),
        pytest.param({"USERNAME_PREFIXES": {"{corp}": ""}},
                     f"USERNAME_PREFIXES has no prefix for {PARTNER}", id="prefix-missing"),
        pytest.param({"USERNAME_PREFIXES": {"{corp}": "", PARTNER: "p:", "https://x.example": ""}},
                     "USERNAME_PREFIXES names issuers that are not configured: https://x.example",
                     id="prefix-for-unknown-issuer"),
        pytest.param({"USERNAME_PREFIXES": {"{corp}": "p:", PARTNER: "p:"}}, PREFIX_SHARED,
                     id="prefix-shared"),
        pytest.param({"USERNAME_PREFIXES": {"{corp}": "P:", PARTNER: "p:"}}, PREFIX_SHARED,
                     id="prefix-shared-ignoring-case"),
        pytest.param({"USERNAME_PREFIXES": {"{corp}": "é:", PARTNER: "e:"}}, PREFIX_SHARED,
                     id="prefix-shared-ignoring-accents"),
        pytest.param({"USERNAME_PREFIXES": "p:"},
                     "USERNAME_PREFIXES must map each issuer URL to a username prefix (a string)",
                     id="prefixes-not-a-dict"),
        pytest.param({"USERNAME_PREFIXES": {"{corp}": "", PARTNER: None}},
                     "USERNAME_PREFIXES must map each issuer URL to a username prefix (a string)",
                     id="prefix-not-a-string"),
        pytest.param({"USERNAME_PREFIXES": {"{corp}": "", PARTNER: "p:"},
                      "USERNAME_MAPPER": "tests.django.testapp_backends.issuer_and_subject"},
                     "give USERNAME_PREFIXES or USERNAME_MAPPER, not both",
                     id="prefixes-and-mapper"),
        pytest.param({"USERNAME_CLAIM": "email",
                      "USERNAME_MAPPER": "tests.django.testapp_backends.issuer_and_subject"},
                     "give USERNAME_CLAIM or USERNAME_MAPPER, not both", id="claim-and-mapper"),
        pytest.param({"USERNAME_MAPPER": "tests.django.testapp_backends.nothing_here"},
                     "USERNAME_MAPPER: cannot import 'tests.django.testapp_backends.nothing_here'",
                     id="mapper-not-importable"),
        pytest.param({"USERNAME_MAPPER": 42},
                     "USERNAME_MAPPER must be a function of the claims", id="mapper-not-callable"),
        pytest.param({"ALLOW_PRIVILEGED_USERS": "yes"},
                     "ALLOW_PRIVILEGED_USERS must be True or False",
                     id="allow-privileged-not-bool"),
    ],
)  # fmt: skip
def test_user_namespace_setting_errors(
    local_issuer: LocalIssuer, configure: Callable[..., None], keys: dict[str, Any], message: str
) -> None:
    """With several issuers the database modes need usernames kept apart per issuer."""
    configure(BEARERGUARD=_two_issuers(local_issuer, keys))
    with pytest.raises(ImproperlyConfigured) as caught:
        get_config()
    assert str(caught.value) == f"settings.BEARERGUARD: {message}"


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param({}, id="stateless-needs-nothing"),
        pytest.param({"USER_MODE": "lookup", "USERNAME_PREFIXES": {"{corp}": "", PARTNER: "p:"}},
                     id="prefixes"),
        pytest.param({"USER_MODE": "create",
                      "USERNAME_MAPPER": "tests.django.testapp_backends.issuer_and_subject"},
                     id="mapper"),
    ],
)  # fmt: skip
def test_several_issuers_with_a_namespace_start(
    local_issuer: LocalIssuer, configure: Callable[..., None], keys: dict[str, Any]
) -> None:
    """Stateless mode, USERNAME_PREFIXES or USERNAME_MAPPER: the configuration is accepted."""
    configure(BEARERGUARD=_two_issuers(local_issuer, keys))
    config = get_config()
    assert config.allow_privileged_users is False
    assert [i.url for i in config.verifier.issuers] == [local_issuer.url, PARTNER]


def test_database_user_modes_need_the_auth_app(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """USER_MODE lookup/create without django.contrib.auth installed is refused at start-up."""
    configure(
        INSTALLED_APPS=["django.contrib.contenttypes"],
        BEARERGUARD=guard_settings(local_issuer, USER_MODE="create"),
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
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """One configuration (one verifier) until the setting changes or reset_config()."""
    first = get_config()
    assert get_config() is first
    configure(BEARERGUARD=guard_settings(local_issuer, REALM="other"))
    second = get_config()
    assert second is not first
    assert second.guard.realm == "other"
    reset_config()
    assert get_config() is not second


def test_configuration_holds_the_django_keys(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """USER_MODE and USERNAME_CLAIM are read next to the shared keys."""
    configure(
        BEARERGUARD=guard_settings(
            local_issuer,
            USER_MODE="lookup",
            USERNAME_CLAIM="email",
            USERNAME_PREFIXES={local_issuer.url: "corp:"},
            ALLOW_PRIVILEGED_USERS=True,
        )
    )
    config = get_config()
    assert isinstance(config, DjangoConfig)
    assert (config.user_mode, config.username_claim) == ("lookup", "email")
    assert config.username_prefixes == {local_issuer.url: "corp:"}
    assert (config.username_mapper, config.allow_privileged_users) == (None, True)
    assert config.guard.issuer_urls == (local_issuer.url,)
    assert [i.url for i in config.verifier.issuers] == [local_issuer.url]


@pytest.mark.parametrize("key", ["JWKS_URI", "JWKS_URL"])
def test_jwks_uri_key_and_its_deprecated_spelling(
    local_issuer: LocalIssuer, configure: Callable[..., None], key: str
) -> None:
    """JWKS_URI + ISSUER trusts a JWKS URL; the old key JWKS_URL still does, with a warning."""
    configure(
        BEARERGUARD={
            key: local_issuer.jwks_uri,
            "ISSUER": local_issuer.url,
            "AUDIENCE": local_issuer.audience,
        }
    )
    if key == "JWKS_URL":
        with pytest.warns(BearerGuardDeprecationWarning, match="write jwks_uri= .JWKS_URI."):
            config = get_config()
    else:
        config = get_config()
    assert config.guard.jwks_uri == local_issuer.jwks_uri
    token = local_issuer.mint(sub="ann")
    response = Client().get("/whoami", headers={"Authorization": f"Bearer {token}"})
    assert response.json()["username"] == "ann"


def test_claims_type_by_dotted_path(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """CLAIMS_TYPE may name the claims class by its dotted path."""
    configure(
        BEARERGUARD=guard_settings(
            local_issuer, CLAIMS_TYPE="tests.django.testapp_backends.AppClaims"
        )
    )
    tenant: dict[str, Any] = {"https://example.com/tenant": "acme"}
    token = local_issuer.mint(**tenant)
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
