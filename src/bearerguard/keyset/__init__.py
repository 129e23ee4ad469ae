"""Key sets that survive rotation, ``kid`` floods and outages.

:class:`RemoteKeySet` is the key set itself: it fetches an issuer's JWKS,
refetches when a token names an unknown ``kid`` (within limits) and keeps
serving the last good keys through an outage. :class:`KeySetPolicy` holds its
numbers; :class:`KeySetEvent` and :class:`KeySetStatus` are what it reports.
A :class:`~bearerguard.verifier.Verifier` given ``redis_url=`` makes the
processes of a fleet share each key set's fetches through Redis. The main
names are also importable from :mod:`bearerguard`.
"""

from __future__ import annotations

from ._events import EventKind, KeySetEvent, KeySetStatus
from ._policy import KeySetPolicy
from ._remote import RemoteKeySet

__all__ = [
    "EventKind",
    "KeySetEvent",
    "KeySetPolicy",
    "KeySetStatus",
    "RemoteKeySet",
]
