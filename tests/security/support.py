"""What the security suite needs beyond the local issuer: keys, raw token forging, odd servers.

* :func:`keyring` — every key the suite signs with, generated once per process,
  and the JWKS the catalogue issuer publishes for them (some spelled as real
  providers spell them: short EC coordinates, an RFC 9864 ``alg``, an encryption key).
* :func:`forge` — a compact JWS of exactly the given header and payload octets,
  signed with any key under any ``alg`` (PyJWT refuses most of what attackers send).
* :class:`TrapServer` — a listener on 127.0.0.1 that only counts connections:
  where ``jku``, ``x5u`` and redirects point, to prove nobody followed them.
* :class:`RelayServer` — a front for a :class:`~bearerguard.testing.LocalIssuer`
  that can reset connections, hang up, cut bodies short or trickle them, which
  the local issuer's own fault switches (status, delay, body, headers) cannot.
* :class:`LoopbackOnlyFetcher` — the real ``requests`` fetcher, except that it
  refuses (and records) any URL whose host is not 127.0.0.1, before any lookup.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import http.client
import itertools
import json
import socket
import socketserver
import struct
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bearerguard import FetchResponse, RequestsFetcher
from bearerguard._errors import FetchError
from bearerguard._jwk import PublicJWK
from bearerguard.issuing._keys import KeyPair
from bearerguard.testing._keypool import KeyPool

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "256": hashes.SHA256,
    "384": hashes.SHA384,
    "512": hashes.SHA512,
}
_COORD = {"secp256r1": 32, "secp384r1": 48, "secp521r1": 66}


# -- keys ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Keyring:
    """The suite's keys. The ``kid`` of each trusted one is its field name with ``-``.

    The annotations name the key classes directly: the fields ``rsa`` and ``ed25519``
    shadow the modules of the same name inside this class.
    """

    rsa: RSAPrivateKey  # RSA, JWK without "alg": any RS*/PS* fits
    rsa_ps256: RSAPrivateKey  # RSA whose JWK says "alg": "PS256"
    ec_p256: EllipticCurvePrivateKey
    ec_p384: EllipticCurvePrivateKey
    ec_p521: EllipticCurvePrivateKey
    ed25519: Ed25519PrivateKey
    ec_p256_short: EllipticCurvePrivateKey  # x starts with a zero octet; published without it
    ed25519_webcrypto: Ed25519PrivateKey  # JWK as WebCrypto exports it: "alg": "Ed25519"
    rsa_enc: RSAPrivateKey  # published with "use": "enc" (as Keycloak does); never trusted
    attacker_rsa: RSAPrivateKey  # never published anywhere
    attacker_p256: EllipticCurvePrivateKey
    weak_rsa: RSAPrivateKey  # 1024 bits: must never be accepted
    idp_rsa: tuple[RSAPrivateKey, ...]  # for local issuers whose private key a test needs

    def trusted(self) -> dict[str, PrivateKey]:
        """The keys published by the catalogue's issuer, by ``kid``."""
        return {
            "rsa": self.rsa,
            "rsa-ps256": self.rsa_ps256,
            "ec-p256": self.ec_p256,
            "ec-p384": self.ec_p384,
            "ec-p521": self.ec_p521,
            "ed25519": self.ed25519,
            "ec-p256-short": self.ec_p256_short,
            "ed25519-webcrypto": self.ed25519_webcrypto,
        }

    def trusted_jwks(self) -> list[dict[str, Any]]:
        """The public JWKs of :meth:`trusted`, then the encryption key ``rsa-enc``.

        ``rsa-ps256`` is restricted to PS256; ``ec-p256-short`` is written the
        way Authlib writes it (leading zero octets stripped); ``ed25519-webcrypto``
        the way WebCrypto's ``exportKey("jwk")`` does.
        """
        jwks: list[dict[str, Any]] = []
        for kid, key in self.trusted().items():
            jwk: dict[str, Any] = public_jwk(key, kid, alg="PS256" if kid == "rsa-ps256" else None)
            if kid == "ec-p256-short":
                jwk = stripped_coordinates(jwk)
            elif kid == "ed25519-webcrypto":
                jwk = {**jwk, "alg": "Ed25519", "key_ops": ["verify"], "ext": True}
            jwks.append(jwk)
        enc = PublicJWK.from_key(self.rsa_enc.public_key(), kid="rsa-enc", use=None).to_dict()
        return [*jwks, {**enc, "use": "enc", "alg": "RSA-OAEP"}]


