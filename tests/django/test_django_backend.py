"""BearerTokenBackend and TokenUser: from claims to a Django user, in every USER_MODE."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import aauthenticate, authenticate, get_user_model
from django.http import HttpResponseBase
from django.test import AsyncClient, Client, RequestFactory

from bearerguard import AccessClaims, StandardClaims
from bearerguard.django import BearerTokenBackend, TokenUser, claims_of
from bearerguard.testing import LocalIssuer

from .testapp_settings import guard_settings

INVALID = 'Bearer realm="{}", error="invalid_token", error_description="{}"'


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claims(**payload: Any) -> AccessClaims:
    return AccessClaims.from_payload({"iss": "https://login.example.com", **payload})


# -- TokenUser ----------------------------------------------------------------------------


def test_token_user_is_authenticated_and_has_no_permissions() -> None:
    """A TokenUser answers Django's user interface without a database."""
    user = TokenUser(claims(sub="ann", scope="a b"), "ann")
    assert (user.is_authenticated, user.is_anonymous, user.is_active) == (True, False, True)
    assert (user.is_staff, user.is_superuser, user.pk, user.id) == (False, False, None, None)
    assert (user.get_username(), str(user), repr(user)) == ("ann", "ann", "<TokenUser 'ann'>")
    assert user.scopes == frozenset({"a", "b"})
    assert user.has_perm("auth.view_user") is False
    assert user.has_perms(["auth.view_user"]) is False
    assert user.has_perms([]) is True
    assert user.has_module_perms("auth") is False
    assert user.get_all_permissions() == set()
    assert async_to_sync(user.ahas_perm)("auth.view_user") is False


@pytest.mark.parametrize("method", ["save", "delete", "set_password", "check_password"])
def test_token_user_cannot_be_stored(method: str) -> None:
    """Saving or deleting a TokenUser (or giving it a password) is refused loudly."""
    user = TokenUser(claims(sub="ann"), "ann")
    with pytest.raises(NotImplementedError):
        getattr(user, method)(*(("pw",) if "password" in method else ()))


def test_token_users_compare_by_username_and_claims() -> None:
    """Equal claims and username make equal users; another sub does not."""
    first = TokenUser(claims(sub="ann", scope="a"), "ann")
    assert first == TokenUser(claims(sub="ann", scope="a"), "ann")
    assert first != TokenUser(claims(sub="bob", scope="a"), "bob")
    assert hash(first) == hash(TokenUser(claims(sub="ann"), "ann"))
    assert first != "ann"


def test_token_user_without_scopes_claim_type() -> None:
    """Claims without a `scopes` field give an empty scope set."""
    user = TokenUser(StandardClaims.from_payload({"sub": "ann"}), "ann")
    assert user.scopes == frozenset()


# -- authenticate ------------------------------------------------------------------------


def test_backend_ignores_other_credentials() -> None:
    """Without a bearer token the backend has nothing to say."""
    assert BearerTokenBackend().authenticate(None) is None
    assert async_to_sync(BearerTokenBackend().aauthenticate)(None) is None


def test_backend_works_without_a_request(local_issuer: LocalIssuer) -> None:
    """authenticate(None, bearer_token=...) returns the user; a refusal returns None."""
    backend = BearerTokenBackend()
    user = backend.authenticate(None, bearer_token=local_issuer.mint(sub="ann"))
    assert isinstance(user, TokenUser)
    assert user.username == "ann"
    assert backend.authenticate(None, bearer_token="abc") is None


def test_backend_keeps_claims_on_the_request(local_issuer: LocalIssuer) -> None:
    """The verified claims land in request.auth_claims."""
    request = RequestFactory().get("/")
    user = BearerTokenBackend().authenticate(request, bearer_token=local_issuer.mint(sub="ann"))
    found = claims_of(request)
    assert isinstance(user, TokenUser)
    assert found is user.claims
    assert found is not None
    assert found.sub == "ann"


@pytest.mark.parametrize(
    ("extra", "username_claim", "username"),
    [
        pytest.param({}, "sub", "user-1", id="sub"),
        pytest.param({}, "client_id", "test-client", id="client_id"),
        pytest.param({"preferred_username": "ann"}, "preferred_username", "ann", id="custom"),
    ],
)
def test_username_claim(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    extra: dict[str, Any],
    username_claim: str,
    username: str,
) -> None:
    """USERNAME_CLAIM names the claim that becomes the username."""
    configure(BEARERGUARD=guard_settings(local_issuer, USERNAME_CLAIM=username_claim))
    user = BearerTokenBackend().authenticate(
        None, bearer_token=local_issuer.mint(sub="user-1", **extra)
    )
    assert isinstance(user, TokenUser)
    assert user.username == username


