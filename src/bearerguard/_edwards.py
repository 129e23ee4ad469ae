"""Edwards-curve public keys that are safe to verify with (RFC 8032).

cryptography (OpenSSL) loads any 32- or 57-byte string as an Ed25519 or Ed448
public key. A small-order point makes every signature check depend only on
the message hash, letting one signature verify for many messages; a
non-canonical or off-curve encoding is a malformed key. Both are refused
here (RFC 8032 §5.1.3 and §5.2.3, "Taming the many EdDSAs").
"""

from __future__ import annotations

from ._errors import InvalidKey

__all__ = ["check_ed448_point", "check_ed25519_point"]

_P25519 = 2**255 - 19
_D25519 = (-121665 * pow(121666, _P25519 - 2, _P25519)) % _P25519
_SQRT_M1 = pow(2, (_P25519 - 1) // 4, _P25519)
_P448 = 2**448 - 2**224 - 1
_D448 = _P448 - 39081


def check_ed25519_point(raw: bytes) -> None:
    """Refuse an Ed25519 key (32 bytes) that is non-canonical, off the curve or of small order."""
    p = _P25519
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    sign = raw[31] >> 7
    if y >= p:
        raise InvalidKey("Ed25519 public key is not canonically encoded")
    yy = y * y % p
    x2 = (yy - 1) * pow(_D25519 * yy + 1, p - 2, p) % p
    x = pow(x2, (p + 3) // 8, p)
    if (x * x - x2) % p:
        x = x * _SQRT_M1 % p
    if (x * x - x2) % p:
        raise InvalidKey("Ed25519 public key is not a point on the curve")
    if x == 0 and sign:
        raise InvalidKey("Ed25519 public key is not canonically encoded")
    if x & 1 != sign:
        x = p - x
    px, py = x, y
    for _ in range(3):  # multiply by the cofactor 8
        px, py = _ed25519_double(px, py)
    if px == 0 and py == 1:
        raise InvalidKey("Ed25519 public key is a small-order point")


def _ed25519_double(x: int, y: int) -> tuple[int, int]:
    # Complete twisted Edwards addition (a = -1) of the point with itself.
    p = _P25519
    xy = x * y % p
    t = _D25519 * xy * xy % p
    x3 = 2 * xy * pow(1 + t, p - 2, p) % p
    y3 = (y * y + x * x) * pow(1 - t, p - 2, p) % p
    return x3, y3


def check_ed448_point(raw: bytes) -> None:
    """Refuse an Ed448 key (57 bytes) that is non-canonical, of small order or off the curve."""
    y = int.from_bytes(raw, "little") & ((1 << 455) - 1)
    if raw[56] & 0x7F or y >= _P448:
        raise InvalidKey("Ed448 public key is not canonically encoded")
    # The points of order 1, 2 and 4 on edwards448 have y in {1, -1, 0}.
    if y in (0, 1, _P448 - 1):
        raise InvalidKey("Ed448 public key is a small-order point")
    # RFC 8032 §5.2.3: x² = (y² - 1) / (d·y² - 1) must have a square root
    # (p ≡ 3 mod 4, so the root candidate is u^((p+1)/4)).
    p = _P448
    yy = y * y % p
    x2 = (yy - 1) * pow(_D448 * yy - 1, p - 2, p) % p
    x = pow(x2, (p + 1) // 4, p)
    if (x * x - x2) % p:
        raise InvalidKey("Ed448 public key is not a point on the curve")
