"""OpenTelemetry metrics of a :class:`~bearerguard.Verifier` (the ``otel`` extra).

Imported only when a ``Verifier`` is given ``meter_provider=``, so a process
that does not ask for metrics never imports ``opentelemetry``. Every
instrument is created once, here; recording one is a method call on it.

Attribute values come from configuration or from verified claims, never from
an unverified token alone: ``bearerguard.issuer`` is the configured issuer
the token was routed to (absent when none matched) and ``bearerguard.algorithm``
is the token's ``alg`` once that issuer allowed it, so a flood of forged
tokens cannot create new time series.
"""

from __future__ import annotations

from collections.abc import Iterable
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ._errors import BearerGuardError
from ._urls import safe_url
from .keyset import KeySetEvent, RemoteKeySet

if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

    from ._issuer import Issuer
    from ._issuer_group import IssuerGroup

__all__ = ["Metrics"]

#: The instrumentation scope the meter is created with.
SCOPE = "bearerguard"

# Key-set events counted, and the counter each goes to.
_FETCH_KINDS = frozenset({"fetched", "not-modified"})


class Metrics:
    """The instruments one :class:`~bearerguard.Verifier` records to."""

    __slots__ = (
        "_cache_hits",
        "_duration",
        "_failures",
        "_fetches",
        "_key_sets",
        "_stale",
        "_verifications",
    )

    def __init__(
        self, meter_provider: MeterProvider, issuers: Iterable[Issuer | IssuerGroup]
    ) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            own_version: str | None = version("bearerguard")
        except PackageNotFoundError:  # running from a source tree
            own_version = None
        meter = meter_provider.get_meter(SCOPE, own_version)
        self._verifications = meter.create_counter(
            "bearerguard.verifications",
            unit="{token}",
            description="Tokens verified or refused, by outcome, error, issuer and algorithm",
        )
        self._duration = meter.create_histogram(
            "bearerguard.verification.duration",
            unit="s",
            description="Time to verify or refuse one token, cache hits included",
        )
        self._cache_hits = meter.create_counter(
            "bearerguard.cache.hits",
            unit="{token}",
            description="Tokens answered from the verified-token cache",
        )
        self._fetches = meter.create_counter(
            "bearerguard.keyset.fetches",
            unit="{fetch}",
            description="Successful key-set fetches (200 applied or 304 renewed)",
        )
        self._failures = meter.create_counter(
            "bearerguard.keyset.fetch_failures",
            unit="{fetch}",
            description="Failed key-set fetches (the previous keys stay)",
        )
        self._stale = meter.create_counter(
            "bearerguard.keyset.stale_served",
            unit="{event}",
            description="Times keys past their lifetime were served (once per fetch attempt)",
        )
        self._key_sets: list[RemoteKeySet] = []
        for issuer in issuers:
            keys = issuer.keys
            if isinstance(keys, RemoteKeySet) and keys not in self._key_sets:
                self._key_sets.append(keys)
                _listen(keys, self.on_keyset_event)
        if self._key_sets:
            meter.create_observable_gauge(
                "bearerguard.keyset.age",
                callbacks=[self._observe_age],
                unit="s",
                description="Seconds since each key set's last successful fetch",
            )

    def verified(self, start: float, issuer: str | None, alg: str, *, cached: bool) -> None:
        """Record one accepted token; *start* is its ``perf_counter()`` at entry."""
        elapsed = perf_counter() - start
        attributes: dict[str, str] = {
            "bearerguard.outcome": "verified",
            "bearerguard.algorithm": alg,
        }
        if issuer is not None:
            attributes["bearerguard.issuer"] = issuer
        self._verifications.add(1, attributes)
        self._duration.record(elapsed, {"bearerguard.outcome": "verified"})
        if cached:
            self._cache_hits.add(1)

    def refused(self, start: float, error: BearerGuardError, route: tuple[str, str] | None) -> None:
        """Record one refused token: *route* is (issuer URL, alg) once the token was routed."""
        elapsed = perf_counter() - start
        attributes: dict[str, str] = {
            "bearerguard.outcome": "refused",
            "bearerguard.error": type(error).__name__,
            "bearerguard.error_code": error.code or "none",
        }
        if route is not None:
            attributes["bearerguard.issuer"], attributes["bearerguard.algorithm"] = route
        self._verifications.add(1, attributes)
        self._duration.record(elapsed, {"bearerguard.outcome": "refused"})

    def on_keyset_event(self, event: KeySetEvent) -> None:
        """Count the fetch, failure and stale-served events of a key set."""
        kind = event.kind
        if kind in _FETCH_KINDS:
            counter = self._fetches
        elif kind == "failed":
            counter = self._failures
        elif kind == "stale-served":
            counter = self._stale
        else:
            return
        counter.add(1, {"bearerguard.jwks_uri": safe_url(event.jwks_uri or "")})

    def _observe_age(self, options: CallbackOptions) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        for key_set in self._key_sets:
            age = key_set.status().age
            if age is not None:
                yield Observation(age, {"bearerguard.jwks_uri": safe_url(key_set.jwks_uri or "")})


def _listen(key_set: RemoteKeySet, listener: Any) -> None:
    """Deliver *key_set*'s events to *listener* as well as to its own ``on_event``."""
    previous = key_set._on_event
    if previous is None:
        key_set._on_event = listener
        return

    def both(event: KeySetEvent) -> None:
        listener(event)
        previous(event)

    key_set._on_event = both
