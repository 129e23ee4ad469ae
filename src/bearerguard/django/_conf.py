"""``settings.BEARERGUARD``: read, checked and turned into one verifier, once.

The shared keys are those of :class:`~bearerguard.GuardSettings`
(``OIDC``, ``OAUTH2``, ``JWKS_URI`` + ``ISSUER``, ``ISSUERS``, ``VERIFIER``, ``AUDIENCE``,
``VALIDATOR``, ``CLAIM_SOURCES``, ``CLAIMS_TYPE``, ``ALGORITHMS``, ``POLICY``, ``FETCHER``,
``REDIS_URL``, ``INTROSPECTION``, ``REQUIRED``, ``REALM``, ``PUBLIC_PATHS``, ``RESOURCE``,
``RESOURCE_METADATA``, ``DPOP``, ``DPOP_POLICY``, ``EXTERNAL_URL``, ``MTLS``,
``MTLS_PROXY_HEADER``, ``MTLS_TRUSTED_PROXIES``);
Django adds ``USER_MODE``, ``USERNAME_CLAIM``, ``USERNAME_PREFIXES``,
``USERNAME_MAPPER`` and ``ALLOW_PRIVILEGED_USERS``. The result is cached for the
process — one verifier, so one key set per issuer — and dropped when a test
changes ``BEARERGUARD``, ``AUTHENTICATION_BACKENDS`` or ``INSTALLED_APPS``
(``override_settings``).
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, cast

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from .._decision import RequestGate
from .._errors import ConfigurationError
from .._settings import GuardSettings
from ..claims import StandardClaims
from ..verifier import Verifier
from ._usernames import fold

__all__ = ["USER_MODES", "DjangoConfig", "UsernameMapper", "get_config", "reset_config"]

UserMode = Literal["stateless", "lookup", "create"]
#: ``stateless``: a :class:`~bearerguard.django.TokenUser`, no database;
#: ``lookup``: the existing user whose username is the claim (else 401);
#: ``create``: that user, created on first sight.
USER_MODES: tuple[UserMode, ...] = ("stateless", "lookup", "create")
#: ``USERNAME_MAPPER``: verified claims to a username (or raise ``InvalidToken``).
UsernameMapper = Callable[[StandardClaims], str]
_DJANGO_KEYS = (
    "USER_MODE",
    "USERNAME_CLAIM",
    "USERNAME_PREFIXES",
    "USERNAME_MAPPER",
    "ALLOW_PRIVILEGED_USERS",
)
_WATCHED = frozenset({"BEARERGUARD", "AUTHENTICATION_BACKENDS", "INSTALLED_APPS"})


@dataclass(frozen=True, slots=True, kw_only=True)
class DjangoConfig:
    """The checked ``BEARERGUARD`` setting and the verifier it describes.

    A ``USERNAME_CLAIM`` value (``sub`` by default) is unique only within its
    issuer, so with several issuers the database modes (``lookup``,
    ``create``) need either *username_prefixes*, a distinct prefix per issuer
    (``{"https://login.example.com": "", "https://partner.example": "partner:"}``),
    or a *username_mapper* that keys users by issuer itself. Tokens are never
    mapped to staff or superuser accounts unless *allow_privileged_users*.
    """

    guard: GuardSettings
    verifier: Verifier[Any]
    user_mode: UserMode = "stateless"
    username_claim: str = "sub"
    username_prefixes: Mapping[str, str] | None = None
    username_mapper: UsernameMapper | None = None
    allow_privileged_users: bool = False
    #: The per-request decision (:meth:`~bearerguard._decision.RequestGate.decide`).
    gate: RequestGate = field(init=False, repr=False, compare=False)
    # USERNAME_PREFIXES folded (see username_owner), computed once.
    _folded_prefixes: tuple[tuple[str, str], ...] = field(
        default=(), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        gate = RequestGate(self.guard, max_token_size=self.verifier.max_token_size)
        object.__setattr__(self, "gate", gate)
        if self.user_mode not in USER_MODES:
            raise ConfigurationError(
                f"USER_MODE must be one of {', '.join(map(repr, USER_MODES))}, "
                f"got {self.user_mode!r}"
            )
        if not isinstance(self.username_claim, str) or not self.username_claim:
            raise ConfigurationError("USERNAME_CLAIM must be a claim name such as 'sub'")
        if not isinstance(self.allow_privileged_users, bool):
            raise ConfigurationError("ALLOW_PRIVILEGED_USERS must be True or False")
        if self.username_mapper is not None and not callable(self.username_mapper):
            raise ConfigurationError("USERNAME_MAPPER must be a function of the claims")
        issuers = tuple(issuer.url for issuer in self.verifier.issuers)
        if self.username_prefixes is not None:
            if self.username_mapper is not None:
                raise ConfigurationError("give USERNAME_PREFIXES or USERNAME_MAPPER, not both")
            prefixes = _checked_prefixes(self.username_prefixes, issuers)
            object.__setattr__(self, "username_prefixes", prefixes)
            folded = tuple((issuer, fold(prefix)) for issuer, prefix in prefixes.items())
            object.__setattr__(self, "_folded_prefixes", folded)
        elif self.user_mode != "stateless" and len(issuers) > 1 and self.username_mapper is None:
            raise ConfigurationError(
                f"USER_MODE {self.user_mode!r} with {len(issuers)} issuers needs "
                "USERNAME_PREFIXES (a distinct username prefix per issuer) or "
                f"USERNAME_MAPPER: a {self.username_claim!r} value is unique only within "
                "its issuer, so one issuer could log in as another issuer's user"
            )

    def username_owner(self, username: str) -> str | None:
        """The issuer whose namespace *username* is in: the one with the longest matching prefix.

        ``None`` without ``USERNAME_PREFIXES``, and ``None`` when the answer
        changes with case, accents or compatibility forms (see
        :func:`~bearerguard.django._usernames.fold`): under a case-insensitive
        collation ``PARTNER:ann`` is the partner's ``partner:ann``, whoever
        signed it.
        """
        prefixes = self.username_prefixes
        if prefixes is None:
            return None
        owner = _longest_prefix(prefixes.items(), username)
        return owner if owner == _longest_prefix(self._folded_prefixes, fold(username)) else None

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> DjangoConfig:
        """Check *mapping* (the ``BEARERGUARD`` dict) and build its verifier; no network."""
        if not isinstance(mapping, Mapping):
            raise ConfigurationError("must be a dict such as {'OIDC': ..., 'AUDIENCE': ...}")
        guard = GuardSettings.from_mapping(mapping, ignore=_DJANGO_KEYS)
        if "USERNAME_MAPPER" in mapping and "USERNAME_CLAIM" in mapping:
            raise ConfigurationError("give USERNAME_CLAIM or USERNAME_MAPPER, not both")
        return cls(
            guard=guard,
            verifier=guard.build_verifier(),
            user_mode=mapping.get("USER_MODE", "stateless"),
            username_claim=mapping.get("USERNAME_CLAIM", "sub"),
            username_prefixes=mapping.get("USERNAME_PREFIXES"),
            username_mapper=_mapper(mapping.get("USERNAME_MAPPER")),
            allow_privileged_users=mapping.get("ALLOW_PRIVILEGED_USERS", False),
        )


def _checked_prefixes(prefixes: object, issuers: tuple[str, ...]) -> Mapping[str, str]:
    if not isinstance(prefixes, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in prefixes.items()
    ):
        raise ConfigurationError(
            "USERNAME_PREFIXES must map each issuer URL to a username prefix (a string)"
        )
    unknown = [url for url in prefixes if url not in issuers]
    if unknown:
        raise ConfigurationError(
            f"USERNAME_PREFIXES names issuers that are not configured: {', '.join(unknown)}"
        )
    missing = [url for url in issuers if url not in prefixes]
    if missing:
        raise ConfigurationError(f"USERNAME_PREFIXES has no prefix for {', '.join(missing)}")
    if len({fold(prefix) for prefix in prefixes.values()}) != len(prefixes):
        raise ConfigurationError(
            "USERNAME_PREFIXES must give each issuer a different prefix, "
            "also when case and accents are ignored (as many databases compare usernames)"
        )
    return MappingProxyType(dict(prefixes))


def _longest_prefix(prefixes: Iterable[tuple[str, str]], username: str) -> str | None:
    owner, length = None, -1
    for issuer, prefix in prefixes:
        if username.startswith(prefix) and len(prefix) > length:
            owner, length = issuer, len(prefix)
    return owner


def _mapper(value: object) -> UsernameMapper | None:
    if not isinstance(value, str):
        return cast("UsernameMapper | None", value)  # checked in __post_init__
    try:
        imported: UsernameMapper = import_string(value)
    except ImportError:
        raise ConfigurationError(f"USERNAME_MAPPER: cannot import {value!r}") from None
    return imported


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


setting_changed.connect(_on_setting_changed, dispatch_uid="bearerguard.django._conf")
