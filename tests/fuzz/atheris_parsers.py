"""Coverage-guided fuzzing of bearerguard's parsers with atheris (``make fuzz``, not in CI).

Each input picks one target by its first byte and feeds it the rest:

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

import logging
import sys

import atheris

from bearerguard import _jws as jws
from bearerguard._caching import cache_lifetime
from bearerguard._discovery import jwks_uri_from_metadata
from bearerguard._encoding import json_object
from bearerguard._errors import BearerGuardError
from bearerguard._fetch import FetchResponse, parse_json_response
from bearerguard._http import bearer_token
from bearerguard._jwk import parse_jwks
from bearerguard.claims import AccessClaims

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
    if not data:
        return
    choice, raw = data[0] % TARGETS, data[1:]  # the first byte picks the target
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
            document = parse_json_response(FetchResponse(200, {}, raw), METADATA_URL, "metadata")
            jwks_uri_from_metadata(document, ISSUER, METADATA_URL)
        elif choice == 5:
            AccessClaims.from_payload(json_object(raw, "payload"))
        else:
            cache_lifetime({"cache-control": text, "age": text[::-1]})
    except BearerGuardError:
        pass  # refusing the input with bearerguard's own error is the expected outcome


def _starting_corpus() -> list[bytes]:
    """One well-formed input per target, so the fuzzer starts past the JSON layer."""
    import base64
    import json

    from cryptography.hazmat.primitives.asymmetric import ec

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    claims = {"iss": ISSUER, "sub": "u", "aud": "api", "exp": 2000000000, "scope": "a b"}
    header = {"alg": "ES256", "kid": "k1", "typ": "at+jwt"}
    token = (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}.{b64(bytes(64))}"
    )
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "kid": "k1",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }
    metadata = {"issuer": ISSUER, "jwks_uri": "https://127.0.0.1/issuer/jwks.json"}
    return [
        b"\x00" + token.encode(),
        b"\x01" + token.encode(),
        b"\x02" + json.dumps({"keys": [jwk]}).encode(),
        b"\x03" + b"Bearer " + token.encode(),
        b"\x04" + json.dumps(metadata).encode(),
        b"\x05" + json.dumps(claims).encode(),
        b"\x06" + b"public, max-age=300",
    ]


def main() -> None:
    argv = list(sys.argv)
    if not any(not arg.startswith("-") for arg in argv[1:]):
        # No corpus directory given (as `make fuzz` runs it): one well-formed input per target.
        import tempfile
        from pathlib import Path

        corpus = Path(tempfile.mkdtemp(prefix="bearerguard-fuzz-"))
        for index, data in enumerate(_starting_corpus()):
            (corpus / f"start-{index}").write_bytes(data)
        argv.append(str(corpus))
    logging.disable(logging.WARNING)  # parse_jwks logs each skipped key: noise at 10k runs/s
    # instrument_imports() misses packages loaded through an editable install's
    # import hook; instrumenting every loaded function after the imports does not.
    atheris.instrument_all()
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
