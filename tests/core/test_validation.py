"""Validator: defaults fitted to access tokens, every check, every ignore_* flag, typ, now."""

from __future__ import annotations

import time
from dataclasses import FrozenInstanceError
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from bearerguard import (
    AccessClaims,
    ConfigurationError,
    ExpiredToken,
    InvalidClaims,
    Issuer,
    StandardClaims,
    Validator,
    validate_standard_claims,
)
from bearerguard._validation import RFC9068_REQUIRED

from .conftest import Keys
from .helpers import AUDIENCE, ISSUER, NOW, access_payload, expect_error, make_token

UTC = timezone.utc


def _failures(validator: Validator, now: Any = NOW, **claims: Any) -> list[str]:
    return validator.validate(AccessClaims.from_payload(access_payload(**claims)), now)


def _v(**config: Any) -> Validator:
    return Validator(aud=AUDIENCE, **config)


# What binds tokens to the API when ignore_aud=True: the client the payload names.
_BOUND: dict[str, Any] = {"required_claims": {"client_id": "client-7"}}


# -- construction ---------------------------------------------------------------------------


def test_validator_without_aud_is_a_configuration_error() -> None:
    """Forgetting the audience fails at start-up, not open at request time."""
    expect_error(lambda: Validator(), ConfigurationError, match="aud=")


@pytest.mark.parametrize(
    "config",
    [
        pytest.param({"aud": ""}, id="aud-empty-string"),
        pytest.param({"aud": []}, id="aud-empty-list"),
        pytest.param({"aud": [AUDIENCE, ""]}, id="aud-with-empty"),
        pytest.param({"aud": 7}, id="aud-number"),
        pytest.param({"aud": [7]}, id="aud-list-of-number"),
        pytest.param({"aud": AUDIENCE, "leeway": -1}, id="leeway-negative"),
        pytest.param({"aud": AUDIENCE, "leeway": 301}, id="leeway-over-5-minutes"),
        pytest.param({"aud": AUDIENCE, "leeway": float("nan")}, id="leeway-nan"),
        pytest.param({"aud": AUDIENCE, "leeway": True}, id="leeway-bool"),
        pytest.param({"aud": AUDIENCE, "leeway": "60"}, id="leeway-string"),
        pytest.param({"aud": AUDIENCE, "max_age": -5}, id="max_age-negative"),
        pytest.param({"aud": AUDIENCE, "max_age": float("inf")}, id="max_age-infinite"),
        pytest.param({"aud": AUDIENCE, "iss": ""}, id="iss-empty"),
        pytest.param({"aud": AUDIENCE, "sub": 7}, id="sub-number"),
        pytest.param({"aud": AUDIENCE, "nonce": ""}, id="nonce-empty"),
        pytest.param({"aud": AUDIENCE, "required_amrs": [""]}, id="amr-empty"),
        pytest.param({"aud": AUDIENCE, "required_amrs": 5}, id="amr-number"),
        pytest.param({"aud": AUDIENCE, "allowed_typ": [""]}, id="typ-empty"),
        pytest.param({"aud": AUDIENCE, "ignore_exp": "false"}, id="ignore-flag-string"),
        pytest.param({"aud": AUDIENCE, "ignore_aud": 1}, id="ignore-flag-int"),
        pytest.param({"aud": AUDIENCE, "rfc9068": "yes"}, id="rfc9068-string"),
    ],
)
def test_validator_rejects_bad_configuration(config: dict[str, Any]) -> None:
    """Each malformed setting is a ConfigurationError at construction."""
    expect_error(lambda: Validator(**config), ConfigurationError)


def test_validator_with_ignore_aud_and_a_binding_needs_no_audience() -> None:
    """``ignore_aud=True`` with a required ``client_id`` goes without an audience."""
    v = Validator(ignore_aud=True, required_claims={"client_id": "client-7"})
    assert v.audiences == frozenset()
    assert _failures(v, aud=None) == []


def test_validator_is_frozen() -> None:
    """A Validator cannot be changed after construction."""
    v = _v()
    with pytest.raises(FrozenInstanceError):
        # The validator is frozen: the assignment must raise.
        v.aud = "api://other"  # type: ignore[misc]


