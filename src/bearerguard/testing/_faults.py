"""What the local issuer records and the faults it can be told to inject."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .._errors import ConfigurationError
from .._rules import seconds
from ..issuing._wellknown import Response, build_json_response

__all__ = ["ActiveFault", "Fault", "RecordedRequest", "apply_fault"]

_MALFORMED = b'{"keys": [{"kty": "RSA", "n": '


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedRequest:
    """One request the local issuer served: what was asked, when, and the status sent."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str] = field(repr=False)
    time: float
    status: int

    def header(self, name: str) -> str | None:
        """The request header *name* (case-insensitive), or ``None``."""
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True, kw_only=True)
class Fault:
    """A deviation from the normal response, for one path or for every path.

    *status* replaces the status (the body becomes a small JSON error unless
    *body* is given); *delay* waits before answering; *malformed_json* sends a
    cut-off JSON document; *body* replaces the body (``str``/``bytes`` as is,
    anything else as JSON); *headers* set headers, and a ``None`` value removes
    one (``{"Cache-Control": None}``). *times* limits how many requests the
    fault applies to (``None``: until cleared).
    """

    status: int | None = None
    delay: float = 0.0
    malformed_json: bool = False
    body: Any = None
    headers: Mapping[str, str | None] = field(default_factory=dict)
    times: int | None = None

    def __post_init__(self) -> None:
        if self.status is not None and (
            isinstance(self.status, bool)
            or not isinstance(self.status, int)
            or not 100 <= self.status <= 599
        ):
            raise ConfigurationError("status must be an HTTP status code (100-599)")
        seconds(self.delay, "delay")
        if self.times is not None and (
            isinstance(self.times, bool) or not isinstance(self.times, int) or self.times < 1
        ):
            raise ConfigurationError("times must be a positive integer or None")
        for name, value in self.headers.items():
            if (
                not isinstance(name, str)
                or not name
                or (value is not None and not isinstance(value, str))
            ):
                raise ConfigurationError("headers must map names to strings (or None to remove)")
            if (
                "\r" in name
                or "\n" in name
                or (value is not None and ("\r" in value or "\n" in value))
            ):
                raise ConfigurationError("header names and values must not contain line breaks")


class ActiveFault:
    """A fault being applied, with how many more requests it applies to."""

    __slots__ = ("fault", "remaining")

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.remaining = fault.times


def _body(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value).encode("utf-8")


def apply_fault(fault: Fault, response: Response) -> Response:
    """The response *fault* turns *response* into."""
    status, body = response.status, response.body
    headers = list(response.headers)
    new_body: bytes | None = None
    if fault.malformed_json:
        status, new_body = 200, _MALFORMED
    if fault.body is not None:
        new_body = _body(fault.body)
    if fault.status is not None:
        status = fault.status
        if new_body is None:
            new_body = json.dumps({"error": "injected fault", "status": status}).encode()
    if new_body is not None:
        body = new_body
        replaced = build_json_response(body, max_age=0, status=status)
        cache = response.header("cache-control") if status == response.status == 200 else None
        headers = [h for h in replaced.headers if h[0] != "cache-control"]
        headers.append(("cache-control", cache or "no-store"))
    if status != 200:
        # An error is not a representation of the document: no validator for it.
        headers = [h for h in headers if h[0] != "etag"]
    for name, value in fault.headers.items():
        lower = name.lower()
        headers = [h for h in headers if h[0] != lower]
        if value is not None:
            headers.append((lower, value))
    return Response(status, tuple(headers), body)
