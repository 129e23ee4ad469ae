"""Encrypted PKCS#8 (RFC 5958 §3) with PBES2: PBKDF2-HMAC-SHA256 and AES-256-CBC (RFC 8018).

``cryptography``'s ``BestAvailableEncryption`` writes the same scheme for
PKCS#8, but with 2048 PBKDF2 iterations, and its ``encryption_builder()``,
which takes an iteration count, serializes only OpenSSH and PKCS#12. So the
cipher work is done here with ``cryptography``'s primitives, and only the
ASN.1 framing is written by hand: a fixed structure, read back by OpenSSL
(``load_pem_private_key``, ``openssl pkcs8``) like any other encrypted PKCS#8
file.
"""

from __future__ import annotations

import base64
import os

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

__all__ = ["KDF_ITERATIONS", "encrypted_pkcs8_pem"]

#: PBKDF2-HMAC-SHA256 iterations: OWASP's 2023 recommendation (Password
#: Storage Cheat Sheet). Loading such a key takes a few tenths of a second,
#: once, when a server starts.
KDF_ITERATIONS = 600_000
_SALT_BYTES = 16
_AES256_KEY_BYTES = 32

# DER-encoded OBJECT IDENTIFIERs (tag, length, value).
_ID_PBES2 = bytes.fromhex("06092a864886f70d01050d")  # 1.2.840.113549.1.5.13, RFC 8018 A.4
_ID_PBKDF2 = bytes.fromhex("06092a864886f70d01050c")  # 1.2.840.113549.1.5.12, RFC 8018 A.2
_ID_HMAC_SHA256 = bytes.fromhex("06082a864886f70d0209")  # 1.2.840.113549.2.9, RFC 8018 B.1.2
_ID_AES256_CBC = bytes.fromhex("060960864801650304012a")  # 2.16.840.1.101.3.4.1.42, B.2.5
_NULL = b"\x05\x00"


def encrypted_pkcs8_pem(private_key_info: bytes, password: bytes) -> bytes:
    """``ENCRYPTED PRIVATE KEY`` PEM of a DER PKCS#8 ``PrivateKeyInfo``.

    A fresh random salt and IV each call; the AES key is derived with
    PBKDF2-HMAC-SHA256 and :data:`KDF_ITERATIONS` rounds.
    """
    salt = os.urandom(_SALT_BYTES)
    iv = os.urandom(algorithms.AES.block_size // 8)
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=_AES256_KEY_BYTES, salt=salt, iterations=KDF_ITERATIONS
    )
    encryptor = Cipher(algorithms.AES(kdf.derive(password)), modes.CBC(iv)).encryptor()
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(private_key_info) + padder.finalize()
    ciphertext = encryptor.update(padded) + encryptor.finalize()
    # RFC 8018 A.2: PBKDF2-params; keyLength is optional and left out, as
    # OpenSSL does, since AES-256 fixes it.
    pbkdf2_params = _sequence(
        _octet_string(salt), _integer(KDF_ITERATIONS), _sequence(_ID_HMAC_SHA256, _NULL)
    )
    pbes2_params = _sequence(  # RFC 8018 A.4
        _sequence(_ID_PBKDF2, pbkdf2_params),
        _sequence(_ID_AES256_CBC, _octet_string(iv)),
    )
    # RFC 5958 §3: EncryptedPrivateKeyInfo.
    der = _sequence(_sequence(_ID_PBES2, pbes2_params), _octet_string(ciphertext))
    return _pem(b"ENCRYPTED PRIVATE KEY", der)


def _tlv(tag: int, value: bytes) -> bytes:
    size = len(value)
    if size < 0x80:
        length = bytes([size])
    else:  # X.690 §8.1.3.5: long form, minimal number of length octets
        octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(octets)]) + octets
    return bytes([tag]) + length + value


def _sequence(*items: bytes) -> bytes:
    return _tlv(0x30, b"".join(items))


def _octet_string(value: bytes) -> bytes:
    return _tlv(0x04, value)


def _integer(value: int) -> bytes:
    # Non-negative only; one extra bit keeps the sign bit clear (X.690 §8.3).
    return _tlv(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _pem(label: bytes, der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]  # RFC 7468 §2
    return (
        b"\n".join([b"-----BEGIN " + label + b"-----", *lines, b"-----END " + label + b"-----"])
        + b"\n"
    )
