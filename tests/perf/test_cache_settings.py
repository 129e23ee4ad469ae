"""cache_size through the shared adapter settings (GuardSettings, JWTAuth, config mappings)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette

from bearerguard import ConfigurationError, Issuer, Validator
from bearerguard._settings import GuardSettings
from bearerguard.starlette import JWTAuth
from bearerguard.verifier import DEFAULT_CACHE_SIZE, Verifier

from .conftest import AUD, EditableKeys

OIDC = "https://login.example.com"


def test_adapters_cache_by_default() -> None:
    """Without cache_size the built verifier has the default cache."""
    verifier = GuardSettings(oidc=OIDC, audience=AUD).build_verifier()
    assert verifier.cache_size == DEFAULT_CACHE_SIZE


@pytest.mark.parametrize("size", [0, 1, 50_000])
def test_cache_size_reaches_the_verifier(size: int) -> None:
    """GuardSettings(cache_size=n) builds a Verifier with room for n tokens (0: none)."""
    verifier = GuardSettings(oidc=OIDC, audience=AUD, cache_size=size).build_verifier()
    assert verifier.cache_size == size


def test_jwtauth_takes_cache_size() -> None:
    """The Starlette middleware passes the keyword through its settings."""
    middleware = JWTAuth(Starlette(), oidc=OIDC, audience=AUD, cache_size=0)
    assert middleware.verifier.cache_size == 0


def test_cache_size_from_a_config_mapping() -> None:
    """Flask/Django style: BEARERGUARD_CACHE_SIZE / {"CACHE_SIZE": ...}."""
    flask_style: dict[str, object] = {"BEARERGUARD_OIDC": OIDC, "BEARERGUARD_AUDIENCE": AUD}
    flask_style["BEARERGUARD_CACHE_SIZE"] = 5
    settings = GuardSettings.from_mapping(flask_style, prefix="BEARERGUARD_")
    assert settings.build_verifier().cache_size == 5
    django_style: dict[str, Any] = {"OIDC": OIDC, "AUDIENCE": AUD, "CACHE_SIZE": 0}
    assert GuardSettings.from_mapping(django_style).build_verifier().cache_size == 0


@pytest.mark.parametrize("size", [-1, True, 2.5, "100"])
def test_bad_cache_size_setting_is_refused(size: Any) -> None:
    """Checked when the settings are built, before any verifier exists."""
    with pytest.raises(ConfigurationError, match="cache_size"):
        GuardSettings(oidc=OIDC, audience=AUD, cache_size=size)


def test_cache_size_goes_on_the_verifier_when_one_is_given() -> None:
    """A ready Verifier already has its cache: settings cannot silently override it."""
    verifier = Verifier([Issuer(OIDC, EditableKeys(), Validator(aud=AUD))], cache_size=7)
    with pytest.raises(ConfigurationError, match="cache_size"):
        GuardSettings(verifier=verifier, cache_size=0)
    assert GuardSettings(verifier=verifier).build_verifier().cache_size == 7
