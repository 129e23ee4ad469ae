"""Issuers for well-known identity providers, configured the way each one issues tokens.

Each function returns an :class:`~bearerguard.Issuer` or, for a provider that
writes ``iss`` in more than one form (Microsoft Entra ID, Google), an
:class:`IssuerGroup` of issuers sharing one key set, accepted wherever an
Issuer is. The result holds the provider's issuer URL, the audience or other
binding that tells this API's access tokens from the provider's ID tokens,
and the :class:`~bearerguard.ClaimSources` that fill ``scopes``, ``roles``
and ``client_id``. Give it to :class:`~bearerguard.Verifier` or to an
adapter's ``issuers=`` setting::

    from bearerguard import Verifier
    from bearerguard import providers

    verifier = Verifier([providers.auth0("example.eu.auth0.com", "https://api.example.com")])

Nothing is fetched at construction: the keys are found on first use through
the provider's own discovery document (Google and Microsoft Entra ID: their
published JWKS URL), so ``fetcher=`` can serve them offline. The options every
function takes: ``fetcher=``, ``policy=`` (a
:class:`~bearerguard.keyset.KeySetPolicy`), ``claims_type=`` (the claims
class tokens are returned as: a subclass of
:class:`~bearerguard.claims.AccessClaims`), ``algorithms=``, ``leeway=`` and
``on_event=``.

A token of the same provider that the configuration does not trust (a tenant
not allowed, a v1.0 token where only v2.0 is accepted, another Okta
authorization server) is refused before any key is fetched, and the
refusal's description names the reason.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal, TypedDict

from ._errors import ConfigurationError
from ._fetch import Fetcher
from ._issuer import Issuer
from ._issuer_group import ExplainedIssuer, IssuerGroup
from ._sources import ClaimSources
from ._validation import Validator
from .claims import StandardClaims
from .keyset import KeySetEvent, KeySetPolicy, RemoteKeySet

__all__ = [
    "ANY_TENANT",
    "IssuerGroup",
    "auth0",
    "cognito",
    "entra",
    "google",
    "keycloak",
    "okta",
]


class _AnyTenant(enum.Enum):
    ANY_TENANT = "any tenant"

    def __repr__(self) -> str:
        return "providers.ANY_TENANT"


#: ``entra("organizations" | "common", audience, allowed_tenants=ANY_TENANT)``:
#: accept tokens of every Microsoft Entra ID tenant (the explicit alternative
#: to a set of tenant IDs).
ANY_TENANT: Final = _AnyTenant.ANY_TENANT


class _Options(TypedDict, total=False):
    fetcher: Fetcher | None
    policy: KeySetPolicy | None
    claims_type: type[StandardClaims] | None
    algorithms: Iterable[str] | None
    leeway: float
    on_event: Callable[[KeySetEvent], None] | None


_KNOWN = frozenset(_Options.__annotations__)
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")
_NAME = re.compile(r"[A-Za-z0-9._~-]{1,64}")
# How much of an untrusted token's own value a refusal may quote.
_QUOTED = 64


def _options(provider: str, options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - _KNOWN)
    if unknown:
        raise ConfigurationError(
            f"providers.{provider}(): unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_KNOWN))}"
        )
    claims_type = options.get("claims_type")
    if claims_type is not None and not (
        isinstance(claims_type, type) and issubclass(claims_type, StandardClaims)
    ):
        raise ConfigurationError(
            f"providers.{provider}(): claims_type must be a claims class, a subclass of "
            "bearerguard.AccessClaims such as claims_type=OrderClaims "
            f"(class OrderClaims(AccessClaims): ...); got {claims_type!r}"
        )
    return dict(options)


def _text(value: object, name: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"{name} must be a non-empty string")
    if pattern is not None and pattern.fullmatch(value) is None:
        raise ConfigurationError(f"{name}: {value!r} is not valid here")
    return value


def _domain(value: object, provider: str) -> str:
    domain = _text(value, "domain")
    if "://" in domain or "/" in domain or _HOST.fullmatch(domain) is None:
        raise ConfigurationError(
            f"providers.{provider}(): domain must be a host name such as "
            f"'example.eu.auth0.com' (no scheme, no path), got {domain!r}"
        )
    return domain


def _remote(
    iss: str, options: dict[str, Any], *, jwks_uri: str | None = None, keys: Any = None
) -> RemoteKeySet:
    if keys is not None:
        return keys  # type: ignore[no-any-return]
    policy = options.get("policy") or KeySetPolicy()
    if not isinstance(policy, KeySetPolicy):
        raise ConfigurationError("policy must be a KeySetPolicy")
    fetcher = options.get("fetcher")
    on_event = options.get("on_event")
    if jwks_uri is not None:
        return RemoteKeySet(jwks_uri, policy=policy, fetcher=fetcher, on_event=on_event)
    return RemoteKeySet.from_oidc(iss, policy=policy, fetcher=fetcher, on_event=on_event)


def _validator(options: dict[str, Any], sources: ClaimSources, **validation: Any) -> Validator:
    if "leeway" in options:
        validation["leeway"] = options["leeway"]
    return Validator(claim_sources=sources, **validation)


def _issuer(
    iss: str,
    options: dict[str, Any],
    sources: ClaimSources,
    *,
    explain: Callable[[str], str | None] | None = None,
    **validation: Any,
) -> Issuer:
    validator = _validator(options, sources, **validation)
    remote = _remote(iss, options)
    if explain is not None:
        return ExplainedIssuer(
            iss,
            remote,
            validator,
            algorithms=options.get("algorithms"),
            claims_type=options.get("claims_type"),
            explain=explain,
        )
    return Issuer(
        iss,
        remote,
        validator,
        algorithms=options.get("algorithms"),
        claims_type=options.get("claims_type"),
    )


def _member(iss: str, keys: RemoteKeySet, validator: Validator, options: dict[str, Any]) -> Issuer:
    return Issuer(
        iss,
        keys,
        validator,
        algorithms=options.get("algorithms"),
        claims_type=options.get("claims_type"),
    )


def _audience(value: object, name: str = "audience") -> str | tuple[str, ...]:
    if isinstance(value, str):
        return _text(value, name)
    if isinstance(value, Iterable):
        items = tuple(value)
        if items and all(isinstance(item, str) and item for item in items):
            return items
    raise ConfigurationError(f"{name} must be a non-empty string or a list of them")


def auth0(domain: str, audience: str | Iterable[str], **options: Any) -> Issuer:
    """Auth0: ``iss`` is ``https://{domain}/`` (with the trailing ``/``).

    *domain* is the tenant's domain (``example.eu.auth0.com``) or its custom
    domain; *audience* the API's Identifier in the Auth0 dashboard. Scopes
    come from ``scope`` and, with RBAC's "Add Permissions in the Access
    Token", from ``permissions``; the client from ``azp`` (``client_id``).
    A token whose only audience is ``https://{domain}/userinfo`` is for the
    userinfo endpoint, not for this API, and is refused saying so.
    """
    opts = _options("auth0", options)
    host = _domain(domain, "auth0")
    aud = _audience(audience)
    userinfo = f"https://{host}/userinfo"
    if userinfo in ((aud,) if isinstance(aud, str) else aud):
        raise ConfigurationError(
            f"providers.auth0(): audience must be your API's Identifier, not {userinfo!r}"
        )

    def not_only_userinfo(claims: StandardClaims) -> str | None:
        # Auth0 issues a token for its userinfo endpoint alone when the client
        # asked for no audience= (an OpenID Connect login without an API).
        if claims.aud == (userinfo,):
            return (
                f"aud: the token is for Auth0's userinfo endpoint ({userinfo}) only, not this "
                "API; the client must request it with audience= set to this API's Identifier"
            )
        return None

    sources = ClaimSources(scopes=("scope", "permissions"), client_id=("azp", "client_id"))
    return _issuer(f"https://{host}/", opts, sources, aud=aud, checks=[not_only_userinfo])


_ENTRA_LOGIN = "https://login.microsoftonline.com"
# The tenant of personal Microsoft accounts: "common" serves it, "organizations" does not.
_CONSUMERS = "9188040d-6c67-4c5b-b112-36a304b66dad"
# The iss of each Entra ID token version, and the ver claim it comes with.
_ENTRA_ISS = {1: "https://sts.windows.net/{}/", 2: _ENTRA_LOGIN + "/{}/v2.0"}
_ENTRA_VER = {1: "1.0", 2: "2.0"}
_ENTRA_SHAPES = (
    (1, re.compile(r"https://sts\.windows\.net/([^/]+)/")),
    (2, re.compile(r"https://login\.microsoftonline\.com/([^/]+)/v2\.0")),
)


def _entra_shape(iss: str) -> tuple[int, str] | None:
    """``(version, tenant)`` of an Entra ID ``iss`` whose tenant is a tenant ID, else None."""
    for version, shape in _ENTRA_SHAPES:
        match = shape.fullmatch(iss)
        if match is not None and _GUID.fullmatch(match[1]) is not None:
            return version, match[1]
    return None


def _versions_text(versions: Iterable[int]) -> str:
    return " and ".join(f"v{v}.0" for v in sorted(versions))


def entra(
    tenant: str,
    audience: str | Iterable[str],
    *,
    versions: Iterable[int] = (2,),
    allowed_tenants: Iterable[str] | Literal[_AnyTenant.ANY_TENANT] | None = None,
    **options: Any,
) -> IssuerGroup:
    """Microsoft Entra ID (Azure AD): an :class:`IssuerGroup`, one issuer per tenant and version.

    *tenant* is the tenant ID (a GUID, the "Directory (tenant) ID").
    *audience* is what the API's tokens carry in ``aud``: the application
    (client) ID for v2.0 tokens, usually the Application ID URI
    (``api://...``) for v1.0 tokens. ``versions=(2,)`` (the default) accepts
    v2.0 tokens (``iss`` ``https://login.microsoftonline.com/{tid}/v2.0``,
    ``ver`` ``2.0``); ``(1,)`` v1.0 tokens (``https://sts.windows.net/{tid}/``,
    ``ver`` ``1.0``); ``(1, 2)`` both. Every token's ``tid`` must be the
    tenant in its ``iss`` and its ``ver`` the version its ``iss`` has. Scopes
    come from ``scp``, app roles from ``roles``, the client from ``azp``
    (v2.0) or ``appid`` (v1.0). All issuers share one key set.

    A multi-tenant application gives ``"organizations"`` (work and school
    accounts) or ``"common"`` (and personal accounts) as *tenant*, and either
    the tenant IDs it serves as *allowed_tenants* or
    ``allowed_tenants=providers.ANY_TENANT`` to accept every tenant (then
    deciding per tenant what a caller may do is the application's job; with
    ``"organizations"``, every tenant but that of personal Microsoft accounts,
    ``9188040d-6c67-4c5b-b112-36a304b66dad``). A
    token of a tenant not allowed is refused, naming its tenant, before any
    key is fetched; the one key set of *tenant* serves every tenant.
    """
    opts = _options("entra", options)
    tid = _text(tenant, "tenant")
    multi = tid in ("common", "organizations")
    any_tenant = allowed_tenants is ANY_TENANT
    tenants: list[str] = []
    if multi:
        if allowed_tenants is None or isinstance(allowed_tenants, str):
            raise ConfigurationError(
                f"providers.entra({tid!r}, ...) is a multi-tenant application: pass "
                "allowed_tenants={...} with the tenant IDs it serves, or "
                "allowed_tenants=providers.ANY_TENANT to accept every tenant"
            )
        if allowed_tenants is not ANY_TENANT:
            tenants = sorted(set(allowed_tenants))
            if not tenants:
                raise ConfigurationError(
                    "providers.entra(): allowed_tenants is empty; list the tenant IDs "
                    "or pass allowed_tenants=providers.ANY_TENANT"
                )
    elif allowed_tenants is not None:
        raise ConfigurationError(
            "providers.entra(): allowed_tenants is only for tenant='organizations' or 'common'"
        )
    else:
        tenants = [tid]
    for each in tenants:
        if not isinstance(each, str) or _GUID.fullmatch(each) is None:
            raise ConfigurationError(
                "providers.entra(): a tenant must be a tenant ID, a lower-case GUID such as "
                f"'72f988bf-86f1-41af-91ab-2d7cd011db47' (tokens carry it in iss), got {each!r}"
            )
    chosen = tuple(versions) if isinstance(versions, Iterable) else ()
    if not chosen or any(type(v) is not int or v not in (1, 2) for v in chosen):
        raise ConfigurationError("providers.entra(): versions must be (1,), (2,) or (1, 2)")
    accepted = sorted(set(chosen))
    aud = _audience(audience)
    sources = ClaimSources(scopes=("scp",), roles=("roles",), client_id=("azp", "appid"))

    def tenant_and_version(claims: StandardClaims) -> list[str]:
        # The iss is already this group's (the signature and iss are checked
        # first): tid must name the same tenant, ver the same token version.
        shape = _entra_shape(claims.iss or "")
        if shape is None:
            return ["iss: not a Microsoft Entra ID issuer"]
        version, tenant_id = shape
        failures = []
        tid_claim = claims.raw.get("tid")
        if tid_claim is None:
            failures.append("tid: required claim is missing")
        elif tid_claim != tenant_id:
            failures.append("tid: the token's tenant is not the tenant in its iss")
        if claims.raw.get("ver") != _ENTRA_VER[version]:
            failures.append(
                f"ver: a token with a v{_ENTRA_VER[version]} iss must have ver "
                f"{_ENTRA_VER[version]!r}"
            )
        return failures

    validator = _validator(opts, sources, aud=aud, checks=[tenant_and_version])
    # Every token version (and, multi-tenant, every tenant) is signed with the
    # keys *tenant* publishes: one key set, one fetch for all of them.
    keys = _remote("", opts, jwks_uri=f"{_ENTRA_LOGIN}/{tid}/discovery/v2.0/keys")
    members = [
        _member(_ENTRA_ISS[v].format(each), keys, validator, opts)
        for each in tenants
        for v in accepted
    ]
    allowed = frozenset(tenants)

    def explain(iss: str) -> str | None:
        shape = _entra_shape(iss)
        if shape is None:
            return None
        version, tenant_id = shape
        if version not in accepted:
            return (
                f"token is a v{version}.0 token (iss {iss}); this API accepts "
                f"{_versions_text(accepted)} tokens only (providers.entra versions=)"
            )
        if not any_tenant and tenant_id not in allowed:
            return f"token iss is of tenant {tenant_id}, not an allowed tenant"
        if any_tenant and tid == "organizations" and tenant_id == _CONSUMERS:
            return (
                f"token iss is of tenant {tenant_id}, personal Microsoft accounts; "
                "'organizations' accepts work and school accounts only"
            )
        return None

    resolved: dict[str, Issuer] = {}

    def resolve(iss: str) -> Issuer | None:
        # ANY_TENANT: an issuer per tenant seen, all on the one key set and
        # validator; the iss must have the shape of an accepted version.
        issuer = resolved.get(iss)
        if issuer is None:
            shape = _entra_shape(iss)
            if shape is None or shape[0] not in accepted:
                return None
            if tid == "organizations" and shape[1] == _CONSUMERS:
                return None
            issuer = _member(iss, keys, validator, opts)
            if len(resolved) < 4096:  # bounded: an iss is chosen by whoever sends a token
                resolved[iss] = issuer
        return issuer

    urls = (
        [_ENTRA_ISS[v].format("{tenantid}") for v in accepted]
        if any_tenant
        else [m.url for m in members]
    )
    return IssuerGroup._of(
        members,
        keys=keys,
        claims_type=opts.get("claims_type"),
        urls=urls,
        resolve=resolve if any_tenant else None,
        explain=explain,
    )


def okta(
    domain: str,
    audience: str | Iterable[str],
    *,
    authorization_server: str = "default",
    **options: Any,
) -> Issuer:
    """Okta, a custom authorization server: ``iss`` is ``https://{domain}/oauth2/{server}``.

    *authorization_server* is the server's ID (``default``, or ``aus...``);
    *audience* its Audience setting (``api://default`` for the default
    server). Scopes come from ``scp`` (an array), the client from ``cid``,
    roles from a ``groups`` claim when the server is set to add one. Tokens
    of another authorization server (or of the org server, ``iss``
    ``https://{domain}``) are refused, naming that server.
    """
    opts = _options("okta", options)
    host = _domain(domain, "okta")
    server = _text(authorization_server, "authorization_server", _NAME)
    org = f"https://{host}"

    def explain(iss: str) -> str | None:
        if iss in (org, org + "/"):
            return (
                f"token of Okta's org authorization server ({org}); this API trusts the "
                f"custom authorization server {server!r}"
            )
        other = iss.removeprefix(org + "/oauth2/")
        if other != iss and _NAME.fullmatch(other):
            return (
                f"token of Okta authorization server {other!r}; this API trusts "
                f"authorization server {server!r}"
            )
        return None

    sources = ClaimSources(scopes=("scp",), roles=("groups",), client_id=("cid",))
    return _issuer(
        f"{org}/oauth2/{server}", opts, sources, explain=explain, aud=_audience(audience)
    )


def _pointer_member(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def keycloak(
    base_url: str,
    realm: str,
    *,
    audience: str | Iterable[str] | None = None,
    client_id: str | None = None,
    **options: Any,
) -> Issuer:
    """Keycloak: ``iss`` is ``{base_url}/realms/{realm}``.

    Give *audience* (what ``aud`` must hold: the API's client, added to tokens
    by an audience mapper), *client_id* (the client the tokens must be issued
    to: ``azp``; a token issued to another client is refused saying so), or
    both. With *client_id* alone, ``aud`` is not checked and the token must be
    an access token (``typ`` claim ``Bearer``; ID tokens carry ``ID``).
    Scopes come from ``scope``; roles from ``realm_access.roles`` and
    ``resource_access.<client>.roles`` (the client is *client_id*, else a
    single *audience*); the client from ``azp``.
    """
    opts = _options("keycloak", options)
    base = _text(base_url, "base_url").rstrip("/")
    if not base.startswith(("https://", "http://")):
        raise ConfigurationError(
            f"providers.keycloak(): base_url must be an https URL, got {base_url!r}"
        )
    name = _text(realm, "realm")
    if "/" in name:
        raise ConfigurationError("providers.keycloak(): realm is a realm name, not a path")
    if audience is None and client_id is None:
        raise ConfigurationError(
            "providers.keycloak() needs audience= (the aud this API's tokens carry) "
            "or client_id= (the client they are issued to), or both"
        )
    validation: dict[str, Any] = {}
    client = None if client_id is None else _text(client_id, "client_id")
    if audience is not None:
        aud = _audience(audience)
        validation["aud"] = aud
        if client is None and isinstance(aud, str):
            client = aud
    else:
        validation["ignore_aud"] = True
    if client_id is not None:
        wanted = client_id

        def issued_to_client(claims: StandardClaims) -> str | None:
            azp = claims.raw.get("azp")
            if azp is None:
                return "azp: required claim is missing"
            if azp != wanted:
                return f"azp: the token was issued to another client, not {wanted!r}"
            return None

        validation["checks"] = [issued_to_client]
        if audience is None:
            # Keycloak's typ claim tells its access tokens from its ID tokens.
            validation["required_claims"] = {"typ": "Bearer"}
    roles = ["/realm_access/roles"]
    if client is not None:
        roles.append(f"/resource_access/{_pointer_member(client)}/roles")
    sources = ClaimSources(scopes=("scope",), roles=roles, client_id=("azp",))
    return _issuer(f"{base}/realms/{name}", opts, sources, **validation)


def cognito(region: str, user_pool_id: str, *, client_ids: Iterable[str], **options: Any) -> Issuer:
    """Amazon Cognito user pools, access tokens only.

    ``iss`` is ``https://cognito-idp.{region}.amazonaws.com/{user_pool_id}``.
    Cognito's access tokens carry no ``aud``: a token must have a
    ``client_id`` among *client_ids* (the app clients allowed to call this
    API) and ``token_use`` ``access``, so ID tokens are refused, saying so.
    Scopes come from ``scope``, groups (as roles) from ``cognito:groups``,
    the client from ``client_id``.
    """
    opts = _options("cognito", options)
    area = _text(region, "region", re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+"))
    pool = _text(user_pool_id, "user_pool_id", re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]+_\w+"))
    if isinstance(client_ids, str):
        raise ConfigurationError("providers.cognito(): client_ids must be a list of client IDs")
    clients = frozenset(client_ids)
    if not clients or not all(isinstance(c, str) and c for c in clients):
        raise ConfigurationError(
            "providers.cognito(): client_ids must list the app client IDs allowed to call this API"
        )

    def access_token(claims: StandardClaims) -> str | None:
        use = claims.raw.get("token_use")
        if use == "access":
            return None
        if use == "id":
            return "token_use: an ID token, not an access token (Cognito access tokens only)"
        if use is None:
            return "token_use: required claim is missing"
        return "token_use: not an access token (Cognito access tokens only)"

    sources = ClaimSources(scopes=("scope",), roles=("cognito:groups",), client_id=("client_id",))
    return _issuer(
        f"https://cognito-idp.{area}.amazonaws.com/{pool}",
        opts,
        sources,
        ignore_aud=True,
        # client_id binds tokens to this API's app clients (ID tokens carry aud instead).
        required_claims={"client_id": clients},
        checks=[access_token],
    )


def google(audience: str | Iterable[str], **options: Any) -> IssuerGroup:
    """Google-signed ID tokens for service-to-service calls (Cloud Run, IAP, ...).

    An :class:`IssuerGroup` of two issuers, ``https://accounts.google.com``
    and ``accounts.google.com`` (Google writes ``iss`` in both forms), sharing
    Google's key set
    (``https://www.googleapis.com/oauth2/v3/certs``). *audience* is what the
    caller asked the token for: the receiving service's URL. The client is
    read from ``azp``; these tokens carry no scopes or roles.
    """
    opts = _options("google", options)
    aud = _audience(audience)
    sources = ClaimSources(scopes=(), roles=(), client_id=("azp",))
    keys = _remote("", opts, jwks_uri="https://www.googleapis.com/oauth2/v3/certs")
    validator = _validator(opts, sources, aud=aud)
    members = [
        _member("https://accounts.google.com", keys, validator, opts),
        _member("accounts.google.com", keys, validator, opts),
    ]
    return IssuerGroup._of(members, keys=keys, claims_type=opts.get("claims_type"))
