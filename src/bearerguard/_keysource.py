"""Where an :class:`~bearerguard.Issuer` gets its keys.

A key source answers "which keys may have signed a token with this ``kid``"
(``kid=None``: every key). :class:`StaticKeySet` is a fixed list;
:class:`~bearerguard.keyset.RemoteKeySet` fetches and refreshes a JWKS.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from ._errors import ConfigurationError
from ._jwk import PublicJWK

__all__ = ["KeySource", "StaticKeySet"]


@runtime_checkable
class KeySource(Protocol):
    """The seam between an Issuer and its keys.

    ``get_keys(kid)`` returns the keys with that ``kid`` (all keys for ``None``),
    possibly after a bounded refetch for an unknown ``kid``; ``aget_keys`` is
    the same for async callers and never blocks the event loop.
    """

    def get_keys(self, kid: str | None) -> Sequence[PublicJWK]:
        """Keys that may verify a token with *kid*."""
        ...

    async def aget_keys(self, kid: str | None) -> Sequence[PublicJWK]:
        """Async twin of :meth:`get_keys`."""
        ...


class StaticKeySet:
    """A fixed set of keys (e.g. from a one-shot :func:`~bearerguard.fetch_jwks`)."""

    __slots__ = ("_all", "_by_kid")

    def __init__(self, keys: Iterable[PublicJWK]) -> None:
        keys = tuple(keys)
        for key in keys:
            if not isinstance(key, PublicJWK):
                raise ConfigurationError("keys must be PublicJWK objects (see parse_jwks)")
        by_kid: dict[str, tuple[PublicJWK, ...]] = {}
        for key in keys:
            by_kid[key.kid] = (*by_kid.get(key.kid, ()), key)
        self._all = keys
        self._by_kid = by_kid

    def get_keys(self, kid: str | None) -> Sequence[PublicJWK]:
        """Keys with *kid* (all keys for ``None``)."""
        if kid is None:
            return self._all
        return self._by_kid.get(kid, ())

    async def aget_keys(self, kid: str | None) -> Sequence[PublicJWK]:
        """Same as :meth:`get_keys`; nothing to wait for."""
        return self.get_keys(kid)

    @property
    def keys(self) -> tuple[PublicJWK, ...]:
        """Every key in the set."""
        return self._all

    def __len__(self) -> int:
        return len(self._all)