def test_validator_normalises_its_settings() -> None:
    """Audiences, leeway, max_age and typ values are normalised once."""
    v = Validator(
        aud=[AUDIENCE, "api://billing"],
        leeway=timedelta(seconds=30),
        max_age=timedelta(minutes=5),
        allowed_typ=["Application/AT+JWT", "jwt"],
        required_amrs="mfa",
    )
    assert v.audiences == frozenset({AUDIENCE, "api://billing"})
    assert v.leeway == 30.0
    assert v.max_age == 300.0
    assert v.allowed_typ == frozenset({"at+jwt", "jwt"})
    assert v.required_amrs == ("mfa",)


def test_validator_allowed_typ_as_a_single_string() -> None:
    """``allowed_typ="at+jwt"`` is one type, not the characters a, t, +, j, w, t."""
    v = _v(allowed_typ="at+jwt")
    assert v.allowed_typ == frozenset({"at+jwt"})
    assert v.check_typ("at+jwt") is None
    assert v.check_typ("t") is not None


# -- defaults -------------------------------------------------------------------------------


def test_valid_access_token_has_no_failures() -> None:
    """The default policy passes a complete, current token."""
    assert _failures(_v()) == []


@pytest.mark.parametrize(
    ("claim", "failure"),
    [
        pytest.param("iss", "iss: required claim is missing", id="iss"),
        pytest.param("exp", "exp: required claim is missing", id="exp"),
        pytest.param("aud", "aud: required claim is missing", id="aud"),
    ],
)
def test_default_policy_requires_iss_exp_and_aud(claim: str, failure: str) -> None:
    """iss, exp and aud are required."""
    assert _failures(_v(), **{claim: None}) == [failure]


@pytest.mark.parametrize("claim", ["sub", "iat", "nbf", "jti", "client_id", "scope"])
def test_default_policy_does_not_require_other_claims(claim: str) -> None:
    """sub, iat, nbf and the rest are checked only when present."""
    assert _failures(_v(), **{claim: None}) == []


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        pytest.param({"exp": NOW - 59}, [], id="exp-59s-ago-within-leeway"),
        pytest.param({"exp": NOW - 60}, ["exp: token has expired"], id="exp-60s-ago"),
        pytest.param({"nbf": NOW + 60}, [], id="nbf-in-60s-within-leeway"),
        pytest.param({"nbf": NOW + 61}, ["nbf: token is not valid yet"], id="nbf-in-61s"),
        pytest.param({"iat": NOW + 60}, [], id="iat-in-60s-within-leeway"),
        pytest.param({"iat": NOW + 61}, ["iat: token was issued in the future"], id="iat-in-61s"),
        pytest.param({"sub": ""}, ["sub: must not be empty"], id="sub-empty"),
    ],
)
def test_default_leeway_is_60_seconds(claims: dict[str, Any], expected: list[str]) -> None:
    """exp, nbf and iat get 60 s of clock-skew leeway, no more."""
    assert _failures(_v(), **claims) == expected


@pytest.mark.parametrize(
    ("leeway", "exp_offset", "expired"),
    [
        pytest.param(0, 0, True, id="leeway-0-exp-now"),
        pytest.param(0, 1, False, id="leeway-0-exp-in-1s"),
        pytest.param(timedelta(seconds=10), -9, False, id="timedelta-10s-exp-9s-ago"),
        pytest.param(timedelta(seconds=10), -10, True, id="timedelta-10s-exp-10s-ago"),
        pytest.param(300, -299, False, id="leeway-300"),
    ],
)
def test_leeway_is_configurable(leeway: Any, exp_offset: int, expired: bool) -> None:
    """leeway accepts seconds or a timedelta; exp is expired at exp + leeway."""
    failures = _failures(_v(leeway=leeway), exp=NOW + exp_offset)
    assert failures == (["exp: token has expired"] if expired else [])


