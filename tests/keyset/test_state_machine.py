"""The key set's rules on their own: the state machine, driven by hand (no threads, no HTTP).

Every input carries its time, so each row states a situation (what the set
holds and when), a question and the exact decision and events it gets.
Policy: the defaults (lifetime 900 s, refresh-ahead at 675 s, cooldown 30 s,
known-absent 300 s, max stale 86,400 s, timeout 5 s: a fetch is hung after 11 s).
"""

from __future__ import annotations

import ast
import functools
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from bearerguard._errors import FetchError
from bearerguard._jwk import PublicJWK
from bearerguard.keyset import KeySetEvent, KeySetPolicy, KeySetStatus, _machine
from bearerguard.keyset._machine import (
    Absent,
    Decision,
    Fetch,
    FetchRequest,
    FetchResult,
    KeySetMachine,
    Refuse,
    Serve,
    Wait,
)
from bearerguard.keyset._policy import MAX_ABSENT_KIDS
from tests.support.keys import public_jwk

URL = "https://idp.example/jwks.json"
DOWN = "HTTP 503 from https://idp.example/jwks.json"


@functools.cache
def key(kid: str) -> PublicJWK:
    return PublicJWK.from_dict(public_jwk(kid))


def result(*kids: str, **headers: str) -> FetchResult:
    """A 200 with the keys *kids* (its body hash names them) and *headers*."""
    return FetchResult(
        headers={name.replace("_", "-"): value for name, value in headers.items()},
        keys=[key(kid) for kid in kids],
        body_hash=",".join(kids).encode(),
    )


def event(kind: Any, generation: int = 1, **details: Any) -> KeySetEvent:
    return KeySetEvent(kind=kind, jwks_uri=URL, generation=generation, **details)


def shape(decision: Decision) -> tuple[Any, ...]:
    """A decision as a comparable tuple (a fetch is named by when it started)."""
    if isinstance(decision, Serve):
        return ("serve", tuple(k.kid for k in decision.keys), decision.refresh is not None)
    if isinstance(decision, Absent):
        return ("absent", decision.reason, decision.refresh is not None)
    if isinstance(decision, Wait):
        return ("wait", decision.flight.started)
    if isinstance(decision, Fetch):
        return ("fetch", decision.flight.started)
    assert isinstance(decision, Refuse)
    return ("refuse", decision.description, decision.retry_after)


def start(machine: KeySetMachine, kid: str | None, now: float) -> FetchRequest:
    decision = machine.keys_wanted(kid, now)
    assert isinstance(decision, Fetch)
    return decision.flight


# -- situations ------------------------------------------------------------------------


def empty(policy: KeySetPolicy = KeySetPolicy()) -> KeySetMachine:
    """Nothing fetched yet."""
    return KeySetMachine(policy, jwks_uri=URL)


def fetching() -> KeySetMachine:
    """Nothing fetched yet; a fetch in flight since t=0."""
    machine = empty()
    start(machine, None, 0.0)
    return machine


def failed_empty() -> KeySetMachine:
    """The first fetch (t=0) failed at t=1: no new attempt before t=30."""
    machine = empty()
    machine.fetch_failed(start(machine, None, 0.0), FetchError(DOWN), 1.0)
    machine.drain()
    return machine


def loaded(
    policy: KeySetPolicy = KeySetPolicy(), headers: dict[str, str] | None = None
) -> KeySetMachine:
    """{k1} fetched at t=0 (with *headers*): refresh-ahead from t=675, lifetime until t=900."""
    machine = empty(policy)
    fetched = FetchResult(headers=headers or {}, keys=[key("k1")], body_hash=b"k1")
    assert machine.fetch_succeeded(start(machine, None, 0.0), fetched, 0.0, jitter=0.0)
    machine.drain()
    return machine


def failed_fresh() -> KeySetMachine:
    """{k1} from t=0; the refetch for kid k9 (t=40) failed at t=41: none before t=70."""
    machine = loaded()
    machine.fetch_failed(start(machine, "k9", 40.0), FetchError(DOWN), 41.0)
    machine.drain()
    return machine


def failed_stale() -> KeySetMachine:
    """{k1} from t=0; the refresh at t=1000 (past the lifetime) failed: none before t=1030."""
    machine = loaded()
    machine.fetch_failed(start(machine, "k1", 1000.0), FetchError(DOWN), 1001.0)
    machine.drain()
    return machine


def refetching_stale() -> KeySetMachine:
    """{k1} from t=0; past its lifetime, a refetch in flight since t=900."""
    machine = loaded()
    start(machine, "k1", 900.0)
    return machine


