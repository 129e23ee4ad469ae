"""CORS preflights through every adapter: no user code runs without a valid token.

Each adapter's app has a probe (``/probe``): a plain handler of ``OPTIONS`` and
``POST`` that records every run before it reads the claims. Requests shaped
like a browser's preflight (``Origin`` and ``Access-Control-Request-Method``,
with or without a body), plain ``OPTIONS`` and cross-origin ``POST`` requests
go to all seven adapters. Each answer must be the core's outcome for the
request's ``Authorization`` header, rendered by the one shared function, and
the probe must have run exactly when that outcome is an accepted token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from bearerguard._errors import BearerGuardError
from bearerguard._http import bearer_token

from .apps import ADAPTERS, PROBE_PATH, PROBE_RUNS, Answer, expected_answer
from .conftest import Profile, World

ORIGIN = (b"origin", b"https://app.example")
REQUEST_METHOD = (b"access-control-request-method", b"POST")
REQUEST_HEADERS = (b"access-control-request-headers", b"authorization, content-type")
PREFLIGHT = (ORIGIN, REQUEST_METHOD, REQUEST_HEADERS)
BODY = b'{"transfer": 1000}'


@dataclass(frozen=True)
class Request:
    """One request to the probe; ``token`` names a token (filled in per run) or raw header."""

    method: str = "OPTIONS"
    headers: tuple[tuple[bytes, bytes], ...] = PREFLIGHT
    token: str | None = None
    authorization: tuple[bytes, ...] = field(default=())
    body: bytes = b""


CASES = [
    pytest.param(Request(), id="preflight"),
    pytest.param(Request(body=BODY), id="preflight-with-body"),
    pytest.param(Request(headers=(ORIGIN, REQUEST_METHOD)), id="preflight-no-request-headers"),
    pytest.param(
        Request(headers=((b"origin", b"null"), REQUEST_METHOD), body=BODY),
        id="preflight-origin-null",
    ),
    pytest.param(
        Request(headers=(ORIGIN, (b"access-control-request-method", b"DELETE")), body=BODY),
        id="preflight-for-delete",
    ),
    pytest.param(Request(headers=(), body=BODY), id="plain-options"),
    pytest.param(Request(headers=(ORIGIN,), body=BODY), id="options-origin-only"),
    pytest.param(Request(headers=(REQUEST_METHOD,), body=BODY), id="options-method-only"),
    pytest.param(
        Request(authorization=(b"Basic dXNlcjpwYXNzd29yZA==",), body=BODY),
        id="preflight-basic-credentials",
    ),
    pytest.param(Request(authorization=(b"Bearer",), body=BODY), id="preflight-bearer-no-token"),
    pytest.param(Request(token="expired", body=BODY), id="preflight-expired-token"),
    pytest.param(Request(token="foreign", body=BODY), id="preflight-foreign-issuer-token"),
    pytest.param(Request(token="tampered", body=BODY), id="preflight-tampered-token"),
    pytest.param(Request(method="POST", headers=(ORIGIN,), body=BODY), id="cross-origin-post"),
    # Controls: the probe is reachable, so the refusals above are not vacuous.
    pytest.param(Request(token="valid", body=BODY), id="control-preflight-valid-token"),
    pytest.param(Request(token="valid", headers=()), id="control-options-valid-token"),
    pytest.param(
        Request(method="POST", headers=(ORIGIN,), token="valid", body=BODY),
        id="control-post-valid-token",
    ),
]


@pytest.fixture(scope="module")
def tokens(world: World) -> dict[str, str]:
    f = world.forge
    valid = f.issuer.mint(sub="user-42")
    head, payload, signature = valid.split(".")
    return {
        "valid": valid,
        "expired": f.issuer.mint(sub="user-42", expires_in=-3600),
        "foreign": f.twin_a.mint(sub="user-42"),  # twin A is not trusted by the default profile
        "tampered": f"{head}.{payload}.{signature[:-4]}AAAA",
    }


def core_answer(profile: Profile, authorization: list[bytes]) -> Answer:
    """What the core makes of this ``Authorization`` header, as every adapter must render it."""
    try:
        claims = profile.verifier.verify(bearer_token(authorization[0] if authorization else None))
    except BearerGuardError as error:
        return expected_answer(error, None, profile.settings)
    return expected_answer(None, claims.sub, profile.settings)


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("case", CASES)
def test_probe_runs_only_for_a_valid_token(
    world: World, tokens: dict[str, str], adapter: str, case: Request
) -> None:
    """The core's answer, byte for byte; the probe ran once exactly when the token is valid."""
    profile = world.profiles["default"]
    authorization = list(case.authorization)
    if case.token is not None:
        authorization.append(b"Bearer " + tokens[case.token].encode())
    expected = core_answer(profile, authorization)
    PROBE_RUNS.clear()
    answer = profile.clients[adapter](
        authorization, method=case.method, path=PROBE_PATH, headers=case.headers, body=case.body
    )
    assert answer == expected
    ran = list(PROBE_RUNS)
    assert ran == ([(case.method, case.body)] if expected.status == 200 else [])
