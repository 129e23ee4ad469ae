"""The fast paths decide exactly as the strict ones, or step aside.

Each fast path (token parsing, JSON objects, the claims builder, the cache's
time window) either gives the very result of the general code it shortcuts
or defers to it; these properties compare them on generated and mutated input.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bearerguard import AccessClaims, ClaimSources, StandardClaims, Validator
from bearerguard._builder import from_plan, make_builder, plan
from bearerguard._converters import MAX_SCOPE_SETS, SCOPE_SETS
from bearerguard._encoding import b64url_encode, json_object, object_fast
from bearerguard._errors import BearerGuardError, InvalidClaims
from bearerguard._http import authorization_credentials
from bearerguard._jws import _parse_fast, _parse_strict, decode, parse
from bearerguard._validation import check_claims
from bearerguard.claims import claim
from bearerguard.verifier import _time_window

from .conftest import AUD, ISS, T0

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def outcome(fn: Any, *args: Any) -> tuple[Any, ...]:
    """("ok", value) or ("error", exception type, description)."""
    try:
        return ("ok", fn(*args))
    except BearerGuardError as exc:
        return ("error", type(exc), exc.description)


def assert_same_decision(token: str) -> None:
    strict = outcome(_parse_strict, token)
    fast = outcome(_parse_fast, token)
    if fast != ("ok", None):  # None: the fast path stepped aside
        assert fast == strict
    assert outcome(parse, token) == strict


# -- token parsing -----------------------------------------------------------------------

PALETTE = "Aa0-_+/=. \n\t\r%!\x00\u00e9\u0661\uff37"


@pytest.fixture(scope="module")
def sample_tokens(signing_keys: dict[str, ec.EllipticCurvePrivateKey]) -> list[str]:
    import jwt

    key = signing_keys["k1"]
    return [
        jwt.encode({"iss": ISS, "aud": AUD, "exp": T0}, key, algorithm="ES256", headers=h)
        for h in ({"kid": "k1"}, {"kid": "k1", "typ": "at+jwt"}, {})
    ]


@SETTINGS
@given(data=st.data())
def test_mutated_tokens_get_the_strict_decision(sample_tokens: list[str], data: Any) -> None:
    """Insert, replace or delete a few characters anywhere: same result or same error."""
    token = data.draw(st.sampled_from(sample_tokens))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(token)))
        kind = data.draw(st.sampled_from(["insert", "replace", "delete", "truncate"]))
        char = data.draw(st.sampled_from(PALETTE))
        if kind == "insert":
            token = token[:at] + char + token[at:]
        elif kind == "replace":
            token = token[:at] + char + token[at + 1 :]
        elif kind == "delete":
            token = token[:at] + token[at + 1 :]
        else:
            token = token[:at]
    assert_same_decision(token)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
header_members = st.fixed_dictionaries(
    {},
    optional={
        "alg": st.sampled_from(["ES256", "RS256", "EdDSA", "none", "HS256", "es256", 7]),
        "kid": st.one_of(st.text(max_size=6), st.integers(), st.just("k" * 300)),
        "typ": st.one_of(st.sampled_from(["at+jwt", "JWT"]), st.integers()),
        "crit": st.just(["exp"]),
        "b64": st.sampled_from([True, False, 1]),
        "x5u": st.just("https://attacker.example"),
        "jwk": st.dictionaries(st.text(max_size=3), scalars, max_size=2),
    },
)


def _object_text(members: list[tuple[str, Any]], spacing: str) -> str:
    inner = ",".join(f"{json.dumps(k)}:{spacing}{json.dumps(v)}" for k, v in members)
    return "{" + inner + "}"


@SETTINGS
@given(
    header=header_members,
    extra=st.lists(st.tuples(st.sampled_from(["alg", "kid", "x"]), scalars), max_size=2),
    payload=st.dictionaries(st.text(max_size=5), json_values, max_size=5),
    spacing=st.sampled_from(["", " "]),
    signature=st.binary(min_size=1, max_size=70),
)
def test_generated_headers_and_payloads_get_the_strict_decision(
    header: dict[str, Any],
    extra: list[tuple[str, Any]],
    payload: dict[str, Any],
    spacing: str,
    signature: bytes,
) -> None:
    """Odd algorithms, kids, crit, b64, duplicates, whitespace: decided as strictly."""
    header_text = _object_text([*header.items(), *extra], spacing)
    payload_text = _object_text(list(payload.items()), spacing)
    token = ".".join(
        b64url_encode(part) for part in (header_text.encode(), payload_text.encode(), signature)
    )
    assert_same_decision(token)
    assert_same_decision(token)  # again, with the header possibly cached


def test_decode_hands_out_a_header_it_may_mutate(sample_tokens: list[str]) -> None:
    """The cached header dict is shared internally, never through decode()."""
    first = decode(sample_tokens[1])
    first.header["alg"] = "none"
    first.header["kid"] = "evil"
    again = decode(sample_tokens[1])
    assert (again.header["alg"], again.header["kid"], again.alg) == ("ES256", "k1", "ES256")


def test_a_header_with_nested_members_is_not_cached(
    signing_keys: dict[str, ec.EllipticCurvePrivateKey],
) -> None:
    """Only headers of scalar members are shared between tokens."""
    import jwt

    from bearerguard._jws import _HEADERS

    token = jwt.encode(
        {"iss": ISS},
        signing_keys["k1"],
        algorithm="ES256",
        headers={"kid": "k1", "ext": {"a": [1]}},
    )
    parse(token)
    assert token.split(".")[0].encode() not in _HEADERS


# -- JSON ----------------------------------------------------------------------------------


@SETTINGS
@given(
    members=st.lists(st.tuples(st.text(max_size=3), json_values), max_size=5),
    spacing=st.sampled_from(["", " ", "\n"]),
    around=st.sampled_from(["", " ", "\t"]),
    tail=st.sampled_from(["", "x", "]", "{}"]),
)
def test_object_fast_agrees_with_json_object(
    members: list[tuple[str, Any]], spacing: str, around: str, tail: str
) -> None:
    """Duplicates, whitespace, trailing data: object_fast gives json_object's value or None."""
    data = (around + _object_text(members, spacing) + around + tail).encode()
    fast = object_fast(data)
    strict = outcome(json_object, data)
    if fast is not None:
        assert strict == ("ok", fast)