def absent_k9(policy: KeySetPolicy = KeySetPolicy()) -> KeySetMachine:
    """{k1} from t=0; kid k9 asked at t=40, and the refetch (t=41, same keys) proved it absent.

    The refetch renewed the lifetime: refresh-ahead from t=716, lifetime until t=941.
    """
    machine = loaded(policy)
    assert machine.fetch_succeeded(start(machine, "k9", 40.0), result("k1"), 41.0, jitter=0.0)
    assert machine.waited("k9", True, 41.0) == Serve(())
    machine.drain()
    return machine


def refuse(cause: str, retry_after: int) -> tuple[Any, ...]:
    return ("refuse", f"no usable keys from {URL}: {cause}", retry_after)


HUNG = f"fetching {URL} did not finish in 11s"
LONG_ABSENT = KeySetPolicy(absent_ttl=3600)

# -- a caller asks ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("situation", "kid", "now", "expected", "events"),
    [
        pytest.param(empty, "k1", 0.0, ("fetch", 0.0), [], id="empty-fetches"),
        pytest.param(fetching, "k1", 5.0, ("wait", 0.0), [], id="empty-waits-for-the-fetch"),
        pytest.param(
            fetching,
            "k1",
            11.0,
            ("fetch", 11.0),
            [event("failed", 0, error=HUNG)],
            id="hung-fetch-is-abandoned-and-a-new-one-starts",
        ),
        pytest.param(
            failed_empty, "k1", 10.0, refuse(DOWN, 20), [], id="empty-after-failure-refuses"
        ),
        pytest.param(failed_empty, "k1", 30.0, ("fetch", 30.0), [], id="empty-retries-after-30s"),
        pytest.param(loaded, "k1", 10.0, ("serve", ("k1",), False), [], id="fresh-kid-served"),
        pytest.param(loaded, None, 10.0, ("serve", ("k1",), False), [], id="fresh-all-served"),
        pytest.param(
            loaded, "k1", 675.0, ("serve", ("k1",), True), [], id="refresh-ahead-in-background"
        ),
        pytest.param(
            loaded,
            "k9",
            10.0,
            ("absent", "cooldown", False),
            [event("refetch-suppressed", reason="cooldown")],
            id="unknown-kid-within-cooldown-is-absent",
        ),
        pytest.param(loaded, "k9", 30.0, ("fetch", 30.0), [], id="unknown-kid-after-cooldown"),
        pytest.param(
            loaded, "k9", 700.0, ("fetch", 700.0), [], id="unknown-kid-waits-for-refresh-ahead"
        ),
        pytest.param(loaded, "k1", 900.0, ("fetch", 900.0), [], id="past-lifetime-refetches"),
        pytest.param(
            refetching_stale, "k1", 905.0, ("wait", 900.0), [], id="past-lifetime-waits-for-it"
        ),
        pytest.param(
            failed_fresh, "k8", 50.0, refuse(DOWN, 20), [], id="unknown-kid-after-failure-refuses"
        ),
        pytest.param(
            failed_fresh, "k1", 50.0, ("serve", ("k1",), False), [], id="known-kid-after-failure"
        ),
        pytest.param(
            failed_stale,
            "k1",
            1010.0,
            ("serve", ("k1",), False),
            [event("stale-served", age=1010.0)],
            id="stale-keys-served-after-failure",
        ),
        pytest.param(
            failed_stale,
            "k9",
            1010.0,
            ("serve", (), False),
            [event("stale-served", age=1010.0)],
            id="stale-set-lacks-unknown-kid",
        ),
        pytest.param(
            failed_stale, "k1", 1030.0, ("fetch", 1030.0), [], id="stale-set-retries-after-30s"
        ),
        pytest.param(
            absent_k9,
            "k9",
            100.0,
            ("absent", "known-absent", False),
            [event("refetch-suppressed", reason="known-absent")],
            id="known-absent-kid-causes-no-fetch",
        ),
        pytest.param(
            absent_k9, "k9", 341.0, ("fetch", 341.0), [], id="known-absent-expires-after-300s"
        ),
        pytest.param(
            functools.partial(absent_k9, LONG_ABSENT),
            "k9",
            716.0,
            ("absent", "known-absent", True),
            [event("refetch-suppressed", reason="known-absent")],
            id="known-absent-kid-during-refresh-ahead",
        ),
    ],
)
def test_a_question_gets_its_decision(
    situation: Callable[[], KeySetMachine],
    kid: str | None,
    now: float,
    expected: tuple[Any, ...],
    events: list[KeySetEvent],
) -> None:
    """Each situation and question gets exactly this decision and these events."""
    machine = situation()
    assert shape(machine.keys_wanted(kid, now)) == expected
    assert machine.drain() == events


