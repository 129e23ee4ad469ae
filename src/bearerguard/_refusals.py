"""Why a token was refused: the refusal log line and the ``on_refusal`` hook.

Every refusal an adapter sends is rendered by
:meth:`GuardSettings.render <bearerguard._settings.GuardSettings.render>`,
which hands it to :class:`RefusalReporter`: one line on the
``"bearerguard.refusals"`` logger (INFO for 401/403 by default, WARNING for
503), rate-limited by a token bucket, and a :class:`Refusal` for the
settings' ``on_refusal`` callable.

What is reported of the token is its fingerprint (the first 8 hex digits of
its SHA-256) and its *unverified* ``iss``, ``aud``, ``kid`` and ``alg``, each
capped and with control characters escaped: they are attacker-controlled.
Never the token, never a signature.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ._errors import BearerGuardError, IssuerMismatch

__all__ = ["Refusal", "RefusalReporter", "describe"]

#: The logger every adapter's refusal lines go to.
LOGGER_NAME = "bearerguard.refusals"
logger = logging.getLogger(LOGGER_NAME)

_MAX_VALUE = 64  # characters of one unverified value kept
_MAX_DESCRIPTION = 300  # characters of the error's description kept
_MAX_PARSED = 16 * 1024  # a larger token is fingerprinted, not parsed


@dataclass(frozen=True, slots=True)
class Refusal:
    """One refused request, as the ``on_refusal`` hook receives it.

    ``status`` and ``code`` are the HTTP status and RFC 6750 ``error`` code
    sent (``code`` is ``None`` for a request without a token),
    ``description`` the reason. The ``unverified_*`` values are read from the
    token *without* verifying it (attacker-controlled; capped at 64
    characters, control characters escaped); ``None`` when absent or when
    there was no token. ``fingerprint`` is the first 8 hex digits of the
    token's SHA-256 (``None`` without a token): it tells repeated tokens
    apart without revealing them. ``configured_issuers`` are this API's
    issuers when the token's issuer is not one of them, else empty.
    """

    status: int
    code: str | None
    description: str
    unverified_issuer: str | None = None
    unverified_audience: str | None = None
    unverified_key_id: str | None = None
    unverified_algorithm: str | None = None
    fingerprint: str | None = None
    configured_issuers: tuple[str, ...] = ()


def _clean(value: Any, limit: int = _MAX_VALUE) -> str | None:
    """*value* as a short printable string (control characters escaped), or ``None``."""
    if value is None:
        return None
    if isinstance(value, list):
        text = " ".join(str(item) for item in value[:4])
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value)[:limit]
    text = text[: limit * 4]
    escaped = "".join(ch if ch.isprintable() and ch not in '\\"' else _escape(ch) for ch in text)
    if len(escaped) > limit:
        escaped = escaped[: limit - 1] + "…"
    return escaped


def _escape(ch: str) -> str:
    if ch in '\\"':
        return "\\" + ch
    return ch.encode("unicode_escape").decode("ascii")


def _quoted(value: str | None) -> str:
    return "-" if value is None else f'"{value}"'


def _segment(text: str) -> dict[str, Any]:
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def describe(error: BearerGuardError, token: str | None, issuers: tuple[str, ...] = ()) -> Refusal:
    """The :class:`Refusal` for *error*, with what can be read from *token* unverified."""
    header: dict[str, Any] = {}
    payload: dict[str, Any] = {}
    fingerprint = None
    if token:
        fingerprint = hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()[:8]
        if len(token) <= _MAX_PARSED:
            parts = token.split(".")
            if len(parts) >= 2:
                header = _segment(parts[0])
                payload = _segment(parts[1])
    return Refusal(
        status=error.status,
        code=error.code,
        description=_clean(error.description, _MAX_DESCRIPTION) or "",
        unverified_issuer=_clean(payload.get("iss")),
        unverified_audience=_clean(payload.get("aud")),
        unverified_key_id=_clean(header.get("kid")),
        unverified_algorithm=_clean(header.get("alg")),
        fingerprint=fingerprint,
        configured_issuers=issuers if isinstance(error, IssuerMismatch) else (),
    )


class RefusalReporter:
    """Logs refusals (at most *rate* lines a second, bursts of *burst*) and calls *hook*.

    Once the bucket is empty, refusals are counted; the next line logged is
    preceded by ``"<n> refusals not logged"``. *clock* (seconds, monotonic) is
    replaceable for tests.
    """

    def __init__(
        self,
        *,
        level: int = logging.INFO,
        hook: Callable[[Refusal], object] | None = None,
        rate: float = 10.0,
        burst: int = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.level = level
        self.hook = hook
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self._dropped = 0
        self._lock = threading.Lock()

    def _allow(self) -> tuple[bool, int]:
        with self._lock:
            now = self._clock()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1.0:
                self._dropped += 1
                return False, 0
            self._tokens -= 1.0
            dropped, self._dropped = self._dropped, 0
            return True, dropped

    def report(self, error: BearerGuardError, token: str | None, issuers: tuple[str, ...]) -> None:
        """Log *error* (rate-limited) and hand it to the hook; never raises."""
        level = max(logging.WARNING, self.level) if error.status >= 500 else self.level
        log = logger.isEnabledFor(level)
        if not log and self.hook is None:
            return
        refusal = describe(error, token, issuers)
        if log:
            allowed, dropped = self._allow()
            if allowed:
                if dropped:
                    logger.log(level, "%d refusals not logged (rate limit)", dropped)
                logger.log(level, "%s", format_refusal(refusal))
        if self.hook is not None:
            try:
                self.hook(refusal)
            except Exception:
                logger.exception("on_refusal hook raised; the refusal was sent unchanged")


def format_refusal(refusal: Refusal) -> str:
    """The log line for *refusal*."""
    line = f"refused {refusal.status} {refusal.code or '(no error code)'}: {refusal.description}"
    if refusal.fingerprint is not None:
        line += (
            f"; token sha256:{refusal.fingerprint}"
            f" unverified iss={_quoted(refusal.unverified_issuer)}"
            f" aud={_quoted(refusal.unverified_audience)}"
            f" kid={_quoted(refusal.unverified_key_id)}"
            f" alg={_quoted(refusal.unverified_algorithm)}"
        )
    if refusal.configured_issuers:
        line += f"; configured issuers: {', '.join(refusal.configured_issuers)}"
    return line