# -- expectations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "claims", "expected"),
    [
        pytest.param({"iss": ISSUER}, {}, [], id="iss-match"),
        pytest.param(
            {"iss": ISSUER},
            {"iss": "https://other.example"},
            ["iss: token is from another issuer"],
            id="iss-mismatch",
        ),
        pytest.param({"sub": "user-42"}, {}, [], id="sub-match"),
        pytest.param({"sub": "alice"}, {}, ["sub: unexpected subject"], id="sub-mismatch"),
        pytest.param({"sub": "alice"}, {"sub": None}, ["sub: unexpected subject"], id="sub-absent"),
        pytest.param({"jti": "token-1"}, {}, [], id="jti-match"),
        pytest.param({"jti": "token-2"}, {}, ["jti: unexpected token id"], id="jti-mismatch"),
        pytest.param(
            {"jti": "token-2"}, {"jti": None}, ["jti: unexpected token id"], id="jti-absent"
        ),
        pytest.param({"nonce": "n-1"}, {"nonce": "n-1"}, [], id="nonce-match"),
        pytest.param(
            {"nonce": "n-1"}, {"nonce": "n-2"}, ["nonce: does not match"], id="nonce-mismatch"
        ),
        pytest.param({"nonce": "n-1"}, {}, ["nonce: does not match"], id="nonce-absent"),
        pytest.param({"azp": "client-7"}, {"azp": "client-7"}, [], id="azp-match"),
        pytest.param(
            {"azp": "client-7"},
            {"azp": "client-8"},
            ["azp: unexpected authorized party"],
            id="azp-mismatch",
        ),
        pytest.param(
            {"azp": "client-7"}, {}, ["azp: unexpected authorized party"], id="azp-absent"
        ),
        pytest.param(
            {"required_amrs": ["pwd", "otp"]}, {"amr": ["otp", "pwd", "hwk"]}, [], id="amr-all"
        ),
        pytest.param(
            {"required_amrs": ["pwd", "otp"]},
            {"amr": ["pwd"]},
            ["amr: missing authentication methods otp"],
            id="amr-missing-one",
        ),
        pytest.param(
            {"required_amrs": ["pwd", "otp"]},
            {},
            ["amr: missing authentication methods pwd otp"],
            id="amr-absent",
        ),
        pytest.param({"max_age": 600}, {"auth_time": NOW - 600}, [], id="max_age-fresh"),
        pytest.param({"max_age": 600}, {"auth_time": NOW - 660}, [], id="max_age-within-leeway"),
        pytest.param(
            {"max_age": 600},
            {"auth_time": NOW - 661},
            ["auth_time: authentication is older than max_age"],
            id="max_age-too-old",
        ),
        pytest.param(
            {"max_age": 600},
            {},
            ["auth_time: required claim is missing (max_age is set)"],
            id="max_age-auth_time-absent",
        ),
        pytest.param(
            {"max_age": 600}, {"auth_time": NOW + 60}, [], id="max_age-ahead-within-leeway"
        ),
        pytest.param(
            {"max_age": 600},
            {"auth_time": NOW + 3600},
            ["auth_time: authentication is in the future"],
            id="max_age-auth_time-in-the-future",
        ),
    ],
)
def test_configured_expectations_are_checked(
    config: dict[str, Any], claims: dict[str, Any], expected: list[str]
) -> None:
    """sub, jti, nonce, azp, amr and auth_time are checked when the Validator expects them."""
    assert _failures(_v(**config), **claims) == expected


