"""JWTAuth in a real uvicorn server on 127.0.0.1: HTTP over the wire and WebSocket handshakes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bearerguard.testing import LocalIssuer

from .apps import starlette_app
from .cases import CASES, Case, Observed, table_settings, unavailable_settings
from .servers import serve
from .test_starlette import make_app


def _sendable(case: Case) -> bool:
    # Left to the test-client table: a 20 kB header line (h11 refuses it before
    # the app sees it) and trailing spaces (HTTP trims them; httpx will not send them).
    return len(b"".join(case.authorization)) < 8192 and not any(
        value.endswith(b" ") for value in case.authorization
    )


OVER_THE_WIRE = [pytest.param(case, id=case.id) for case in CASES if _sendable(case)]


@pytest.fixture(scope="module")
def base_url(local_issuer: LocalIssuer) -> Iterator[str]:
    with serve(starlette_app(table_settings(local_issuer.url))) as url:
        yield url


@pytest.fixture(scope="module")
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


def _get(client: httpx.Client, case: Case, tokens: dict[str, str]) -> Observed:
    url = f"{case.path}?{case.query}" if case.query else case.path
    headers = [(b"authorization", value) for value in case.header_values(tokens)]
    response = client.get(url, headers=headers)
    return Observed.of(response.status_code, response.headers, response.content)


@pytest.mark.parametrize("case", OVER_THE_WIRE)
def test_table_over_real_http(
    case: Case, http: httpx.Client, tokens: dict[str, str], down_issuer: LocalIssuer
) -> None:
    """uvicorn + JWTAuth send the table's exact status, headers and bytes."""
    if case.keys_down:
        with (
            serve(starlette_app(unavailable_settings(down_issuer))) as url,
            httpx.Client(base_url=url, timeout=10) as down,
        ):
            assert _get(down, case, tokens) == case.expected()
        return
    assert _get(http, case, tokens) == case.expected()


@pytest.fixture(scope="module")
def ws_url(local_issuer: LocalIssuer) -> Iterator[str]:
    # uvicorn speaks WebSocket through the websockets package (a dev dependency).
    pytest.importorskip("websockets", reason="uvicorn needs websockets for WebSockets")
    with serve(make_app(local_issuer)) as url:
        yield url.replace("http://", "ws://")


def _connect(url: str, headers: dict[str, str]) -> Any:
    from websockets.sync.client import connect

    return connect(url, additional_headers=headers, open_timeout=10)


def test_websocket_with_token(ws_url: str, local_issuer: LocalIssuer) -> None:
    """A handshake with a valid token is accepted; the endpoint sees the claims."""
    token = local_issuer.mint(sub="frank")
    with _connect(ws_url + "/ws", {"Authorization": f"Bearer {token}"}) as ws:
        assert ws.recv(timeout=10) == "frank"


@pytest.mark.parametrize(
    ("path", "token"),
    [
        pytest.param("/ws", None, id="no-token"),
        pytest.param("/ws", "expired", id="expired"),
        pytest.param("/ws-writer", "valid", id="missing-scope"),
    ],
)
def test_websocket_refused_handshake(
    ws_url: str, tokens: dict[str, str], path: str, token: str | None
) -> None:
    """Closed before accept: the server refuses the upgrade with HTTP 403."""
    from websockets.exceptions import InvalidStatus

    headers = {"Authorization": f"Bearer {tokens[token]}"} if token else {}
    with pytest.raises(InvalidStatus) as refused, _connect(ws_url + path, headers):
        pass  # pragma: no cover - never opened
    assert refused.value.response.status_code == 403
