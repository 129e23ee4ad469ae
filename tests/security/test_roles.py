"""A missing role gets the same bytes from all seven ways in.

RFC 6750 §3.1 defines no error code for roles: every adapter answers 403
``insufficient_scope`` without a ``scope`` attribute, the missing roles in
the description, through the one rendering function.
"""

from __future__ import annotations

import pytest

from bearerguard import InsufficientRole, MissingToken

from .apps import ADAPTERS, REALM, ROLE, ROLES_PATH, Answer, expected_answer
from .conftest import World


def _send_all(world: World, token: str | None) -> dict[str, Answer]:
    clients = world.profiles["default"].clients
    authorization = [] if token is None else [f"Bearer {token}".encode()]
    return {name: clients[name](authorization, path=ROLES_PATH) for name in ADAPTERS}


@pytest.mark.parametrize(
    "roles",
    [
        pytest.param(None, id="no-roles-claim"),
        pytest.param(["user"], id="other-role"),
        pytest.param([ROLE.upper()], id="case-differs"),
    ],
)
def test_every_adapter_refuses_a_missing_role_with_the_same_bytes(
    world: World, roles: list[str] | None
) -> None:
    """403 insufficient_scope, no scope attribute, "missing role: admin": byte for byte."""
    claims = world.forge.claims() if roles is None else world.forge.claims(roles=roles)
    token = world.forge.issuer.mint(**claims)
    answers = _send_all(world, token)
    expected = expected_answer(
        InsufficientRole([ROLE], [ROLE]), None, world.profiles["default"].settings
    )
    assert expected == Answer(
        403,
        {
            "content-type": "application/json",
            "cache-control": "no-store",
            "www-authenticate": (
                f'Bearer realm="{REALM}", error="insufficient_scope", '
                'error_description="missing role: admin"'
            ),
        },
        b'{"error":"insufficient_scope","error_description":"missing role: admin"}',
    )
    assert answers == dict.fromkeys(ADAPTERS, expected)


def test_every_adapter_lets_a_token_with_the_role_through(world: World) -> None:
    """The control: the role held, every adapter runs its endpoint."""
    token = world.forge.issuer.mint(**world.forge.claims(roles=["user", ROLE]))
    expected = expected_answer(None, "user-42", world.profiles["default"].settings)
    assert _send_all(world, token) == dict.fromkeys(ADAPTERS, expected)


def test_every_adapter_refuses_no_token_at_a_role_endpoint_alike(world: World) -> None:
    """Without a token: the bare challenge, 401, everywhere."""
    expected = expected_answer(
        MissingToken("no bearer token"), None, world.profiles["default"].settings
    )
    assert _send_all(world, None) == dict.fromkeys(ADAPTERS, expected)
