"""Every attack of the catalogue, through the core and through every adapter.

The core (``Verifier.verify``) must raise exactly the row's exception class.
Every adapter must answer exactly the row's status and ``error`` code, and
byte for byte what the one rendering function makes of the core's outcome
(status, bearerguard's headers, body). Controls (rows with no error) must be
accepted everywhere, so the harness cannot pass by refusing everything.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bearerguard._errors import BearerGuardError, InvalidClaims
from bearerguard._http import bearer_token

from .apps import ADAPTERS, Answer, expected_answer
from .catalogue import AUDIENCE, CATALOGUE, CLASSES, Attack, Forge, id_token
from .conftest import Profile, World
from .support import segments, unb64

ATTACKS = [pytest.param(attack, id=attack.id) for attack in CATALOGUE]


def authorization(token: str) -> list[bytes]:
    return [b"Bearer " + token.encode("utf-8")]


def reference(profile: Profile, token: str) -> tuple[BearerGuardError | None, Any]:
    """What the core makes of the request: the error to render, or the accepted claims."""
    try:
        claims = profile.verifier.verify(bearer_token(authorization(token)[0]))
    except BearerGuardError as error:
        return error, None
    return None, claims


def leaks(text: str, token: str) -> list[str]:
    """The pieces of *token* (itself, its segments) that *text* repeats."""
    pieces = [token, *token.split(".")]
    return [piece for piece in pieces if len(piece) > 12 and piece in text]


def test_catalogue_ids_are_unique_and_every_class_has_rows() -> None:
    ids = [attack.id for attack in CATALOGUE]
    assert len(ids) == len(set(ids))
    assert all(rows for rows in CLASSES.values())


@pytest.mark.parametrize("attack", ATTACKS)
def test_core_answers_with_the_exact_error(world: World, attack: Attack) -> None:
    """Verifier.verify raises exactly the row's class (a 401 invalid_token); controls pass."""
    token = world.token(attack)
    verifier = world.profiles[attack.profile].verifier
    if attack.error is None:
        claims = verifier.verify(token)
        assert isinstance(claims.sub, str)
        assert claims.sub
        return
    with pytest.raises(BearerGuardError) as info:
        verifier.verify(token)
    error = info.value
    assert type(error) is attack.error, f"{type(error).__name__}: {error.description}"
    assert (error.status, error.code) == (401, "invalid_token")
    if attack.description is not None:
        assert re.match(attack.description, error.description), error.description
    assert leaks(f"{error} {error.description}", token) == []


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("attack", ATTACKS)
def test_adapter_answers_with_the_exact_status_and_error(
    world: World, attack: Attack, adapter: str
) -> None:
    """The row's status and error code, and exactly the rendering of the core's outcome."""
    profile = world.profiles[attack.profile]
    token = world.token(attack)
    answer = profile.clients[adapter](authorization(token))
    assert answer.status == attack.status, answer
    if attack.code is not None:
        assert json.loads(answer.body)["error"] == attack.code
        assert f'error="{attack.code}"' in answer.headers["www-authenticate"]
    error, claims = reference(profile, token)
    sub = None if claims is None else claims.sub
    assert answer == expected_answer(error, sub, profile.settings)
    assert leaks(answer.body.decode() + str(answer.headers), token) == []


def test_no_attack_made_anyone_fetch_a_url_it_carried(world: World) -> None:
    """jku, x5u, x5c and URL-shaped kids are never dereferenced: the trap sees no connection."""
    carriers = [a for a in CATALOGUE if any(m in a.id for m in ("jku", "x5u", "x5c", "kid-url"))]
    assert len(carriers) >= 6
    for attack in carriers:
        profile = world.profiles[attack.profile]
        token = world.token(attack)
        with pytest.raises(BearerGuardError):
            profile.verifier.verify(token)
        for adapter in ADAPTERS:
            assert profile.clients[adapter](authorization(token)).status == 401
    assert world.trap.connections == 0


def testid_token_with_this_apis_audience_is_refused_only_in_rfc9068_mode(world: World) -> None:
    """The documented limit: an ID token whose aud is this API passes the default profile.

    By default ``typ: JWT`` is accepted (many providers type access tokens so),
    and an ID token minted for a client whose id equals the API's audience is
    then indistinguishable by its claims. ``Validator(rfc9068=True)`` closes it.
    """
    forge: Forge = world.forge
    token = id_token(forge, audience=AUDIENCE, typ="JWT")
    assert world.profiles["default"].verifier.verify(token).raw["nonce"] == "n-0S6_WzA2Mj"
    with pytest.raises(InvalidClaims) as info:
        world.profiles["rfc9068"].verifier.verify(token)
    assert info.value.failures == (
        "rfc9068: missing required claims client_id",
        "typ: token type is not accepted (wrong kind of token)",
    )


def test_same_kid_at_two_issuers_uses_each_issuers_own_key(world: World) -> None:
    """Both twins publish the same kid; each token verifies only with its own issuer's key."""
    forge = world.forge
    kid = forge.twin_a.kid
    a_token = forge.twin_a.mint()
    b_token = forge.twin_b.mint(headers={"kid": kid})
    assert json.loads(_header_json(a_token))["kid"] == json.loads(_header_json(b_token))["kid"]
    verifier = world.profiles["twins"].verifier
    assert verifier.verify(a_token).iss == forge.twin_a.url
    assert verifier.verify(b_token).iss == forge.twin_b.url


def _header_json(token: str) -> bytes:
    return unb64(segments(token)[0])


def test_answers_are_compared_on_bearerguards_headers_only() -> None:
    """The comparison keeps the headers bearerguard decides, whatever the framework adds."""
    answer = Answer.of(401, [("Server", "x"), ("WWW-Authenticate", "Bearer")], b"")
    assert answer.headers == {"www-authenticate": "Bearer"}
