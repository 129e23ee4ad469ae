"""The key lifecycle as pure transitions: generate → publish → activate → retire → remove."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from bearerguard import ConfigurationError
from bearerguard.issuing import KeyState, RotationPolicy
from bearerguard.issuing._lifecycle import RingKey, RingState, RotationStep

HOUR, DAY = 3600.0, 86400.0
POLICY = RotationPolicy(publish_delay=DAY, retire_after=2 * DAY)


def _keys() -> Callable[[], tuple[str, str]]:
    counter = itertools.count(1)
    return lambda: (f"k{next(counter)}", "RS256")


def _states(state: RingState) -> list[tuple[str, str]]:
    return [(k.kid, k.state.value) for k in state.keys]


def _steps(steps: tuple[RotationStep, ...]) -> list[tuple[str, str]]:
    return [(s.action, s.kid) for s in steps]


def test_first_rotation_bootstraps_an_active_key_and_publishes_the_next() -> None:
    state, steps = RingState().rotate(0.0, POLICY, _keys())
    assert _steps(steps) == [("generate", "k1"), ("activate", "k1"), ("generate", "k2")]
    assert _states(state) == [("k1", "active"), ("k2", "published")]


def test_rotation_waits_until_the_next_key_was_published_long_enough() -> None:
    new = _keys()
    state, _ = RingState().rotate(0.0, POLICY, new)
    again, steps = state.rotate(DAY - 1, POLICY, new)
    assert steps == ()
    assert again == state


def test_rotation_activates_the_next_key_and_retires_the_old_one() -> None:
    new = _keys()
    state, _ = RingState().rotate(0.0, POLICY, new)
    state, steps = state.rotate(DAY, POLICY, new)
    assert _steps(steps) == [("activate", "k2"), ("retire", "k1"), ("generate", "k3")]
    assert _states(state) == [("k1", "retired"), ("k2", "active"), ("k3", "published")]
    assert state.get("k1").retired_at == DAY
    assert state.get("k2").activated_at == DAY


def test_retired_key_is_removed_once_its_tokens_have_expired() -> None:
    new = _keys()
    state, _ = RingState().rotate(0.0, POLICY, new)
    state, _ = state.rotate(DAY, POLICY, new)  # k1 retired at DAY
    kept, _ = state.rotate(3 * DAY - 1, POLICY, new)
    assert "k1" in [k.kid for k in kept.keys]
    state, steps = state.rotate(3 * DAY, POLICY, new)
    assert _steps(steps)[0] == ("remove", "k1")
    assert [k.kid for k in state.keys if k.kid == "k1"] == []


def test_published_keys_are_what_verifiers_must_see() -> None:
    state = RingState().add("g", "RS256", 0.0)
    state, _ = state.rotate(0.0, POLICY, _keys())
    assert [k.kid for k in state.published()] == ["g", "k1"]
    assert state.active is not None
    assert state.active.kid == "g"


def test_generated_key_is_published_by_the_next_rotation() -> None:
    state, _ = RingState().rotate(0.0, POLICY, _keys())
    state = state.add("manual", "ES256", HOUR)
    state, steps = state.rotate(HOUR, POLICY, _keys())
    assert _steps(steps) == [("publish", "manual")]
    assert state.get("manual").state is KeyState.PUBLISHED


def test_several_ready_keys_activate_the_newest_and_drop_the_unused() -> None:
    state = RingState()
    for i, kid in enumerate(["a", "b", "c"]):
        state = state.add(kid, "RS256", i).publish(kid, i)
    state = state.activate("a", 2.0, POLICY, force=True)
    state, steps = state.rotate(2 * DAY, POLICY, _keys())
    assert _steps(steps) == [
        ("activate", "c"),
        ("retire", "a"),
        ("remove", "b"),
        ("generate", "k1"),
    ]


def test_activate_refuses_a_key_published_too_recently() -> None:
    state = RingState().add("a", "RS256", 0).publish("a", 0).activate("a", 0, POLICY)
    state = state.add("b", "RS256", 10).publish("b", 10)
    with pytest.raises(ConfigurationError) as info:
        state.activate("b", HOUR, POLICY)
    assert info.value.description == (
        "key 'b' was published 3590s ago; verifiers may not have it until 86400s have passed "
        "(force to override)"
    )
    assert state.activate("b", HOUR, POLICY, force=True).active == RingKey(
        kid="b", alg="RS256", state=KeyState.ACTIVE, created_at=10, published_at=10,
        activated_at=HOUR,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("action", "message"),
    [
        pytest.param(lambda s: s.activate("g", 0, POLICY), "key 'g' is generated; publish it first",
                     id="activate-unpublished"),
        pytest.param(lambda s: s.publish("a", 0), "key 'a' is active, not generated",
                     id="publish-twice"),
        pytest.param(lambda s: s.remove("a", 0, POLICY),
                     "key 'a' is active; activate another key first", id="remove-active"),
        pytest.param(lambda s: s.remove("r", DAY, POLICY),
                     "key 'r' retired 86400s ago; tokens it signed may be valid until 172800s "
                     "have passed (force to override)", id="remove-retired-too-early"),
        pytest.param(lambda s: s.retire("r", 0), "key 'r' is retired; only active or published "
                     "keys can retire", id="retire-twice"),
        pytest.param(lambda s: s.add("a", "RS256", 0), "key ring already has a key 'a'",
                     id="duplicate-kid"),
        pytest.param(lambda s: s.get("zzz"), "no key 'zzz' in the key ring", id="unknown-kid"),
    ],
)  # fmt: skip
def test_transitions_out_of_order_are_refused(
    action: Callable[[RingState], object], message: str
) -> None:
    state = RingState().add("r", "RS256", 0).publish("r", 0).retire("r", 0)
    state = state.add("a", "RS256", 0).publish("a", 0).activate("a", 0, POLICY)
    state = state.add("g", "RS256", 0)
    with pytest.raises(ConfigurationError) as info:
        action(state)
    assert info.value.description == message


def test_leaked_key_can_be_removed_at_once_with_force() -> None:
    state = RingState().add("r", "RS256", 0).publish("r", 0).retire("r", 0)
    assert state.remove("r", 1, POLICY, force=True).keys == ()


def test_unused_published_key_can_be_removed_any_time() -> None:
    state = RingState().add("p", "RS256", 0).publish("p", 0)
    assert state.remove("p", 1, POLICY).keys == ()


def test_ring_key_round_trips_through_the_manifest_form() -> None:
    key = RingKey(
        kid="k", alg="ES256", state=KeyState.RETIRED, created_at=1.0, published_at=2.0,
        activated_at=3.0, retired_at=4.0,
    )  # fmt: skip
    assert RingKey.from_dict(key.to_dict()) == key
    assert key.to_dict() == {
        "kid": "k",
        "alg": "ES256",
        "state": "retired",
        "created_at": 1.0,
        "published_at": 2.0,
        "activated_at": 3.0,
        "retired_at": 4.0,
    }


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        pytest.param({"kid": "k"}, "malformed key ring entry: 'alg'", id="missing-alg"),
        pytest.param(
            {"kid": "k", "alg": "RS256", "state": "zombie", "created_at": 0},
            "malformed key ring entry: 'zombie' is not a valid KeyState",
            id="unknown-state",
        ),
        pytest.param(
            {"kid": "k", "alg": "RS256", "state": "active", "created_at": 0, "published_at": 0},
            "malformed key ring entry: key 'k' is active but has no activated_at",
            id="active-without-time",
        ),
    ],
)
def test_malformed_manifest_entries_are_refused(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        RingKey.from_dict(entry)
    assert info.value.description == message


def test_ring_state_refuses_two_active_keys() -> None:
    active = RingKey(
        kid="a", alg="RS256", state=KeyState.ACTIVE, created_at=0, published_at=0, activated_at=0
    )
    with pytest.raises(ConfigurationError) as info:
        RingState((active, RingKey(**{**active.to_dict(), "kid": "b", "state": KeyState.ACTIVE})))
    assert info.value.description == "key ring has more than one active key"


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({"publish_delay": -1}, id="negative"),
        pytest.param({"retire_after": float("inf")}, id="infinite"),
        pytest.param({"retire_after": True}, id="bool"),
    ],
)
def test_rotation_policy_is_validated(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        # Values of the wrong type on purpose: their refusal is the test.
        RotationPolicy(**options)  # type: ignore[arg-type]