def test_a_started_fetch_is_the_one_in_flight_and_sends_the_validators() -> None:
    """A fetch the machine starts is in flight, with the stored ETag and body hash."""
    machine = loaded(headers={"etag": '"v1"'})
    decision = machine.keys_wanted("k1", 675.0)
    assert isinstance(decision, Serve)
    flight = decision.refresh
    assert flight is not None
    assert machine.flight is flight
    assert (flight.started, flight.etag, flight.last_hash) == (675.0, '"v1"', b"k1")
    assert shape(machine.keys_wanted("k9", 676.0)) == ("wait", 675.0)


def test_events_of_a_kind_are_reported_once_per_attempt() -> None:
    """stale-served and refetch-suppressed are reported once until the next attempt starts."""
    machine = failed_stale()
    for now in (1010.0, 1011.0):
        machine.keys_wanted("k1", now)
        machine.keys_wanted("k9", now)
    assert [e.kind for e in machine.drain()] == ["stale-served"]
    machine.fetch_failed(start(machine, "k1", 1030.0), FetchError(DOWN), 1031.0)
    machine.keys_wanted("k1", 1032.0)
    assert [e.kind for e in machine.drain()] == ["failed", "stale-served"]


# -- a caller's wait ends --------------------------------------------------------------


@pytest.mark.parametrize(
    ("situation", "kid", "succeeded", "now", "expected"),
    [
        pytest.param(
            fetching,
            "k1",
            False,
            5.0,
            refuse("no keys fetched yet", 25),
            id="nothing-fetched-refuses",
        ),
        pytest.param(
            loaded,
            "k9",
            False,
            40.0,
            refuse("no keys fetched yet", 1),
            id="unfinished-refetch-for-unknown-kid-refuses",
        ),
        pytest.param(
            failed_fresh,
            "k9",
            False,
            41.0,
            refuse(DOWN, 29),
            id="failed-refetch-for-unknown-kid-refuses",
        ),
        pytest.param(
            loaded, "k1", False, 40.0, ("serve", ("k1",), False), id="known-kid-needs-no-fetch"
        ),
        pytest.param(
            loaded, None, False, 40.0, ("serve", ("k1",), False), id="all-keys-need-no-fetch"
        ),
        pytest.param(
            loaded, "k9", True, 40.0, ("serve", (), False), id="completed-refetch-lacks-kid"
        ),
        pytest.param(
            loaded,
            "k1",
            False,
            900.0 + 86400.0,
            refuse("no keys fetched yet", 1),
            id="past-max-stale-refuses",
        ),
    ],
)
def test_a_finished_wait_gets_its_answer(
    situation: Callable[[], KeySetMachine],
    kid: str | None,
    succeeded: bool,
    now: float,
    expected: tuple[Any, ...],
) -> None:
    """After waiting, the answer depends on the keys held and whether the fetch completed."""
    assert shape(situation().waited(kid, succeeded, now)) == expected


def test_a_completed_refetch_proves_the_kid_absent() -> None:
    """A kid missing after a completed fetch joins the known-absent kids; a failed one does not."""
    machine = loaded()
    machine.waited("k8", False, 40.0)
    machine.waited("k9", True, 40.0)
    assert dict(machine.absent) == {"k9": 40.0}


def test_known_absent_kids_are_bounded() -> None:
    """The known-absent cache keeps the newest MAX_ABSENT_KIDS kids, dropping the oldest."""
    machine = loaded()
    for n in range(MAX_ABSENT_KIDS + 1):
        machine.waited(f"x{n}", True, 40.0)
    assert len(machine.absent) == MAX_ABSENT_KIDS
    assert "x0" not in machine.absent
    assert f"x{MAX_ABSENT_KIDS}" in machine.absent


# -- an operator's refresh -------------------------------------------------------------


@pytest.mark.parametrize(
    ("situation", "now", "expected"),
    [
        pytest.param(fetching, 5.0, ("wait", 0.0), id="joins-the-fetch-in-flight"),
        pytest.param(failed_empty, 2.0, ("fetch", 2.0), id="ignores-the-cooldown"),
        pytest.param(loaded, 10.0, ("fetch", 10.0), id="fetches-fresh-keys-again"),
    ],
)
def test_a_refresh_joins_or_starts_a_fetch(
    situation: Callable[[], KeySetMachine], now: float, expected: tuple[Any, ...]
) -> None:
    """An operator's refresh waits for the fetch in flight or starts one, cooldown or not."""
    assert shape(situation().refresh_wanted(now)) == expected


