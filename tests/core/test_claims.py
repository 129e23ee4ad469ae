"""Typed claims: StandardClaims, AccessClaims, user subclasses and their type checks."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass
from datetime import datetime
from typing import Any, Literal

import pytest

from bearerguard import AccessClaims, ConfigurationError, InvalidClaims, Issuer, StandardClaims
from bearerguard.claims import claim

from .conftest import Keys
from .helpers import NOW, access_payload, expect_error, make_token


@dataclass(frozen=True, slots=True, kw_only=True)
class AppClaims(AccessClaims):
    """What an application adds: its own claims, one of them URL-named."""

    tenant: str
    email: str | None = None
    ns_roles: list[str] | None = claim("https://ns/roles")  # noqa: RUF009 (claim() is field())
    level: int = 0
    verified: bool = False
    ratio: float | None = None
    prefs: dict[str, Any] | None = None
    groups: tuple[str, ...] = ()
    tags: frozenset[str] = frozenset()
    counts: list[int] | None = None
    limits: dict[str, int] | None = None
    anything: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DatetimeClaims(AccessClaims):
    when: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetOfIntClaims(AccessClaims):
    ids: set[int] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TupleOfIntClaims(AccessClaims):
    ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LiteralClaims(AccessClaims):
    kind: Literal["user", "service"] = "user"


@dataclass(frozen=True, slots=True, kw_only=True)
class IntKeyedClaims(AccessClaims):
    by_id: dict[int, str] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListOfUnsupportedClaims(AccessClaims):
    stamps: list[datetime] | None = None


def _app_payload(**overrides: Any) -> dict[str, Any]:
    return access_payload(**{"tenant": "acme", **overrides})


# -- scopes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "scopes"),
    [
        pytest.param({"scope": "a b c"}, {"a", "b", "c"}, id="scope-string"),
        pytest.param({"scope": "  a  b c  "}, {"a", "b", "c"}, id="scope-runs-of-spaces"),
        pytest.param({"scope": "a\tb\n c"}, {"a\tb\n", "c"}, id="scope-only-spaces-separate"),
        pytest.param({"scope": "a a"}, {"a"}, id="scope-repeated"),
        pytest.param({"scope": ""}, set(), id="scope-empty"),
        pytest.param({"scope": None, "scp": "a b"}, {"a", "b"}, id="scp-string"),
        pytest.param({"scope": None, "scp": ["a", "b c"]}, {"a", "b c"}, id="scp-list"),
        pytest.param({"scope": None, "scp": []}, set(), id="scp-empty-list"),
        pytest.param({"scope": "a", "scp": ["b"]}, {"a", "b"}, id="scope-and-scp-unite"),
        pytest.param({"scope": None}, set(), id="neither"),
    ],
)
def test_scopes_come_from_scope_and_scp(claims: dict[str, Any], scopes: set[str]) -> None:
    """``scope`` (space-separated) and ``scp`` (string or list), united in a frozenset."""
    parsed = AccessClaims.from_payload(access_payload(**claims))
    assert parsed.scopes == frozenset(scopes)
    assert type(parsed.scopes) is frozenset


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        pytest.param("read\u00a0admin", {"read\u00a0admin"}, id="nbsp-does-not-split"),
        pytest.param("read\tadmin", {"read\tadmin"}, id="tab-does-not-split"),
        pytest.param("  read   write ", {"read", "write"}, id="runs-of-spaces"),
    ],
)
def test_scope_is_split_on_spaces_only(scope: str, expected: set[str]) -> None:
    """RFC 6749 §3.3: "files:read\\u00a0admin" must not grant the scope "admin"."""
    claims = AccessClaims.from_payload({"scope": scope})
    assert claims.scopes == frozenset(expected)


@pytest.mark.parametrize(
    ("claims", "failure"),
    [
        pytest.param({"scope": 5}, "scope: must be a space-separated string", id="scope-number"),
        pytest.param({"scope": None, "scp": [1]}, "scp: must be", id="scp-list-of-numbers"),
        pytest.param({"scope": None, "scp": {"a": 1}}, "scp: must be", id="scp-object"),
    ],
)
def test_scopes_of_the_wrong_type_are_refused(claims: dict[str, Any], failure: str) -> None:
    """A scope claim of the wrong type names the claim it came from."""
    exc = expect_error(lambda: AccessClaims.from_payload(access_payload(**claims)), InvalidClaims)
    assert isinstance(exc, InvalidClaims)
    assert len(exc.failures) == 1
    assert exc.failures[0].startswith(failure)


# -- standard claims --------------------------------------------------------------------------


def test_access_claims_read_every_standard_claim() -> None:
    """Each registered claim lands on its field, aud and amr as tuples, roles as a frozenset."""
    payload = access_payload(
        aud=["api://orders", "api://billing"],
        nbf=NOW - 5,
        azp="client-7",
        auth_time=NOW - 100,
        nonce="n",
        acr="urn:mace:incommon:iap:silver",
        amr=["pwd", "otp"],
        roles=["admin"],
    )
    claims = AccessClaims.from_payload(payload)
    assert claims.iss == "https://issuer.example.com"
    assert claims.sub == "user-42"
    assert claims.aud == ("api://orders", "api://billing")
    assert (claims.exp, claims.nbf, claims.iat) == (NOW + 300, NOW - 5, NOW - 10)
    assert (claims.jti, claims.azp, claims.client_id) == ("token-1", "client-7", "client-7")
    assert (claims.auth_time, claims.nonce) == (NOW - 100, "n")
    assert claims.acr == "urn:mace:incommon:iap:silver"
    assert claims.amr == ("pwd", "otp")
    assert claims.roles == frozenset({"admin"})
    assert claims.raw == payload


def test_aud_string_becomes_a_one_element_tuple() -> None:
    """RFC 7519 §4.1.3 allows a string; the field is always a tuple."""
    assert StandardClaims.from_payload({"aud": "api://orders"}).aud == ("api://orders",)


def test_numeric_dates_accept_floats() -> None:
    """NumericDate may carry fractions of a second."""
    assert StandardClaims.from_payload({"exp": NOW + 0.5}).exp == NOW + 0.5


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(float("nan"), id="nan"),
        pytest.param(float("inf"), id="inf"),
        pytest.param(-0.5, id="negative"),
        pytest.param(253402300800, id="after-year-9999"),
        pytest.param(True, id="bool"),
        pytest.param("1700000000", id="string"),
    ],
)
def test_numeric_dates_out_of_range_or_type_are_refused(value: Any) -> None:
    """NaN, infinities, negatives, years past 9999, bools and text are not NumericDates."""
    exc = expect_error(lambda: StandardClaims.from_payload({"exp": value}), InvalidClaims)
    assert isinstance(exc, InvalidClaims)
    assert exc.failures == ("exp: must be a NumericDate (seconds since the epoch)",)


def test_null_claim_counts_as_absent() -> None:
    """``"sub": null`` is the same as no sub."""
    assert StandardClaims.from_payload({"sub": None}).sub is None


def test_every_type_failure_is_listed() -> None:
    """All wrongly typed claims are reported in one error, in field order."""
    payload = {"iss": 1, "sub": 2, "aud": 3, "exp": "x", "amr": "pwd", "scope": 4}
    exc = expect_error(lambda: AccessClaims.from_payload(payload), InvalidClaims)
    assert isinstance(exc, InvalidClaims)
    assert [f.split(":")[0] for f in exc.failures] == ["iss", "sub", "aud", "exp", "amr", "scope"]


def test_claims_are_frozen() -> None:
    """A claims object cannot be changed."""
    claims = AccessClaims.from_payload(access_payload())
    with pytest.raises(FrozenInstanceError):
        # The claims are frozen: the assignment must raise.
        claims.sub = "admin"  # type: ignore[misc]


def test_raw_is_a_read_only_view_of_the_payload() -> None:
    """``raw`` holds every claim, unknown ones included, and cannot be written."""
    claims = AccessClaims.from_payload(access_payload(custom={"k": 1}))
    assert claims.raw["custom"] == {"k": 1}
    # raw is a read-only mapping on frozen claims: each write must raise.
    with pytest.raises(TypeError):
        claims.raw["sub"] = "admin"  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        claims.raw = {}  # type: ignore[misc]
    assert claims.sub == "user-42"


def test_raw_of_a_verified_token_is_read_only(issuer: Issuer, keys: Keys) -> None:
    """Through the Issuer too, JWS.payload and claims.raw are read-only."""
    token = make_token({"alg": "ES256", "kid": "p256"}, access_payload(), keys.p256)
    jws, claims = issuer.verify_and_validate(token, now=NOW)
    # Read-only mappings: each write must raise.
    with pytest.raises(TypeError):
        claims.raw["sub"] = "admin"  # type: ignore[index]
    with pytest.raises(TypeError):
        jws.payload["sub"] = "admin"  # type: ignore[index]
    with pytest.raises(TypeError):
        jws.header["alg"] = "none"  # type: ignore[index]


# -- user subclasses ---------------------------------------------------------------------------


def test_user_subclass_reads_its_own_fields() -> None:
    """Extra fields map by name; ``claim()`` maps a URL-named claim."""
    payload = _app_payload(
        email="a@example.com",
        level=3,
        verified=True,
        ratio=1,
        prefs={"theme": "dark"},
        groups=["g1", "g2"],
        tags=["t1", "t1"],
        counts=[1, 2],
        limits={"rpm": 60},
        anything=[None, 1.5],
        **{"https://ns/roles": ["reader", "writer"]},
    )
    claims = AppClaims.from_payload(payload)
    assert claims.tenant == "acme"
    assert claims.email == "a@example.com"
    assert claims.ns_roles == ["reader", "writer"]
    assert (claims.level, claims.verified, claims.ratio) == (3, True, 1)
    assert claims.prefs == {"theme": "dark"}
    assert claims.groups == ("g1", "g2")
    assert claims.tags == frozenset({"t1"})
    assert claims.counts == [1, 2]
    assert claims.limits == {"rpm": 60}
    assert claims.anything == [None, 1.5]
    assert claims.scopes == frozenset({"orders:read", "orders:write"})


def test_user_subclass_optional_fields_default() -> None:
    """Absent optional claims take the field defaults."""
    claims = AppClaims.from_payload(_app_payload())
    assert (claims.email, claims.ns_roles, claims.level, claims.verified) == (None, None, 0, False)


def test_user_subclass_list_field_is_a_copy_not_the_raw_list() -> None:
    """A list[str] field is a list, and not the very list object inside ``raw``."""
    claims = AppClaims.from_payload(_app_payload(**{"https://ns/roles": ["reader"]}))
    assert type(claims.ns_roles) is list
    assert claims.ns_roles is not claims.raw["https://ns/roles"]


def test_user_subclass_required_field_missing_is_named() -> None:
    """A field without a default is a required claim; its absence is InvalidClaims naming it."""
    exc = expect_error(lambda: AppClaims.from_payload(access_payload()), InvalidClaims)
    assert isinstance(exc, InvalidClaims)
    assert exc.failures == ("tenant: required claim is missing",)


@pytest.mark.parametrize(
    ("claims", "failure"),
    [
        pytest.param({"tenant": 5}, "tenant: must be a string", id="tenant-number"),
        pytest.param({"email": ["a"]}, "email: must be a string", id="email-array"),
        pytest.param(
            {"https://ns/roles": "admin"},
            "https://ns/roles: must be an array of strings",
            id="url-claim-string",
        ),
        pytest.param(
            {"https://ns/roles": ["admin", 1]},
            "https://ns/roles: must be an array of strings",
            id="url-claim-mixed",
        ),
        pytest.param({"level": 1.0}, "level: must be an integer", id="int-given-float"),
        pytest.param({"level": True}, "level: must be an integer", id="int-given-bool"),
        pytest.param({"verified": 1}, "verified: must be a boolean", id="bool-given-int"),
        pytest.param({"ratio": "1.5"}, "ratio: must be a number", id="float-given-string"),
        pytest.param({"prefs": []}, "prefs: must be a JSON object", id="dict-given-array"),
        pytest.param({"groups": "g1"}, "groups: must be an array of strings", id="tuple-given-str"),
        pytest.param({"tags": [1]}, "tags: must be an array of strings", id="frozenset-numbers"),
        pytest.param(
            {"counts": ["1"]}, "counts: array item must be an integer", id="list-int-items"
        ),
        pytest.param({"counts": 1}, "counts: must be an array", id="list-int-given-int"),
        pytest.param(
            {"limits": {"rpm": "60"}},
            "limits: member value must be an integer",
            id="dict-int-values",
        ),
    ],
)
def test_user_subclass_wrong_type_is_named(claims: dict[str, Any], failure: str) -> None:
    """A user field of the wrong JSON type is InvalidClaims naming the claim (not a TypeError)."""
    exc = expect_error(lambda: AppClaims.from_payload(_app_payload(**claims)), InvalidClaims)
    assert isinstance(exc, InvalidClaims)
    assert exc.failures == (failure,)


@pytest.mark.parametrize(
    "claims_type",
    [
        pytest.param(DatetimeClaims, id="datetime"),
        pytest.param(SetOfIntClaims, id="set-of-int"),
        pytest.param(TupleOfIntClaims, id="tuple-of-int"),
        pytest.param(LiteralClaims, id="literal"),
        pytest.param(IntKeyedClaims, id="dict-int-keys"),
        pytest.param(ListOfUnsupportedClaims, id="list-of-datetime"),
    ],
)
def test_user_subclass_with_unsupported_annotation_is_a_configuration_error(
    claims_type: type[AccessClaims],
) -> None:
    """An annotation bearerguard cannot check is the developer's error, raised loudly."""
    expect_error(lambda: claims_type.from_payload(access_payload()), ConfigurationError)


