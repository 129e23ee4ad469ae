"""The error hierarchy: each error carries its RFC 6750 code and HTTP status."""

from __future__ import annotations

import pytest

from bearerguard import _errors as errors


@pytest.mark.parametrize(
    "error",
    [
        errors.MalformedToken,
        errors.TokenTooLarge,
        errors.UnsupportedToken,
        errors.AlgorithmNotAllowed,
        errors.UnknownKey,
        errors.InvalidSignature,
        errors.IssuerMismatch,
    ],
)
def test_token_errors_are_invalid_token_401(error: type[errors.InvalidToken]) -> None:
    """Every way a token can be bad answers 401 invalid_token."""
    exc = error("bad")
    assert isinstance(exc, errors.InvalidToken)
    assert (exc.code, exc.status, exc.description) == ("invalid_token", 401, "bad")


def test_claim_errors_list_their_failures() -> None:
    """InvalidClaims and ExpiredToken are invalid_token errors carrying every failure."""
    exc = errors.ExpiredToken(["aud: x", "exp: token has expired"])
    assert isinstance(exc, errors.InvalidClaims)
    assert (exc.code, exc.status) == ("invalid_token", 401)
    assert exc.failures == ("aud: x", "exp: token has expired")
    assert exc.description == "aud: x; exp: token has expired"
    assert errors.InvalidClaims([]).description == "invalid claims"


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        pytest.param(errors.MissingToken("none"), None, 401, id="MissingToken"),
        pytest.param(errors.InvalidRequest("two"), "invalid_request", 400, id="InvalidRequest"),
        pytest.param(
            errors.InsufficientScope(["a", "b"], ["b"]), "insufficient_scope", 403, id="scope"
        ),
        pytest.param(
            errors.KeySetUnavailable("down"), "temporarily_unavailable", 503, id="KeySetUnavailable"
        ),
        pytest.param(errors.FetchError("down"), "temporarily_unavailable", 503, id="FetchError"),
        pytest.param(errors.ConfigurationError("oops"), "configuration_error", 500, id="config"),
        pytest.param(errors.InvalidKey("weak"), "invalid_key", 500, id="InvalidKey"),
    ],
)
def test_other_errors_carry_their_code_and_status(
    exc: errors.BearerGuardError, code: str | None, status: int
) -> None:
    """Each error class says how an adapter answers it."""
    assert isinstance(exc, errors.BearerGuardError)
    assert (exc.code, exc.status) == (code, status)


def test_insufficient_scope_names_the_missing_scopes_sorted() -> None:
    """The description lists missing scopes (deduplicated, sorted), never the token."""
    exc = errors.InsufficientScope(["a", "c", "b"], ["c", "b", "c"])
    assert exc.missing == ("b", "c")
    assert exc.description == "missing scope: b c"


def test_key_set_unavailable_carries_retry_after() -> None:
    """503 answers carry a Retry-After value (default 30 s)."""
    assert errors.KeySetUnavailable("down").retry_after == 30
    assert errors.KeySetUnavailable("down", retry_after=5).retry_after == 5


def test_configuration_and_key_errors_are_value_errors() -> None:
    """Start-up errors are also ValueErrors, for callers that catch those."""
    assert issubclass(errors.ConfigurationError, ValueError)
    assert issubclass(errors.InvalidKey, ValueError)
