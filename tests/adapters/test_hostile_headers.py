"""Any Authorization header: every adapter answers 400 or 401 (never 500), all alike."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bearerguard.testing import LocalIssuer

from .apps import ADAPTERS, Send, open_client
from .cases import TOKEN_PATH, table_settings

# Header bytes a client can send: no CR, LF or NUL (those end or corrupt the line).
_BYTES = st.binary(max_size=300).map(
    lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"").replace(b"\x00", b"")
)
_B64ISH = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+/= ",
    max_size=300,
).map(str.encode)
HEADERS = st.tuples(
    st.sampled_from([b"", b"Bearer ", b"bearer  ", b"BEARER\t", b"Basic ", b"Bearer", b" Bearer "]),
    st.one_of(_BYTES, _B64ISH),
).map(lambda parts: parts[0] + parts[1])


@pytest.fixture(scope="module")
def clients(local_issuer: LocalIssuer) -> Iterator[dict[str, Send]]:
    with ExitStack() as stack:
        configured = table_settings(local_issuer.url)
        yield {name: stack.enter_context(open_client(name, configured)) for name in ADAPTERS}


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(header=HEADERS, query=st.sampled_from(["", "access_token=x", "a=%zz"]))
def test_hostile_header_is_refused_alike(
    clients: dict[str, Send], header: bytes, query: str
) -> None:
    """Status 400 or 401, and the same status, headers and bytes from every adapter."""
    answers = [clients[name](TOKEN_PATH, query, [header]) for name in ADAPTERS]
    assert answers[0].status in (400, 401), answers[0]
    assert all(answer == answers[0] for answer in answers), dict(zip(ADAPTERS, answers))