# -- a fetch ends ----------------------------------------------------------------------


def refetched(
    outcome: FetchResult, *, jitter: float = 0.0, headers: dict[str, str] | None = None
) -> KeySetMachine:
    """{k1} fetched at t=0 with *headers*, then refetched at t=1000 with *outcome*."""
    machine = loaded(headers=headers)
    assert machine.fetch_succeeded(machine_fetch(machine, 1000.0), outcome, 1000.0, jitter=jitter)
    return machine


def machine_fetch(machine: KeySetMachine, now: float) -> FetchRequest:
    decision = machine.refresh_wanted(now)
    assert isinstance(decision, Fetch)
    return decision.flight


@pytest.mark.parametrize(
    ("outcome", "headers", "jitter", "kids", "generation", "times", "events"),
    [
        pytest.param(
            result("k1"),
            {},
            0.0,
            ("k1",),
            1,
            (1675.0, 1900.0),
            [event("fetched", ttl=900.0)],
            id="same-keys-renew-the-lifetime",
        ),
        pytest.param(
            result("k1", "k2"),
            {},
            0.0,
            ("k1", "k2"),
            2,
            (1675.0, 1900.0),
            [event("fetched", 2, ttl=900.0), event("keys-changed", 2, added=("k2",))],
            id="added-key-is-a-new-generation",
        ),
        pytest.param(
            result("k2"),
            {},
            0.0,
            ("k2",),
            2,
            (1675.0, 1900.0),
            [
                event("fetched", 2, ttl=900.0),
                event("keys-changed", 2, added=("k2",), removed=("k1",)),
            ],
            id="rotated-key-is-added-and-removed",
        ),
        pytest.param(
            FetchResult(headers={}, not_modified=True),
            {"cache-control": "max-age=120"},
            0.0,
            ("k1",),
            1,
            (1090.0, 1120.0),
            [event("not-modified", ttl=120.0)],
            id="304-keeps-the-stored-cache-control",
        ),
        pytest.param(
            result("k1", cache_control="max-age=5"),
            {},
            0.0,
            ("k1",),
            1,
            (1045.0, 1060.0),
            [event("fetched", ttl=60.0)],
            id="max-age-below-min-ttl-is-raised",
        ),
        pytest.param(
            result("k1"),
            {},
            0.5,
            ("k1",),
            1,
            (1000.0 + 675.0 * 0.95, 1900.0),
            [event("fetched", ttl=900.0)],
            id="jitter-moves-the-refresh-earlier",
        ),
    ],
)
def test_a_successful_fetch_sets_keys_lifetime_and_events(
    outcome: FetchResult,
    headers: dict[str, str],
    jitter: float,
    kids: tuple[str, ...],
    generation: int,
    times: tuple[float, float],
    events: list[KeySetEvent],
) -> None:
    """A fetch result becomes the served keys, their generation, refresh and expiry times."""
    machine = refetched(outcome, jitter=jitter, headers=headers)
    keys = machine.keys
    assert keys is not None
    assert tuple(k.kid for k in keys.all) == kids
    assert (machine.generation, keys.generation) == (generation, generation)
    assert (keys.refresh_at, keys.expires_at) == times
    assert machine.drain() == events
    assert machine.flight is None


def test_unchanged_keys_stay_the_same_objects() -> None:
    """A refetch of the same keys keeps the key objects (and their verifier caches)."""
    machine = loaded()
    before = machine.keys
    after = refetched(result("k1", "k2")).keys
    assert before is not None
    assert after is not None
    assert after.all[0] is before.all[0]


def test_a_new_generation_forgets_the_known_absent_kids() -> None:
    """Keys that changed may include a kid proven absent before: the cache is cleared."""
    machine = absent_k9()
    machine.fetch_succeeded(machine_fetch(machine, 100.0), result("k1", "k9"), 100.0, jitter=0.0)
    assert not machine.absent


def test_a_failed_fetch_keeps_the_keys_and_sets_the_retry_time() -> None:
    """A failure keeps the keys, counts, records the error and allows a retry after 30 s."""
    machine = loaded()
    assert machine.fetch_failed(machine_fetch(machine, 1000.0), FetchError(DOWN), 1002.0) is False
    assert machine.keys is not None
    assert (machine.failures, machine.last_error, machine.retry_at) == (1, DOWN, 1030.0)
    assert machine.drain() == [event("failed", error=DOWN)]