def test_user_subclass_with_unresolvable_annotation_is_a_configuration_error() -> None:
    """A forward reference that cannot be resolved is a ConfigurationError, not a NameError."""

    @dataclass(frozen=True, slots=True, kw_only=True)
    class Local(AccessClaims):
        thing: Undefined | None = None  # type: ignore[name-defined]  # noqa: F821

    expect_error(lambda: Local.from_payload(access_payload()), ConfigurationError)


def test_user_subclass_through_the_issuer(issuer: Issuer, keys: Keys) -> None:
    """verify_and_validate returns the user's type when asked for it."""
    token = make_token(
        {"alg": "ES256", "kid": "p256"},
        _app_payload(**{"https://ns/roles": ["reader"]}),
        keys.p256,
    )
    jws, claims = issuer.verify_and_validate(token, AppClaims, now=NOW)
    assert type(claims) is AppClaims
    assert claims.ns_roles == ["reader"]
    assert jws.claims(AppClaims) == claims


def test_user_subclass_type_failure_through_the_issuer(issuer: Issuer, keys: Keys) -> None:
    """Through the Issuer, the wrong type is still an invalid_token naming the claim."""
    token = make_token({"alg": "ES256", "kid": "p256"}, _app_payload(level="high"), keys.p256)
    exc = expect_error(
        lambda: issuer.verify_and_validate(token, AppClaims, now=NOW), InvalidClaims, token=token
    )
    assert isinstance(exc, InvalidClaims)
    assert exc.failures == ("level: must be an integer",)
    assert (exc.code, exc.status) == ("invalid_token", 401)