@pytest.mark.parametrize(
    ("extra", "description"),
    [
        pytest.param({}, "token has no usable 'email' claim", id="missing"),
        pytest.param({"email": ""}, "token has no usable 'email' claim", id="empty"),
        pytest.param({"email": ["a"]}, "token has no usable 'email' claim", id="not-a-string"),
    ],
)
def test_unusable_username_claim_is_refused(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    extra: dict[str, Any],
    description: str,
) -> None:
    """A token without a usable USERNAME_CLAIM is refused with 401 invalid_token."""
    configure(BEARERGUARD=guard_settings(local_issuer, USERNAME_CLAIM="email"))
    response = Client().get("/whoami", headers=bearer(local_issuer.mint(**extra)))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        f'Bearer error="invalid_token", error_description="{description}"'
    )


# -- database users -------------------------------------------------------------------------


@pytest.mark.usefixtures("db")
def test_lookup_mode_finds_the_user(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """USER_MODE lookup: request.user is the existing user whose username is `sub`."""
    configure(BEARERGUARD=guard_settings(local_issuer, USER_MODE="lookup"))
    get_user_model()._default_manager.create(username="ann")
    response = Client().get("/whoami", headers=bearer(local_issuer.mint(sub="ann", scopes=["x"])))
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "user": "User",
        "username": "ann",
        "authenticated": True,
        "backend": "bearerguard.django.BearerTokenBackend",
        "scopes": [],
        "claims_sub": "ann",
    }


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize(
    ("existing", "client"),
    [
        pytest.param(None, "wsgi", id="unknown-wsgi"),
        pytest.param(None, "asgi", id="unknown-asgi"),
        pytest.param({"username": "ann", "is_active": False}, "wsgi", id="inactive-wsgi"),
        pytest.param({"username": "ann", "is_active": False}, "asgi", id="inactive-asgi"),
    ],
)
def test_lookup_mode_refuses_unknown_and_inactive_users(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    existing: dict[str, Any] | None,
    client: str,
) -> None:
    """No active user with that username → 401 invalid_token, and nobody is created."""
    configure(
        BEARERGUARD=guard_settings(local_issuer, USER_MODE="lookup"),
        ROOT_URLCONF="tests.django.testapp_async",
    )
    users = get_user_model()._default_manager
    if existing is not None:
        users.create(**existing)
    headers = bearer(local_issuer.mint(sub="ann"))
    response: HttpResponseBase
    if client == "wsgi":
        response = Client().get("/whoami", headers=headers)
    else:
        response = async_to_sync(AsyncClient().get)("/whoami", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer error="invalid_token", error_description="no active user for this token"'
    )
    assert users.count() == (0 if existing is None else 1)


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("client", ["wsgi", "asgi"])
def test_create_mode_creates_once(
    local_issuer: LocalIssuer, configure: Callable[..., None], client: str
) -> None:
    """USER_MODE create: the first token creates the user (unusable password), later ones reuse."""
    configure(
        BEARERGUARD=guard_settings(local_issuer, USER_MODE="create"),
        ROOT_URLCONF="tests.django.testapp_async",
    )
    for _ in range(2):
        headers = bearer(local_issuer.mint(sub="new-user"))
        response: HttpResponseBase
        if client == "wsgi":
            response = Client().get("/whoami", headers=headers)
        else:
            response = async_to_sync(AsyncClient().get)("/whoami", headers=headers)
        assert response.status_code == 200
        assert json.loads(response.content)["user"] == "User"
    user = get_user_model()._default_manager.get()
    assert user.get_username() == "new-user"
    assert user.has_usable_password() is False


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("client", ["wsgi", "asgi"])
def test_configure_user_hook(
    local_issuer: LocalIssuer, configure: Callable[..., None], client: str
) -> None:
    """A subclass's configure_user sees the claims and whether the user was just created."""
    configure(
        BEARERGUARD=guard_settings(local_issuer, USER_MODE="create"),
        AUTHENTICATION_BACKENDS=["tests.django.testapp_backends.EmailBackend"],
    )
    backend_path = "tests.django.testapp_backends.EmailBackend"
    created = []
    for email in ("a@example.com", "b@example.com"):
        token = local_issuer.mint(sub="ann", email=email)
        if client == "wsgi":
            user: Any = authenticate(RequestFactory().get("/"), bearer_token=token)
        else:
            user = async_to_sync(aauthenticate)(RequestFactory().get("/"), bearer_token=token)
        assert user.backend == backend_path
        created.append(user.was_created)
    assert created == [True, False]
    assert get_user_model()._default_manager.get().email == "b@example.com"


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize(
    ("mode", "active", "found"),
    [
        pytest.param("stateless", True, False, id="stateless-has-no-sessions"),
        pytest.param("lookup", True, True, id="lookup"),
        pytest.param("create", False, False, id="inactive"),
    ],
)
def test_get_user(
    local_issuer: LocalIssuer, configure: Callable[..., None], mode: str, active: bool, found: bool
) -> None:
    """get_user finds database users by primary key; the stateless mode has none."""
    configure(BEARERGUARD=guard_settings(local_issuer, USER_MODE=mode))
    user = get_user_model()._default_manager.create(username="ann", is_active=active)
    backend = BearerTokenBackend()
    assert backend.get_user(user.pk) == (user if found else None)
    assert async_to_sync(backend.aget_user)(user.pk) == (user if found else None)
    assert backend.get_user(user.pk + 1000) is None


