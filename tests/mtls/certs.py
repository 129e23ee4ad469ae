"""A test CA and client certificates, made with ``cryptography`` for each test session.

Nothing is checked in: keys and certificates live in a temporary directory.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["Pki", "Subject", "make_pki"]

_NOW = datetime.datetime.now(datetime.timezone.utc)


@dataclass(frozen=True)
class Subject:
    """A certificate and its key, in PEM, with the files a TLS client loads."""

    pem: str
    der: bytes
    cert_file: Path
    key_file: Path


@dataclass(frozen=True)
class Pki:
    """The CA the servers trust, the server's certificate and two clients'."""

    ca_file: Path
    server: Subject
    alice: Subject
    bob: Subject
    expired: Subject
    stranger: Subject  # issued by another CA: TLS servers refuse its handshake


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _issue(
    directory: Path,
    name: str,
    issuer_key: ec.EllipticCurvePrivateKey,
    issuer_name: x509.Name,
    *,
    server: bool = False,
    not_after: datetime.datetime | None = None,
) -> Subject:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - datetime.timedelta(days=2))
        .not_valid_after(not_after or _NOW + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # Key identifiers: Python 3.13's default strict X.509 checks require them.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    cert = builder.sign(issuer_key, hashes.SHA256())
    cert_file = directory / f"{name}.crt"
    key_file = directory / f"{name}.key"
    pem = cert.public_bytes(serialization.Encoding.PEM).decode("ascii")
    cert_file.write_text(pem)
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Subject(pem, cert.public_bytes(serialization.Encoding.DER), cert_file, key_file)


def _ca(directory: Path, name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Name, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_NOW - datetime.timedelta(days=2))
        .not_valid_after(_NOW + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    path = directory / f"{name}.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, subject, path


def make_pki(directory: Path) -> Pki:
    """A CA, a server certificate for 127.0.0.1 and client certificates, under *directory*."""
    ca_key, ca_name, ca_file = _ca(directory, "test-ca")
    other_key, other_name, _ = _ca(directory, "other-ca")
    return Pki(
        ca_file=ca_file,
        server=_issue(directory, "server", ca_key, ca_name, server=True),
        alice=_issue(directory, "alice", ca_key, ca_name),
        bob=_issue(directory, "bob", ca_key, ca_name),
        expired=_issue(
            directory, "expired", ca_key, ca_name, not_after=_NOW - datetime.timedelta(days=1)
        ),
        stranger=_issue(directory, "stranger", other_key, other_name),
    )
