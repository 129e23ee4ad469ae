"""Attacks on the claims of correctly signed tokens (RFC 8725 §3.8–3.11, §2.8).

Every token here is signed by the trusted key: only the claims are hostile.
"""

from __future__ import annotations

from typing import Any

import pytest

from bearerguard import (
    AccessClaims,
    ExpiredToken,
    InvalidClaims,
    Issuer,
    IssuerMismatch,
    StandardClaims,
    Validator,
)

from .conftest import Keys
from .helpers import AUDIENCE, ISSUER, NOW, access_payload, expect_error, make_token


def _signed(keys: Keys, header: dict[str, Any] | None = None, **claims: Any) -> str:
    return make_token(
        header or {"alg": "ES256", "kid": "p256"}, access_payload(**claims), keys.p256
    )


# -- claim type confusion (jwcrypto/python-jose/PyJWT type-juggling bugs) ----------------


@pytest.mark.parametrize(
    ("claim", "value", "failure"),
    [
        pytest.param("exp", str(NOW + 300), "exp: must be a NumericDate", id="exp-string"),
        pytest.param("exp", True, "exp: must be a NumericDate", id="exp-true"),
        pytest.param("exp", 1e300, "exp: must be a NumericDate", id="exp-huge-float"),
        pytest.param("exp", 10**20, "exp: must be a NumericDate", id="exp-huge-int"),
        pytest.param("exp", -1, "exp: must be a NumericDate", id="exp-negative"),
        pytest.param("exp", [NOW + 300], "exp: must be a NumericDate", id="exp-array"),
        pytest.param("exp", {"$date": NOW}, "exp: must be a NumericDate", id="exp-object"),
        pytest.param("nbf", "0", "nbf: must be a NumericDate", id="nbf-string"),
        pytest.param("iat", False, "iat: must be a NumericDate", id="iat-false"),
        pytest.param(
            "aud", {"api://orders": True}, "aud: must be a string or an array", id="aud-object"
        ),
        pytest.param("aud", [1, 2], "aud: must be a string or an array", id="aud-numbers"),
        pytest.param(
            "aud", [AUDIENCE, None], "aud: must be a string or an array", id="aud-mixed-array"
        ),
        pytest.param("aud", [[AUDIENCE]], "aud: must be a string or an array", id="aud-nested"),
        pytest.param("sub", 42, "sub: must be a string", id="sub-number"),
        pytest.param("sub", ["user-42"], "sub: must be a string", id="sub-array"),
        pytest.param("scope", 7, "scope: must be a space-separated string", id="scope-number"),
        pytest.param("scope", {"admin": True}, "scope: must be", id="scope-object"),
        pytest.param("client_id", 7, "client_id: must be a string", id="client_id-number"),
        pytest.param("jti", True, "jti: must be a string", id="jti-bool"),
        pytest.param("roles", "admin", None, id="roles-string-is-fine"),
        pytest.param("roles", [1], "roles: must be a string or an array", id="roles-numbers"),
    ],
)
def test_claim_type_confusion_is_an_invalid_token_naming_the_claim(
    issuer: Issuer, keys: Keys, claim: str, value: Any, failure: str | None
) -> None:
    """A claim of the wrong JSON type is InvalidClaims naming it, never a TypeError."""
    token = _signed(keys, **{claim: value})
    if failure is None:
        _, claims = issuer.verify_and_validate(token, now=NOW)
        assert claims.roles == frozenset({"admin"})
        return
    exc = expect_error(
        lambda: issuer.verify_and_validate(token, now=NOW), InvalidClaims, token=token
    )
    assert isinstance(exc, InvalidClaims)
    assert len(exc.failures) == 1
    assert exc.failures[0].startswith(failure)


def test_claim_type_confusion_lists_every_bad_claim(issuer: Issuer, keys: Keys) -> None:
    """Several wrongly typed claims are reported together, in field order."""
    token = _signed(keys, exp="soon", aud=7, scope=1.5)
    exc = expect_error(
        lambda: issuer.verify_and_validate(token, now=NOW), InvalidClaims, token=token
    )
    assert isinstance(exc, InvalidClaims)
    assert [f.split(":")[0] for f in exc.failures] == ["aud", "exp", "scope"]


def test_iss_as_array_is_an_issuer_mismatch(issuer: Issuer, keys: Keys) -> None:
    """``iss: [issuer]`` is not the issuer (a loose "contains" check would accept it)."""
    token = _signed(keys, iss=[ISSUER])
    expect_error(lambda: issuer.unsafe_verify(token), IssuerMismatch, token=token)


