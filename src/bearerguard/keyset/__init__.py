"""Key sets that survive rotation, ``kid`` floods and outages.

See :class:`RemoteKeySet` (the key set itself, in :mod:`.remote`),
:class:`KeySetPolicy` (its numbers) and :class:`KeySetEvent` /
:class:`KeySetStatus` (what it reports).
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
