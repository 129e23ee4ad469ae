"""Hypothesis drives every adapter's own test client: never a 500, always the core's answer.

Two sources of hostile requests: ``Authorization`` header values (near-valid
credentials, mutated real tokens, raw field bytes, repeated header lines) and
correctly signed tokens whose payload is arbitrary (claims of every JSON type).
Each answer must equal what the core makes of the same request, rendered by
the one shared function: the same status, headers and bytes as
:mod:`security.test_attack_catalogue` checks row by row.

A third source sends ``OPTIONS`` and ``POST`` requests with any mix of CORS
preflight headers and a body to each app's probe: the probe (user code) may
run only when the core accepts the request's token.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bearerguard._errors import BearerGuardError, InvalidToken
from bearerguard._http import bearer_token
from bearerguard.django._usernames import check_characters

from .apps import ADAPTERS, PROBE_PATH, PROBE_RUNS, expected_answer
from .catalogue import AUDIENCE, DROP
from .conftest import Profile, World
from .strategies import B64URL, field_bytes, json_values, mutated
from .support import forge

ADAPTER_FUZZ = settings(
    max_examples=35,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def reference(profile: Profile, values: list[bytes]) -> tuple[BearerGuardError | None, Any]:
    """The core's outcome for these header lines (joined as servers join repeated lines)."""
    header = None if not values else values[0] if len(values) == 1 else b", ".join(values)
    try:
        claims = profile.verifier.verify(bearer_token(header))
    except BearerGuardError as error:
        return error, None
    return None, claims


@st.composite
def header_lines(draw: st.DrawFn, tokens: list[str]) -> list[bytes]:
    """Zero to two Authorization lines, mostly one, mostly close to valid."""

    def line() -> bytes:
        scheme = draw(st.sampled_from([b"Bearer", b"bearer", b"BEARER", b"Basic", b"DPoP", b""]))
        gap = draw(st.sampled_from([b" ", b"  ", b"\t", b"", b" \t "]))
        token = draw(st.sampled_from(tokens))
        body = draw(
            st.one_of(
                st.just(token.encode()),
                mutated(token).map(lambda t: t.encode("utf-8")),
                st.text(alphabet=B64URL + ".=+/~", max_size=40).map(str.encode),
                field_bytes,
            )
        )
        tail = draw(st.sampled_from([b"", b"", b" ", b",", b", Bearer x", b" extra"]))
        return scheme + gap + body + tail

    count = draw(st.sampled_from([1, 1, 1, 1, 0, 2]))
    return [line() for _ in range(count)]


@pytest.fixture(scope="module")
def tokens(world: World) -> list[str]:
    f = world.forge
    return [f.issuer.mint(sub="user-42"), f.signed_with("ec-p256", "ES256"), f.token()]


@pytest.mark.parametrize("adapter", ADAPTERS)
@ADAPTER_FUZZ
@given(data=st.data())
def test_any_authorization_header_gets_the_cores_answer(
    world: World, tokens: list[str], adapter: str, data: st.DataObject
) -> None:
    profile = world.profiles["default"]
    values = data.draw(header_lines(tokens))
    answer = profile.clients[adapter](values)
    assert answer.status in (200, 400, 401), answer
    event(f"status {answer.status}")
    error, claims = reference(profile, values)
    assert answer == expected_answer(
        error, None if claims is None else claims.sub, profile.settings
    )


_FUTURE, _PAST = "<future>", "<past>"
_claim_values = st.one_of(
    st.sampled_from([_FUTURE, _FUTURE, _PAST, AUDIENCE, "user-42", "", DROP, DROP]), json_values
)
payloads = st.fixed_dictionaries(
    {
        "iss": st.sampled_from(["<iss>"] * 5 + [DROP, "https://evil.example", 7]),
        "aud": st.one_of(
            st.sampled_from([AUDIENCE, [AUDIENCE, "api://x"], "api://x"]), _claim_values
        ),
        "exp": _claim_values,
        "sub": _claim_values,
    },
    optional=dict.fromkeys(
        ("nbf", "iat", "scope", "scp", "client_id", "roles", "jti", "azp", "amr"), _claim_values
    ),
)


def _concrete(payload: dict[str, Any], world: World) -> dict[str, Any]:
    now = world.forge.now
    values = {"<iss>": world.forge.issuer.url, _FUTURE: now + 600, _PAST: now - 600}
    return {
        name: values.get(value, value) if isinstance(value, str) else value
        for name, value in payload.items()
        if value is not DROP
    }


@pytest.mark.parametrize("adapter", ADAPTERS)
@ADAPTER_FUZZ
@given(payload=payloads)
def test_any_signed_payload_gets_the_cores_answer(
    world: World, adapter: str, payload: dict[str, Any]
) -> None:
    """Correctly signed, claims of any type: 200 or 401 as the core says (Django needs a sub)."""
    f = world.forge
    claims = _concrete(payload, world)
    token = forge(f.header(), claims, f.keys.rsa)
    profile = world.profiles["default"]
    answer = profile.clients[adapter]([b"Bearer " + token.encode()])
    error, verified = reference(profile, [b"Bearer " + token.encode()])
    sub = claims.get("sub")
    if error is None and adapter.startswith(("django", "drf")):
        if not (isinstance(sub, str) and sub):
            # BearerTokenBackend names its user by the sub claim (USERNAME_CLAIM): none, no user.
            error = InvalidToken("token has no usable 'sub' claim")
        else:
            # Usernames with control or format characters never reach Django (stateless mode).
            try:
                check_characters(sub)
            except InvalidToken as refused:
                error = refused
    event(f"status {answer.status}")
    assert answer == expected_answer(
        error, None if verified is None else verified.sub, profile.settings
    )


_cors_headers = st.lists(
    st.one_of(
        st.tuples(
            st.just(b"origin"),
            st.sampled_from([b"https://app.example", b"null", b"", b"http://127.0.0.1:9"]),
        ),
        st.tuples(
            st.sampled_from([b"access-control-request-method", b"Access-Control-Request-Method"]),
            st.sampled_from([b"POST", b"GET", b"DELETE", b"OPTIONS", b"post", b""]),
        ),
        st.tuples(
            st.just(b"access-control-request-headers"),
            st.sampled_from([b"authorization", b"authorization, content-type", b"x-anything"]),
        ),
        st.tuples(st.just(b"access-control-request-private-network"), st.just(b"true")),
    ),
    max_size=4,
)


@pytest.mark.parametrize("adapter", ADAPTERS)
@ADAPTER_FUZZ
@given(
    data=st.data(),
    method=st.sampled_from(["OPTIONS", "OPTIONS", "OPTIONS", "POST"]),
    headers=_cors_headers,
    body=st.sampled_from([b"", b"", b'{"transfer": 1000}', b"\x00" * 64]),
)
def test_options_with_any_cors_headers_runs_user_code_only_with_a_valid_token(
    world: World,
    tokens: list[str],
    adapter: str,
    data: st.DataObject,
    method: str,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
) -> None:
    """Preflight-shaped or not: the core's answer, and the probe ran only for an accepted token."""
    profile = world.profiles["default"]
    values = data.draw(st.one_of(st.just([]), header_lines(tokens)))
    error, claims = reference(profile, values)
    PROBE_RUNS.clear()
    answer = profile.clients[adapter](
        values, method=method, path=PROBE_PATH, headers=headers, body=body
    )
    event(f"status {answer.status}")
    assert answer == expected_answer(
        error, None if claims is None else claims.sub, profile.settings
    )
    ran = list(PROBE_RUNS)
    assert ran == ([] if error is not None else [(method, body)])
