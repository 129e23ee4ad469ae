"""The clients a token endpoint knows: ``Client``, from code, a CLI flag or a JSON file.

::

    Client(client_id="orders-batch", client_secret="s3cret", scopes=("orders:read",))
    parse_client("orders-batch:s3cret:orders:read,orders:write")      # --client
    load_clients("clients.json")                                     # --clients-file

The file is JSON (TOML would need ``tomllib``, which Python 3.10 lacks)::

    {"clients": [
        {"client_id": "orders-batch", "client_secret": "s3cret",
         "scopes": ["orders:read"], "refresh": true}
    ]}

A client with ``scopes`` may request those; one without may request every
scope the server knows (its default scopes). ``refresh`` makes the
``client_credentials`` grant return a refresh token as well. RFC 6749 §4.4.3
says it SHOULD NOT, because the client can simply ask again; a development
server offers it so that refresh flows can be tried against it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ConfigurationError
from .._rules import scope_tokens
from ._trusted_files import MAX_FILE_SIZE

__all__ = ["Client", "load_clients", "parse_client"]

# RFC 6749 §2.3.1 / appendix A.1: client_id and client_secret are VSCHAR (printable ASCII).
_VSCHAR = frozenset(chr(c) for c in range(0x20, 0x7F))
_MEMBERS = ("client_id", "client_secret", "scopes", "refresh")


def _vschar(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string")
    if not _VSCHAR.issuperset(value):
        raise ConfigurationError(f"{name} must be printable ASCII (RFC 6749 appendix A)")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Client:
    """A confidential client: its id, its secret, what it may ask for.

    *scopes* ``None`` means the server's default scopes. *refresh* makes the
    ``client_credentials`` grant return a refresh token too (and lets the
    client use the ``refresh_token`` grant).
    """

    client_id: str
    client_secret: str
    scopes: tuple[str, ...] | None = None
    refresh: bool = False

    def __post_init__(self) -> None:
        _vschar(self.client_id, "client_id")
        _vschar(self.client_secret, "client_secret")
        if self.scopes is not None:
            what = f"scopes of client {self.client_id!r}"
            object.__setattr__(self, "scopes", scope_tokens(self.scopes, what, distinct=True))
        if not isinstance(self.refresh, bool):
            raise ConfigurationError("refresh must be true or false")

    def __repr__(self) -> str:
        # The secret stays out of logs and tracebacks.
        return (
            f"Client(client_id={self.client_id!r}, scopes={self.scopes!r}, "
            f"refresh={self.refresh!r})"
        )


def parse_client(text: str, *, refresh: bool = False) -> Client:
    """A client from ``ID:SECRET`` or ``ID:SECRET:SCOPE,SCOPE`` (the ``--client`` flag).

    The id and the secret cannot contain ``:`` in this form, and scopes are
    separated by commas (scopes themselves may contain ``:``); use a clients
    file for anything else.
    """
    client_id, sep, rest = text.partition(":")
    secret, has_scopes, scope_text = rest.partition(":")
    if not sep or not client_id or not secret:
        raise ConfigurationError(
            f"--client {client_id or '...'}: write ID:SECRET or ID:SECRET:SCOPE,SCOPE"
        )
    scopes: tuple[str, ...] | None = None
    if has_scopes:
        scopes = tuple(scope_text.split(",")) if scope_text else ()
    try:
        return Client(client_id=client_id, client_secret=secret, scopes=scopes, refresh=refresh)
    except ConfigurationError as exc:
        raise ConfigurationError(f"--client {client_id}: {exc.description}") from None


def _client_from(entry: object, where: str) -> Client:
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"{where} must be an object with client_id and client_secret")
    unknown = sorted(set(entry) - set(_MEMBERS))
    if unknown:
        raise ConfigurationError(
            f"{where} has unknown member {unknown[0]!r}; allowed: {', '.join(_MEMBERS)}"
        )
    for name in ("client_id", "client_secret"):
        if name not in entry:
            raise ConfigurationError(f"{where} needs {name}")
    scopes = entry.get("scopes")
    if scopes is not None and (
        not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes)
    ):
        raise ConfigurationError(f"{where}: scopes must be a list of strings")
    refresh = entry.get("refresh", False)
    if not isinstance(refresh, bool):
        raise ConfigurationError(f"{where}: refresh must be true or false")
    try:
        return Client(
            client_id=entry["client_id"],
            client_secret=entry["client_secret"],
            scopes=None if scopes is None else tuple(scopes),
            refresh=refresh,
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"{where}: {exc.description}") from None


def clients_from_document(document: object, source: str = "clients") -> list[Client]:
    """The clients of a parsed clients document ``{"clients": [...]}``."""
    if not isinstance(document, Mapping) or set(document) != {"clients"}:
        raise ConfigurationError(f'{source}: the top level must be {{"clients": [...]}}')
    entries = document["clients"]
    if not isinstance(entries, list):
        raise ConfigurationError(f"{source}: clients must be a list")
    return unique_clients(
        _client_from(entry, f"{source}: clients[{i}]") for i, entry in enumerate(entries)
    )


def unique_clients(clients: Iterable[Client]) -> list[Client]:
    """*clients* as a list; two with one ``client_id`` are a configuration error."""
    seen: set[str] = set()
    out: list[Client] = []
    for client in clients:
        if not isinstance(client, Client):
            raise ConfigurationError("clients must be Client objects")
        if client.client_id in seen:
            raise ConfigurationError(f"client_id {client.client_id!r} is configured twice")
        seen.add(client.client_id)
        out.append(client)
    return out


def load_clients(path: str | Path) -> list[Client]:
    """The clients in the JSON file *path* (at most 1 MiB, UTF-8)::

        {"clients": [
            {"client_id": "orders-batch", "client_secret": "s3cret",
             "scopes": ["orders:read"], "refresh": true}
        ]}

    A client with ``scopes`` may request those; one without may request every
    scope the server knows. ``refresh`` makes the ``client_credentials`` grant
    return a refresh token too (RFC 6749 §4.4.3 advises against it; it is
    there to try refresh flows against a development server). A file that
    cannot be read or parsed is a :class:`~bearerguard.ConfigurationError`.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_SIZE + 1)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot read clients file {path}: {exc.strerror or exc}"
        ) from None
    if len(raw) > MAX_FILE_SIZE:
        raise ConfigurationError(f"clients file {path} is larger than 1 MiB")
    try:
        document: Any = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigurationError(f"clients file {path} is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ConfigurationError(
            f"clients file {path} is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}"
        ) from None
    return clients_from_document(document, f"clients file {path}")
