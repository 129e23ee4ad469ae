"""Coverage-guided fuzzing of bearerguard's parsers with atheris (``make fuzz``, not in CI).

Each input picks one target and feeds it the rest of the bytes:

0. the compact-JWS decoder (``jws.decode``);
1. the decoder's fast path against its strict path (they must agree exactly);
2. the JWKS parser (``parse_jwks``);
3. the ``Authorization`` header parser (``bearer_token``);
4. a metadata document: strict JSON, then the ``issuer``/``jwks_uri`` checks;
5. typed claims (``AccessClaims.from_payload``) of any JSON object;
6. cache lifetimes from ``Cache-Control``/``Age`` header text.

The only exceptions allowed to escape are bearerguard's own; anything else is
a crash atheris reports (with the input that caused it).

Run: ``make fuzz`` (installs atheris, fuzzes for two minutes), or
``python tests/fuzz/atheris_parsers.py -max_total_time=600 corpus_dir``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from bearerguard import jws
    from bearerguard.claims import AccessClaims
    from bearerguard.discovery import (
        FetchResponse,
        cache_lifetime,
        json_response,
        jwks_uri_from_metadata,
    )
    from bearerguard.encoding import json_object
    from bearerguard.errors import BearerGuardError
    from bearerguard.http import bearer_token
    from bearerguard.jwk import parse_jwks

ISSUER = "https://127.0.0.1/issuer"
METADATA_URL = "https://127.0.0.1/issuer/.well-known/openid-configuration"
TARGETS = 7


def _outcome(token: str) -> tuple[object, ...]:
    try:
        return ("ok", *jws.parse(token))
    except BearerGuardError as error:
        return ("error", type(error), error.description)


def _strict(token: str) -> tuple[object, ...]:
    try:
        return ("ok", *jws._parse_strict(token))
    except BearerGuardError as error:
        return ("error", type(error), error.description)


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    choice = fdp.ConsumeIntInRange(0, TARGETS - 1)
    raw = fdp.ConsumeBytes(fdp.remaining_bytes())
    text = raw.decode("utf-8", "surrogateescape")
    try:
        if choice == 0:
            jws.decode(text)
        elif choice == 1:
            if len(text) <= jws.DEFAULT_MAX_TOKEN_SIZE:
                assert _outcome(text) == _strict(text), "fast and strict token parsers disagree"
        elif choice == 2:
            parse_jwks(raw)
        elif choice == 3:
            bearer_token(raw)
        elif choice == 4:
            document = json_response(FetchResponse(200, {}, raw), METADATA_URL, "metadata")
            jwks_uri_from_metadata(document, ISSUER, METADATA_URL)
        elif choice == 5:
            AccessClaims.from_payload(json_object(raw, "payload"))
        else:
            cache_lifetime({"cache-control": text, "age": text[::-1]})
    except BearerGuardError:
        pass  # refusing the input with bearerguard's own error is the expected outcome


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
