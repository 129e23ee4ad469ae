"""ClaimSources: where scopes, roles and the client come from, per issuer.

The token shapes follow each provider's published access-token reference:
Auth0 "Enable Role-Based Access Control for APIs" (``permissions``), Microsoft
identity platform "Access token claims reference" (``scp``, ``roles``,
``appid``, ``azp``), Okta "Access token" claims (``scp`` array, ``cid``),
Keycloak's default token mappers (``realm_access.roles``,
``resource_access.<client>.roles``, ``azp``) and Amazon Cognito "Understanding
the access token" (``cognito:groups``, ``client_id``).
"""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError, dataclass
from typing import Any

import pytest

from bearerguard import (
    AccessClaims,
    ClaimSources,
    ConfigurationError,
    InvalidClaims,
    Issuer,
    StandardClaims,
    Validator,
    claim,
)
from bearerguard._builder import from_plan, make_builder, plan

from .conftest import Keys
from .helpers import AUDIENCE, ISSUER, NOW, access_payload, expect_error, make_token

KEYCLOAK = ClaimSources(roles=["/realm_access/roles", "/resource_access/orders-api/roles"])


@dataclass(frozen=True, slots=True, kw_only=True)
class TenantClaims(AccessClaims):
    """A user subclass: the sourced fields stay sourced."""

    tid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PostInitClaims(AccessClaims):
    """Built through __init__ (the general builder), not the generated one."""

    def __post_init__(self) -> None:
        pass


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnScopesClaims(AccessClaims):
    """A subclass that redefines scopes reads its own claim, whatever the sources."""

    scopes: frozenset[str] = claim("permissions", default=frozenset())


def _both(
    cls: type[StandardClaims], sources: ClaimSources | None, payload: dict[str, Any]
) -> tuple[Any, Any]:
    """The outcome of the generated builder and of the general one: claims or failures."""

    def outcome(build: Any) -> Any:
        try:
            return build(payload)
        except InvalidClaims as error:
            return error.failures

    generated = outcome(make_builder(cls, sources))
    general = outcome(lambda p: from_plan(cls, plan(cls, sources), p))
    return generated, general


# -- the attributes each configuration fills ---------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "payload", "attribute", "expected"),
    [
        pytest.param(
            None, {"scope": "a b", "scp": ["c"]}, "scopes", {"a", "b", "c"}, id="default-scope-scp"
        ),
        pytest.param(None, {"scp": "a b"}, "scopes", {"a", "b"}, id="default-scp-string-entra"),
        pytest.param(None, {"scp": ["a", "b"]}, "scopes", {"a", "b"}, id="default-scp-array-okta"),
        pytest.param(None, {"permissions": ["a"]}, "scopes", set(), id="default-no-permissions"),
        pytest.param(
            ClaimSources(scopes=["scope", "permissions"]),
            {"scope": "openid profile", "permissions": ["read:orders"]},
            "scopes",
            {"openid", "profile", "read:orders"},
            id="auth0-scope-and-permissions",
        ),
        pytest.param(
            ClaimSources(scopes="permissions"),
            {"scope": "openid", "permissions": ["read:orders"]},
            "scopes",
            {"read:orders"},
            id="permissions-only",
        ),
        pytest.param(
            ClaimSources(scopes=()), {"scope": "a"}, "scopes", set(), id="no-scope-source"
        ),
        pytest.param(None, {"roles": ["admin", "user"]}, "roles", {"admin", "user"}, id="roles"),
        pytest.param(None, {"roles": "order admin"}, "roles", {"order admin"}, id="role-string"),
        pytest.param(None, {"groups": ["admin"]}, "roles", set(), id="default-no-groups"),
        pytest.param(
            ClaimSources(roles="groups"), {"groups": ["admin"]}, "roles", {"admin"}, id="groups"
        ),
        pytest.param(
            ClaimSources(roles="cognito:groups"),
            {"cognito:groups": ["admin"], "roles": ["ignored"]},
            "roles",
            {"admin"},
            id="cognito-groups",
        ),
        pytest.param(
            KEYCLOAK,
            {
                "realm_access": {"roles": ["offline_access", "user"]},
                "resource_access": {
                    "orders-api": {"roles": ["orders-admin"]},
                    "account": {"roles": ["manage-account"]},
                },
            },
            "roles",
            {"offline_access", "user", "orders-admin"},
            id="keycloak-realm-and-client",
        ),
        pytest.param(
            KEYCLOAK,
            {"resource_access": {"account": {"roles": ["manage-account"]}}},
            "roles",
            set(),
            id="keycloak-other-client-only",
        ),
        pytest.param(
            ClaimSources(roles="/https:~1~1example.com~1claims/roles~0v2"),
            {"https://example.com/claims": {"roles~v2": ["a"]}},
            "roles",
            {"a"},
            id="pointer-escapes",
        ),
        pytest.param(
            ClaimSources(roles="https://example.com/roles"),
            {"https://example.com/roles": ["a"]},
            "roles",
            {"a"},
            id="url-claim-name-is-literal",
        ),
        pytest.param(None, {"client_id": "a", "azp": "b"}, "client_id", "a", id="client_id-first"),
        pytest.param(None, {"azp": "b", "cid": "c"}, "client_id", "b", id="azp-entra-v2"),
        pytest.param(None, {"cid": "c", "appid": "d"}, "client_id", "c", id="cid-okta"),
        pytest.param(None, {"appid": "d"}, "client_id", "d", id="appid-entra-v1"),
        pytest.param(None, {"sub": "x"}, "client_id", None, id="no-client"),
        pytest.param(
            ClaimSources(client_id="azp"),
            {"client_id": "a", "azp": "b"},
            "client_id",
            "b",
            id="azp",
        ),
    ],
)
def test_sources_fill_the_access_claims(
    sources: ClaimSources | None, payload: dict[str, Any], attribute: str, expected: Any
) -> None:
    """Each configuration reads exactly its sources, in both builders."""
    generated, general = _both(AccessClaims, sources, payload)
    assert getattr(generated, attribute) == getattr(general, attribute)
    value = getattr(AccessClaims.from_payload(payload, sources), attribute)
    if attribute == "client_id":
        assert value == expected
    else:
        assert type(value) is frozenset
        assert value == frozenset(expected)