@pytest.mark.parametrize(
    ("flag", "config", "claims"),
    [
        pytest.param("ignore_iss", {"iss": ISSUER}, {"iss": None}, id="ignore_iss-missing"),
        pytest.param("ignore_iss", {"iss": ISSUER}, {"iss": "https://x"}, id="ignore_iss-mismatch"),
        pytest.param("ignore_sub", {}, {"sub": ""}, id="ignore_sub-empty"),
        pytest.param("ignore_sub", {"sub": "alice"}, {}, id="ignore_sub-mismatch"),
        pytest.param("ignore_aud", _BOUND, {"aud": None}, id="ignore_aud-missing"),
        pytest.param("ignore_aud", _BOUND, {"aud": "api://other"}, id="ignore_aud-mismatch"),
        pytest.param("ignore_exp", {}, {"exp": None}, id="ignore_exp-missing"),
        pytest.param("ignore_exp", {}, {"exp": NOW - 3600}, id="ignore_exp-expired"),
        pytest.param("ignore_jti", {"jti": "token-2"}, {}, id="ignore_jti"),
        pytest.param("ignore_iat", {}, {"iat": NOW + 3600}, id="ignore_iat-future"),
        pytest.param("ignore_auth_time", {"max_age": 60}, {}, id="ignore_auth_time-missing"),
        pytest.param(
            "ignore_auth_time", {"max_age": 60}, {"auth_time": 0}, id="ignore_auth_time-old"
        ),
        pytest.param("ignore_nonce", {"nonce": "n-1"}, {}, id="ignore_nonce"),
        pytest.param("ignore_amr", {"required_amrs": ["mfa"]}, {}, id="ignore_amr"),
        pytest.param("ignore_azp", {"azp": "client-7"}, {}, id="ignore_azp"),
    ],
)
def test_every_ignore_flag_skips_exactly_its_check(
    flag: str, config: dict[str, Any], claims: dict[str, Any]
) -> None:
    """Without the flag the check fails; with it the token passes."""
    assert _failures(_v(**config), **claims) != []
    assert _failures(_v(**config, **{flag: True}), **claims) == []


def test_nbf_is_checked_even_with_every_ignore_flag() -> None:
    """There is no switch for nbf: a not-yet-valid token is never accepted."""
    flags = dict.fromkeys(
        (
            "ignore_iss",
            "ignore_sub",
            "ignore_exp",
            "ignore_jti",
            "ignore_iat",
            "ignore_auth_time",
            "ignore_nonce",
            "ignore_amr",
            "ignore_azp",
        ),
        True,
    )
    assert _failures(_v(**flags), nbf=NOW + 3600) == ["nbf: token is not valid yet"]


def test_validate_returns_every_failed_check_in_order() -> None:
    """One call lists every failure, not just the first."""
    v = _v(iss=ISSUER, sub="alice", jti="j", max_age=60, nonce="n", required_amrs=["mfa"], azp="c")
    payload = {
        "iss": "https://other.example",
        "sub": "bob",
        "aud": "api://other",
        "exp": NOW - 3600,
        "nbf": NOW + 3600,
        "iat": NOW + 3600,
        "jti": "other",
        "auth_time": NOW - 3600,
        "nonce": "other",
        "amr": ["pwd"],
        "azp": "other",
    }
    claims = StandardClaims.from_payload(payload)
    assert v.validate(claims, NOW) == [
        "iss: token is from another issuer",
        "sub: unexpected subject",
        "aud: token is not meant for this audience",
        "exp: token has expired",
        "nbf: token is not valid yet",
        "iat: token was issued in the future",
        "jti: unexpected token id",
        "auth_time: authentication is older than max_age",
        "nonce: does not match",
        "amr: missing authentication methods mfa",
        "azp: unexpected authorized party",
    ]
    assert validate_standard_claims(claims, v, NOW) == v.validate(claims, NOW)


# -- typ policy (RFC 8725 §3.11, RFC 9068 §2.1) --------------------------------------------------


@pytest.mark.parametrize(
    ("typ", "accepted"),
    [
        pytest.param(None, True, id="absent"),
        pytest.param("at+jwt", True, id="at+jwt"),
        pytest.param("application/at+jwt", True, id="application/at+jwt"),
        pytest.param("AT+JWT", True, id="AT+JWT"),
        pytest.param("JWT", True, id="JWT"),
        pytest.param("jwt", True, id="jwt"),
        pytest.param("id_token+jwt", False, id="id_token+jwt"),
        pytest.param("dpop+jwt", False, id="dpop+jwt"),
        pytest.param("logout+jwt", False, id="logout+jwt"),
        pytest.param("at+jwt; charset=utf-8", False, id="parameters"),
        pytest.param("", False, id="empty"),
    ],
)
def test_default_typ_policy(typ: str | None, accepted: bool) -> None:
    """By default: at+jwt, application/at+jwt, JWT or no typ; nothing else."""
    failure = _v().check_typ(typ)
    if accepted:
        assert failure is None
    else:
        assert failure == "typ: token type is not accepted (wrong kind of token)"


