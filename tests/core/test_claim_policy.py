"""The application's claim policy: required claim values, its own checks, and no ID tokens.

The Cognito token shapes follow Amazon Cognito's "Understanding the access
token" and "Understanding the identity (ID) token" pages: access tokens carry
``token_use: "access"`` and ``client_id`` but no ``aud``; ID tokens carry
``token_use: "id"`` and ``aud`` (the app client's id), no ``client_id``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bearerguard import (
    AccessClaims,
    ClaimSources,
    ConfigurationError,
    ExpiredToken,
    InvalidClaims,
    Issuer,
    StandardClaims,
    Validator,
)

from .conftest import Keys
from .helpers import AUDIENCE, ISSUER, NOW, access_payload, expect_error, make_token

POOL = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example"
CLIENTS = frozenset({"orders-web", "orders-mobile"})
COGNITO = Validator(
    ignore_aud=True,
    required_claims={"token_use": "access", "client_id": CLIENTS},
    claim_sources=ClaimSources(roles="cognito:groups"),
)


def _failures(validator: Validator, **claims: Any) -> list[str]:
    return validator.validate(AccessClaims.from_payload(access_payload(**claims)), NOW)


def _cognito_access(**overrides: Any) -> dict[str, Any]:
    payload = {
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "cognito:groups": ["admin"],
        "iss": POOL,
        "client_id": "orders-web",
        "origin_jti": "11111111-2222-3333-4444-555555555555",
        "event_id": "66666666-7777-8888-9999-000000000000",
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": NOW - 60,
        "exp": NOW + 3600,
        "iat": NOW - 60,
        "jti": "aaaaaaaa-1111-2222-3333-444444444444",
        "username": "ann",
    }
    payload.update(overrides)
    return {k: v for k, v in payload.items() if v is not None}


def _cognito_id(**overrides: Any) -> dict[str, Any]:
    payload = _cognito_access(
        client_id=None, scope=None, username=None, token_use="id", aud="orders-web"
    )
    payload.update({"cognito:username": "ann", "email": "ann@example.com"})
    payload.update(overrides)
    return payload


# -- configurations that would take ID tokens for access tokens ----------------------------------


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({}, id="ignore_aud-alone"),
        pytest.param({"aud": AUDIENCE}, id="aud-set-but-ignored"),
        pytest.param({"required_claims": {"azp": "orders-web"}}, id="azp-id-tokens-carry-it"),
        pytest.param({"required_claims": {"iss": ISSUER}}, id="iss-binds-nothing"),
        pytest.param({"azp": "orders-web"}, id="azp-expectation"),
        pytest.param({"allowed_typ": ["at+jwt"]}, id="at+jwt-but-typ-optional"),
        pytest.param({"require_typ": True}, id="typ-required-but-jwt-allowed"),
        pytest.param({"checks": [lambda claims: None]}, id="checks-are-opaque"),
    ],
)
def test_ignore_aud_without_a_binding_is_refused_at_construction(config: dict[str, Any]) -> None:
    """No audience and nothing that tells access tokens from ID tokens: ConfigurationError."""
    error = expect_error(
        lambda: Validator(ignore_aud=True, **config), ConfigurationError, match="ID tokens"
    )
    # The message says what to configure instead.
    for advice in ("aud=", "required_claims={'token_use': 'access'", "rfc9068=True"):
        assert advice in error.description


def test_a_validator_without_aud_says_how_to_bind_tokens() -> None:
    """Forgetting aud (no ignore_aud) names the audience and the no-aud alternatives."""
    error = expect_error(lambda: Validator(), ConfigurationError, match="needs aud=")
    assert "token_use" in error.description
    assert "rfc9068=True" in error.description


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"required_claims": {"token_use": "access"}}, id="token_use-cognito"),
        pytest.param({"required_claims": {"client_id": ["a", "b"]}}, id="client_id-rfc9068"),
        pytest.param({"required_claims": {"cid": "0oa1"}}, id="cid-okta"),
        pytest.param({"required_claims": {"appid": "app"}}, id="appid-entra-v1"),
        pytest.param({"required_claims": {"typ": "Bearer"}}, id="typ-claim-keycloak"),
        pytest.param({"rfc9068": True}, id="rfc9068"),
        pytest.param({"allowed_typ": "at+jwt", "require_typ": True}, id="typ-at+jwt-required"),
    ],
)
def test_ignore_aud_with_a_binding_is_accepted(config: dict[str, Any]) -> None:
    """Each way of telling access tokens apart lets ignore_aud=True through."""
    assert Validator(ignore_aud=True, **config).ignore_aud is True


# -- required claim values -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("required", "claims", "failures"),
    [
        pytest.param({"token_use": "access"}, {"token_use": "access"}, [], id="equal"),
        pytest.param(
            {"token_use": "access"},
            {"token_use": "id"},
            ["token_use: not an accepted value"],
            id="other-value",
        ),
        pytest.param(
            {"token_use": "access"},
            {},
            ["token_use: required claim is missing"],
            id="missing",
        ),
        pytest.param(
            {"token_use": "access"},
            {"token_use": ["access"]},
            ["token_use: not an accepted value"],
            id="array-holding-the-value",
        ),
        pytest.param(
            {"token_use": "1"}, {"token_use": 1}, ["token_use: not an accepted value"], id="number"
        ),
        pytest.param({"client_id": CLIENTS}, {"client_id": "orders-web"}, [], id="one-of-set"),
        pytest.param(
            {"client_id": CLIENTS},
            {"client_id": "reports"},
            ["client_id: not an accepted value"],
            id="not-in-set",
        ),
        pytest.param(
            {"client_id": CLIENTS, "token_use": "access"},
            {"client_id": None},
            ["client_id: required claim is missing", "token_use: required claim is missing"],
            id="every-failure-in-order",
        ),
    ],
)
def test_required_claim_values(
    required: dict[str, Any], claims: dict[str, Any], failures: list[str]
) -> None:
    """The claim must be a string equal to the value, or to one of the set's values."""
    assert _failures(Validator(aud=AUDIENCE, required_claims=required), **claims) == failures