@pytest.mark.parametrize(
    ("sources", "payload", "failures"),
    [
        pytest.param(
            None, {"roles": 7}, ("roles: must be a string or an array of strings",), id="roles-int"
        ),
        pytest.param(
            None,
            {"roles": ["admin", 1]},
            ("roles: must be a string or an array of strings",),
            id="roles-mixed-array",
        ),
        pytest.param(
            None,
            {"roles": {"admin": True}},
            ("roles: must be a string or an array of strings",),
            id="roles-object",
        ),
        pytest.param(
            ClaimSources(scopes=["scope", "permissions"]),
            {"scope": 5, "permissions": 7},
            (
                "scope: must be a space-separated string or an array of strings",
                "permissions: must be",
            ),
            id="two-bad-scope-sources",
        ),
        pytest.param(
            ClaimSources(roles="cognito:groups"),
            {"cognito:groups": [["admin"]]},
            ("cognito:groups: must be a string or an array of strings",),
            id="cognito-groups-nested-array",
        ),
        pytest.param(
            KEYCLOAK,
            {"realm_access": ["user"]},
            ("realm_access: must be a JSON object",),
            id="keycloak-realm-access-array",
        ),
        pytest.param(
            KEYCLOAK,
            {"realm_access": {"roles": "user"}, "resource_access": {"orders-api": "admin"}},
            ("resource_access.orders-api: must be a JSON object",),
            id="keycloak-client-entry-string",
        ),
        pytest.param(
            ClaimSources(roles=["/realm_access/roles", "/realm_access/groups"]),
            {"realm_access": 1},
            ("realm_access: must be a JSON object",),
            id="one-failure-for-a-shared-parent",
        ),
        pytest.param(
            KEYCLOAK,
            {"realm_access": {"roles": [None]}},
            ("realm_access.roles: must be a string or an array of strings",),
            id="keycloak-roles-null-item",
        ),
        pytest.param(
            None, {"client_id": 7, "azp": "b"}, ("client_id: must be a string",), id="client_id-int"
        ),
        pytest.param(None, {"cid": ["c"]}, ("cid: must be a string",), id="cid-array"),
        pytest.param(
            ClaimSources(client_id="/app/id"),
            {"app": "x"},
            ("app: must be a JSON object",),
            id="client-parent-string",
        ),
    ],
)
def test_malformed_sources_are_invalid_claims_naming_the_claim(
    sources: ClaimSources | None, payload: dict[str, Any], failures: tuple[str, ...]
) -> None:
    """A source of the wrong JSON type is InvalidClaims naming it, in both builders."""
    generated, general = _both(AccessClaims, sources, payload)
    assert generated == general
    assert len(generated) == len(failures)
    assert all(got.startswith(want) for got, want in zip(generated, failures, strict=True))


@pytest.mark.parametrize(
    "cls",
    [
        pytest.param(AccessClaims, id="AccessClaims"),
        pytest.param(TenantClaims, id="subclass"),
        pytest.param(PostInitClaims, id="post-init-subclass"),
    ],
)
def test_subclasses_read_the_sources_too(cls: type[AccessClaims]) -> None:
    """A subclass that keeps the sourced fields reads them from the sources."""
    payload = {"realm_access": {"roles": ["user"]}, "azp": "web", "scp": "a"}
    claims = cls.from_payload(payload, KEYCLOAK)
    assert type(claims) is cls
    assert (claims.roles, claims.client_id, claims.scopes) == (
        frozenset({"user"}),
        "web",
        frozenset({"a"}),
    )


def test_a_redefined_field_reads_its_own_claim() -> None:
    """``scopes = claim("permissions")`` in a subclass wins over the sources."""
    payload = {"scope": "openid", "permissions": ["read"]}
    claims = OwnScopesClaims.from_payload(payload, ClaimSources(scopes="scope"))
    assert claims.scopes == frozenset({"read"})


