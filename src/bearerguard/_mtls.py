"""Certificate-bound access tokens (RFC 8705 §3): thumbprints and where certificates come from.

A token whose ``cnf`` claim has an ``x5t#S256`` member is bound to one TLS
client certificate: the member is the base64url SHA-256 of that
certificate's DER encoding (RFC 8705 §3.1). The TLS handshake proved that the
client holds the certificate's private key, so a thief without the key cannot
use the token. This module computes the thumbprint, compares it in constant
time, and reads the certificate the request came with:

* the ASGI TLS extension (``scope["extensions"]["tls"]["client_cert_chain"]``,
  the first PEM string is the client's), where the server implements it;
* the WSGI environ's ``SSL_CLIENT_CERT`` (PEM; werkzeug's server, Apache
  ``mod_ssl`` with ``SSLOptions +ExportCertData``);
* opt-in, a header a TLS-terminating proxy sets (URL-encoded PEM, as nginx's
  ``$ssl_client_escaped_cert``), believed only from the trusted proxy
  addresses: from any other address the header is ignored.

The certificate's validity (chain, dates, revocation) is the TLS server's
or proxy's job; the binding is by thumbprint alone (RFC 8705 §3).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ._encoding import b64url_encode
from ._errors import ConfigurationError

if TYPE_CHECKING:
    import cryptography.x509

__all__ = [
    "MAX_CERTIFICATE_SIZE",
    "CertificateSource",
    "certificate_binding_failure",
    "certificate_thumbprint",
]

#: The largest certificate (PEM, DER or URL-encoded PEM) read from a request.
MAX_CERTIFICATE_SIZE = 16 * 1024

# RFC 9110 §5.1: a field name is a token.
_FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def certificate_thumbprint(certificate: str | bytes | cryptography.x509.Certificate) -> str:
    """The RFC 8705 §3.1 ``x5t#S256`` of *certificate*: base64url SHA-256 of its DER form.

    *certificate* is a PEM string or bytes (the first certificate of a
    chain), DER bytes, or a ``cryptography`` certificate. What a token bound
    to that certificate carries as ``cnf["x5t#S256"]``::

        token = issuer.mint(cnf={"x5t#S256": certificate_thumbprint(pem)})

    Raises :class:`~bearerguard.ConfigurationError` when it is not an X.509
    certificate.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    if isinstance(certificate, x509.Certificate):
        return _hash(certificate.public_bytes(Encoding.DER))
    thumbprint = _thumbprint(certificate) if isinstance(certificate, str | bytes) else None
    if thumbprint is None:
        raise ConfigurationError(
            "certificate must be an X.509 certificate: PEM text, DER bytes "
            "or a cryptography x509.Certificate"
        )
    return thumbprint


def _hash(der: bytes) -> str:
    return b64url_encode(hashlib.sha256(der).digest())


@lru_cache(maxsize=256)
def _thumbprint(certificate: str | bytes) -> str | None:
    """The thumbprint of a PEM or DER certificate, or ``None`` when it cannot be read.

    Cached: a client sends the same certificate on every request.
    """
    if len(certificate) > MAX_CERTIFICATE_SIZE:
        return None
    # Imported here: `import bearerguard` stays cheap for APIs without mTLS.
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        if isinstance(certificate, str):
            loaded = x509.load_pem_x509_certificate(certificate.encode("ascii"))
        elif certificate.lstrip().startswith(b"-----BEGIN"):
            loaded = x509.load_pem_x509_certificate(certificate)
        else:
            loaded = x509.load_der_x509_certificate(certificate)
    except (ValueError, TypeError, UnicodeEncodeError):
        return None
    return _hash(loaded.public_bytes(Encoding.DER))


def certificate_binding_failure(
    expected: object, certificate: str | bytes | None, *, checked: bool
) -> str | None:
    """Why a token bound to thumbprint *expected* fails with *certificate*, or ``None``.

    *checked* says whether this API checks certificate binding at all (the
    ``mtls`` setting); *certificate* is the request's client certificate
    (``None``: none was presented). The thumbprints are compared in
    constant time.
    """
    if not checked:
        return (
            "cnf: certificate-bound token (x5t#S256), and this API does not check "
            "client certificates (mtls is off)"
        )
    if type(expected) is not str or not expected:
        return "cnf: x5t#S256 must be a certificate thumbprint string"
    if certificate is None:
        return "cnf: certificate-bound token (x5t#S256) presented without a client certificate"
    actual = _thumbprint(certificate)
    if actual is None:
        return "cnf: the client certificate cannot be read to check the x5t#S256 binding"
    if not hmac.compare_digest(actual.encode(), expected.encode("utf-8", "replace")):
        return "cnf: the client certificate does not match the token's x5t#S256 binding"
    return None


