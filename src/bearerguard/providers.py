"""Issuers for well-known identity providers, configured the way each one issues tokens.

Each function returns an :class:`~bearerguard.Issuer` (or, for a provider
that writes ``iss`` in more than one form, a tuple of them) with the
provider's issuer URL, the audience or other binding that tells this API's
access tokens from the provider's ID tokens, and the
:class:`~bearerguard.ClaimSources` that fill ``scopes``, ``roles`` and
``client_id``. Give the result to :class:`~bearerguard.Verifier`::

    from bearerguard import Verifier
    from bearerguard import providers

    verifier = Verifier([providers.auth0("example.eu.auth0.com", "https://api.example.com")])

Nothing is fetched at construction: the keys are found on first use through
the provider's own discovery document (Google and Microsoft Entra ID: their
published JWKS URL), so ``fetcher=`` can serve them offline. The options every
function takes: ``fetcher=``, ``policy=`` (a
:class:`~bearerguard.keyset.KeySetPolicy`), ``algorithms=``, ``leeway=`` and
``on_event=``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypedDict

from ._errors import ConfigurationError
from ._fetch import Fetcher
from ._issuer import Issuer
from ._sources import ClaimSources
from ._validation import Validator
from .keyset import KeySetEvent, KeySetPolicy, RemoteKeySet

__all__ = ["auth0", "cognito", "entra", "google", "keycloak", "okta"]


class _Options(TypedDict, total=False):
    fetcher: Fetcher | None
    policy: KeySetPolicy | None
    algorithms: Iterable[str] | None
    leeway: float
    on_event: Callable[[KeySetEvent], None] | None


_KNOWN = frozenset(_Options.__annotations__)
_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?")
_NAME = re.compile(r"[A-Za-z0-9._~-]+")


def _options(provider: str, options: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(options) - _KNOWN)
    if unknown:
        raise ConfigurationError(
            f"providers.{provider}(): unknown option(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_KNOWN))}"
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


def _issuer(
    iss: str,
    options: dict[str, Any],
    sources: ClaimSources,
    *,
    keys: RemoteKeySet | None = None,
    jwks_uri: str | None = None,
    **validation: Any,
) -> Issuer:
    if "leeway" in options:
        validation["leeway"] = options["leeway"]
    validator = Validator(claim_sources=sources, **validation)
    remote = _remote(iss, options, jwks_uri=jwks_uri, keys=keys)
    return Issuer(iss, remote, validator, algorithms=options.get("algorithms"))


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
    userinfo endpoint, not for this API, and is refused.
    """
    opts = _options("auth0", options)
    host = _domain(domain, "auth0")
    aud = _audience(audience)
    userinfo = f"https://{host}/userinfo"
    if userinfo in ((aud,) if isinstance(aud, str) else aud):
        raise ConfigurationError(
            f"providers.auth0(): audience must be your API's Identifier, not {userinfo!r}"
        )
    sources = ClaimSources(scopes=("scope", "permissions"), client_id=("azp", "client_id"))
    return _issuer(f"https://{host}/", opts, sources, aud=aud)