def test_each_sources_object_keeps_its_own_builders() -> None:
    """Two issuers' sources never share a builder: each reads its own claims."""
    payload = {"roles": ["a"], "groups": ["b"]}
    by_roles = AccessClaims.from_payload(payload, ClaimSources())
    by_groups = AccessClaims.from_payload(payload, ClaimSources(roles="groups"))
    default = AccessClaims.from_payload(payload)
    assert (by_roles.roles, by_groups.roles, default.roles) == (
        frozenset({"a"}),
        frozenset({"b"}),
        frozenset({"a"}),
    )


# -- configuration ------------------------------------------------------------------------------


def test_sources_are_normalised_and_frozen() -> None:
    """A lone string is one source; every field becomes a tuple; the object is frozen."""
    sources = ClaimSources(scopes="scp", roles=["roles", "/realm_access/roles"], client_id=[])
    assert (sources.scopes, sources.roles, sources.client_id) == (
        ("scp",),
        ("roles", "/realm_access/roles"),
        (),
    )
    assert sources.sources_of("roles") == (
        ("roles", ("roles",)),
        ("realm_access.roles", ("realm_access", "roles")),
    )
    with pytest.raises(FrozenInstanceError):
        sources.roles = ("x",)  # type: ignore[misc]
    assert sources == ClaimSources(
        scopes=["scp"], roles=("roles", "/realm_access/roles"), client_id=()
    )


@pytest.mark.parametrize(
    ("config", "match"),
    [
        pytest.param({"roles": 7}, "roles must be a claim name", id="number"),
        pytest.param({"roles": [""]}, "each source", id="empty-name"),
        pytest.param({"scopes": ["scope", None]}, "each source", id="none-in-list"),
        pytest.param({"roles": "/"}, "empty member name", id="pointer-root"),
        pytest.param({"roles": "/realm_access//roles"}, "empty member name", id="empty-member"),
        pytest.param({"roles": "/a~2b"}, "not a JSON Pointer", id="bad-escape"),
        pytest.param({"roles": "/a~"}, "not a JSON Pointer", id="lone-tilde"),
        pytest.param({"groups": ["g"]}, "groups", id="unknown-field"),
    ],
)
def test_bad_sources_are_configuration_errors(config: dict[str, Any], match: str) -> None:
    """Each malformed source is refused at construction, naming what is wrong."""
    with pytest.raises((ConfigurationError, TypeError), match=re.escape(match)):
        ClaimSources(**config)


def test_sources_from_a_settings_mapping() -> None:
    """Upper-case keys (Django's BEARERGUARD, Flask's config) map to the fields."""
    sources = ClaimSources.from_mapping({"ROLES": ["cognito:groups"]}, "CLAIM_SOURCES")
    assert sources == ClaimSources(roles="cognito:groups")
    expect_error(
        lambda: ClaimSources.from_mapping({"GROUPS": ["g"]}, "CLAIM_SOURCES"),
        ConfigurationError,
        match="CLAIM_SOURCES: unknown key",
    )


def test_validator_refuses_claim_sources_of_another_type() -> None:
    """claim_sources must be a ClaimSources (a dict here is a configuration error)."""
    expect_error(
        lambda: Validator(aud=AUDIENCE, claim_sources={"roles": "groups"}),  # type: ignore[arg-type]
        ConfigurationError,
        match="claim_sources",
    )


# -- per issuer, end to end --------------------------------------------------------------------


def test_each_issuer_reads_its_own_sources(keys: Keys) -> None:
    """Two issuers, two validators: one token shape, two readings of its roles."""
    payload = access_payload(roles=["app-role"], groups=["group-role"])
    token = make_token({"alg": "ES256", "kid": "p256"}, payload, keys.p256)
    by_roles = Issuer(ISSUER, keys.jwks(), Validator(aud=AUDIENCE))
    by_groups = Issuer(
        ISSUER,
        keys.jwks(),
        Validator(aud=AUDIENCE, claim_sources=ClaimSources(roles="groups")),
    )
    assert by_roles.verify_and_validate(token, now=NOW)[1].roles == frozenset({"app-role"})
    assert by_groups.verify_and_validate(token, now=NOW)[1].roles == frozenset({"group-role"})


def test_a_malformed_source_refuses_the_token(keys: Keys) -> None:
    """Through the issuer, a malformed roles claim is InvalidClaims (401), not a 500."""
    payload = access_payload(roles=[{"name": "admin"}])
    token = make_token({"alg": "ES256", "kid": "p256"}, payload, keys.p256)
    issuer = Issuer(ISSUER, keys.jwks(), Validator(aud=AUDIENCE))
    error = expect_error(
        lambda: issuer.verify_and_validate(token, now=NOW), InvalidClaims, token=token
    )
    assert isinstance(error, InvalidClaims)
    assert error.failures == ("roles: must be a string or an array of strings",)
    assert (error.status, error.code) == (401, "invalid_token")
