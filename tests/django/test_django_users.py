"""Usernames from tokens: checked before any query, and only ever the account they name exactly.

Every path a token takes to ``BearerTokenBackend`` is covered: the middleware
under WSGI and ASGI, the Django REST framework class and ``@require_scopes``
views (sync and async) without the middleware, and Django's ``authenticate()``
itself. The custom user models in ``testapp_users`` stand for databases that
compare usernames their own way (MySQL's case-insensitive collations, a
``Lower(username)`` constraint, an ``iexact`` manager).
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import aauthenticate, authenticate, get_user_model
from django.http import HttpResponseBase
from django.test import AsyncClient, Client, RequestFactory

from bearerguard.testing import LocalIssuer

from .testapp_settings import COMMON_MIDDLEWARE, guard_settings

SCOPE = "write"  # what the async decorated view requires


def refusal(description: str) -> str:
    return f'Bearer error="invalid_token", error_description="{description}"'


CHARACTERS = refusal("username in token has a control, format or unpaired surrogate character")
NOT_NORMAL = refusal(
    "username in token is not in the normal form accounts are stored in (Unicode NFKC)"
)
NO_USER = refusal("no active user for this token")
NO_SUB = refusal("token has no usable 'sub' claim")


def too_long(limit: int) -> str:
    return refusal(f"username in token is longer than the {limit} characters accounts allow")


def nick(raw: bytes) -> str:
    """A ``nick`` claim for ``testapp_backends.nickname``."""
    return base64.urlsafe_b64encode(raw).decode()


NICKNAME = {"USERNAME_MAPPER": "tests.django.testapp_backends.nickname"}

# (token claims, extra BEARERGUARD keys, WWW-Authenticate): usernames no database should see.
UNFIT_USERNAMES = [
    pytest.param({"sub": "ann\x00"}, {}, CHARACTERS, id="nul"),
    pytest.param({"sub": "ann\x1b[2J"}, {}, CHARACTERS, id="escape-sequence"),
    pytest.param({"sub": "an\u200bn"}, {}, CHARACTERS, id="zero-width-space"),
    pytest.param({"sub": "\u202enimda"}, {}, CHARACTERS, id="bidi-override"),
    pytest.param({"sub": "ann\u2028"}, {}, CHARACTERS, id="line-separator"),
    pytest.param({"nick": nick(b"ann\xff")}, NICKNAME, CHARACTERS,
                 id="unpaired-surrogate-from-a-mapper"),
    pytest.param({"sub": "a" * 151}, {}, too_long(150), id="longer-than-the-field"),
    pytest.param({"sub": "ａｎｎ"}, {}, NOT_NORMAL, id="fullwidth"),
    pytest.param({"sub": "an\u0301n"}, {}, NOT_NORMAL, id="decomposed-accent"),
]  # fmt: skip


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def mint(issuer: LocalIssuer, **claims: Any) -> str:
    return issuer.mint(scopes=[SCOPE], **claims)


def users() -> list[str]:
    """Every username in the active user model's table, sorted."""
    model = get_user_model()
    return sorted(user.get_username() for user in model._default_manager.all())


def add_user(username: str) -> None:
    model = get_user_model()
    # Every user model has USERNAME_FIELD; django-stubs declares it on AbstractUser only.
    field: str = getattr(model, "USERNAME_FIELD")
    model._default_manager.create(**{field: username})


# The HTTP paths to the backend: (settings, client, URL).
HTTP_PATHS: dict[str, tuple[dict[str, Any], str, str]] = {
    "middleware-wsgi": ({}, "wsgi", "/whoami"),
    "middleware-asgi": ({"ROOT_URLCONF": "tests.django.testapp_async"}, "asgi", "/whoami"),
    "drf": ({"MIDDLEWARE": [COMMON_MIDDLEWARE]}, "wsgi", "/drf/claims"),
    "view-sync": ({"MIDDLEWARE": [COMMON_MIDDLEWARE]}, "wsgi", "/decorated/any"),
    "view-async": ({"MIDDLEWARE": [COMMON_MIDDLEWARE]}, "asgi", "/decorated/async"),
}


def request_through(path: str, configure: Callable[..., None], token: str) -> Any:
    """GET the view behind *path* (a key of HTTP_PATHS) with *token*."""
    settings, client, url = HTTP_PATHS[path]
    if settings:
        configure(**settings)
    if client == "wsgi":
        return Client().get(url, headers=bearer(token))
    return async_to_sync(AsyncClient().get)(url, headers=bearer(token))


