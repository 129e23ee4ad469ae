"""require_scopes: every required scope must be granted."""

from __future__ import annotations

import pytest

from bearerguard import AccessClaims, ConfigurationError, InsufficientScope, StandardClaims
from bearerguard.verifier import require_scopes

CLAIMS = AccessClaims.from_payload({"iss": "https://a", "scope": "orders:read orders:write"})


@pytest.mark.parametrize(
    "scopes",
    [
        pytest.param((), id="nothing-required"),
        pytest.param(("orders:read",), id="one"),
        pytest.param(("orders:write", "orders:read"), id="all"),
        pytest.param(("orders:read", "orders:read"), id="repeated"),
    ],
)
def test_granted_scopes_pass(scopes: tuple[str, ...]) -> None:
    require_scopes(CLAIMS, *scopes)  # does not raise


@pytest.mark.parametrize(
    ("scopes", "missing"),
    [
        pytest.param(("admin",), ("admin",), id="one-missing"),
        pytest.param(("orders:read", "b", "a"), ("a", "b"), id="some-missing-sorted"),
        pytest.param(("orders",), ("orders",), id="prefix-is-not-a-match"),
        pytest.param(("ORDERS:READ",), ("ORDERS:READ",), id="case-sensitive"),
    ],
)
def test_missing_scopes_raise_insufficient_scope(
    scopes: tuple[str, ...], missing: tuple[str, ...]
) -> None:
    with pytest.raises(InsufficientScope) as caught:
        require_scopes(CLAIMS, *scopes)
    error = caught.value
    assert (error.required, error.missing, error.status, error.code) == (
        scopes,
        missing,
        403,
        "insufficient_scope",
    )


def test_scp_array_counts_as_granted() -> None:
    claims = AccessClaims.from_payload({"scp": ["orders:read"]})
    require_scopes(claims, "orders:read")  # does not raise


@pytest.mark.parametrize(
    "scope",
    [
        pytest.param("", id="empty"),
        pytest.param("a b", id="two-in-one"),
        pytest.param(b"a", id="bytes"),
    ],
)
def test_malformed_required_scope_is_a_configuration_error(scope: object) -> None:
    with pytest.raises(ConfigurationError):
        # Scopes of the wrong type on purpose: their refusal is the test.
        require_scopes(CLAIMS, scope)  # type: ignore[arg-type]


def test_claims_without_scopes_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no 'scopes'"):
        require_scopes(StandardClaims.from_payload({}), "orders:read")