def test_required_claims_come_after_the_built_in_checks() -> None:
    """Failures are listed together: the built-in ones first, then the required values."""
    v = Validator(aud=AUDIENCE, required_claims={"token_use": "access"})
    assert _failures(v, aud="api://other", exp=NOW - 3600) == [
        "aud: token is not meant for this audience",
        "exp: token has expired",
        "token_use: required claim is missing",
    ]


def test_required_claims_are_kept_read_only() -> None:
    """The setting is normalised to accepted sets, in a mapping that cannot be changed."""
    v = Validator(aud=AUDIENCE, required_claims={"token_use": "access", "client_id": ["a", "b"]})
    assert v.required_claims == {"token_use": frozenset({"access"}), "client_id": {"a", "b"}}
    with pytest.raises(TypeError):
        v.required_claims["x"] = frozenset()  # type: ignore[index]


@pytest.mark.parametrize(
    ("required", "match"),
    [
        pytest.param(["token_use"], "required_claims must map", id="a-list"),
        pytest.param({"": "x"}, "claim names", id="empty-name"),
        pytest.param({"token_use": ""}, "required_claims['token_use']", id="empty-value"),
        pytest.param({"client_id": []}, "required_claims['client_id']", id="empty-set"),
        pytest.param({"token_use": 1}, "required_claims['token_use']", id="number"),
        pytest.param({"token_use": True}, "required_claims['token_use']", id="bool"),
    ],
)
def test_bad_required_claims_are_configuration_errors(required: Any, match: str) -> None:
    """Each malformed required_claims is refused at construction, naming it."""
    expect_error(
        lambda: Validator(aud=AUDIENCE, required_claims=required),
        ConfigurationError,
        match=re.escape(match),
    )


# -- the application's own checks ----------------------------------------------------------------


def _tenant_check(claims: AccessClaims) -> Iterator[str]:
    if claims.raw.get("tid") not in {"t1", "t2"}:
        yield "tid: tenant is not allowed"


def _raising_check(claims: AccessClaims) -> None:
    raise InvalidClaims(["acr: too weak", "amr: no mfa"])


@pytest.mark.parametrize(
    ("check", "failures"),
    [
        pytest.param(lambda claims: None, [], id="none-passes"),
        pytest.param(lambda claims: [], [], id="empty-list-passes"),
        pytest.param(lambda claims: "tid: missing", ["tid: missing"], id="one-string"),
        pytest.param(lambda claims: ["a: x", "b: y"], ["a: x", "b: y"], id="a-list"),
        pytest.param(_tenant_check, ["tid: tenant is not allowed"], id="a-generator"),
        pytest.param(_raising_check, ["acr: too weak", "amr: no mfa"], id="raises-invalid-claims"),
    ],
)
def test_checks_add_their_failures(check: Any, failures: list[str]) -> None:
    """What a check returns (or raises as InvalidClaims) is listed with the other failures."""
    v = Validator(aud=AUDIENCE, checks=[check])
    assert _failures(v) == failures


def test_checks_run_in_order_after_every_built_in_check() -> None:
    """Built-in failures, required values, then each check's, in the order given."""
    v = Validator(
        aud=AUDIENCE,
        required_claims={"token_use": "access"},
        checks=[lambda c: "first: x", lambda c: ["second: y"]],
    )
    assert _failures(v, exp=NOW - 3600) == [
        "exp: token has expired",
        "token_use: required claim is missing",
        "first: x",
        "second: y",
    ]