def test_a_304_with_nothing_stored_is_a_failure() -> None:
    """A 304 when no keys are held cannot be applied: a failed fetch."""
    machine = empty()
    outcome = FetchResult(headers={}, not_modified=True)
    assert machine.fetch_succeeded(start(machine, None, 0.0), outcome, 1.0, jitter=0.0) is False
    assert machine.keys is None
    assert machine.drain() == [event("failed", 0, error="unexpected 304 Not Modified")]


@pytest.mark.parametrize(
    "finish",
    [
        pytest.param(
            lambda m, f: m.fetch_succeeded(f, result("k2"), 12.0, jitter=0.0), id="success"
        ),
        pytest.param(lambda m, f: m.fetch_failed(f, FetchError(DOWN), 12.0), id="failure"),
    ],
)
def test_the_late_result_of_an_abandoned_fetch_is_dropped(
    finish: Callable[[KeySetMachine, FetchRequest], bool],
) -> None:
    """A fetch given up as hung changes nothing when it finally ends."""
    machine = fetching()
    hung = machine.flight
    assert hung is not None
    machine.keys_wanted("k1", 11.0)  # abandons it and starts another
    machine.drain()
    before = machine.status(12.0)
    assert finish(machine, hung) is False
    assert machine.status(12.0) == before
    assert machine.drain() == []


def test_a_fetch_that_could_not_start_fails_until_the_cooldown_ends() -> None:
    """No thread for a fetch: nothing in flight, the reason kept, no new attempt for 30 s."""
    machine = empty()
    machine.fetch_not_started(start(machine, "k1", 0.0))
    assert machine.flight is None
    assert machine.last_error == "could not start a fetch thread"
    assert shape(machine.keys_wanted("k1", 29.0)) == refuse("could not start a fetch thread", 1)
    assert shape(machine.keys_wanted("k1", 30.0)) == ("fetch", 30.0)


def test_a_fetch_reported_not_started_late_changes_nothing() -> None:
    """A fetch no longer in flight cannot fail to start: the newer one and the state stay."""
    machine = fetching()
    hung = machine.flight
    assert hung is not None
    newer = start(machine, "k1", 11.0)  # abandons the hung one
    before = machine.status(12.0)
    machine.fetch_not_started(hung)
    assert machine.flight is newer
    assert machine.status(12.0) == before


def test_discovery_names_the_jwks_in_later_events() -> None:
    """Before discovery events name the metadata URL; after it, the JWKS URL."""
    metadata = "https://idp.example/.well-known/openid-configuration"
    machine = KeySetMachine(KeySetPolicy(), metadata_url=metadata)
    flight = start(machine, None, 0.0)
    assert machine.url == metadata
    machine.located(URL)
    machine.fetch_succeeded(flight, result("k1"), 0.0, jitter=0.0)
    assert machine.jwks_uri == URL
    assert {e.jwks_uri for e in machine.drain()} == {URL}


def test_status_reports_the_state_at_the_given_time() -> None:
    """The status snapshot is computed from the state and the time passed in."""
    machine = failed_fresh()
    assert machine.status(100.0) == KeySetStatus(
        jwks_uri=URL,
        state="fresh",
        generation=1,
        kids=("k1",),
        age=100.0,
        expires_in=800.0,
        next_refresh_in=575.0,
        cooldown_remaining=0.0,
        fetching=False,
        last_error=DOWN,
        etag=None,
        fetches=1,
        failures=1,
        absent_kids=0,
        suppressed_refetches=0,
    )


@pytest.mark.parametrize(
    ("now", "state"),
    [
        pytest.param(899.0, "fresh", id="fresh"),
        pytest.param(900.0, "stale", id="stale"),
        pytest.param(900.0 + 86400.0, "expired", id="expired"),
    ],
)
def test_state_follows_lifetime_and_max_stale(now: float, state: str) -> None:
    """fresh within the lifetime, stale up to max_stale past it, expired after."""
    assert loaded().state(now) == state


def test_the_machine_module_does_no_io() -> None:
    """The machine imports no clock, thread, network, randomness or logging."""
    tree = ast.parse(inspect.getsource(_machine))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in (
            [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
        )
        if not (isinstance(node, ast.ImportFrom) and node.level)
    }
    io = {"asyncio", "concurrent", "logging", "random", "requests", "socket", "threading", "time"}
    assert not imported & io
