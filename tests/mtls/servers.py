"""Real TLS servers on 127.0.0.1 for the mTLS tests, and a TLS-terminating proxy.

* :func:`serve_wsgi_tls`: werkzeug's server with a TLS context that asks for
  a client certificate and checks it against the test CA (``CERT_OPTIONAL``:
  a client without one connects too); it puts the certificate in the
  environ's ``SSL_CLIENT_CERT``, as Apache ``mod_ssl`` does.
* :func:`serve_uvicorn`: uvicorn, with ``--ssl-ca-certs`` and optional
  client certificates (it passes no certificate to the app).
* :func:`serve_proxy`: a TLS-terminating reverse proxy in front of a plain
  HTTP upstream that sends the client certificate URL-encoded in
  ``X-SSL-Client-Cert``, as nginx's ``proxy_set_header X-SSL-Client-Cert
  $ssl_client_escaped_cert`` does (replacing any such header the client sent).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import httpx
import uvicorn
from werkzeug.serving import make_server

from .certs import Pki, Subject

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["PROXY_HEADER", "client", "serve_proxy", "serve_uvicorn", "serve_wsgi_tls"]

PROXY_HEADER = "X-SSL-Client-Cert"
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "date", "server"}


def _server_context(pki: Pki) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server.cert_file, pki.server.key_file)
    context.load_verify_locations(pki.ca_file)
    context.verify_mode = ssl.CERT_OPTIONAL  # a certificate, if sent, must chain to the CA
    return context


@contextmanager
def serve_wsgi_tls(app: WSGIApplication, pki: Pki, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve *app* over TLS on *host*; yields ``https://<host>:<port>``."""
    server = make_server(host, 0, app, threaded=True, ssl_context=_server_context(pki))
    thread = threading.Thread(target=server.serve_forever, name="werkzeug-tls", daemon=True)
    thread.start()
    try:
        yield f"https://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def serve_uvicorn(app: Any, pki: Pki | None = None, **config: Any) -> Iterator[str]:
    """Serve *app* with uvicorn on 127.0.0.1: over TLS with client certificates if *pki*.

    *config* adds ``uvicorn.Config`` options (``proxy_headers=False``).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options: dict[str, Any] = {}
    if pki is not None:
        options = {
            "ssl_certfile": str(pki.server.cert_file),
            "ssl_keyfile": str(pki.server.key_file),
            "ssl_ca_certs": str(pki.ca_file),
            "ssl_cert_reqs": ssl.CERT_OPTIONAL,
        }
    # "auto": Django's ASGI handler has no lifespan support.
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="auto", **options, **config)
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-mtls", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        yield f"{'https' if pki else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _proxy(upstream: str) -> WSGIApplication:
    target = urlsplit(upstream)

    def forward(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        headers = {
            key[5:].replace("_", "-").lower(): value
            for key, value in environ.items()
            if key.startswith("HTTP_") and key != "HTTP_X_SSL_CLIENT_CERT"
        }
        certificate = environ.get("SSL_CLIENT_CERT")
        if certificate:
            headers[PROXY_HEADER] = quote(certificate, safe="")
        path = environ.get("PATH_INFO", "/")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        connection = http.client.HTTPConnection(target.hostname or "", target.port, timeout=10)
        try:
            connection.request(environ["REQUEST_METHOD"], path, headers=headers)
            response = connection.getresponse()
            body = response.read()
            kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
        finally:
            connection.close()
        start_response(f"{response.status} {response.reason}", kept)
        return [body]

    return forward


@contextmanager
def serve_proxy(upstream: str, pki: Pki) -> Iterator[str]:
    """A TLS-terminating proxy on 127.0.0.1 in front of *upstream* (plain HTTP)."""
    with serve_wsgi_tls(_proxy(upstream), pki) as url:
        yield url


def client(pki: Pki, subject: Subject | None = None, **options: Any) -> httpx.Client:
    """An HTTPS client trusting the test CA, presenting *subject*'s certificate if given."""
    context = ssl.create_default_context(cafile=pki.ca_file)
    if subject is not None:
        context.load_cert_chain(subject.cert_file, subject.key_file)
    transport = httpx.HTTPTransport(verify=context, **options)
    return httpx.Client(transport=transport, timeout=10)
