"""Every adapter answers every case of the one table with the same status, headers and bytes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from bearerguard.testing import LocalIssuer

from .apps import ADAPTERS, Send, open_client
from .cases import (
    METADATA_PATH,
    Case,
    Observed,
    metadata_body,
    params,
    table_settings,
    unavailable_settings,
)


@pytest.fixture(scope="module")
def clients(local_issuer: LocalIssuer) -> Iterator[dict[str, Send]]:
    """Each adapter's copy of the table's API, configured alike."""
    with ExitStack() as stack:
        settings = table_settings(local_issuer.url)
        yield {name: stack.enter_context(open_client(name, settings)) for name in ADAPTERS}


def _answer(
    case: Case, adapter: str, clients: dict[str, Send], tokens: dict[str, str], down: LocalIssuer
) -> Observed:
    values = case.header_values(tokens)
    if case.keys_down:
        # A fresh verifier per request: its first fetch fails, Retry-After is exact.
        with open_client(adapter, unavailable_settings(down)) as send:
            return send(case.path, case.query, values)
    return clients[adapter](case.path, case.query, values)


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("case", params())
def test_adapter_answers_the_table(
    case: Case,
    adapter: str,
    clients: dict[str, Send],
    tokens: dict[str, str],
    down_issuer: LocalIssuer,
) -> None:
    """Status, bearerguard's headers and the body are exactly the table's."""
    assert _answer(case, adapter, clients, tokens, down_issuer) == case.expected()


@pytest.mark.parametrize("case", params())
def test_all_adapters_answer_alike(
    case: Case, clients: dict[str, Send], tokens: dict[str, str], down_issuer: LocalIssuer
) -> None:
    """One request, every adapter: identical answers, Content-Length included."""
    answers = [_answer(case, name, clients, tokens, down_issuer) for name in ADAPTERS]
    assert all(answer == answers[0] for answer in answers), dict(zip(ADAPTERS, answers))


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_metadata_document_is_served(
    adapter: str, clients: dict[str, Send], local_issuer: LocalIssuer
) -> None:
    """RFC 9728: the protected-resource metadata is public JSON at its well-known path."""
    body = metadata_body(local_issuer.url)
    headers = {
        "content-type": "application/json",
        "content-length": str(len(body)),
        "cache-control": "public, max-age=3600",
    }
    assert clients[adapter](METADATA_PATH, "", []) == Observed(200, headers, body)