def test_checks_receive_the_claims_of_the_type_in_use(keys: Keys) -> None:
    """A check sees the claims as built: the subclass, its fields, the mapped roles."""

    @dataclass(frozen=True, slots=True, kw_only=True)
    class TenantClaims(AccessClaims):
        tid: str | None = None

    seen: list[Any] = []

    def check(claims: TenantClaims) -> str | None:
        seen.append(claims)
        return None if claims.tid == "t1" else "tid: tenant is not allowed"

    v = Validator(aud=AUDIENCE, checks=[check], claim_sources=ClaimSources(roles="groups"))
    issuer = Issuer(ISSUER, keys.jwks(), v)
    good = make_token(
        {"alg": "ES256", "kid": "p256"}, access_payload(tid="t1", groups=["g"]), keys.p256
    )
    _, claims = issuer.verify_and_validate(good, TenantClaims, now=NOW)
    assert seen == [claims]
    assert (type(claims), claims.roles) == (TenantClaims, frozenset({"g"}))
    bad = make_token({"alg": "ES256", "kid": "p256"}, access_payload(tid="t9"), keys.p256)
    error = expect_error(
        lambda: issuer.verify_and_validate(bad, TenantClaims, now=NOW), InvalidClaims, token=bad
    )
    assert isinstance(error, InvalidClaims)
    assert error.failures == ("tid: tenant is not allowed",)


def test_an_expired_token_failing_a_check_is_still_expired() -> None:
    """A check's failures do not hide the expiry: ExpiredToken lists them all."""
    v = Validator(aud=AUDIENCE, checks=[lambda c: "tid: missing"])
    claims = AccessClaims.from_payload(access_payload(exp=NOW - 3600))
    assert v.validate(claims, NOW) == ["exp: token has expired", "tid: missing"]


@pytest.mark.parametrize(
    "result",
    [
        pytest.param(7, id="a-number"),
        pytest.param([""], id="an-empty-failure"),
        pytest.param(["ok", None], id="a-none-failure"),
        pytest.param(False, id="false"),
    ],
)
def test_a_check_returning_something_else_is_a_configuration_error(result: Any) -> None:
    """A check that returns neither None nor failure strings is a bug: loud, never a pass."""
    v = Validator(aud=AUDIENCE, checks=[lambda claims: result])
    claims = AccessClaims.from_payload(access_payload())
    expect_error(lambda: v.validate(claims, NOW), ConfigurationError, match="claim check")


@pytest.mark.parametrize(
    "checks",
    [
        pytest.param(lambda claims: None, id="a-function-not-a-list"),
        pytest.param(["tid"], id="a-string-in-the-list"),
        pytest.param("check", id="a-string"),
        pytest.param(7, id="a-number"),
    ],
)
def test_bad_checks_are_configuration_errors(checks: Any) -> None:
    """checks must be a list of functions: anything else fails at construction."""
    expect_error(lambda: Validator(aud=AUDIENCE, checks=checks), ConfigurationError, match="check")


# -- Amazon Cognito: no aud, token_use and client_id ---------------------------------------------


def _cognito_issuer(keys: Keys) -> Issuer:
    return Issuer(POOL, keys.jwks(), COGNITO)


def _sign(keys: Keys, payload: dict[str, Any]) -> str:
    return make_token({"alg": "RS256", "kid": "rsa"}, payload, keys.rsa)


def test_a_cognito_access_token_is_accepted_with_the_safe_configuration(keys: Keys) -> None:
    """token_use "access" and a client of this API: accepted, groups as roles."""
    _, claims = _cognito_issuer(keys).verify_and_validate(_sign(keys, _cognito_access()), now=NOW)
    assert (claims.client_id, claims.roles, claims.aud) == (
        "orders-web",
        frozenset({"admin"}),
        (),
    )


@pytest.mark.parametrize(
    ("payload", "failures"),
    [
        pytest.param(
            _cognito_id(),
            ("token_use: not an accepted value", "client_id: required claim is missing"),
            id="id-token",
        ),
        pytest.param(
            _cognito_access(client_id="reports"),
            ("client_id: not an accepted value",),
            id="another-app-client",
        ),
        pytest.param(
            _cognito_access(token_use=None), ("token_use: required claim is missing",), id="no-use"
        ),
    ],
)
def test_cognito_tokens_not_for_this_api_are_refused(
    keys: Keys, payload: dict[str, Any], failures: tuple[str, ...]
) -> None:
    """A Cognito ID token (and another client's access token) is InvalidClaims: 401."""
    token = _sign(keys, payload)
    error = expect_error(
        lambda: _cognito_issuer(keys).verify_and_validate(token, now=NOW),
        InvalidClaims,
        token=token,
    )
    assert isinstance(error, InvalidClaims)
    assert not isinstance(error, ExpiredToken)
    assert error.failures == failures
    assert (error.status, error.code) == (401, "invalid_token")


def test_required_claims_work_for_standard_claims_too(keys: Keys) -> None:
    """The values are read from the payload, whatever the claims type."""
    token = _sign(keys, _cognito_id())
    issuer = _cognito_issuer(keys)
    error = expect_error(
        lambda: issuer.verify_and_validate(token, StandardClaims, now=NOW),
        InvalidClaims,
        token=token,
    )
    assert isinstance(error, InvalidClaims)
    assert error.failures[0] == "token_use: not an accepted value"