def test_iss_as_array_is_a_typed_claims_failure() -> None:
    """Read as claims directly, the array ``iss`` is a type error naming ``iss``."""
    exc = expect_error(lambda: AccessClaims.from_payload({"iss": [ISSUER]}), InvalidClaims)
    assert isinstance(exc, InvalidClaims)
    assert exc.failures == ("iss: must be a string",)


# -- issuer confusion (RFC 8725 §3.8) -------------------------------------------------------


@pytest.mark.parametrize(
    "iss",
    [
        pytest.param("https://issuer.example.com.evil", id="suffix-domain"),
        pytest.param("https://issuer.example.com.evil.example", id="suffix-subdomain"),
        pytest.param("https://issuer.example.com/", id="trailing-slash"),
        pytest.param("https://issuer.example.com/tenant", id="extra-path"),
        pytest.param("https://issuer.example.co", id="prefix"),
        pytest.param("https://evil.example/https://issuer.example.com", id="embedded"),
        pytest.param("https://evil-issuer.example.com", id="lookalike-host"),
        pytest.param("HTTPS://ISSUER.EXAMPLE.COM", id="upper-case"),
        pytest.param("http://issuer.example.com", id="http-scheme"),
        pytest.param("https://issuer.example.com:443", id="explicit-port"),
        pytest.param(" https://issuer.example.com", id="leading-space"),
        pytest.param("https://issuer.example.com\u200b", id="zero-width-space"),
        pytest.param("https://issuer.examp\u0142e.com", id="homoglyph"),
        pytest.param("", id="empty"),
    ],
)
def test_issuer_substring_and_lookalike_tricks_are_refused(
    issuer: Issuer, keys: Keys, iss: str
) -> None:
    """``iss`` must equal the issuer exactly: no prefix, suffix, case or slash tolerance."""
    token = _signed(keys, iss=iss)
    expect_error(lambda: issuer.verify_and_validate(token, now=NOW), IssuerMismatch, token=token)


def test_missing_iss_is_an_issuer_mismatch(issuer: Issuer, keys: Keys) -> None:
    """A signed token without ``iss`` is not from this issuer."""
    token = _signed(keys, iss=None)
    expect_error(lambda: issuer.unsafe_verify(token), IssuerMismatch, token=token)


@pytest.mark.parametrize(
    "iss",
    [
        pytest.param("https://issuer.example.com.evil", id="suffix"),
        pytest.param("https://issuer.example.com/", id="trailing-slash"),
    ],
)
def test_validator_iss_is_an_exact_match_too(iss: str) -> None:
    """``Validator(iss=...)`` compares exactly as well."""
    claims = StandardClaims.from_payload(access_payload(iss=iss))
    failures = Validator(aud=AUDIENCE, iss=ISSUER).validate(claims, NOW)
    assert failures == ["iss: token is from another issuer"]


# -- audience (RFC 8725 §3.9, RFC 7519 §4.1.3) ------------------------------------------------


@pytest.mark.parametrize(
    "aud",
    [
        pytest.param(AUDIENCE, id="string"),
        pytest.param([AUDIENCE], id="array-of-one"),
        pytest.param(["api://billing", AUDIENCE], id="array-overlap-last"),
        pytest.param([AUDIENCE, "api://billing", "api://admin"], id="array-overlap-first"),
    ],
)
def test_audience_any_overlap_passes(issuer: Issuer, keys: Keys, aud: Any) -> None:
    """A string or an array that contains the expected audience passes."""
    _, claims = issuer.verify_and_validate(_signed(keys, aud=aud), now=NOW)
    assert AUDIENCE in claims.aud


@pytest.mark.parametrize(
    ("aud", "failure"),
    [
        pytest.param([], "aud: required claim is missing", id="empty-array"),
        pytest.param(None, "aud: required claim is missing", id="missing"),
        pytest.param(["api://billing"], "aud: token is not meant", id="array-no-match"),
        pytest.param(
            ["api://billing", "api://admin"], "aud: token is not meant", id="array-no-match-2"
        ),
        pytest.param("api://orders-evil", "aud: token is not meant", id="suffix"),
        pytest.param("api://order", "aud: token is not meant", id="prefix"),
        pytest.param("api://orders/", "aud: token is not meant", id="trailing-slash"),
        pytest.param("API://ORDERS", "aud: token is not meant", id="upper-case"),
        pytest.param("api://orders api://billing", "aud: token is not meant", id="space-joined"),
        pytest.param("", "aud: token is not meant", id="empty-string"),
    ],
)
def test_audience_without_exact_overlap_is_refused(
    issuer: Issuer, keys: Keys, aud: Any, failure: str
) -> None:
    """A token for another API (token substitution) fails the audience check."""
    token = _signed(keys, aud=aud)
    exc = expect_error(
        lambda: issuer.verify_and_validate(token, now=NOW), InvalidClaims, token=token
    )
    assert isinstance(exc, InvalidClaims)
    assert len(exc.failures) == 1
    assert exc.failures[0].startswith(failure)