@pytest.mark.parametrize(
    "data",
    [b'{"a":1,"a":1}', b'{"a":{"b":1,"b":2}}', b'{"a":NaN}', b'{"a":1e999}', b"[1]", b"\xff"],
)
def test_object_fast_never_accepts_what_json_object_refuses(data: bytes) -> None:
    """The strict refusals, one by one."""
    assert object_fast(data) is None
    with pytest.raises(BearerGuardError):
        json_object(data)


# -- claims --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RichClaims(AccessClaims):
    tenant: str
    level: int = 0
    admin: bool = False
    ratio: float | None = None
    groups: list[str] | None = None
    ids: list[int] = claim("https://ns/ids", default=())  # noqa: RUF009
    prefs: dict[str, Any] | None = None
    either: str | int | None = None
    anything: Any = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PostInitClaims(AccessClaims):
    shout: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "shout", (self.sub or "").upper())


CLAIM_NAMES = [
    "iss", "sub", "aud", "exp", "nbf", "iat", "jti", "azp", "auth_time", "nonce", "acr", "amr",
    "client_id", "scope", "scp", "roles", "tenant", "level", "admin", "ratio", "groups",
    "https://ns/ids", "prefs", "either", "anything",
]  # fmt: skip
claim_values = st.one_of(
    scalars,
    st.lists(st.text(max_size=4), max_size=3),
    st.lists(st.integers(-5, 5), max_size=3),
    st.sampled_from([math.inf, -1, 2**40, 253402300799, 253402300800, 1.5, True]),
    json_values,
)


@pytest.mark.slow
@SETTINGS
@given(
    payload=st.dictionaries(st.sampled_from(CLAIM_NAMES), claim_values, max_size=12),
    claims_type=st.sampled_from([StandardClaims, AccessClaims, RichClaims, PostInitClaims]),
)
def test_claims_builder_agrees_with_the_general_path(
    payload: dict[str, Any], claims_type: type[StandardClaims]
) -> None:
    """Same claims, or the same failures in the same order."""
    fast = outcome(make_builder(claims_type), payload)
    general = outcome(from_plan, claims_type, plan(claims_type), payload)
    assert fast == general
    if fast[0] == "ok":
        assert type(fast[1]) is claims_type
        assert fast[1].raw == payload
    else:
        assert fast[1] is InvalidClaims


SOURCES = [
    ClaimSources(),
    ClaimSources(scopes=["scope", "permissions"], roles=["roles", "groups"]),
    ClaimSources(
        roles=["/realm_access/roles", "/resource_access/api/roles", "/realm_access/groups"],
        client_id=["azp", "/app/id", "client_id"],
    ),
    ClaimSources(scopes=(), roles="cognito:groups", client_id=()),
]
SOURCED_NAMES = [
    "scope", "scp", "permissions", "roles", "groups", "cognito:groups", "client_id", "azp",
    "cid", "appid", "realm_access", "resource_access", "app", "sub",
]  # fmt: skip
nested_values = st.one_of(
    claim_values,
    st.dictionaries(
        st.sampled_from(["roles", "groups", "api", "id", "x"]),
        st.one_of(claim_values, st.dictionaries(st.sampled_from(["roles", "x"]), claim_values)),
        max_size=3,
    ),
)


@pytest.mark.slow
@SETTINGS
@given(
    payload=st.dictionaries(st.sampled_from(SOURCED_NAMES), nested_values, max_size=8),
    sources=st.sampled_from(SOURCES),
    claims_type=st.sampled_from([AccessClaims, RichClaims, PostInitClaims]),
)
def test_claims_builders_agree_for_every_claim_source(
    payload: dict[str, Any], sources: ClaimSources, claims_type: type[StandardClaims]
) -> None:
    """Sourced scopes, roles and client: the same claims, or the same failures in order."""
    fast = outcome(make_builder(claims_type, sources), payload)
    general = outcome(from_plan, claims_type, plan(claims_type, sources), payload)
    assert fast == general


