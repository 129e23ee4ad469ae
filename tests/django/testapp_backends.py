"""Backends and a claims class for the tests."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, ClassVar

from django.http import HttpRequest

from bearerguard.claims import AccessClaims, StandardClaims, claim
from bearerguard.django import BearerTokenBackend


class RecordingBackend(BearerTokenBackend):
    """Records ``authenticate`` / ``aauthenticate`` calls (Django makes a new instance per call)."""

    calls: ClassVar[list[str]] = []

    def authenticate(self, request: HttpRequest | None, *, bearer_token: str | None = None) -> Any:
        self.calls.append("authenticate")
        return super().authenticate(request, bearer_token=bearer_token)

    async def aauthenticate(
        self, request: HttpRequest | None, *, bearer_token: str | None = None
    ) -> Any:
        self.calls.append("aauthenticate")
        return await super().aauthenticate(request, bearer_token=bearer_token)


class EmailBackend(BearerTokenBackend):
    """Copies the ``email`` claim onto the database user on every authentication."""

    def configure_user(
        self, request: HttpRequest | None, user: Any, claims: StandardClaims, *, created: bool
    ) -> Any:
        email = claims.raw.get("email", "")
        if user.email != email:
            user.email = email
            user.save(update_fields=["email"])
        user.was_created = created
        return user


class RolesBackend(BearerTokenBackend):
    """Makes users with the ``admin`` role staff (refused unless ALLOW_PRIVILEGED_USERS)."""

    def configure_user(
        self, request: HttpRequest | None, user: Any, claims: StandardClaims, *, created: bool
    ) -> Any:
        if "admin" in claims.raw.get("roles", ()):
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        return user


def issuer_and_subject(claims: StandardClaims) -> str:
    """A USERNAME_MAPPER: the user is keyed by issuer and subject together."""
    return f"{claims.iss}#{claims.sub}"


def nickname(claims: StandardClaims) -> str:
    """A USERNAME_MAPPER decoding the base64url ``nick`` claim, bad bytes as surrogate escapes."""
    return base64.urlsafe_b64decode(claims.raw["nick"]).decode("utf-8", "surrogateescape")


class PasswordOnlyBackend:
    """A backend that does not take bearer tokens."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None
    ) -> None:
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class AppClaims(AccessClaims):
    """Claims with an application claim, for CLAIMS_TYPE."""

    tenant: str = claim("https://example.com/tenant", default="")
