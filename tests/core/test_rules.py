"""The rules every setting shares: seconds, string lists and RFC 6749 §3.3 scope tokens.

Each rule is written once (``bearerguard._rules``); these tests state it, and
that the verifying side, the issuing side and the adapters all apply the same
one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import pytest

from bearerguard import AccessClaims, ConfigurationError, KeySetPolicy, Validator, require_scopes
from bearerguard._resource_metadata import protected_resource_metadata
from bearerguard._rules import parse_scope, scope_tokens, seconds, strings
from bearerguard.issuing import (
    AccessTokenClaims,
    Client,
    RotationPolicy,
    authorization_server_metadata,
)

ISS = "https://login.example.com"

# -- scope tokens (RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )) -----------

ACCEPTED_SCOPES = [
    pytest.param("orders:read", id="colon"),
    pytest.param("!", id="lowest-char-x21"),
    pytest.param("~", id="highest-char-x7e"),
    pytest.param("#[]{}", id="x23-to-x5b-and-x5d-up"),
    pytest.param("https://api.example.com/orders.read", id="url"),
]
REFUSED_SCOPES = [
    pytest.param("", id="empty"),
    pytest.param("read write", id="two-tokens"),
    pytest.param('say"hi', id="double-quote-x22"),
    pytest.param("back\\slash", id="backslash-x5c"),
    pytest.param("caf\u00e9", id="non-ascii"),
    pytest.param("tab\there", id="tab"),
    pytest.param("del\x7f", id="del-x7f"),
    pytest.param(1, id="not-a-string"),
]


@pytest.mark.parametrize("scope", ACCEPTED_SCOPES)
def test_scope_tokens_accept_every_nqchar(scope: str) -> None:
    """A non-empty run of %x21 / %x23-5B / %x5D-7E is one scope token."""
    assert scope_tokens([scope], "scopes") == (scope,)


@pytest.mark.parametrize("scope", REFUSED_SCOPES)
def test_scope_tokens_refuse_what_is_not_one_token(scope: Any) -> None:
    """Empty, spaces, quotes, backslashes, controls and non-ASCII are not a scope token."""
    with pytest.raises(ConfigurationError, match=r"^scopes: each scope must be one non-empty"):
        scope_tokens([scope], "scopes")


@pytest.mark.parametrize(
    ("scope", "message"),
    [
        pytest.param("", "s: each scope must be one non-empty scope token, got ''", id="empty"),
        pytest.param("a b", "s: each scope must be one non-empty scope token, got 'a b'", id="two"),
        pytest.param(
            'a"b',
            "s: each scope must be one non-empty scope token, got 'a\"b': scope tokens are "
            "printable ASCII without spaces, quotes or backslashes (RFC 6749 §3.3)",
            id="quote",
        ),
    ],
)
def test_scope_errors_name_the_setting_and_the_scope(scope: str, message: str) -> None:
    """The message names the setting, shows the scope and says which characters a token holds."""
    with pytest.raises(ConfigurationError) as caught:
        scope_tokens(scope, "s")
    assert caught.value.description == message


def test_a_lone_string_is_one_scope_not_its_letters() -> None:
    assert scope_tokens("orders:read", "scopes") == ("orders:read",)


def test_distinct_scope_lists_refuse_a_repeat() -> None:
    with pytest.raises(ConfigurationError) as caught:
        scope_tokens(["a", "b", "a"], "default_scopes", distinct=True)
    assert caught.value.description == "default_scopes: scope 'a' is listed twice"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("read", ("read",), id="one"),
        pytest.param("read write read", ("read", "write"), id="repeat-dropped"),
        pytest.param("read  write", None, id="two-spaces"),
        pytest.param(" read", None, id="leading-space"),
        pytest.param("read ", None, id="trailing-space"),
        pytest.param("", None, id="empty"),
        pytest.param('re"ad', None, id="quote"),
    ],
)
def test_parse_scope_follows_the_scope_parameter_grammar(
    value: str, expected: tuple[str, ...] | None
) -> None:
    """RFC 6749 §3.3: scope = scope-token *( SP scope-token )."""
    assert parse_scope(value) == expected


# Every place that takes configured scopes, on both sides: the one rule applies to each.
ENTRY_POINTS: list[Any] = [
    pytest.param(
        lambda s: require_scopes(AccessClaims(scopes=frozenset({s})), s),
        id="verifier-require_scopes",
    ),
    pytest.param(lambda s: Client(client_id="c", client_secret="x", scopes=(s,)), id="client"),
    pytest.param(
        lambda s: AccessTokenClaims(
            iss=ISS, sub="u", aud="api", exp=2, iat=1, jti="j", client_id="c", scopes=(s,)
        ),
        id="access-token-claims",
    ),
    pytest.param(
        lambda s: authorization_server_metadata(ISS, scopes_supported=[s]),
        id="metadata-scopes_supported",
    ),
    pytest.param(
        lambda s: protected_resource_metadata("https://api.example.com", scopes_supported=[s]),
        id="rfc9728-scopes_supported",
    ),
]


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("scope", ACCEPTED_SCOPES)
def test_every_side_accepts_rfc_scope_tokens(entry: Callable[[str], object], scope: str) -> None:
    entry(scope)


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("scope", ['say"hi', "back\\slash", "caf\u00e9", "tab\there", "del\x7f"])
def test_every_side_refuses_characters_outside_the_scope_token_grammar(
    entry: Callable[[str], object], scope: str
) -> None:
    """The verifier used to accept any non-empty string without a space; now all sides agree."""
    with pytest.raises(ConfigurationError, match=r"\(RFC 6749 §3\.3\)$"):
        entry(scope)


# -- string lists ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("api://orders", ("api://orders",), id="lone-string"),
        pytest.param(["a", "b"], ("a", "b"), id="list"),
        pytest.param(iter(("a",)), ("a",), id="iterator"),
        pytest.param([], (), id="empty-list"),
    ],
)
def test_strings_take_one_string_or_an_iterable(value: Any, expected: tuple[str, ...]) -> None:
    assert strings(value, "aud") == expected


@pytest.mark.parametrize(
    ("value", "options"),
    [
        pytest.param(5, {}, id="not-iterable"),
        pytest.param([""], {}, id="empty-string"),
        pytest.param(["a", 1], {}, id="not-a-string"),
        pytest.param(b"ab", {}, id="bytes"),
        pytest.param([], {"required": True}, id="required-but-empty"),
    ],
)
def test_strings_refuse_with_one_wording(value: Any, options: dict[str, bool]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        strings(value, "audience", **options)
    assert caught.value.description == "audience must be a non-empty string or strings"


def test_distinct_strings_refuse_a_repeat() -> None:
    with pytest.raises(ConfigurationError) as caught:
        strings(["a", "a"], "grant_types_supported", distinct=True)
    assert caught.value.description == "grant_types_supported lists 'a' twice"


# -- seconds -----------------------------------------------------------------------------


class SecondsOptions(TypedDict, total=False):
    """The keyword options of ``seconds`` the tables below vary."""

    positive: bool
    whole: bool


@pytest.mark.parametrize(
    ("value", "options", "expected"),
    [
        pytest.param(0, {}, 0.0, id="zero"),
        pytest.param(2.5, {}, 2.5, id="float"),
        pytest.param(1, {"positive": True}, 1.0, id="positive"),
        pytest.param(900, {"whole": True}, 900, id="whole"),
    ],
)
def test_seconds_accept_finite_non_negative_numbers(
    value: float, options: SecondsOptions, expected: float
) -> None:
    assert seconds(value, "timeout", **options) == expected


@pytest.mark.parametrize(
    ("value", "options", "message"),
    [
        pytest.param(-1, {}, "t must be a non-negative number of seconds", id="negative"),
        pytest.param(float("inf"), {}, "t must be a non-negative number of seconds", id="inf"),
        pytest.param(float("nan"), {}, "t must be a non-negative number of seconds", id="nan"),
        pytest.param(True, {}, "t must be a non-negative number of seconds", id="bool"),
        pytest.param("5", {}, "t must be a non-negative number of seconds", id="string"),
        pytest.param(0, {"positive": True}, "t must be a positive number of seconds", id="zero"),
        pytest.param(1.5, {"whole": True}, "t must be a non-negative whole number of seconds",
                     id="fraction"),
    ],
)  # fmt: skip
def test_seconds_refuse_naming_the_setting(
    value: object, options: SecondsOptions, message: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        seconds(value, "t", **options)
    assert caught.value.description == message


SECONDS_SETTINGS: list[Any] = [
    pytest.param(lambda v: Validator(aud="api", leeway=v), "leeway", id="validator-leeway"),
    pytest.param(lambda v: KeySetPolicy(max_stale=v), "KeySetPolicy.max_stale", id="policy"),
    pytest.param(lambda v: RotationPolicy(retire_after=v), "retire_after", id="rotation"),
]


@pytest.mark.parametrize(("build", "name"), SECONDS_SETTINGS)
@pytest.mark.parametrize("value", [-1, float("inf"), True])
def test_every_seconds_setting_uses_the_one_rule_and_wording(
    build: Callable[[object], object], name: str, value: object
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        build(value)
    assert caught.value.description == f"{name} must be a non-negative number of seconds"


@pytest.mark.parametrize(
    "scope", [pytest.param('say"hi', id="bad-token"), pytest.param(["a"], id="unhashable")]
)
def test_require_scopes_refuses_a_bad_scope_on_every_call(scope: Any) -> None:
    """Checked scope tuples are remembered; refused ones never are."""
    claims = AccessClaims(scopes=frozenset({"a"}))
    for _ in range(2):
        with pytest.raises(ConfigurationError, match=r"^require_scopes: each scope must be one"):
            require_scopes(claims, scope)
