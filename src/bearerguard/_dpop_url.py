"""The ``htu`` comparison of DPoP proofs: URLs normalised per RFC 3986 §6.

RFC 9449 §4.3 compares the proof's ``htu`` with the request URI without its
query and fragment, after syntax-based and scheme-based normalisation: the
scheme and host in lower case, the scheme's default port dropped, percent-
encodings in upper case and decoded where they encode an unreserved
character, dot segments removed, and an empty path as ``/``.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

__all__ = ["normalized_htu", "request_origin", "request_url"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REG_NAME = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]+")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# RFC 3986 §3.3: what a path segment may hold unencoded (pchar, and "/").
_PATH_SAFE = "/!$&'()*+,;=:@-._~"


def _percent(match: re.Match[str]) -> str:
    char = chr(int(match.group(1), 16))
    return char if char in _UNRESERVED else "%" + match.group(1).upper()


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4."""
    out: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if path.endswith(("/.", "/..")):
        out.append("")
    return "/" + "/".join(out)


def normalized_htu(url: str) -> str | None:
    """*url* normalised for comparison, without query and fragment; ``None`` if unusable."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if not (_REG_NAME.fullmatch(host) or (":" in host and _IPV6.fullmatch(host))):
        return None  # RFC 3986 §3.2.2: a reg-name, an IPv4 address or an IPv6 literal
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = _PERCENT.sub(_percent, parts.path) or "/"
    return f"{scheme}://{host}{_remove_dot_segments(path) if path.startswith('/') else path}"


def request_origin(origin: str) -> str:
    """*origin* (``scheme://`` and the request's ``Host``) if that is all it holds, else ``""``.

    The ``Host`` header is the client's to write: one holding ``/``, ``?`` or
    ``#`` would add to, or hide, the path of the URL a proof's ``htu`` is
    compared with, so a proof made for another path would pass. ``""``
    matches no ``htu``.
    """
    try:
        parts = urlsplit(origin)
    except ValueError:
        return ""
    if origin != f"{parts.scheme}://{parts.netloc}" or "@" in parts.netloc:
        return ""
    return origin


def request_url(base: str, path: str | bytes) -> str:
    """The URL of a request: *base* (``scheme://host[:port][/prefix]``) and its *path*.

    *path* is the decoded path the server handed over (bytes, or text
    encoded as UTF-8); it is percent-encoded again here so it compares with
    the client's ``htu``.
    """
    return base.rstrip("/") + quote(path, safe=_PATH_SAFE)
