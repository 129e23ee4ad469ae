"""The size caps and time limits of the verifying side, each defined once.

Token parsing, key objects, the fetcher and the key-set policy read their
defaults from here, so a limit cannot drift between two places.
"""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_TOKEN_SIZE", "DEFAULT_TIMEOUT", "MAX_KID_LENGTH"]

#: Longest token accepted (characters of the compact serialization). Real
#: access tokens are 1-4 KiB; the cap bounds the work an unauthenticated
#: request can cause before any signature check.
DEFAULT_MAX_TOKEN_SIZE = 16 * 1024
#: Longest ``kid``, in a token header and in a JWK alike: a longer one cannot
#: name a published key, so the token is refused before any key lookup.
MAX_KID_LENGTH = 256
#: Seconds each HTTP request for metadata or keys may take.
DEFAULT_TIMEOUT = 5.0
#: Largest metadata or JWKS response read (bytes).
DEFAULT_MAX_BYTES = 256 * 1024

#: How deeply JSON arrays and objects may nest in a token, a JWKS or a metadata
#: document. Real tokens nest a few levels (Keycloak's resource_access.<client>.roles
#: is three); the limit keeps the parser's recursion far from Python's own, on
#: every Python version, so absurd nesting is a refusal, never a crash or a pass.
MAX_JSON_DEPTH = 32
