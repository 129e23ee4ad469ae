"""The generated claims builders: their source is registered, so tracebacks show it."""

from __future__ import annotations

import linecache
import traceback
from dataclasses import dataclass

import pytest

from bearerguard import AccessClaims, InvalidClaims


def test_a_traceback_through_a_generated_builder_shows_its_source_lines() -> None:
    """The frame of the builder that raised InvalidClaims names its line of source."""

    @dataclass(frozen=True, slots=True, kw_only=True)
    class TenantClaims(AccessClaims):
        tenant: str

    with pytest.raises(InvalidClaims) as caught:
        TenantClaims.from_payload({"exp": "soon"})
    frames = traceback.extract_tb(caught.value.__traceback__)
    builder = [f for f in frames if f.filename.startswith("<bearerguard claims builder for ")]
    assert [(f.name, f.line) for f in builder] == [("build", "raise _Invalid(problems)")]
    assert "TenantClaims" in builder[0].filename


def test_the_registered_source_survives_linecache_checkcache() -> None:
    """checkcache() drops entries whose file changed on disk; a builder has no file to check."""

    @dataclass(frozen=True, slots=True, kw_only=True)
    class OrderClaims(AccessClaims):
        order: int = 0

    OrderClaims.from_payload({})
    filename = next(n for n in linecache.cache if "OrderClaims" in n and "builder" in n)
    linecache.checkcache()
    assert linecache.getline(filename, 1) == "def build(payload):\n"
