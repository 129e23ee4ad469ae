"""The error the raising views of ``raising_urls`` raise; each test sets it first."""

from __future__ import annotations

from bearerguard import BearerGuardError

RAISED: list[BearerGuardError] = []