def test_audience_validator_with_several_audiences_accepts_any(keys: Keys) -> None:
    """``Validator(aud=[a, b])`` accepts a token for b alone."""
    issuer = Issuer(ISSUER, keys.jwks(), Validator(aud=["api://billing", AUDIENCE]))
    _, claims = issuer.verify_and_validate(_signed(keys, aud=AUDIENCE), now=NOW)
    assert claims.aud == (AUDIENCE,)


# -- cross-JWT confusion (RFC 8725 §3.11, RFC 9068 §4) ------------------------------------------


@pytest.mark.parametrize(
    "typ",
    ["dpop+jwt", "id_token+jwt", "secevent+jwt", "logout+jwt", "application/dpop+jwt", "JOSE"],
)
def test_cross_jwt_confusion_other_token_types_are_refused(
    issuer: Issuer, keys: Keys, typ: str
) -> None:
    """A DPoP proof, logout token or ID token of the same issuer is not an access token."""
    token = _signed(keys, header={"alg": "ES256", "kid": "p256", "typ": typ})
    exc = expect_error(
        lambda: issuer.verify_and_validate(token, now=NOW), InvalidClaims, token=token
    )
    assert isinstance(exc, InvalidClaims)
    assert exc.failures == ("typ: token type is not accepted (wrong kind of token)",)


# -- time ---------------------------------------------------------------------------------------


def test_expired_token_is_refused_as_expired(issuer: Issuer, keys: Keys) -> None:
    """A token past exp + leeway raises ExpiredToken (an InvalidClaims)."""
    token = _signed(keys, exp=NOW - 61)
    exc = expect_error(
        lambda: issuer.verify_and_validate(token, now=NOW), ExpiredToken, token=token
    )
    assert isinstance(exc, ExpiredToken)
    assert exc.failures == ("exp: token has expired",)


def test_token_without_exp_is_refused(issuer: Issuer, keys: Keys) -> None:
    """An access token that never expires is refused by default (RFC 9068 §2.2)."""
    token = _signed(keys, exp=None)
    with pytest.raises(InvalidClaims) as info:
        issuer.verify_and_validate(token, now=NOW)
    assert info.value.failures == ("exp: required claim is missing",)


def test_token_without_exp_is_not_reported_as_expired(issuer: Issuer, keys: Keys) -> None:
    """A token with no exp at all is invalid, not *expired*: there is nothing to refresh."""
    token = _signed(keys, exp=None)
    expect_error(lambda: issuer.verify_and_validate(token, now=NOW), InvalidClaims, token=token)


def test_replayed_token_for_another_issuer_signed_with_a_shared_key(keys: Keys) -> None:
    """Two issuers sharing a key: a token from one is refused by the other (iss binding)."""
    other = Issuer("https://other.example.com", keys.jwks(), Validator(aud=AUDIENCE))
    token = _signed(keys)
    expect_error(lambda: other.verify_and_validate(token, now=NOW), IssuerMismatch, token=token)


# -- sender-constrained tokens (RFC 9449 §7.2, RFC 8705 §3) ------------------------------------


def test_sender_constrained_token_is_refused_as_a_bearer_token(keys: Keys) -> None:
    """RFC 9449 §7.2: a DPoP-bound token (cnf.jkt) replayed as Bearer is refused."""
    issuer = Issuer(ISSUER, keys.jwks(), Validator(aud=AUDIENCE))
    token = _signed(keys, cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})
    with pytest.raises(InvalidClaims) as caught:
        issuer.verify_and_validate(token, now=NOW)
    assert caught.value.failures == ("cnf: sender-constrained token presented as a bearer token",)


def test_sender_constrained_token_passes_when_the_caller_checks_the_binding(keys: Keys) -> None:
    """allow_sender_constrained=True: the caller checks cnf itself, so the token is accepted."""
    validator = Validator(aud=AUDIENCE, allow_sender_constrained=True)
    issuer = Issuer(ISSUER, keys.jwks(), validator)
    _, claims = issuer.verify_and_validate(_signed(keys, cnf={"x5t#S256": "abc"}), now=NOW)
    assert claims.raw["cnf"] == {"x5t#S256": "abc"}
