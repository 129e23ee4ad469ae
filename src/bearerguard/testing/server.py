"""The HTTP shell of the local issuer: stdlib ``ThreadingHTTPServer`` on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from ..issuing.wellknown import Response
from .faults import RecordedRequest

__all__ = ["make_server"]

Respond = Callable[[str, str, Mapping[str, str]], Response]
Record = Callable[[RecordedRequest], None]


def make_server(port: int, respond: Respond, record: Record) -> ThreadingHTTPServer:
    """A server bound to 127.0.0.1:*port* (0: a free port) answering with *respond*.

    Only the loopback address is ever bound: the local issuer mints tokens for
    tests and must not be reachable from the network.
    """
    handler = type(
        "_BoundHandler",
        (_Handler,),
        {"respond": staticmethod(respond), "record": staticmethod(record)},
    )
    return _Server(("127.0.0.1", port), handler)


class _Server(ThreadingHTTPServer):
    # A burst of concurrent clients (a key-refetch stampede test) must not
    # overflow the listen backlog (socketserver's default is 5).
    request_queue_size = 128
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    respond: Respond
    record: Record
    server_version = "bearerguard-local-issuer"

    def _handle(self) -> None:
        received = time.time()
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        response = self.respond(self.command, parts.path, headers)
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
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD" and response.status not in (204, 304):
            self.wfile.write(response.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _handle

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log; the issuer's request log has it."""
