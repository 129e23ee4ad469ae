"""Optional: list ``"bearerguard.django"`` in ``INSTALLED_APPS`` to check the settings at start-up.

``BearerTokenMiddleware`` checks them when Django builds the middleware chain
anyway; the app config also covers projects that use only the backend or the
Django REST framework classes, and management commands.
"""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ["BearerGuardConfig"]


class BearerGuardConfig(AppConfig):
    """Checks ``settings.BEARERGUARD`` once the app registry is ready."""

    name = "bearerguard.django"
    label = "bearerguard"
    verbose_name = "bearerguard"

    def ready(self) -> None:
        from ._conf import get_config

        get_config()
