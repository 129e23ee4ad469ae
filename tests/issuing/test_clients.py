"""Client, parse_client (--client) and load_clients (--clients-file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bearerguard import ConfigurationError
from bearerguard.issuing import Client, load_clients
from bearerguard.issuing._clients import parse_client


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("batch:s3cret", Client(client_id="batch", client_secret="s3cret"),
                     id="no-scopes"),
        pytest.param("batch:s3cret:orders:read,orders:write",
                     Client(client_id="batch", client_secret="s3cret",
                            scopes=("orders:read", "orders:write")), id="scopes-with-colons"),
        pytest.param("batch:s3cret:", Client(client_id="batch", client_secret="s3cret", scopes=()),
                     id="no-scope-at-all"),
    ],
)  # fmt: skip
def test_parse_client(text: str, expected: Client) -> None:
    assert parse_client(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("batch", "--client batch: write ID:SECRET or ID:SECRET:SCOPE,SCOPE",
                     id="no-secret"),
        pytest.param(":s3cret", "--client ...: write ID:SECRET or ID:SECRET:SCOPE,SCOPE",
                     id="no-id"),
        pytest.param("batch:s3cret:a,,b", "--client batch: scopes of client 'batch': each scope "
                     "must be one non-empty scope token, got ''", id="empty-scope"),
        pytest.param("batch:s3cret:a,a", "--client batch: scopes of client 'batch': scope 'a' is "
                     "listed twice", id="repeated-scope"),
        pytest.param("batch:s\u00e9cret", "--client batch: client_secret must be printable ASCII "
                     "(RFC 6749 appendix A)", id="non-ascii-secret"),
    ],
)  # fmt: skip
def test_parse_client_errors_say_what_to_fix(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        parse_client(text)
    assert info.value.description == message


def test_the_secret_stays_out_of_repr() -> None:
    client = Client(client_id="batch", client_secret="s3cret-value")
    assert "s3cret-value" not in repr(client)
    assert repr(client) == "Client(client_id='batch', scopes=None, refresh=False)"


def test_load_clients_reads_the_json_file(tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({"clients": [
        {"client_id": "batch", "client_secret": "s3cret", "scopes": ["orders:read"]},
        {"client_id": "app", "client_secret": "x", "refresh": True},
    ]}))  # fmt: skip
    assert load_clients(path) == [
        Client(client_id="batch", client_secret="s3cret", scopes=("orders:read",)),
        Client(client_id="app", client_secret="x", refresh=True),
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"{", "is not valid JSON: Expecting property name enclosed in double quotes "
                     "at line 1 column 2", id="not-json"),
        pytest.param(b"\xff", "is not UTF-8", id="not-utf8"),
        pytest.param(b"[]", 'the top level must be {"clients": [...]}', id="not-an-object"),
        pytest.param(b'{"clients": {}}', "clients must be a list", id="clients-not-a-list"),
        pytest.param(b'{"clients": [1]}', "clients[0] must be an object with client_id and "
                     "client_secret", id="entry-not-an-object"),
        pytest.param(b'{"clients": [{"client_id": "a"}]}', "clients[0] needs client_secret",
                     id="no-secret"),
        pytest.param(b'{"clients": [{"client_id": "a", "client_secret": "b", "secret": "c"}]}',
                     "clients[0] has unknown member 'secret'; allowed: client_id, client_secret, "
                     "scopes, refresh", id="unknown-member"),
        pytest.param(b'{"clients": [{"client_id": "a", "client_secret": "b", "scopes": "x y"}]}',
                     "clients[0]: scopes must be a list of strings", id="scopes-as-string"),
        pytest.param(b'{"clients": [{"client_id": "a", "client_secret": "b", "refresh": 1}]}',
                     "clients[0]: refresh must be true or false", id="refresh-not-bool"),
        pytest.param(b'{"clients": [{"client_id": "", "client_secret": "b"}]}',
                     "clients[0]: client_id must be a non-empty string", id="empty-id"),
        pytest.param(b'{"clients": [{"client_id": "a", "client_secret": "b"},'
                     b' {"client_id": "a", "client_secret": "c"}]}',
                     "client_id 'a' is configured twice", id="duplicate"),
    ],
)  # fmt: skip
def test_bad_clients_files_say_what_to_fix(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "clients.json"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError) as info:
        load_clients(path)
    expected = message if message.startswith("client_id") else f"clients file {path}: {message}"
    if message in ("is not UTF-8",) or message.startswith("is not valid JSON"):
        expected = f"clients file {path} {message}"
    assert info.value.description == expected


def test_a_missing_clients_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_clients(tmp_path / "nope.json")
    assert info.value.description == (
        f"cannot read clients file {tmp_path / 'nope.json'}: No such file or directory"
    )
