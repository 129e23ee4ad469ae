"""The HTTP shell of the local issuer: stdlib ``ThreadingHTTPServer`` on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ..issuing._token_endpoint import DEFAULT_MAX_BODY
from ..issuing._wellknown import Response, no_store_response
from ._faults import RecordedRequest

__all__ = ["make_server"]

# (method, path, headers with lower-case names, body or None when it was over the cap)
Respond = Callable[[str, str, Mapping[str, str], bytes | None], Response]
Record = Callable[[RecordedRequest], None]

# A body over the cap is answered without being read; up to this much of it is
# still read and dropped first, so that the client sees the answer rather than
# a connection reset while it is still sending.
_DRAIN_LIMIT = 1 << 20


def make_server(
    port: int, respond: Respond, record: Record, *, max_body: int = DEFAULT_MAX_BODY
) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1:*port* (0: a free port) answering with *respond*.

    Only the loopback address is ever bound: the local issuer mints tokens for
    tests and must not be reachable from the network. Request bodies larger
    than *max_body* are not read: *respond* gets ``None`` instead.
    """
    handler = type(
        "_BoundHandler",
        (_Handler,),
        {"respond": staticmethod(respond), "record": staticmethod(record), "max_body": max_body},
    )
    return _Server(("127.0.0.1", port), handler)


class _Server(ThreadingHTTPServer):
    # A burst of concurrent clients (a key-refetch stampede test) must not
    # overflow the listen backlog (socketserver's default is 5).
    request_queue_size = 128
    daemon_threads = True


def _plain(status: int, error: str) -> Response:
    body = f'{{"error":"invalid_request","error_description":"{error}"}}'.encode()
    return no_store_response(status, body, (("connection", "close"),))


_LENGTH_REQUIRED = _plain(411, "send the body with a Content-Length")
_BAD_LENGTH = _plain(400, "Content-Length is not a number")


class _Handler(BaseHTTPRequestHandler):
    respond: Respond
    record: Record
    max_body: int
    server_version = "bearerguard-local-issuer"
    timeout = 10  # seconds a client may take to send its request

    def _read_body(self, headers: Mapping[str, str]) -> bytes | Response | None:
        if "transfer-encoding" in headers:
            return _LENGTH_REQUIRED
        declared = headers.get("content-length")
        if declared is None:
            return b""
        if not declared.strip().isdigit():
            return _BAD_LENGTH
        length = int(declared)
        if length > self.max_body:
            self.close_connection = True
            self.rfile.read(min(length, _DRAIN_LIMIT))
            return None
        return self.rfile.read(length)

    def _handle(self) -> None:
        received = time.time()
        parts = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            # RFC 9110 §5.3: repeated fields combine into one comma-separated value.
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        try:
            body = self._read_body(headers)
        except OSError:  # the client stalled or went away mid-body
            self.close_connection = True
            return
        if isinstance(body, Response):
            response = body
        else:
            response = self.respond(self.command, parts.path, headers, body)
        self.record(
            RecordedRequest(
                method=self.command,
                path=parts.path,
                query=parts.query,
                headers=headers,
                time=received,
                status=response.status,
            )
        )
        try:
            self.send_response(response.status)
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD" and response.status not in (204, 304):
                self.wfile.write(response.body)
        except OSError:
            # The client gave up first (its timeout beat an injected delay): there is
            # no one left to answer, and nothing to print.
            self.close_connection = True

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the issuer's request log has it."""
