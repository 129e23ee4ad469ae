"""Step-up authentication (RFC 9470): how, and how recently, the user authenticated.

An endpoint may need more than a valid token: an authentication context
(the token's ``acr`` among ``acr_values``, e.g. a second factor) or a recent
authentication (``auth_time`` at most ``max_age`` seconds ago). A token that
does not show it is refused with 401 ``insufficient_user_authentication``
naming what the endpoint needs, so the client can send the user back to the
authorization server with those ``acr_values`` / ``max_age`` and retry with
the new token (RFC 9470 §3, §4).

:class:`AuthRequirement` holds one endpoint's requirement, checked once when
the endpoint is decorated; :meth:`AuthRequirement.check` runs per request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ._errors import ConfigurationError, InsufficientUserAuthentication
from ._rules import is_scope_token, seconds
from ._validation import MAX_LEEWAY, Now, to_timestamp
from .claims import StandardClaims

__all__ = ["DEFAULT_LEEWAY", "AuthRequirement"]

#: Seconds of clock skew ``max_age`` allows by default: the Validator's default leeway.
DEFAULT_LEEWAY = 60.0


@dataclass(frozen=True, slots=True)
class AuthRequirement:
    """``acr_values`` and/or ``max_age`` one endpoint requires; validated on construction.

    *acr_values*: one ``acr`` value or several, in order of preference (the
    order the challenge lists them in); each an RFC 6749 NQCHAR token, since
    the challenge separates them with spaces. *max_age*: whole seconds, 0 or
    more. At least one of them. *leeway*: the seconds of clock skew allowed
    between the authorization server, which set ``auth_time``, and this
    server: ``auth_time + max_age + leeway < now`` fails, the rule the
    :class:`~bearerguard.Validator` applies to its own ``max_age``; so does an
    ``auth_time`` more than ``max_age + leeway`` ahead of ``now``, which would
    keep passing while it is ahead.
    """

    acr_values: tuple[str, ...]
    max_age: int | None
    leeway: float

    @classmethod
    def of(
        cls,
        acr_values: str | Iterable[str] | None,
        max_age: int | None,
        leeway: float,
        name: str,
    ) -> AuthRequirement:
        """The requirement, or a :class:`~bearerguard.ConfigurationError` naming *name*."""
        if acr_values is None and max_age is None:
            raise ConfigurationError(f"{name} needs acr_values=, max_age= or both")
        values: tuple[str, ...] = ()
        if acr_values is not None:
            items = (acr_values,) if isinstance(acr_values, str) else acr_values
            if not isinstance(items, Iterable):
                raise ConfigurationError(f"{name}: acr_values must be a string or strings")
            values = tuple(items)
            if not values:
                raise ConfigurationError(
                    f"{name}: acr_values is empty; list at least one acr value or leave it out"
                )
            for value in values:
                if not is_scope_token(value):
                    raise ConfigurationError(
                        f"{name}: each acr value must be printable ASCII without spaces, "
                        f"quotes or backslashes (it goes in the challenge), got {value!r:.60}"
                    )
            if len(set(values)) != len(values):
                raise ConfigurationError(f"{name}: acr_values lists a value twice")
        if max_age is not None:
            seconds(max_age, f"{name}: max_age", whole=True)
        checked = seconds(leeway, f"{name}: leeway")
        if checked > MAX_LEEWAY:
            raise ConfigurationError(f"{name}: leeway must be at most {MAX_LEEWAY:.0f} seconds")
        return cls(values, max_age, checked)

    def check(self, claims: StandardClaims, now: Now = None) -> None:
        """Raise :class:`~bearerguard.InsufficientUserAuthentication` unless *claims* satisfy it.

        The error lists every failure and carries the whole requirement, so
        one new authentication satisfies it.
        """
        failures: list[str] = []
        if self.acr_values:
            acr = claims.acr
            if acr is None:
                failures.append("acr: required claim is missing (acr_values is set)")
            elif acr not in self.acr_values:
                failures.append("acr: authentication context is not one of acr_values")
        if self.max_age is not None:
            auth_time = claims.auth_time
            if auth_time is None:
                failures.append("auth_time: required claim is missing (max_age is set)")
            else:
                t = to_timestamp(now)
                if auth_time > t + self.max_age + self.leeway:
                    # Clocks differ, so an auth_time a little ahead passes; one further
                    # ahead than max_age would keep passing max_age while it is ahead.
                    failures.append("auth_time: authentication is in the future")
                elif t > auth_time + self.max_age + self.leeway:
                    failures.append("auth_time: authentication is older than max_age")
        if failures:
            raise InsufficientUserAuthentication(
                "; ".join(failures), acr_values=self.acr_values, max_age=self.max_age
            )