# -- several issuers: usernames per issuer ------------------------------------------------


NO_USER = 'Bearer error="invalid_token", error_description="no active user for this token"'
NO_SUB = 'Bearer error="invalid_token", error_description="token has no usable \'sub\' claim"'


def two_issuers(issuer: LocalIssuer, partner: LocalIssuer, **keys: Any) -> dict[str, Any]:
    """BEARERGUARD trusting the session issuer ("corp") and the partner issuer."""
    return guard_settings(issuer, OIDC=[issuer.url, partner.url], **keys)


def get(client: str, path: str, token: str) -> Any:
    if client == "wsgi":
        return Client().get(path, headers=bearer(token))
    return async_to_sync(AsyncClient().get)(path, headers=bearer(token))


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("client", ["wsgi", "asgi"])
def test_partner_token_does_not_log_in_as_the_local_admin(
    local_issuer: LocalIssuer, partner: LocalIssuer, configure: Callable[..., None], client: str
) -> None:
    """A partner-signed sub="admin" is not the local superuser "admin"."""
    configure(
        BEARERGUARD=two_issuers(
            local_issuer,
            partner,
            USER_MODE="lookup",
            USERNAME_PREFIXES={local_issuer.url: "", partner.url: "partner:"},
            ALLOW_PRIVILEGED_USERS=True,  # so that only the namespace stands in the way
        ),
        ROOT_URLCONF="tests.django.testapp_async",
    )
    get_user_model()._default_manager.create(username="admin", is_superuser=True, is_staff=True)
    response = get(client, "/whoami", partner.mint(sub="admin"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_USER


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize(
    ("signer", "sub", "status", "outcome"),
    [
        pytest.param("corp", "ann", 200, "ann", id="home-issuer-unprefixed"),
        pytest.param("partner", "ann", 200, "partner:ann", id="partner-prefixed"),
        pytest.param("partner", "bob", 401, NO_USER, id="partner-unknown"),
        pytest.param("partner", "partner:ann", 401, NO_USER, id="partner-no-double-prefix-user"),
        pytest.param("corp", "partner:ann", 401, NO_SUB, id="corp-into-partner-namespace"),
    ],
)
def test_usernames_are_prefixed_per_issuer(
    local_issuer: LocalIssuer,
    partner: LocalIssuer,
    configure: Callable[..., None],
    signer: str,
    sub: str,
    status: int,
    outcome: str,
) -> None:
    """USERNAME_PREFIXES: username = issuer's prefix + sub, and only in that issuer's namespace."""
    configure(
        BEARERGUARD=two_issuers(
            local_issuer,
            partner,
            USER_MODE="lookup",
            USERNAME_PREFIXES={local_issuer.url: "", partner.url: "partner:"},
        )
    )
    for name in ("ann", "partner:ann"):
        get_user_model()._default_manager.create(username=name)
    source = local_issuer if signer == "corp" else partner
    response = Client().get("/whoami", headers=bearer(source.mint(sub=sub)))
    assert response.status_code == status
    if status == 200:
        assert json.loads(response.content)["username"] == outcome
    else:
        assert response["WWW-Authenticate"] == outcome


@pytest.mark.usefixtures("db")
def test_create_mode_creates_one_user_per_issuer(
    local_issuer: LocalIssuer, partner: LocalIssuer, configure: Callable[..., None]
) -> None:
    """The same sub from two issuers makes two users."""
    configure(
        BEARERGUARD=two_issuers(
            local_issuer,
            partner,
            USER_MODE="create",
            USERNAME_PREFIXES={local_issuer.url: "corp:", partner.url: "partner:"},
        )
    )
    for source in (local_issuer, partner, local_issuer):
        assert Client().get("/whoami", headers=bearer(source.mint(sub="ann"))).status_code == 200
    names = get_user_model()._default_manager.values_list("username", flat=True)
    assert sorted(names) == ["corp:ann", "partner:ann"]


@pytest.mark.usefixtures("db")
def test_username_mapper(
    local_issuer: LocalIssuer, partner: LocalIssuer, configure: Callable[..., None]
) -> None:
    """USERNAME_MAPPER (a dotted path) turns the verified claims into the username."""
    configure(
        BEARERGUARD=two_issuers(
            local_issuer,
            partner,
            USER_MODE="create",
            USERNAME_MAPPER="tests.django.testapp_backends.issuer_and_subject",
        )
    )
    for source in (local_issuer, partner):
        response = Client().get("/whoami", headers=bearer(source.mint(sub="ann")))
        assert json.loads(response.content)["username"] == f"{source.url}#ann"


@pytest.mark.parametrize(
    ("mapped", "status"),
    [
        pytest.param("", 401, id="empty"),
        pytest.param(None, 401, id="none"),
        pytest.param("ann", 200, id="string"),
    ],
)
def test_username_mapper_must_give_a_username(
    local_issuer: LocalIssuer, configure: Callable[..., None], mapped: Any, status: int
) -> None:
    """A mapper giving no non-empty string refuses the token with 401 invalid_token."""
    configure(BEARERGUARD=guard_settings(local_issuer, USERNAME_MAPPER=lambda claims: mapped))
    response = Client().get("/whoami", headers=bearer(local_issuer.mint()))
    assert response.status_code == status
    if status == 401:
        assert response["WWW-Authenticate"] == (
            'Bearer error="invalid_token", error_description="no username for this token"'
        )


# -- staff and superusers ----------------------------------------------------------------


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("client", ["wsgi", "asgi"])
@pytest.mark.parametrize("mode", ["lookup", "create"])
@pytest.mark.parametrize(
    "flags",
    [
        pytest.param({"is_superuser": True}, id="superuser"),
        pytest.param({"is_staff": True}, id="staff"),
    ],
)
def test_tokens_never_map_to_privileged_users_by_default(
    local_issuer: LocalIssuer,
    configure: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
    client: str,
    mode: str,
    flags: dict[str, bool],
) -> None:
    """Staff and superusers get 401 like unknown users, and configure_user never sees them."""
    configure(
        BEARERGUARD=guard_settings(local_issuer, USER_MODE=mode),
        AUTHENTICATION_BACKENDS=["tests.django.testapp_backends.EmailBackend"],
        ROOT_URLCONF="tests.django.testapp_async",
    )
    admin = get_user_model()._default_manager.create(
        username="admin", email="admin@example.com", **flags
    )
    with caplog.at_level(logging.WARNING, logger="bearerguard.django"):
        response = get(client, "/whoami", local_issuer.mint(sub="admin", email="evil@example.com"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == NO_USER
    assert [r.getMessage() for r in caplog.records if r.name == "bearerguard.django"] == [
        "refusing staff or superuser 'admin' for a bearer token "
        "(BEARERGUARD['ALLOW_PRIVILEGED_USERS'] would allow it)"
    ]
    admin.refresh_from_db()
    assert admin.email == "admin@example.com"
    assert get_user_model()._default_manager.count() == 1


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("client", ["wsgi", "asgi"])
def test_allow_privileged_users(
    local_issuer: LocalIssuer, configure: Callable[..., None], client: str
) -> None:
    """ALLOW_PRIVILEGED_USERS: True maps tokens to staff and superusers too."""
    configure(
        BEARERGUARD=guard_settings(local_issuer, USER_MODE="lookup", ALLOW_PRIVILEGED_USERS=True),
        ROOT_URLCONF="tests.django.testapp_async",
    )
    get_user_model()._default_manager.create(username="admin", is_superuser=True, is_staff=True)
    response = get(client, "/whoami", local_issuer.mint(sub="admin"))
    assert response.status_code == 200
    assert json.loads(response.content)["username"] == "admin"


@pytest.mark.usefixtures("db")
def test_configure_user_cannot_promote_a_user(
    local_issuer: LocalIssuer, configure: Callable[..., None]
) -> None:
    """A user that configure_user made staff is refused too (the check runs after the hook)."""
    configure(
        BEARERGUARD=guard_settings(local_issuer, USER_MODE="create"),
        AUTHENTICATION_BACKENDS=["tests.django.testapp_backends.RolesBackend"],
    )
    token = local_issuer.mint(sub="ann", roles=["admin"])
    assert Client().get("/whoami", headers=bearer(token)).status_code == 401


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize(
    ("allow", "found"),
    [pytest.param(False, False, id="refused"), pytest.param(True, True, id="allowed")],
)
def test_get_user_and_privileged_users(
    local_issuer: LocalIssuer, configure: Callable[..., None], allow: bool, found: bool
) -> None:
    """Sessions follow the same rule: get_user gives no superuser unless allowed."""
    configure(
        BEARERGUARD=guard_settings(local_issuer, USER_MODE="lookup", ALLOW_PRIVILEGED_USERS=allow)
    )
    user = get_user_model()._default_manager.create(username="admin", is_superuser=True)
    assert BearerTokenBackend().get_user(user.pk) == (user if found else None)
