"""Key sets that survive rotation, ``kid`` floods and outages.

See :class:`RemoteKeySet` (the key set itself, in :mod:`.remote`),
:class:`KeySetPolicy` (its numbers) and :class:`KeySetEvent` /
:class:`KeySetStatus` (what it reports).
"""

from __future__ import annotations

from .events import EventKind, KeySetEvent, KeySetStatus
from .policy import MAX_ABSENT_KIDS, MAX_REDIRECTS, KeySetPolicy
from .remote import RemoteKeySet

__all__ = [
    "MAX_ABSENT_KIDS",
    "MAX_REDIRECTS",
    "EventKind",
    "KeySetEvent",
    "KeySetPolicy",
    "KeySetStatus",
    "RemoteKeySet",
]