def test_post_init_classes_are_built_through_init() -> None:
    """A __post_init__ runs: such classes never take the direct builder."""
    claims = PostInitClaims.from_payload({"sub": "ada"})
    assert claims.shout == "ADA"


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(make_builder(AccessClaims), id="generated builder"),
        pytest.param(lambda p: from_plan(AccessClaims, plan(AccessClaims), p), id="general path"),
    ],
)
def test_tokens_with_the_same_scope_string_share_one_scopes_set(build: Any) -> None:
    """The set of a scope string seen before is reused, not built again (and not held twice)."""
    first = build({"sub": "ada", "scope": "orders:read  orders:write"})
    second = build({"sub": "bob", "scope": "orders:read  orders:write"})
    assert first.scopes == frozenset({"orders:read", "orders:write"})
    assert second.scopes is first.scopes


def test_remembered_scope_strings_stay_bounded() -> None:
    """Past MAX_SCOPE_SETS distinct strings the memory starts over; long strings are not kept."""
    build = make_builder(AccessClaims)
    for n in range(MAX_SCOPE_SETS + 10):
        assert build({"scope": f"s{n} read"}).scopes == {f"s{n}", "read"}
        assert len(SCOPE_SETS) <= MAX_SCOPE_SETS
    long_scope = " ".join(f"scope-{n}" for n in range(100))
    assert build({"scope": long_scope}).scopes == set(long_scope.split())
    assert long_scope not in SCOPE_SETS


# -- the cache's time window ---------------------------------------------------------------

dates = st.one_of(st.none(), st.integers(T0 - 1000, T0 + 1000), st.floats(T0 - 1000, T0 + 1000))


@SETTINGS
@given(
    exp=dates,
    nbf=dates,
    iat=dates,
    auth_time=dates,
    leeway=st.sampled_from([0, 0.5, 60, 300]),
    max_age=st.sampled_from([None, 0, 10, 600.25]),
    ignore_exp=st.booleans(),
    ignore_iat=st.booleans(),
    ignore_auth_time=st.booleans(),
    t=st.one_of(st.integers(T0 - 2000, T0 + 2000), st.floats(T0 - 2000, T0 + 2000)),
)
def test_time_window_is_exactly_the_time_checks(
    exp: float | None,
    nbf: float | None,
    iat: float | None,
    auth_time: float | None,
    leeway: float,
    max_age: float | None,
    ignore_exp: bool,
    ignore_iat: bool,
    ignore_auth_time: bool,
    t: float,
) -> None:
    """A cached entry is valid at t iff check_claims finds nothing at t."""
    validator = Validator(
        aud=AUD,
        leeway=leeway,
        max_age=max_age,
        ignore_exp=ignore_exp,
        ignore_iat=ignore_iat,
        ignore_auth_time=ignore_auth_time,
    )
    payload = {"iss": ISS, "aud": AUD, "exp": exp, "nbf": nbf, "iat": iat, "auth_time": auth_time}
    claims = AccessClaims.from_payload({k: v for k, v in payload.items() if v is not None})
    # Only tokens that passed at some instant are cached: those with the claims the
    # validator requires regardless of time.
    assume(ignore_exp or exp is not None)
    assume(ignore_auth_time or max_age is None or auth_time is not None)
    deadline, not_before = _time_window(claims, validator)
    cached_ok = t < deadline and t + leeway >= not_before
    assert cached_ok == (check_claims(claims, validator, t) == [])


# -- the Authorization header's grammar ----------------------------------------------------

# RFC 6750 §2.1, written as the grammar reads: scheme, 1*SP, b64token.
B64TOKEN_GRAMMAR = re.compile(r"([A-Za-z]+) +([A-Za-z0-9\-._~+/]+=*)")


@SETTINGS
@given(
    value=st.builds(
        lambda scheme, spaces, token: scheme + spaces + token,
        st.sampled_from(["Bearer", "bearer", "DPoP", "BEARER", "Bearer\t", "Basic"]),
        st.sampled_from(["", " ", "  ", "\t", " \t"]),
        st.text(alphabet="Aa0-._~+/= \t,%\x00\u00e9", max_size=12),
    )
)
def test_authorization_credentials_follow_the_b64token_grammar(value: str) -> None:
    """A header is accepted exactly when it matches the grammar, with the same token."""
    stripped = value.strip(" \t")
    expected = B64TOKEN_GRAMMAR.fullmatch(stripped)
    try:
        scheme, token = authorization_credentials(value, dpop=True)
    except BearerGuardError:
        scheme_name = stripped.partition(" ")[0].lower()
        assert expected is None or scheme_name not in ("bearer", "dpop") or "," in stripped
        return
    assert expected is not None
    assert token == expected.group(2)
    assert scheme == ("DPoP" if expected.group(1).lower() == "dpop" else "Bearer")