def entra(
    tenant: str,
    audience: str | Iterable[str],
    *,
    versions: Iterable[int] = (2,),
    allowed_tenants: Iterable[str] | None = None,
    **options: Any,
) -> tuple[Issuer, ...]:
    """Microsoft Entra ID (Azure AD): one issuer per token version in *versions*.

    *tenant* is the tenant ID (a GUID, the "Directory (tenant) ID").
    *audience* is what the API's tokens carry in ``aud``: the application
    (client) ID for v2.0 tokens, usually the Application ID URI
    (``api://...``) for v1.0 tokens. ``versions=(2,)`` (the default) accepts
    v2.0 tokens (``iss`` ``https://login.microsoftonline.com/{tid}/v2.0``,
    ``ver`` ``2.0``); ``(1,)`` v1.0 tokens (``https://sts.windows.net/{tid}/``,
    ``ver`` ``1.0``); ``(1, 2)`` both. Scopes come from ``scp``, app roles
    from ``roles``, the client from ``azp`` (v2.0) or ``appid`` (v1.0). The
    versions share one key set.

    A multi-tenant application gives ``"organizations"`` (work and school
    accounts) or ``"common"`` (and personal accounts) as *tenant*, and the
    tenant IDs it serves as *allowed_tenants*: one issuer per tenant and
    version, each requiring ``tid`` to be the tenant in its ``iss``, all
    sharing the one key set of *tenant*. A token of any other tenant is
    refused before any key is fetched. Accepting every tenant is not
    supported yet.
    """
    opts = _options("entra", options)
    tid = _text(tenant, "tenant")
    multi = tid in ("common", "organizations")
    if multi:
        if allowed_tenants is None or isinstance(allowed_tenants, str):
            raise ConfigurationError(
                f"providers.entra({tid!r}, ...) is a multi-tenant application: pass "
                "allowed_tenants={...} with the tenant IDs it serves (accepting every "
                "tenant is not supported yet)"
            )
        tenants = sorted(set(allowed_tenants))
        if not tenants:
            raise ConfigurationError("providers.entra(): allowed_tenants is empty")
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
    aud = _audience(audience)
    sources = ClaimSources(scopes=("scp",), roles=("roles",), client_id=("azp", "appid"))
    # Every token version (and, multi-tenant, every tenant) is signed with the
    # keys *tenant* publishes: one key set, one fetch for all of them.
    keys = _remote(
        "", opts, jwks_uri=f"https://login.microsoftonline.com/{tid}/discovery/v2.0/keys"
    )
    urls = {
        1: ("https://sts.windows.net/{}/", "1.0"),
        2: ("https://login.microsoftonline.com/{}/v2.0", "2.0"),
    }
    return tuple(
        _issuer(
            urls[v][0].format(each),
            opts,
            sources,
            keys=keys,
            aud=aud,
            required_claims={"ver": urls[v][1], "tid": each},
        )
        for each in tenants
        for v in sorted(set(chosen))
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
    ``https://{domain}``) are refused.
    """
    opts = _options("okta", options)
    host = _domain(domain, "okta")
    server = _text(authorization_server, "authorization_server", _NAME)
    sources = ClaimSources(scopes=("scp",), roles=("groups",), client_id=("cid",))
    return _issuer(f"https://{host}/oauth2/{server}", opts, sources, aud=_audience(audience))


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
    to: ``azp``), or both. With *client_id* alone, ``aud`` is not checked and
    the token must be an access token (``typ`` claim ``Bearer``; ID tokens
    carry ``ID``). Scopes come from ``scope``; roles from
    ``realm_access.roles`` and ``resource_access.<client>.roles`` (the
    client is *client_id*, else a single *audience*); the client from ``azp``.
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
        required = {"azp": client_id}
        if audience is None:
            required["typ"] = "Bearer"
        validation["required_claims"] = required
    roles = ["/realm_access/roles"]
    if client is not None:
        roles.append(f"/resource_access/{_pointer_member(client)}/roles")
    sources = ClaimSources(scopes=("scope",), roles=roles, client_id=("azp",))
    return _issuer(f"{base}/realms/{name}", opts, sources, **validation)


def cognito(region: str, user_pool_id: str, *, client_ids: Iterable[str], **options: Any) -> Issuer:
    """Amazon Cognito user pools, access tokens only.

    ``iss`` is ``https://cognito-idp.{region}.amazonaws.com/{user_pool_id}``.
    Cognito's access tokens carry no ``aud``: a token must have ``token_use``
    ``access`` and a ``client_id`` among *client_ids* (the app clients allowed
    to call this API), so ID tokens are refused. Scopes come from ``scope``,
    groups (as roles) from ``cognito:groups``, the client from ``client_id``.
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
    sources = ClaimSources(scopes=("scope",), roles=("cognito:groups",), client_id=("client_id",))
    return _issuer(
        f"https://cognito-idp.{area}.amazonaws.com/{pool}",
        opts,
        sources,
        ignore_aud=True,
        required_claims={"token_use": "access", "client_id": clients},
    )


def google(audience: str | Iterable[str], **options: Any) -> tuple[Issuer, Issuer]:
    """Google-signed ID tokens for service-to-service calls (Cloud Run, IAP, ...).

    Two issuers, ``https://accounts.google.com`` and ``accounts.google.com``
    (Google writes ``iss`` in both forms), sharing Google's key set
    (``https://www.googleapis.com/oauth2/v3/certs``). *audience* is what the
    caller asked the token for: the receiving service's URL. The client is
    read from ``azp``; these tokens carry no scopes or roles.
    """
    opts = _options("google", options)
    aud = _audience(audience)
    sources = ClaimSources(scopes=(), roles=(), client_id=("azp",))
    keys = _remote("", opts, jwks_uri="https://www.googleapis.com/oauth2/v3/certs")
    return (
        _issuer("https://accounts.google.com", opts, sources, keys=keys, aud=aud),
        _issuer("accounts.google.com", opts, sources, keys=keys, aud=aud),
    )
