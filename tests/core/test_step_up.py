"""bearerguard.require_auth and InsufficientUserAuthentication (RFC 9470), without a framework."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bearerguard import (
    AccessClaims,
    BearerGuardError,
    ConfigurationError,
    InsufficientUserAuthentication,
    require_auth,
)
from bearerguard._http import REFUSALS, error_response

AUTH_TIME = 1_000_000.0


def _claims(**values: object) -> AccessClaims:
    return AccessClaims(iss="https://issuer.test", sub="user-1", **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("leeway", "now", "accepted"),
    [
        pytest.param(60, AUTH_TIME + 300 + 60, True, id="default-leeway-last-second"),
        pytest.param(60, AUTH_TIME + 300 + 60.5, False, id="default-leeway-past"),
        pytest.param(0, AUTH_TIME + 300, True, id="no-leeway-exactly-max-age"),
        pytest.param(0, AUTH_TIME + 300.5, False, id="no-leeway-past-max-age"),
        pytest.param(0, AUTH_TIME - 5, True, id="auth-time-ahead-of-this-clock"),
    ],
)
def test_max_age_fails_only_past_auth_time_plus_max_age_plus_leeway(
    leeway: float, now: float, accepted: bool
) -> None:
    """``auth_time + max_age + leeway < now`` fails: the Validator's own max_age rule."""
    claims = _claims(auth_time=AUTH_TIME)
    if accepted:
        require_auth(claims, max_age=300, leeway=leeway, now=now)
    else:
        with pytest.raises(InsufficientUserAuthentication, match="older than max_age"):
            require_auth(claims, max_age=300, leeway=leeway, now=now)


def test_leeway_defaults_to_the_validators_60_seconds() -> None:
    """Without leeway=, 60 s of clock skew are allowed, as Validator(leeway=60) allows."""
    claims = _claims(auth_time=AUTH_TIME)
    require_auth(claims, max_age=0, now=AUTH_TIME + 60)
    with pytest.raises(InsufficientUserAuthentication):
        require_auth(claims, max_age=0, now=AUTH_TIME + 61)


def test_now_may_be_an_aware_datetime() -> None:
    """``now=`` takes a timezone-aware datetime, as Validator.validate does."""
    claims = _claims(auth_time=AUTH_TIME)
    late = datetime.fromtimestamp(AUTH_TIME + 1000, tz=timezone.utc)
    with pytest.raises(InsufficientUserAuthentication):
        require_auth(claims, max_age=300, now=late)


@pytest.mark.parametrize(
    ("acr_values", "acr", "accepted"),
    [
        pytest.param("mfa", "mfa", True, id="one-value-as-a-string"),
        pytest.param(["mfa", "hwk"], "hwk", True, id="any-listed-value"),
        pytest.param(["mfa", "hwk"], "MFA", False, id="compared-exactly"),
        pytest.param(["mfa"], None, False, id="no-acr-claim"),
    ],
)
def test_acr_must_be_one_of_acr_values(
    acr_values: str | list[str], acr: str | None, accepted: bool
) -> None:
    """The token's acr is one of the values, compared as strings."""
    claims = _claims(acr=acr)
    if accepted:
        require_auth(claims, acr_values=acr_values)
    else:
        with pytest.raises(InsufficientUserAuthentication, match=r"^acr: "):
            require_auth(claims, acr_values=acr_values)


def test_the_error_carries_the_whole_requirement_and_every_failure() -> None:
    """One refusal lists both failures and both parameters, so one new login satisfies it."""
    claims = _claims(acr="pwd", auth_time=AUTH_TIME)
    with pytest.raises(InsufficientUserAuthentication) as caught:
        require_auth(claims, acr_values=["mfa", "hwk"], max_age=300, now=AUTH_TIME + 3600)
    error = caught.value
    assert (error.code, error.status) == ("insufficient_user_authentication", 401)
    assert error.acr_values == ("mfa", "hwk")
    assert error.max_age == 300
    assert error.description == (
        "acr: authentication context is not one of acr_values; "
        "auth_time: authentication is older than max_age"
    )


def test_a_met_max_age_does_not_hide_a_wrong_acr() -> None:
    """Only the failing check is described; the challenge still names the whole requirement."""
    claims = _claims(acr="pwd", auth_time=AUTH_TIME)
    with pytest.raises(InsufficientUserAuthentication) as caught:
        require_auth(claims, acr_values="mfa", max_age=300, now=AUTH_TIME)
    assert caught.value.description == "acr: authentication context is not one of acr_values"
    assert (caught.value.acr_values, caught.value.max_age) == (("mfa",), 300)


def test_wrong_arguments_are_a_configuration_error() -> None:
    """require_auth(claims) with nothing to require cannot pass every token quietly."""
    with pytest.raises(ConfigurationError, match=r"^require_auth needs acr_values="):
        require_auth(_claims(acr="mfa"))


@pytest.mark.parametrize(
    ("error", "challenge"),
    [
        pytest.param(
            InsufficientUserAuthentication("acr: x", acr_values=["mfa", "hwk"]),
            'Bearer error="insufficient_user_authentication", error_description="acr: x", '
            'acr_values="mfa hwk"',
            id="acr-values-only",
        ),
        pytest.param(
            InsufficientUserAuthentication("auth_time: x", max_age=0),
            'Bearer error="insufficient_user_authentication", error_description="auth_time: x", '
            'max_age="0"',
            id="max-age-only",
        ),
        pytest.param(
            InsufficientUserAuthentication("both", acr_values=["mfa"], max_age=300),
            'Bearer error="insufficient_user_authentication", error_description="both", '
            'acr_values="mfa", max_age="300"',
            id="both-in-rfc-order",
        ),
        pytest.param(
            InsufficientUserAuthentication("x", acr_values=['a"b\\c', "é"]),
            'Bearer error="insufficient_user_authentication", error_description="x", '
            'acr_values="a?b?c ?"',
            id="values-from-user-code-cannot-break-the-header",
        ),
    ],
)
def test_the_challenge_has_only_the_parameters_that_apply(
    error: InsufficientUserAuthentication, challenge: str
) -> None:
    """RFC 9470 §3: 401, error code, description, then acr_values and/or max_age."""
    response = error_response(error)
    assert response.status == 401
    assert dict(response.headers)["www-authenticate"] == challenge
    assert response.body == (
        b'{"error":"insufficient_user_authentication","error_description":"'
        + error.description.encode()
        + b'"}'
    )


def test_adapters_answer_it_when_user_code_raises_it() -> None:
    """It is a refusal every adapter renders (a view may call require_auth itself)."""
    assert InsufficientUserAuthentication in REFUSALS
    assert issubclass(InsufficientUserAuthentication, BearerGuardError)