@pytest.fixture
def user_model(configure: Callable[..., None]) -> Callable[[str], None]:
    """``user_model("Member")``: AUTH_USER_MODEL is that model of testapp_users for this test."""

    def use(name: str) -> None:
        configure(AUTH_USER_MODEL=f"testapp_users.{name}")

    return use


# -- every path refuses unfit usernames before the database ---------------------------------


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("path", list(HTTP_PATHS))
@pytest.mark.parametrize(("claims", "keys", "challenge"), UNFIT_USERNAMES)
def test_unfit_username_is_401_on_every_path(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    path: str,
    claims: dict[str, Any],
    keys: dict[str, Any],
    challenge: str,
) -> None:
    """An unfit username is 401 invalid_token naming the reason; no account is made or found."""
    configure(BEARERGUARD=guard_settings(local_issuer, USER_MODE="create", **keys))
    add_user("ann")
    response = request_through(path, configure, mint(local_issuer, **claims))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == challenge
    assert users() == ["ann"]


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("call", ["authenticate", "aauthenticate"])
@pytest.mark.parametrize(("claims", "keys", "challenge"), UNFIT_USERNAMES)
def test_authenticate_returns_none_for_an_unfit_username(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    call: str,
    claims: dict[str, Any],
    keys: dict[str, Any],
    challenge: str,
) -> None:
    """django.contrib.auth.authenticate() answers None (no exception) and makes no account."""
    configure(BEARERGUARD=guard_settings(local_issuer, USER_MODE="create", **keys))
    token = mint(local_issuer, **claims)
    request = RequestFactory().get("/")
    if call == "authenticate":
        user = authenticate(request, bearer_token=token)
    else:
        user = async_to_sync(aauthenticate)(request, bearer_token=token)
    assert user is None
    assert users() == []


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("mode", ["lookup", "create"])
def test_unpaired_surrogate_in_the_token_is_401_not_500(
    local_issuer: LocalIssuer, configure: Callable[..., None], mode: str
) -> None:
    """A `sub` with an unpaired surrogate (SQLite cannot encode it) is refused, not a crash."""
    configure(BEARERGUARD=guard_settings(local_issuer, USER_MODE=mode))
    response = Client().get("/whoami", headers=bearer(mint(local_issuer, sub="ann\ud800")))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert users() == []


@pytest.mark.parametrize(
    ("sub", "status", "challenge"),
    [
        pytest.param("ann\x00", 401, CHARACTERS, id="nul-refused"),
        pytest.param("\u202eann", 401, CHARACTERS, id="bidi-override-refused"),
        pytest.param("a" * 200, 200, None, id="no-length-limit-without-a-model"),
        pytest.param("ａｎｎ", 200, None, id="no-normal-form-without-a-model"),
    ],
)
def test_stateless_mode_refuses_control_characters(
    local_issuer: LocalIssuer, sub: str, status: int, challenge: str | None
) -> None:
    """Without a database the TokenUser still never carries control or format characters."""
    response = Client().get("/whoami", headers=bearer(mint(local_issuer, sub=sub)))
    assert response.status_code == status
    if challenge is None:
        assert json.loads(response.content)["username"] == sub
    else:
        assert response["WWW-Authenticate"] == challenge


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize(
    ("length", "status", "challenge", "created"),
    [
        pytest.param(32, 200, None, ["a" * 32], id="at-the-limit"),
        pytest.param(33, 401, too_long(32), [], id="over-the-limit"),
    ],
)
def test_length_limit_is_the_custom_user_models(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    user_model: Callable[[str], None],
    length: int,
    status: int,
    challenge: str | None,
    created: list[str],
) -> None:
    """The limit is max_length of the model's USERNAME_FIELD (Member.handle: 32)."""
    user_model("Member")
    configure(BEARERGUARD=guard_settings(local_issuer, USER_MODE="create"))
    response = Client().get("/whoami", headers=bearer(mint(local_issuer, sub="a" * length)))
    assert response.status_code == status
    if challenge is not None:
        assert response["WWW-Authenticate"] == challenge
    assert users() == created