def _networks(value: object, name: str) -> tuple[_Network, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigurationError(
            f"{name} must be a list of proxy addresses or networks, "
            "e.g. ['10.0.0.5', '10.1.0.0/16']"
        )
    networks: list[_Network] = []
    for item in value:
        try:
            network = ipaddress.ip_network(item)
        except (TypeError, ValueError):
            raise ConfigurationError(
                f"{name}: {item!r} is not an IP address or network such as '10.1.0.0/16' "
                "(host bits must be zero)"
            ) from None
        if network.prefixlen == 0:
            raise ConfigurationError(
                f"{name}: {item!r} trusts every address, so any client could set the "
                "certificate header; list your proxies' addresses only"
            )
        networks.append(network)
    if not networks:
        raise ConfigurationError(f"{name} is empty: list the addresses of your TLS proxies")
    return tuple(networks)


class CertificateSource:
    """Where an adapter finds the request's client certificate (see the module docstring).

    Without *proxy_header*, only the server's TLS layer (ASGI TLS extension,
    WSGI ``SSL_CLIENT_CERT``) counts. With it, a request from one of
    *trusted_proxies* takes its certificate from that header alone (the
    connection is the proxy's, not the client's); from any other address the
    header is ignored and the TLS layer counts, so a client cannot claim a
    certificate by sending the header itself. The setting names go into the
    configuration errors.
    """

    __slots__ = ("_environ_key", "_header", "_trusted")

    def __init__(
        self,
        *,
        proxy_header: str | None = None,
        trusted_proxies: Iterable[str] | None = None,
        names: tuple[str, str] = ("mtls_proxy_header=", "mtls_trusted_proxies="),
    ) -> None:
        header_name, proxies_name = names
        self._header: bytes | None = None
        self._environ_key: str | None = None
        self._trusted: tuple[_Network, ...] = ()
        if proxy_header is None:
            if trusted_proxies is not None:
                raise ConfigurationError(
                    f"{proxies_name} goes with {header_name}: the header your TLS proxy "
                    "puts the client certificate in (e.g. 'X-SSL-Client-Cert')"
                )
            return
        if not isinstance(proxy_header, str) or not _FIELD_NAME.fullmatch(proxy_header):
            raise ConfigurationError(
                f"{header_name} must be a header name such as 'X-SSL-Client-Cert'"
            )
        if proxy_header.lower() in ("authorization", "dpop", "host"):
            raise ConfigurationError(f"{header_name} cannot be the {proxy_header} header")
        if trusted_proxies is None:
            raise ConfigurationError(
                f"{header_name} needs {proxies_name}: the addresses of the proxies that set "
                "it (e.g. ['10.0.0.5']); a header from any other address is ignored"
            )
        self._trusted = _networks(trusted_proxies, proxies_name)
        self._header = proxy_header.lower().encode("latin-1")
        self._environ_key = "HTTP_" + proxy_header.upper().replace("-", "_")

    @property
    def proxy_header(self) -> str | None:
        """The proxy's certificate header (lower case), or ``None``."""
        return None if self._header is None else self._header.decode("latin-1")

    def _trusts(self, address: object) -> bool:
        if not isinstance(address, str):
            return False  # a Unix socket, or a server that gives no address
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self._trusted)

    @staticmethod
    def _from_proxy(value: str | bytes | None) -> str | None:
        if not value:
            return None
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        # Too large to be one: left as it is, it fails to parse (a refusal, never a 500).
        return value if len(value) > 3 * MAX_CERTIFICATE_SIZE else unquote(value)

    def from_scope(self, scope: Mapping[str, Any]) -> str | None:
        """The client certificate of an ASGI request (PEM), or ``None``."""
        if self._header is not None:
            client = scope.get("client")
            if self._trusts(client[0] if client else None):
                values = [v for k, v in scope.get("headers", ()) if k == self._header]
                return self._from_proxy(values[0]) if len(values) == 1 else None
        return asgi_tls_certificate(scope)

    def from_environ(
        self, environ: Mapping[str, Any], scope: Mapping[str, Any] | None = None
    ) -> str | None:
        """The client certificate of a WSGI request (or Django's ``request.META``), or ``None``.

        *scope* is the ASGI scope when Django runs under ASGI.
        """
        if self._environ_key is not None and self._trusts(environ.get("REMOTE_ADDR")):
            value = environ.get(self._environ_key)
            # WSGI servers join repeated header lines with ", ": never a certificate.
            return None if not isinstance(value, str) or ", " in value else self._from_proxy(value)
        if scope is not None:
            return asgi_tls_certificate(scope)
        value = environ.get("SSL_CLIENT_CERT")
        return value if isinstance(value, str) and value else None


def asgi_tls_certificate(scope: Mapping[str, Any]) -> str | None:
    """The client certificate the ASGI TLS extension gives (the chain's first PEM), or ``None``.

    A certificate the server reports it could not verify (``client_cert_error``)
    counts as none: its validity is the TLS layer's check.
    """
    extensions = scope.get("extensions")
    tls = extensions.get("tls") if isinstance(extensions, Mapping) else None
    if not isinstance(tls, Mapping) or tls.get("client_cert_error"):
        return None
    chain = tls.get("client_cert_chain")
    if not chain or isinstance(chain, str | bytes):
        return None
    first = next(iter(chain), None)
    return first if isinstance(first, str) and first else None