@functools.cache
def keyring() -> Keyring:
    """Every key the suite uses, generated once per process (about a second)."""
    return Keyring(
        rsa=rsa.generate_private_key(65537, 2048),
        rsa_ps256=rsa.generate_private_key(65537, 2048),
        ec_p256=ec.generate_private_key(ec.SECP256R1()),
        ec_p384=ec.generate_private_key(ec.SECP384R1()),
        ec_p521=ec.generate_private_key(ec.SECP521R1()),
        ed25519=ed25519.Ed25519PrivateKey.generate(),
        ec_p256_short=p256_key_with_a_leading_zero_x(),
        ed25519_webcrypto=ed25519.Ed25519PrivateKey.generate(),
        rsa_enc=rsa.generate_private_key(65537, 2048),
        attacker_rsa=rsa.generate_private_key(65537, 2048),
        attacker_p256=ec.generate_private_key(ec.SECP256R1()),
        weak_rsa=rsa.generate_private_key(65537, 1024),
        idp_rsa=tuple(rsa.generate_private_key(65537, 2048) for _ in range(2)),
    )


def public_jwk(key: PrivateKey, kid: str, *, alg: str | None = None) -> dict[str, str]:
    """The public JWK of *key* (checked by bearerguard's own JWK code)."""
    return PublicJWK.from_key(key.public_key(), kid=kid, alg=alg).to_dict()


def p256_key_with_a_leading_zero_x() -> ec.EllipticCurvePrivateKey:
    """The first P-256 key from a fixed scalar on whose x coordinate starts with a zero octet.

    One key in 256 is such a key; a fixed search keeps the suite deterministic.
    """
    for scalar in itertools.count(0xB0A2D5EC):
        key = ec.derive_private_key(scalar, ec.SECP256R1())
        if key.public_key().public_numbers().x < 256**31:
            return key
    raise AssertionError("unreachable")


def stripped_coordinates(jwk: Mapping[str, Any]) -> dict[str, Any]:
    """An EC JWK with the leading zero octets of ``x`` and ``y`` dropped, as Authlib writes it."""
    return {
        **jwk,
        **{name: b64(unb64(jwk[name]).lstrip(b"\x00") or b"\x00") for name in ("x", "y")},
    }