def test_require_typ_refuses_a_token_without_typ() -> None:
    """``require_typ=True`` turns an absent typ into a failure."""
    assert _v(require_typ=True).check_typ(None) == "typ: header typ is required"
    assert _v(require_typ=True).check_typ("JWT") is None


def test_allowed_typ_none_accepts_any_typ() -> None:
    """``allowed_typ=None`` switches the typ check off."""
    assert _v(allowed_typ=None).check_typ("dpop+jwt") is None


@pytest.mark.parametrize(
    ("typ", "failure"),
    [
        pytest.param("at+jwt", None, id="at+jwt"),
        pytest.param("application/at+jwt", None, id="application/at+jwt"),
        pytest.param("JWT", "typ: token type is not accepted (wrong kind of token)", id="JWT"),
        pytest.param(None, "typ: header typ is required", id="absent"),
    ],
)
def test_rfc9068_mode_requires_at_jwt(typ: str | None, failure: str | None) -> None:
    """``rfc9068=True`` accepts at+jwt only, and requires it."""
    assert _v(rfc9068=True).check_typ(typ) == failure


def test_rfc9068_mode_overrides_a_looser_typ_setting() -> None:
    """The strict profile wins over allowed_typ / require_typ."""
    v = _v(rfc9068=True, allowed_typ=None, require_typ=False)
    assert v.allowed_typ == frozenset({"at+jwt"})
    assert v.require_typ is True


@pytest.mark.parametrize("claim", RFC9068_REQUIRED)
def test_rfc9068_mode_requires_each_of_the_seven_claims(claim: str) -> None:
    """iss, exp, aud, sub, client_id, iat and jti are all required in the strict profile."""
    flags = {"ignore_iss": True, "ignore_exp": True, "ignore_aud": True}
    failures = _failures(_v(rfc9068=True, **flags), **{claim: None})
    assert failures == [f"rfc9068: missing required claims {claim}"]


def test_rfc9068_mode_lists_every_missing_claim() -> None:
    """A token with none of the seven claims lists them all."""
    v = Validator(rfc9068=True, ignore_aud=True, ignore_iss=True, ignore_exp=True)
    claims = AccessClaims.from_payload({"scope": "a"})
    assert v.validate(claims, NOW) == [
        "rfc9068: missing required claims " + " ".join(RFC9068_REQUIRED)
    ]


def test_rfc9068_constant_is_the_seven_claims() -> None:
    """RFC 9068 §2.2 lists exactly these."""
    assert set(RFC9068_REQUIRED) == {"iss", "exp", "aud", "sub", "client_id", "iat", "jti"}


# -- now -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(NOW, id="int-seconds"),
        pytest.param(float(NOW), id="float-seconds"),
        pytest.param(datetime.fromtimestamp(NOW, UTC), id="aware-utc"),
        pytest.param(
            datetime.fromtimestamp(NOW, timezone(timedelta(hours=-7))), id="aware-minus-7h"
        ),
    ],
)
def test_now_as_seconds_or_aware_datetime_is_the_same_instant(now: Any) -> None:
    """All four spellings of the same instant give the same verdict."""
    assert _failures(_v(), now=now, exp=NOW - 60) == ["exp: token has expired"]
    assert _failures(_v(), now=now, exp=NOW - 59) == []


@pytest.mark.parametrize(
    "now",
    [
        pytest.param(datetime(2023, 11, 14, 22, 13, 20), id="naive-datetime"),
        pytest.param(True, id="bool"),
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="inf"),
        pytest.param("1700000000", id="string"),
    ],
)
def test_now_of_the_wrong_kind_is_a_configuration_error(now: Any) -> None:
    """A naive datetime is ambiguous; a bool, NaN or text is a bug in the caller."""
    claims = AccessClaims.from_payload(access_payload())
    expect_error(lambda: _v().validate(claims, now), ConfigurationError)


def test_now_defaults_to_the_current_time() -> None:
    """Without now, the wall clock is used: a token valid around today passes."""
    current = int(time.time())
    claims = AccessClaims.from_payload(access_payload(exp=current + 300, iat=current))
    assert _v().validate(claims) == []


