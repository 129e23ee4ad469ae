"""AccessTokenClaims and RefreshTokenClaims."""

from __future__ import annotations

from typing import Any

import pytest

from bearerguard import ConfigurationError
from bearerguard.issuing import AccessTokenClaims, RefreshTokenClaims

BASE: dict[str, Any] = {
    "iss": "https://login.example.com",
    "sub": "user-42",
    "aud": "api://orders",
    "exp": 1_700_000_900,
    "iat": 1_700_000_000,
    "jti": "j-1",
    "client_id": "web-app",
}


def test_payload_has_the_rfc9068_claims_in_order() -> None:
    claims = AccessTokenClaims(**BASE, scopes=("orders:read", "orders:write"))
    payload = claims.to_payload()
    assert payload == {**BASE, "scope": "orders:read orders:write"}
    assert list(payload) == ["iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"]


def test_payload_includes_optional_claims_when_set() -> None:
    claims = AccessTokenClaims(
        **{**BASE, "aud": ["api://orders", "api://billing"]},
        nbf=1_700_000_000,
        auth_time=1_699_999_000,
        roles=("admin",),
        extra={"tenant": "acme"},
    )
    assert claims.to_payload() == {
        **BASE,
        "aud": ["api://orders", "api://billing"],
        "nbf": 1_700_000_000,
        "auth_time": 1_699_999_000,
        "roles": ["admin"],
        "tenant": "acme",
    }
    assert claims.aud == ("api://orders", "api://billing")


def test_scope_is_the_space_separated_scopes() -> None:
    assert AccessTokenClaims(**BASE, scopes=("a", "b:c")).scope == "a b:c"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"sub": ""}, "sub must be a non-empty string", id="empty-sub"),
        pytest.param({"iss": None}, "iss must be a non-empty string", id="no-iss"),
        pytest.param({"aud": []}, "aud must be a non-empty string or strings", id="no-aud"),
        pytest.param(
            {"aud": ["a", ""]}, "aud must be a non-empty string or strings", id="empty-aud"
        ),
        pytest.param({"exp": 1_700_000_000}, "exp must be later than iat", id="exp-not-after-iat"),
        pytest.param(
            {"exp": 1.5e9}, "exp must be a non-negative whole number of seconds since the epoch",
            id="float-exp",
        ),
        pytest.param(
            {"nbf": True}, "nbf must be a non-negative whole number of seconds since the epoch",
            id="bool-nbf",
        ),
        pytest.param(
            {"scopes": ("read write",)},
            "scopes: each scope must be one non-empty scope token, got 'read write'",
            id="space-in-scope",
        ),
        pytest.param(
            {"scopes": ("a", "a")}, "scopes: scope 'a' is listed twice", id="duplicate-scope"
        ),
        pytest.param(
            {"extra": {"sub": "admin"}}, "extra claims may not set sub; use the fields instead",
            id="extra-overrides-sub",
        ),
        pytest.param({"roles": [""]}, "roles must be a non-empty string or strings",
                     id="empty-role"),
    ],
)  # fmt: skip
def test_access_claims_are_validated(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        AccessTokenClaims(**{**BASE, **changes})
    assert info.value.description == message


def test_a_single_role_string_is_one_role() -> None:
    # A lone string where a tuple is declared, on purpose: it is one role.
    claims = AccessTokenClaims(**BASE, roles="admin")  # type: ignore[arg-type]
    assert claims.roles == ("admin",)


def test_extra_claims_cannot_be_changed_afterwards() -> None:
    extra = {"tenant": "acme"}
    claims = AccessTokenClaims(**BASE, extra=extra)
    extra["tenant"] = "evil"
    assert claims.to_payload()["tenant"] == "acme"
    with pytest.raises(TypeError):
        # extra is a read-only mapping: the assignment must raise.
        claims.extra["tenant"] = "evil"  # type: ignore[index]


REFRESH: dict[str, Any] = {
    "sub": "user-42",
    "client_id": "web-app",
    "family": "f" * 22,
    "jti": "0" * 64,
    "iat": 1_700_000_000.0,
    "exp": 1_700_086_400.0,
}


def test_refresh_claims_hold_what_the_store_keeps() -> None:
    claims = RefreshTokenClaims(**REFRESH, scopes=("orders:read",), auth_time=1_699_999_000.0)
    assert (claims.sub, claims.client_id, claims.scopes, claims.auth_time) == (
        "user-42",
        "web-app",
        ("orders:read",),
        1_699_999_000.0,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"sub": ""}, "sub must be a non-empty string", id="empty-sub"),
        pytest.param({"exp": 1_700_000_000.0}, "exp must be later than iat", id="exp-at-iat"),
        pytest.param(
            {"iat": float("nan")}, "iat must be a non-negative number of seconds since the epoch",
            id="nan-iat",
        ),
        pytest.param({"client_id": None}, "client_id must be a string", id="no-client"),
    ],
)  # fmt: skip
def test_refresh_claims_are_validated(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        RefreshTokenClaims(**{**REFRESH, **changes})
    assert info.value.description == message
