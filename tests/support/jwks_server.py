"""A small programmable HTTP server on 127.0.0.1 for key-fetching tests.

Each path answers with a :class:`Reply` (or a function of the request that
returns one). Every request is recorded before it is answered, so a test can
assert exactly how many requests the "identity provider" received::

    with JWKSServer() as server:
        server.set_json("/jwks.json", {"keys": [...]}, headers={"Cache-Control": "max-age=300"})
        ...
        assert server.count("/jwks.json") == 1
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Request:
    """One request the server received (header names in lower case)."""

    path: str
    headers: Mapping[str, str]


@dataclass
class Reply:
    """How a path answers.

    ``delay``: seconds to wait before answering; ``gate``: answer once the test
    sets this event (overlap that holds whatever the machine's load); ``hang``:
    never answer (until :meth:`JWKSServer.release` or the server stops);
    ``etag``: send it as ``ETag`` and answer 304 to a matching
    ``If-None-Match``; ``content_length=False``: omit ``Content-Length`` (the
    body ends when the connection closes).
    """

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    gate: threading.Event | None = None
    hang: bool = False
    etag: str | None = None
    content_length: bool = True


Route = Reply | Callable[[Request], Reply]


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins the handler threads

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up early (size cap, timeout) is expected here.
        pass


class JWKSServer:
    """A threaded HTTP/1.0 server on an ephemeral port of 127.0.0.1."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._log: list[Request] = []
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> JWKSServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None

    def __enter__(self) -> JWKSServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- configuration -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def set(self, path: str, route: Route) -> None:
        with self._lock:
            self._routes[path] = route

    def set_json(self, path: str, document: Any, **reply: Any) -> None:
        headers = {"Content-Type": "application/json", **reply.pop("headers", {})}
        self.set(path, Reply(body=json.dumps(document).encode(), headers=headers, **reply))

    def release(self) -> None:
        """Let hung requests go (they close without answering)."""
        self._release.set()

    # -- inspection --------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._log)

    def count(self, path: str | None = None) -> int:
        """Requests received, for *path* or in all."""
        with self._lock:
            return sum(1 for r in self._log if path is None or r.path == path)

    def reset(self) -> None:
        with self._lock:
            self._log.clear()

    # -- serving -----------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        request = Request(handler.path, {k.lower(): v for k, v in handler.headers.items()})
        with self._lock:
            self._log.append(request)
            route = self._routes.get(request.path)
        if route is None:
            reply = Reply(status=404, body=b"not found")
        else:
            reply = route(request) if callable(route) else route
        if reply.hang:
            self._release.wait(30)
            return
        if reply.delay:
            self._release.wait(reply.delay)
        if reply.gate is not None:
            reply.gate.wait(10)
        status, body = reply.status, reply.body
        if reply.etag is not None and request.headers.get("if-none-match") == reply.etag:
            status, body = 304, b""
        try:
            handler.send_response(status)
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            if reply.etag is not None:
                handler.send_header("ETag", reply.etag)
            if reply.content_length and status != 304:
                handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if body:
                handler.wfile.write(body)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass
