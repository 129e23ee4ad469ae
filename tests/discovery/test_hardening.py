"""Fetch hardening: a whole-transfer deadline, metadata that points elsewhere, odd URLs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from bearerguard import DiscoveryError, FetchError, RequestsFetcher
from bearerguard._discovery import jwks_uri_from_metadata
from bearerguard._urls import safe_url


@pytest.fixture
def trickle_url() -> Iterator[str]:
    """An HTTP server on 127.0.0.1 that sends a 200 and then one body byte every 0.2 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")
            while not stop.wait(0.2):
                try:
                    conn.sendall(b" ")
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/jwks.json"
    stop.set()
    listener.close()
    thread.join(5)


@pytest.mark.slow
def test_trickling_server_is_cut_off_by_the_whole_transfer_deadline(trickle_url: str) -> None:
    """Each read beats the read timeout, but the transfer as a whole may not outlast it."""
    fetcher = RequestsFetcher()
    started = time.monotonic()
    with pytest.raises(FetchError, match="took longer than 1s"):
        fetcher(trickle_url, headers={}, timeout=1.0, max_bytes=262144)
    elapsed = time.monotonic() - started
    fetcher.close()
    assert elapsed < 2 * 1.0 + 1.0  # bounded; without the check it runs until the body ends


@pytest.mark.parametrize(
    "jwks_uri",
    [
        pytest.param("http://127.0.0.1:2375/containers/json", id="loopback-docker-socket"),
        pytest.param("http://localhost/jwks", id="localhost"),
    ],
)
def test_https_issuer_metadata_cannot_point_at_plain_http_loopback(jwks_uri: str) -> None:
    """Hostile metadata must not turn the fetcher into a probe of local services."""
    doc = {"issuer": "https://idp.example", "jwks_uri": jwks_uri}
    with pytest.raises(DiscoveryError, match="must use https for an https issuer"):
        jwks_uri_from_metadata(doc, "https://idp.example", "https://idp.example/.well-known/x")


def test_loopback_issuer_may_use_plain_http_jwks_uri() -> None:
    doc = {"issuer": "http://127.0.0.1:8080", "jwks_uri": "http://127.0.0.1:8080/jwks"}
    found = jwks_uri_from_metadata(doc, "http://127.0.0.1:8080", "http://127.0.0.1:8080/x")
    assert found == "http://127.0.0.1:8080/jwks"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param("https://h:99999/jwks?secret=1", "https://h/jwks", id="port-out-of-range"),
        pytest.param("https://u:p@h:8443/jwks?x#y", "https://h:8443/jwks", id="credentials"),
    ],
)
def test_safe_url_never_raises_and_drops_secrets(url: str, expected: str) -> None:
    assert safe_url(url) == expected


def test_fetch_with_an_out_of_range_port_is_a_fetch_error() -> None:
    fetcher = RequestsFetcher()
    with pytest.raises(FetchError):
        fetcher("https://127.0.0.1:99999/jwks", headers={}, timeout=1.0, max_bytes=1024)
    fetcher.close()
