"""The key lifecycle as pure state transitions (generate, publish, sign, retire, remove).

::

    generated ─publish─▶ published ─activate─▶ active ─(successor activated)─▶ retired ─remove─▶
                         (in JWKS, no signing)  (signs)      (in JWKS until its tokens expired)

Two waits make rotation safe with zero downtime:

* a key is *published* for ``publish_delay`` before it may sign, so every
  verifier's cached JWKS has it by the time the first token arrives;
* a *retired* key stays published for ``retire_after``, at least the longest
  token lifetime plus leeway, so tokens it signed keep verifying until they expire.

:class:`RingState` holds no I/O: :class:`~bearerguard.issuing.KeyRing`
reads and writes it from a directory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from .._errors import ConfigurationError
from .._rules import seconds

__all__ = ["KeyState", "RingKey", "RingState", "RotationPolicy", "RotationStep"]

DAY = 86400.0


class KeyState(str, Enum):
    """Where a key is in its lifecycle."""

    GENERATED = "generated"
    PUBLISHED = "published"
    ACTIVE = "active"
    RETIRED = "retired"


@dataclass(frozen=True, slots=True, kw_only=True)
class RotationPolicy:
    """How long keys wait between lifecycle steps, in seconds.

    *publish_delay* must exceed how long verifiers cache the JWKS (bearerguard
    caches at most 24 h); *retire_after* must exceed the longest lifetime of a
    token the key signed, plus clock leeway.
    """

    publish_delay: float = DAY
    retire_after: float = DAY

    def __post_init__(self) -> None:
        seconds(self.publish_delay, "publish_delay")
        seconds(self.retire_after, "retire_after")


@dataclass(frozen=True, slots=True, kw_only=True)
class RingKey:
    """One key of a ring: its ``kid``, ``alg``, state and when it entered each state."""

    kid: str
    alg: str
    state: KeyState
    created_at: float
    published_at: float | None = None
    activated_at: float | None = None
    retired_at: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kid, str) or not self.kid:
            raise ConfigurationError("kid must be a non-empty string")
        state: object = self.state
        if not isinstance(state, KeyState):
            raise ConfigurationError("state must be a KeyState")
        required = {
            KeyState.GENERATED: (),
            KeyState.PUBLISHED: ("published_at",),
            KeyState.ACTIVE: ("published_at", "activated_at"),
            KeyState.RETIRED: ("published_at", "retired_at"),
        }[self.state]
        for name in required:
            if getattr(self, name) is None:
                raise ConfigurationError(
                    f"key {self.kid!r} is {self.state.value} but has no {name}"
                )

    @property
    def in_jwks(self) -> bool:
        """True when verifiers must see this key: published, active or retired."""
        return self.state is not KeyState.GENERATED

    def to_dict(self) -> dict[str, Any]:
        """The manifest entry."""
        out: dict[str, Any] = {
            "kid": self.kid,
            "alg": self.alg,
            "state": self.state.value,
            "created_at": self.created_at,
        }
        for name in ("published_at", "activated_at", "retired_at"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> RingKey:
        """Read a manifest entry; :class:`ConfigurationError` if it is malformed."""
        try:
            return cls(
                kid=entry["kid"],
                alg=entry["alg"],
                state=KeyState(entry["state"]),
                created_at=float(entry["created_at"]),
                published_at=_opt(entry.get("published_at")),
                activated_at=_opt(entry.get("activated_at")),
                retired_at=_opt(entry.get("retired_at")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"malformed key ring entry: {exc!s:.80}") from None


def _at(value: float | None, default: float) -> float:
    # Timestamps may be 0.0 (a test clock); only None means "not set".
    return default if value is None else value


def _opt(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True, slots=True, kw_only=True)
class RotationStep:
    """One thing :meth:`RingState.rotate` did (or would do): action, kid, why."""

    action: str  # "generate", "publish", "activate", "retire" or "remove"
    kid: str
    reason: str


@dataclass(frozen=True, slots=True)
class RingState:
    """The keys of a ring; every transition returns a new state."""

    keys: tuple[RingKey, ...] = ()

    def __post_init__(self) -> None:
        kids = [k.kid for k in self.keys]
        if len(set(kids)) != len(kids):
            raise ConfigurationError("key ring lists a kid twice")
        if sum(k.state is KeyState.ACTIVE for k in self.keys) > 1:
            raise ConfigurationError("key ring has more than one active key")

    @property
    def active(self) -> RingKey | None:
        """The key that signs new tokens, if any."""
        return next((k for k in self.keys if k.state is KeyState.ACTIVE), None)

    def get(self, kid: str) -> RingKey:
        """The key with *kid*; :class:`ConfigurationError` if there is none."""
        for key in self.keys:
            if key.kid == kid:
                return key
        raise ConfigurationError(f"no key {kid!r} in the key ring")

    def published(self) -> tuple[RingKey, ...]:
        """The keys verifiers must see (published, active, retired)."""
        return tuple(k for k in self.keys if k.in_jwks)

    def _put(self, key: RingKey) -> RingState:
        return RingState(tuple(key if k.kid == key.kid else k for k in self.keys))

    # -- transitions ----------------------------------------------------------------

    def add(self, kid: str, alg: str, now: float) -> RingState:
        """Add a freshly generated key (not yet published)."""
        if any(k.kid == kid for k in self.keys):
            raise ConfigurationError(f"key ring already has a key {kid!r}")
        key = RingKey(kid=kid, alg=alg, state=KeyState.GENERATED, created_at=now)
        return RingState((*self.keys, key))

    def publish(self, kid: str, now: float) -> RingState:
        """Put a generated key into the JWKS (it does not sign yet)."""
        key = self.get(kid)
        if key.state is not KeyState.GENERATED:
            raise ConfigurationError(f"key {kid!r} is {key.state.value}, not generated")
        return self._put(replace(key, state=KeyState.PUBLISHED, published_at=now))

    def activate(
        self, kid: str, now: float, policy: RotationPolicy, *, force: bool = False
    ) -> RingState:
        """Sign with a published key from now on; the previously active key retires.

        Refused until the key has been published for ``policy.publish_delay``
        (verifiers would not know it yet), unless *force* or no key is active
        (then nothing can sign at all, and waiting helps no one).
        """
        key = self.get(kid)
        if key.state is not KeyState.PUBLISHED or key.published_at is None:
            raise ConfigurationError(f"key {kid!r} is {key.state.value}; publish it first")
        current = self.active
        ready_at = key.published_at + policy.publish_delay
        if current is not None and not force and now < ready_at:
            raise ConfigurationError(
                f"key {kid!r} was published {now - key.published_at:.0f}s ago; verifiers may "
                f"not have it until {policy.publish_delay:.0f}s have passed (force to override)"
            )
        state = self
        if current is not None:
            state = state._put(replace(current, state=KeyState.RETIRED, retired_at=now))
        return state._put(replace(key, state=KeyState.ACTIVE, activated_at=now))

    def retire(self, kid: str, now: float) -> RingState:
        """Stop signing with a key but keep it published (retiring the active key leaves none)."""
        key = self.get(kid)
        if key.state not in (KeyState.ACTIVE, KeyState.PUBLISHED):
            raise ConfigurationError(
                f"key {kid!r} is {key.state.value}; only active or published keys can retire"
            )
        return self._put(replace(key, state=KeyState.RETIRED, retired_at=now))

    def removable(self, key: RingKey, now: float, policy: RotationPolicy) -> bool:
        """True when removing *key* can invalidate no unexpired token."""
        if key.state in (KeyState.GENERATED, KeyState.PUBLISHED):
            return True  # never signed anything
        if key.state is KeyState.RETIRED and key.retired_at is not None:
            return now >= key.retired_at + policy.retire_after
        return False

    def remove(
        self, kid: str, now: float, policy: RotationPolicy, *, force: bool = False
    ) -> RingState:
        """Drop a key. A retired key must have been retired for ``retire_after``
        unless *force* (a leaked key); the active key is never removed."""
        key = self.get(kid)
        if key.state is KeyState.ACTIVE:
            raise ConfigurationError(f"key {kid!r} is active; activate another key first")
        if not force and not self.removable(key, now, policy):
            raise ConfigurationError(
                f"key {kid!r} retired {now - _at(key.retired_at, now):.0f}s ago; tokens it signed "
                f"may be valid until {policy.retire_after:.0f}s have passed (force to override)"
            )
        return RingState(tuple(k for k in self.keys if k.kid != kid))

    def rotate(
        self, now: float, policy: RotationPolicy, new_key: Callable[[], tuple[str, str]]
    ) -> tuple[RingState, tuple[RotationStep, ...]]:
        """One scheduled rotation run; returns the new state and what it did.

        1. remove retired keys whose tokens have all expired;
        2. publish generated keys;
        3. activate the newest published key once it has been published for
           ``publish_delay`` (at once when no key is active); older published
           keys that never signed are removed;
        4. if no key is waiting any more, generate and publish the next one.

        *new_key* generates a key and returns its ``(kid, alg)``. Run this on
        your rotation schedule (e.g. monthly): each run activates the key the
        previous run published.
        """
        state = self
        steps: list[RotationStep] = []
        for key in self.keys:
            if key.state is KeyState.RETIRED and state.removable(key, now, policy):
                state = state.remove(key.kid, now, policy)
                steps.append(
                    RotationStep(action="remove", kid=key.kid, reason="its tokens expired")
                )
        for key in self.keys:
            if key.state is KeyState.GENERATED:
                state = state.publish(key.kid, now)
                steps.append(RotationStep(action="publish", kid=key.kid, reason="generated"))
        if state.active is None and not any(k.state is KeyState.PUBLISHED for k in state.keys):
            state, step = state._generate(now, new_key, "no key can sign")
            steps.append(step)
        state, more = state._activate_ready(now, policy)
        steps.extend(more)
        if not any(k.state is KeyState.PUBLISHED for k in state.keys):
            state, step = state._generate(now, new_key, "next key, published ahead of use")
            steps.append(step)
        return state, tuple(steps)

    def _generate(
        self, now: float, new_key: Callable[[], tuple[str, str]], why: str
    ) -> tuple[RingState, RotationStep]:
        kid, alg = new_key()
        state = self.add(kid, alg, now).publish(kid, now)
        return state, RotationStep(action="generate", kid=kid, reason=why)

    def _activate_ready(
        self, now: float, policy: RotationPolicy
    ) -> tuple[RingState, list[RotationStep]]:
        waiting = sorted(
            (k for k in self.keys if k.state is KeyState.PUBLISHED),
            key=lambda k: (_at(k.published_at, 0.0), k.created_at),
        )
        if not waiting:
            return self, []
        if self.active is None:
            ready = waiting
        else:
            ready = [k for k in waiting if now >= _at(k.published_at, now) + policy.publish_delay]
        if not ready:
            return self, []
        chosen = ready[-1]
        previous = self.active
        state = self.activate(chosen.kid, now, policy, force=True)
        why = "published long enough" if previous is not None else "no key was active"
        steps = [RotationStep(action="activate", kid=chosen.kid, reason=why)]
        if previous is not None:
            steps.append(RotationStep(action="retire", kid=previous.kid, reason="replaced"))
        for stale in ready[:-1]:
            state = state.remove(stale.kid, now, policy)
            steps.append(RotationStep(action="remove", kid=stale.kid, reason="superseded, unused"))
        return state, steps
