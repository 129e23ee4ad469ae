"""HTTP caching headers, read the same way by the verifying and the issuing side.

* :func:`cache_lifetime`: how long a fetched response stays fresh
  (``Cache-Control`` ``max-age`` minus ``Age``, RFC 9111 §4.2);
* :func:`delta_seconds`: the ``1*DIGIT`` grammar those headers (and
  ``Content-Length``) use;
* :func:`etag_matches`: whether an ``If-None-Match`` list names an ``ETag``
  (RFC 9110 §13.1.2), for the well-known documents the issuing side serves.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["cache_lifetime", "delta_seconds", "etag_matches"]

_CACHE_DIRECTIVE = re.compile(r'\s*([A-Za-z-]+)\s*(?:=\s*("?)([^",]*)\2)?\s*')
_DIGITS = re.compile(r"[0-9]+")
_MAX_DELTA = 2**31  # RFC 9111 §1.2.2: larger delta-seconds are taken as 2^31


def delta_seconds(text: str) -> int | None:
    """Non-negative decimal seconds (ASCII digits only); ``None`` if not one.

    Values past 2^31 are read as 2^31 (RFC 9111 §1.2.2), so a huge number
    costs nothing to parse.
    """
    text = text.strip()
    if not _DIGITS.fullmatch(text):
        return None
    return _MAX_DELTA if len(text) > 10 else min(int(text), _MAX_DELTA)


def cache_lifetime(headers: Mapping[str, str]) -> float | None:
    """Freshness lifetime from ``Cache-Control`` and ``Age`` (RFC 9111 §4.2.1, §4.2.3).

    ``max-age`` minus ``Age``, at least 0; ``no-store``/``no-cache`` mean 0;
    ``None`` when the response states no lifetime (or states it unreadably),
    so the caller falls back to its default. *headers* use lower-case names.
    """
    value = headers.get("cache-control")
    if value is None:
        return None
    max_age: int | None = None
    for part in value.split(","):
        match = _CACHE_DIRECTIVE.fullmatch(part)
        if match is None:
            continue
        name = match.group(1).lower()
        if name in ("no-store", "no-cache"):
            return 0.0
        if name == "max-age" and max_age is None:
            max_age = delta_seconds(match.group(3) or "")
            if max_age is None:
                return None  # an unreadable max-age: fall back to the default lifetime
    if max_age is None:
        return None
    age = delta_seconds(headers.get("age", "")) or 0
    return float(max(max_age - age, 0))


def etag_matches(if_none_match: str | None, etag: str | None) -> bool:
    """RFC 9110 §13.1.2: weak comparison of an ``If-None-Match`` list with *etag*."""
    if not if_none_match or not etag:
        return False
    if if_none_match.strip() == "*":
        return True
    want = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == want for tag in if_none_match.split(","))
