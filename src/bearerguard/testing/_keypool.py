"""Test keys, generated once per process and lent to one local issuer at a time.

RSA key generation costs tens of milliseconds; a suite that starts a fresh
issuer per test would spend most of its time there. Issuers borrow keys from
this pool and give them back when they stop, so keys are never shared by two
running issuers (which would let one issuer's tokens verify with the other's
JWKS) but are reused by successive ones.
"""

from __future__ import annotations

import threading

from ..issuing._keys import KeyPair, generate_key_pair

__all__ = ["KeyPool", "KeySpec", "default_pool"]

KeySpec = tuple[str, int, "str | None"]  # (kty, bits, crv)


class KeyPool:
    """A thread-safe pool of key pairs per (kty, bits, crv)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: dict[KeySpec, list[KeyPair]] = {}
        self._spec: dict[int, KeySpec] = {}

    def acquire(self, kty: str, bits: int, crv: str | None) -> KeyPair:
        """A key no running issuer holds; generated if the pool has none to lend."""
        spec: KeySpec = (kty, bits, crv)
        with self._lock:
            free = self._free.get(spec)
            if free:
                return free.pop()
        pair = generate_key_pair(kty, bits=bits, crv=crv)
        with self._lock:
            self._spec[id(pair)] = spec
        return pair

    def release(self, pairs: list[KeyPair]) -> None:
        """Give keys back for later issuers."""
        with self._lock:
            for pair in pairs:
                spec = self._spec.get(id(pair))
                if spec is not None:
                    self._free.setdefault(spec, []).append(pair)


default_pool = KeyPool()
