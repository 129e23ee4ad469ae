"""KeySetPolicy: the documented defaults, validation, and lifetime clamping."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from bearerguard import ConfigurationError
from bearerguard.keyset import KeySetPolicy


def test_defaults_are_the_documented_ones() -> None:
    assert dataclasses.asdict(KeySetPolicy()) == {
        "default_ttl": 900,
        "min_ttl": 60,
        "max_ttl": 86400,
        "refresh_ahead": 0.75,
        "cooldown": 30,
        "absent_ttl": 300,
        "max_stale": 86400,
        "timeout": 5.0,
        "max_bytes": 262144,
        "require_https": True,
        "follow_redirects": False,
    }


def test_policy_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        # The policy is frozen: the assignment must raise.
        KeySetPolicy().cooldown = 0  # type: ignore[misc]


def test_policy_is_keyword_only() -> None:
    with pytest.raises(TypeError):
        # A positional argument on purpose: the fields are keyword-only.
        KeySetPolicy(900)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"default_ttl": 0}, id="zero-default-ttl"),
        pytest.param({"min_ttl": -1}, id="negative-min-ttl"),
        pytest.param({"max_ttl": float("inf")}, id="infinite-max-ttl"),
        pytest.param({"default_ttl": 30}, id="default-below-min"),
        pytest.param({"default_ttl": 90000}, id="default-above-max"),
        pytest.param({"min_ttl": 1000, "max_ttl": 500}, id="min-above-max"),
        pytest.param({"refresh_ahead": 0}, id="refresh-ahead-zero"),
        pytest.param({"refresh_ahead": 1.5}, id="refresh-ahead-above-one"),
        pytest.param({"refresh_ahead": True}, id="refresh-ahead-bool"),
        pytest.param({"cooldown": 0}, id="no-cooldown"),
        pytest.param({"cooldown": "30"}, id="cooldown-string"),
        pytest.param({"max_stale": -1}, id="negative-max-stale"),
        pytest.param({"timeout": 0}, id="zero-timeout"),
        pytest.param({"timeout": float("nan")}, id="nan-timeout"),
        pytest.param({"max_bytes": 100}, id="tiny-max-bytes"),
        pytest.param({"max_bytes": 1024.5}, id="float-max-bytes"),
        pytest.param({"require_https": 1}, id="require-https-int"),
        pytest.param({"follow_redirects": "no"}, id="follow-redirects-string"),
    ],
)
def test_invalid_policy_is_a_configuration_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        KeySetPolicy(**kwargs)


def test_max_stale_zero_is_allowed() -> None:
    """max_stale=0: never serve keys past their lifetime."""
    assert KeySetPolicy(max_stale=0).max_stale == 0


@pytest.mark.parametrize(
    ("headers", "ttl"),
    [
        pytest.param({}, 900.0, id="no-cache-control-default"),
        pytest.param({"cache-control": "public, max-age=300"}, 300.0, id="max-age"),
        pytest.param({"cache-control": "max-age=300", "age": "100"}, 200.0, id="minus-age"),
        pytest.param({"cache-control": "max-age=10"}, 60.0, id="clamped-to-min"),
        pytest.param({"cache-control": "max-age=10000000"}, 86400.0, id="clamped-to-max"),
        pytest.param({"cache-control": "max-age=300", "age": "1000"}, 60.0, id="age-over-max-age"),
        pytest.param({"cache-control": "no-store"}, 60.0, id="no-store-min"),
        pytest.param({"cache-control": "no-cache, max-age=600"}, 60.0, id="no-cache-min"),
        pytest.param({"cache-control": 'max-age="120"'}, 120.0, id="quoted-max-age"),
        pytest.param({"cache-control": "MAX-AGE=120"}, 120.0, id="directive-case-insensitive"),
        pytest.param({"cache-control": "max-age=abc"}, 900.0, id="garbage-max-age-default"),
        pytest.param({"cache-control": "max-age=\u00b2"}, 900.0, id="unicode-digit-default"),
        pytest.param({"cache-control": "max-age=" + "9" * 5000}, 86400.0, id="huge-max-age"),
        pytest.param({"cache-control": "private"}, 900.0, id="no-max-age-default"),
    ],
)
def test_lifetime_honours_max_age_minus_age_within_bounds(
    headers: dict[str, str], ttl: float
) -> None:
    assert KeySetPolicy().lifetime(headers) == ttl


def test_lifetime_bounds_follow_the_policy() -> None:
    policy = KeySetPolicy(min_ttl=5, default_ttl=10, max_ttl=20)
    assert [policy.lifetime({"cache-control": f"max-age={n}"}) for n in (1, 15, 99)] == [
        5.0,
        15.0,
        20.0,
    ]
