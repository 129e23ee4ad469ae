"""The claims an adapter hands to user code, as the type the user's code declares.

Every adapter's typed accessor (``require_scopes(...).depends()`` in FastAPI,
``current_claims()`` in Flask, ``claims_of(request)`` in Django) promises a
claims type to type checkers: :class:`~bearerguard.AccessClaims` unless the
caller names another. The settings' ``claims_type`` decides what the verifier
builds; when the two disagree the promise would be false, so it is a
configuration error that says how to make them agree, never a wrong type.
"""

from __future__ import annotations

from typing import TypeVar

from ._errors import ConfigurationError
from .claims import StandardClaims

__all__ = ["check_claims_type", "wrong_claims_type"]

C = TypeVar("C", bound=StandardClaims)


def wrong_claims_type(
    claims: StandardClaims, claims_type: type[StandardClaims], *, asked_by: str, setting: str
) -> ConfigurationError:
    """The error for *claims* that are no *claims_type* (callers check on their fast path).

    *asked_by* names the accessor as the user wrote it and *setting* where the
    claims type is configured (``"JWTAuth's claims_type"``), for the message.
    """
    wanted, got = claims_type.__qualname__, type(claims).__qualname__
    return ConfigurationError(
        f"{asked_by} returns {wanted} but the verified claims are {got}: "
        f"set {setting} to {wanted}, or pass claims_type={got}"
    )


def check_claims_type(claims_type: object, asked_by: str) -> type[StandardClaims]:
    """*claims_type*, if it is a claims class (a mistake type checkers catch too)."""
    if not (isinstance(claims_type, type) and issubclass(claims_type, StandardClaims)):
        raise ConfigurationError(
            f"{asked_by}: claims_type= must be a subclass of bearerguard.AccessClaims "
            "(or StandardClaims)"
        )
    return claims_type