def _int64(value: int, size: int | None = None) -> str:
    length = size or max(1, (value.bit_length() + 7) // 8)
    return b64(value.to_bytes(length, "big"))


def rsa_jwk_with_private_members(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    """The full private JWK of an RSA key: what a broken JWKS endpoint publishes."""
    numbers = key.private_numbers()
    public = numbers.public_numbers
    return {
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": "RS256",
        "n": _int64(public.n),
        "e": _int64(public.e),
        "d": _int64(numbers.d),
        "p": _int64(numbers.p),
        "q": _int64(numbers.q),
        "dp": _int64(numbers.dmp1),
        "dq": _int64(numbers.dmq1),
        "qi": _int64(numbers.iqmp),
    }


def weak_rsa_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    """A public RSA JWK built by hand (bearerguard would refuse to build a weak one)."""
    public = key.public_key().public_numbers()
    return {"kty": "RSA", "kid": kid, "use": "sig", "n": _int64(public.n), "e": _int64(public.e)}


class KnownKeyPool(KeyPool):
    """A key pool that lends exactly the given RSA keys, so a test knows an issuer's private key."""

    def __init__(self, *keys: rsa.RSAPrivateKey) -> None:
        super().__init__()
        self._pairs = [
            KeyPair(private_key=key, kid=f"idp-key-{index}", alg="RS256")
            for index, key in enumerate(keys)
        ]

    def acquire(self, kty: str, bits: int, crv: str | None) -> KeyPair:
        """The next known key (the suite never asks for more than it gave)."""
        return self._pairs.pop(0)

    def release(self, pairs: list[KeyPair]) -> None:
        """Keys are not reused: each pool serves one issuer."""


# -- forging tokens -------------------------------------------------------------------------


def b64(data: bytes) -> str:
    """Unpadded base64url."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    """Decode unpadded base64url."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def octets(value: Mapping[str, Any] | bytes | str) -> bytes:
    """JSON objects compactly encoded; bytes and text as they are."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    return json.dumps(value, separators=(",", ":")).encode("utf-8")


def signature(alg: str, key: PrivateKey | bytes, signing_input: bytes) -> bytes:
    """The JWS signature of *signing_input* under *alg* (RFC 7518 §3; HS* with raw key bytes)."""
    family, bits = alg[:2], alg[2:]
    if isinstance(key, bytes):
        return hmac.new(key, signing_input, getattr(hashlib, f"sha{bits}")).digest()
    if isinstance(key, rsa.RSAPrivateKey):
        digest = _HASHES[bits]()
        pad: padding.AsymmetricPadding = (
            padding.PSS(mgf=padding.MGF1(_HASHES[bits]()), salt_length=digest.digest_size)
            if family == "PS"
            else padding.PKCS1v15()
        )
        return key.sign(signing_input, pad, digest)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(_HASHES[bits]())))
        size = _COORD[key.curve.name]
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return key.sign(signing_input)


def forge(
    header: Mapping[str, Any] | bytes | str,
    payload: Mapping[str, Any] | bytes | str,
    key: PrivateKey | bytes | None = None,
    *,
    alg: str | None = None,
    sig: bytes | None = None,
) -> str:
    """A compact JWS of exactly these header and payload octets.

    Signed with *key* under *alg* (default: the header's own ``alg``), unless
    the signature bytes *sig* are given.
    """
    signing_input = b64(octets(header)) + "." + b64(octets(payload))
    if sig is None:
        assert key is not None, "give a key or the signature bytes"
        if alg is None:
            assert isinstance(header, Mapping), "give alg= for a raw header"
            alg = header["alg"]
        sig = signature(alg, key, signing_input.encode("ascii"))
    return signing_input + "." + b64(sig)


def segments(token: str) -> tuple[str, str, str]:
    """The three segments of a compact JWS."""
    header, payload, sig = token.split(".")
    return header, payload, sig


# -- servers on 127.0.0.1 -----------------------------------------------------------------


class TrapServer:
    """Accepts connections on 127.0.0.1, counts them, and hangs up at once."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.05)
        self._count = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="trap-server", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._sock.getsockname()[1])

    def url(self, path: str = "/") -> str:
        """An http URL on the trap."""
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def connections(self) -> int:
        """How many connections were made to the trap so far."""
        with self._lock:
            return self._count

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self._count += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._sock.close()


RelayMode = Literal["pass", "reset", "hangup", "garbage", "truncate", "trickle"]


class _RelayHandler(socketserver.BaseRequestHandler):
    server: _RelayTCPServer

    def handle(self) -> None:
        conn: socket.socket = self.request
        conn.settimeout(5)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        lines = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        method, target = lines[0].split(" ")[:2]
        asked = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        relay = self.server.relay
        mode = relay.record(target)
        if mode == "reset":
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if mode == "hangup":
            return
        if mode == "garbage":
            conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
            return
        if mode != "pass":
            # A 304 would have no body to spoil: ask for the full document.
            asked = {k: v for k, v in asked.items() if k != "if-none-match"}
        status, headers, body = relay.upstream(method, target, asked)
        # The upstream's Content-Length is passed on as declared, even when it lies.
        declared = next((v for k, v in headers if k.lower() == "content-length"), None)
        lines_out = [f"HTTP/1.1 {status} {http.client.responses.get(status, 'Status')}"]
        for name, value in headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                lines_out.append(f"{name}: {value}")
        length = str(len(body)) if declared is None or mode == "truncate" else declared
        lines_out += [f"Content-Length: {length}", "Connection: close", "", ""]
        conn.sendall("\r\n".join(lines_out).encode("latin-1"))
        if mode == "pass":
            conn.sendall(body)
        elif mode == "truncate":
            conn.sendall(body[: len(body) // 3])  # the declared length is never reached
        else:  # trickle: one byte at a time, far slower than any fetch timeout
            for index in range(len(body)):
                if relay.stopping.wait(0.02):
                    return
                try:
                    conn.sendall(body[index : index + 1])
                except OSError:
                    return


class _RelayTCPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    relay: RelayServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gives up mid-answer is what these tests provoke


class RelayServer:
    """Forwards GETs to ``127.0.0.1:<upstream_port>``, or misbehaves as :attr:`mode` says.

    ``pass`` relays faithfully (``Connection: close``); ``reset`` answers a
    request with a TCP reset; ``hangup`` closes without a byte; ``garbage``
    sends a line that is not HTTP; ``truncate`` declares the full
    ``Content-Length`` and sends a third of the body; ``trickle`` sends the body
    one byte every 20 ms.
    """

    def __init__(self, upstream_port: int) -> None:
        self._upstream_port = upstream_port
        self._lock = threading.Lock()
        self._mode: RelayMode = "pass"
        self.stopping = threading.Event()
        self.seen: Counter[str] = Counter()
        self._server = _RelayTCPServer(("127.0.0.1", 0), _RelayHandler)
        self._server.relay = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def mode(self) -> RelayMode:
        with self._lock:
            return self._mode

    @mode.setter
    def mode(self, mode: RelayMode) -> None:
        with self._lock:
            self._mode = mode

    def record(self, target: str) -> RelayMode:
        with self._lock:
            self.seen[target] += 1
            return self._mode

    def upstream(
        self, method: str, target: str, asked: Mapping[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self._upstream_port, timeout=10)
        try:
            forward = {k: v for k, v in asked.items() if k in ("if-none-match", "accept")}
            conn.request(method, target, headers=forward)
            response = conn.getresponse()
            try:
                body = response.read()
            except http.client.IncompleteRead as short:  # the upstream declared more
                body = short.partial
            return response.status, response.getheaders(), body
        finally:
            conn.close()

    def close(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)


class LoopbackOnlyFetcher:
    """The default ``requests`` fetcher, fenced to 127.0.0.1.

    A URL on any other host is refused with :class:`FetchError` before any name
    lookup or connection, and remembered in :attr:`refused`, so a test can
    show that a redirect or a discovered URL was not followed.
    """

    def __init__(self) -> None:
        self._inner = RequestsFetcher()
        self.requested: list[str] = []
        self.refused: list[str] = []

    def __call__(
        self, url: str, *, headers: Mapping[str, str], timeout: float, max_bytes: int
    ) -> FetchResponse:
        try:
            host = urlsplit(url).hostname
        except ValueError:
            host = None
        if host != "127.0.0.1":
            self.refused.append(url)
            raise FetchError("test fetcher: only 127.0.0.1 may be contacted")
        self.requested.append(url)
        return self._inner(url, headers=headers, timeout=timeout, max_bytes=max_bytes)

    def close(self) -> None:
        self._inner.close()


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    """Poll *condition* until it is true or *timeout* seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return bool(condition())