# -- through the Issuer --------------------------------------------------------------------------


def _token(keys: Keys, header: dict[str, Any] | None = None, **claims: Any) -> str:
    return make_token(
        header or {"alg": "ES256", "kid": "p256"}, access_payload(**claims), keys.p256
    )


def test_verify_and_validate_without_validator_is_a_configuration_error(keys: Keys) -> None:
    """No validator: verify_and_validate refuses loudly, even for a perfect token."""
    issuer = Issuer(ISSUER, keys.jwks())
    token = _token(keys)
    expect_error(
        lambda: issuer.verify_and_validate(token, now=NOW), ConfigurationError, token=token
    )
    assert issuer.unsafe_verify(token).kid == "p256"


def test_verify_and_validate_with_naive_now_is_a_configuration_error(
    issuer: Issuer, keys: Keys
) -> None:
    """The Issuer passes a naive datetime through to the same refusal."""
    token = _token(keys)
    naive = datetime(2023, 11, 14, 22, 13, 20)
    expect_error(
        lambda: issuer.verify_and_validate(token, now=naive), ConfigurationError, token=token
    )


def test_verify_and_validate_accepts_aware_datetime(issuer: Issuer, keys: Keys) -> None:
    """An aware datetime works end to end."""
    _, claims = issuer.verify_and_validate(_token(keys), now=datetime.fromtimestamp(NOW, UTC))
    assert claims.sub == "user-42"


def test_claim_failures_raise_one_invalid_claims_listing_all(issuer: Issuer, keys: Keys) -> None:
    """Wrong audience, future nbf and a wrong typ: one InvalidClaims with three failures."""
    token = _token(
        keys, header={"alg": "ES256", "kid": "p256", "typ": "dpop+jwt"}, aud="x", nbf=NOW + 3600
    )
    exc = expect_error(
        lambda: issuer.verify_and_validate(token, now=NOW), InvalidClaims, token=token
    )
    assert isinstance(exc, InvalidClaims)
    assert exc.failures == (
        "aud: token is not meant for this audience",
        "nbf: token is not valid yet",
        "typ: token type is not accepted (wrong kind of token)",
    )
    assert exc.description == "; ".join(exc.failures)


def test_expired_token_raises_expired_token_listing_all_failures(
    issuer: Issuer, keys: Keys
) -> None:
    """When exp failed the error is ExpiredToken, and it still lists the other failures."""
    token = _token(keys, exp=NOW - 3600, aud="x")
    exc = expect_error(
        lambda: issuer.verify_and_validate(token, now=NOW), ExpiredToken, token=token
    )
    assert isinstance(exc, ExpiredToken)
    assert isinstance(exc, InvalidClaims)
    assert exc.failures == ("aud: token is not meant for this audience", "exp: token has expired")
    assert (exc.code, exc.status) == ("invalid_token", 401)


def test_rfc9068_issuer_accepts_a_complete_at_jwt_token(keys: Keys) -> None:
    """The strict profile passes a token with typ at+jwt and all seven claims."""
    issuer = Issuer(ISSUER, keys.jwks(), _v(rfc9068=True))
    token = _token(keys, header={"alg": "ES256", "kid": "p256", "typ": "at+jwt"})
    _, claims = issuer.verify_and_validate(token, now=NOW)
    assert claims.client_id == "client-7"


def test_rfc9068_issuer_refuses_a_jwt_typed_token_without_client_id(keys: Keys) -> None:
    """typ JWT and a missing client_id are both reported."""
    issuer = Issuer(ISSUER, keys.jwks(), _v(rfc9068=True))
    token = _token(keys, header={"alg": "ES256", "kid": "p256", "typ": "JWT"}, client_id=None)
    exc = expect_error(
        lambda: issuer.verify_and_validate(token, now=NOW), InvalidClaims, token=token
    )
    assert isinstance(exc, InvalidClaims)
    assert exc.failures == (
        "rfc9068: missing required claims client_id",
        "typ: token type is not accepted (wrong kind of token)",
    )
