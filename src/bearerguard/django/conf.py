"""``settings.BEARERGUARD``: read, checked and turned into one verifier, once.

The shared keys are those of :class:`~bearerguard.settings.GuardSettings`
(``OIDC``, ``OAUTH2``, ``JWKS_URL`` + ``ISSUER``, ``VERIFIER``, ``AUDIENCE``,
``VALIDATOR``, ``CLAIMS_TYPE``, ``ALGORITHMS``, ``POLICY``, ``FETCHER``,
``REQUIRED``, ``REALM``, ``PUBLIC_PATHS``, ``RESOURCE``, ``RESOURCE_METADATA``);
Django adds ``USER_MODE`` and ``USERNAME_CLAIM``. The result is cached for the
process — one verifier, so one key set per issuer — and dropped when a test
changes ``BEARERGUARD``, ``AUTHENTICATION_BACKENDS`` or ``INSTALLED_APPS``
(``override_settings``).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from ..errors import ConfigurationError
from ..settings import GuardSettings
from ..verifier import Verifier

__all__ = ["USER_MODES", "DjangoConfig", "get_config", "reset_config"]

UserMode = Literal["stateless", "lookup", "create"]
#: ``stateless``: a :class:`~bearerguard.django.users.TokenUser`, no database;
#: ``lookup``: the existing user whose username is the claim (else 401);
#: ``create``: that user, created on first sight.
USER_MODES: tuple[UserMode, ...] = ("stateless", "lookup", "create")
_DJANGO_KEYS = ("USER_MODE", "USERNAME_CLAIM")
_WATCHED = frozenset({"BEARERGUARD", "AUTHENTICATION_BACKENDS", "INSTALLED_APPS"})


@dataclass(frozen=True, slots=True, kw_only=True)
class DjangoConfig:
    """The checked ``BEARERGUARD`` setting and the verifier it describes."""

    guard: GuardSettings
    verifier: Verifier[Any]
    user_mode: UserMode = "stateless"
    username_claim: str = "sub"

    def __post_init__(self) -> None:
        if self.user_mode not in USER_MODES:
            raise ConfigurationError(
                f"USER_MODE must be one of {', '.join(map(repr, USER_MODES))}, "
                f"got {self.user_mode!r}"
            )
        if not isinstance(self.username_claim, str) or not self.username_claim:
            raise ConfigurationError("USERNAME_CLAIM must be a claim name such as 'sub'")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> DjangoConfig:
        """Check *mapping* (the ``BEARERGUARD`` dict) and build its verifier; no network."""
        if not isinstance(mapping, Mapping):
            raise ConfigurationError("must be a dict such as {'OIDC': ..., 'AUDIENCE': ...}")
        guard = GuardSettings.from_mapping(mapping, ignore=_DJANGO_KEYS)
        return cls(
            guard=guard,
            verifier=guard.build_verifier(),
            user_mode=mapping.get("USER_MODE", "stateless"),
            username_claim=mapping.get("USERNAME_CLAIM", "sub"),
        )


_lock = threading.Lock()
_config: DjangoConfig | None = None


def get_config() -> DjangoConfig:
    """The process-wide configuration; the first call checks ``settings.BEARERGUARD``.

    Raises :class:`~django.core.exceptions.ImproperlyConfigured` saying what
    to change when the setting is missing or wrong, or when no authentication
    backend accepts bearer tokens.
    """
    config = _config
    if config is None:
        config = _load()
    return config


def reset_config() -> None:
    """Forget the cached configuration (the next request reads the settings again)."""
    global _config
    with _lock:
        _config = None


def _load() -> DjangoConfig:
    global _config
    with _lock:
        if _config is not None:
            return _config
        mapping = getattr(django_settings, "BEARERGUARD", None)
        if mapping is None:
            raise ImproperlyConfigured(
                "settings.BEARERGUARD is not set: add for example "
                "BEARERGUARD = {'OIDC': 'https://login.example.com', 'AUDIENCE': 'api://orders'}"
            )
        try:
            config = DjangoConfig.from_mapping(mapping)
        except ConfigurationError as exc:
            raise ImproperlyConfigured(f"settings.BEARERGUARD: {exc.description}") from exc
        _check_backends()
        if config.user_mode != "stateless":
            _check_user_model(config.user_mode)
        _config = config
        return config


def _check_backends() -> None:
    # Without a backend taking `bearer_token`, authenticate() would quietly
    # return None and every valid token would be refused.
    for path in django_settings.AUTHENTICATION_BACKENDS:
        try:
            backend = import_string(path)
        except ImportError:
            continue  # Django reports its own import errors on first use
        try:
            parameters = inspect.signature(backend.authenticate).parameters
        except (TypeError, ValueError, AttributeError):
            continue
        if "bearer_token" in parameters:
            return
    raise ImproperlyConfigured(
        "no authentication backend accepts bearer tokens: add "
        "'bearerguard.django.BearerTokenBackend' to settings.AUTHENTICATION_BACKENDS"
    )


def _check_user_model(mode: str) -> None:
    from django.apps import apps

    if not apps.is_installed("django.contrib.auth"):
        raise ImproperlyConfigured(
            f"settings.BEARERGUARD: USER_MODE {mode!r} needs 'django.contrib.auth' "
            "in INSTALLED_APPS (or use USER_MODE 'stateless')"
        )


def _on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in _WATCHED:
        reset_config()


setting_changed.connect(_on_setting_changed, dispatch_uid="bearerguard.django.conf")
