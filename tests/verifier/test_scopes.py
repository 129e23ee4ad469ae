"""require_scopes and require_roles: every required scope, every required role."""

from __future__ import annotations

import pytest

from bearerguard import (
    AccessClaims,
    ConfigurationError,
    InsufficientRole,
    InsufficientScope,
    StandardClaims,
)
from bearerguard.verifier import require_roles, require_scopes

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


# -- require_roles ---------------------------------------------------------------------------

ROLE_CLAIMS = AccessClaims.from_payload({"iss": "https://a", "roles": ["admin", "Order Admin"]})


@pytest.mark.parametrize(
    "roles",
    [
        pytest.param(("admin",), id="one"),
        pytest.param(("Order Admin", "admin"), id="all-spaces-allowed"),
        pytest.param(("admin", "admin"), id="repeated"),
    ],
)
def test_held_roles_pass(roles: tuple[str, ...]) -> None:
    require_roles(ROLE_CLAIMS, *roles)  # does not raise


@pytest.mark.parametrize(
    ("roles", "missing", "description"),
    [
        pytest.param(("auditor",), ("auditor",), "missing role: auditor", id="one-missing"),
        pytest.param(
            ("admin", "b", "a"), ("a", "b"), "missing role: a, b", id="some-missing-sorted"
        ),
        pytest.param(("Order",), ("Order",), "missing role: Order", id="part-is-not-a-match"),
        pytest.param(("ADMIN",), ("ADMIN",), "missing role: ADMIN", id="case-sensitive"),
    ],
)
def test_missing_roles_raise_insufficient_role(
    roles: tuple[str, ...], missing: tuple[str, ...], description: str
) -> None:
    """403 with the insufficient_scope code (RFC 6750 has none for roles), roles described."""
    with pytest.raises(InsufficientRole) as caught:
        require_roles(ROLE_CLAIMS, *roles)
    error = caught.value
    assert (error.required, error.missing, error.status, error.code, error.description) == (
        roles,
        missing,
        403,
        "insufficient_scope",
        description,
    )


@pytest.mark.parametrize(
    "roles",
    [
        pytest.param((), id="none"),
        pytest.param(("",), id="empty"),
        pytest.param((["admin"],), id="a-list"),
        pytest.param((b"admin",), id="bytes"),
    ],
)
def test_malformed_required_roles_are_a_configuration_error(roles: tuple[object, ...]) -> None:
    """No roles at all must not mean "any token": require_roles() is refused."""
    with pytest.raises(ConfigurationError, match="require_roles"):
        require_roles(ROLE_CLAIMS, *roles)  # type: ignore[arg-type]


def test_claims_without_roles_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no 'roles' set"):
        require_roles(StandardClaims.from_payload({}), "admin")


def test_require_roles_is_exported_beside_require_scopes() -> None:
    """bearerguard.require_roles is bearerguard.verifier.require_roles."""
    import bearerguard

    assert bearerguard.require_roles is require_roles
