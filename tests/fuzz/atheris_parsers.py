"""Coverage-guided fuzzing of bearerguard's parsers with atheris (``make fuzz``, not in CI).

Each input drives the token decoder, the JWKS parser, the ``Authorization``
header parser and the discovery-document checks. The only exceptions allowed
to escape are bearerguard's own; anything else is a crash atheris reports.

Run: ``make fuzz`` (installs atheris, fuzzes for two minutes), or
``python tests/fuzz/atheris_parsers.py -max_total_time=600 corpus_dir``.
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports():
    from bearerguard.discovery import FetchResponse, _json_body
    from bearerguard.errors import BearerGuardError
    from bearerguard.http import bearer_token
    from bearerguard.jwk import parse_jwks
    from bearerguard.jws import decode


def one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    choice = fdp.ConsumeIntInRange(0, 3)
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    try:
        if choice == 0:
            decode(text)
        elif choice == 1:
            parse_jwks(text)
        elif choice == 2:
            bearer_token(text.encode("utf-8", "surrogatepass"))
        else:
            body = text.encode("utf-8", "surrogatepass")
            _json_body(FetchResponse(200, {}, body), "https://127.0.0.1/x", "metadata")
    except BearerGuardError:
        pass  # refusing the input with bearerguard's own error is the expected outcome


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