# -- the database finds a different name: never that account ---------------------------------


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("client", ["wsgi", "asgi"])
@pytest.mark.parametrize(
    ("model", "mode", "existing"),
    [
        pytest.param("Member", "lookup", ["ann"], id="case-insensitive-collation-lookup"),
        pytest.param("Member", "create", ["ann"], id="case-insensitive-collation-create"),
        pytest.param("Account", "lookup", ["ann"], id="iexact-manager-lookup"),
        pytest.param("Account", "create", ["ann"], id="unique-ignoring-case-create"),
        pytest.param("Alias", "lookup", ["ANN", "ANN"], id="username-not-unique-lookup"),
        pytest.param("Alias", "create", ["ANN", "ANN"], id="username-not-unique-create"),
    ],
)
def test_token_never_lands_on_an_account_it_does_not_name_exactly(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    user_model: Callable[[str], None],
    client: str,
    model: str,
    mode: str,
    existing: list[str],
) -> None:
    """`sub` "ANN" never becomes the account "ann", nor a second account the database refuses."""
    user_model(model)
    configure(
        BEARERGUARD=guard_settings(local_issuer, USER_MODE=mode),
        ROOT_URLCONF="tests.django.testapp_async",
    )
    for name in existing:
        add_user(name)
    headers = bearer(mint(local_issuer, sub="ANN"))
    response: HttpResponseBase
    if client == "wsgi":
        response = Client().get("/whoami", headers=headers)
    else:
        response = async_to_sync(AsyncClient().get)("/whoami", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_USER
    assert users() == sorted(existing)


@pytest.mark.usefixtures("db")
def test_mismatched_account_is_logged(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    user_model: Callable[[str], None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The operator learns why: the database matched another username."""
    user_model("Member")
    configure(BEARERGUARD=guard_settings(local_issuer, USER_MODE="lookup"))
    add_user("ann")
    with caplog.at_level(logging.WARNING, logger="bearerguard.django"):
        Client().get("/whoami", headers=bearer(mint(local_issuer, sub="ANN")))
    assert [r.getMessage() for r in caplog.records if r.name == "bearerguard.django"] == [
        "refusing user 'ann' for a bearer token naming 'ANN': the database matched a different "
        "username (a case- or accent-insensitive collation or lookup?)"
    ]


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("mode", ["lookup", "create"])
def test_exact_name_still_finds_its_account(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    user_model: Callable[[str], None],
    mode: str,
) -> None:
    """Under a case-insensitive collation `sub` "ann" is still the account "ann"."""
    user_model("Member")
    configure(BEARERGUARD=guard_settings(local_issuer, USER_MODE=mode))
    add_user("ann")
    response = Client().get("/whoami", headers=bearer(mint(local_issuer, sub="ann")))
    assert response.status_code == 200
    assert json.loads(response.content)["username"] == "ann"
    assert users() == ["ann"]


# -- several issuers: a prefix that only looks different -------------------------------------


def corp_and_partner(issuer: LocalIssuer, partner: LocalIssuer, mode: str) -> dict[str, Any]:
    return guard_settings(
        issuer,
        OIDC=[issuer.url, partner.url],
        USER_MODE=mode,
        USERNAME_PREFIXES={issuer.url: "", partner.url: "partner:"},
    )


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize(
    ("model", "sub"),
    [
        pytest.param("Member", "PARTNER:ann", id="upper-case-prefix"),
        pytest.param("Member", "pärtner:ann", id="accented-prefix"),
        pytest.param(None, "partner：ann", id="fullwidth-colon"),
    ],
)
def test_home_issuer_cannot_reach_into_the_partner_namespace(
    local_issuer: LocalIssuer,
    partner: LocalIssuer,
    configure: Callable[..., None],
    user_model: Callable[[str], None],
    model: str | None,
    sub: str,
) -> None:
    """A corp `sub` that a database could take for "partner:ann" is refused in both modes."""
    if model is not None:
        user_model(model)
    configure(BEARERGUARD=corp_and_partner(local_issuer, partner, "lookup"))
    add_user("partner:ann")
    response = Client().get("/whoami", headers=bearer(mint(local_issuer, sub=sub)))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_SUB
    configure(BEARERGUARD=corp_and_partner(local_issuer, partner, "create"))
    response = Client().get("/whoami", headers=bearer(mint(local_issuer, sub=sub)))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_SUB
    assert users() == ["partner:ann"]


@pytest.mark.usefixtures("db")
def test_home_issuer_cannot_claim_a_partner_name_before_the_partner(
    local_issuer: LocalIssuer,
    partner: LocalIssuer,
    configure: Callable[..., None],
    user_model: Callable[[str], None],
) -> None:
    """Create mode: corp's "PARTNER:ann" makes no account, so the partner's ann gets hers."""
    user_model("Member")
    configure(BEARERGUARD=corp_and_partner(local_issuer, partner, "create"))
    first = Client().get("/whoami", headers=bearer(mint(local_issuer, sub="PARTNER:ann")))
    assert first.status_code == 401
    second = Client().get("/whoami", headers=bearer(mint(partner, sub="ann")))
    assert second.status_code == 200
    assert json.loads(second.content)["username"] == "partner:ann"
    assert users() == ["partner:ann"]
