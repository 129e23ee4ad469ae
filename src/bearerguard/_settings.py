"""The settings every framework adapter shares.

One frozen :class:`GuardSettings` says where tokens come from and what they
must satisfy; each adapter (Starlette, Flask, WSGI, Django) builds one, calls
:meth:`GuardSettings.build_verifier` once at start-up (no network call: keys are
discovered on the first token), and renders every refusal with
:meth:`GuardSettings.render`, so all adapters answer with the same bytes::

    settings = GuardSettings(oidc="https://login.example.com", audience="api://orders")
    verifier = settings.build_verifier()

    # Flask's app.config / Django's BEARERGUARD = {...}
    settings = GuardSettings.from_mapping(app.config, prefix="BEARERGUARD_")

With ``resource=`` set, adapters serve the RFC 9728 protected-resource metadata
(:mod:`bearerguard._resource_metadata`) at :attr:`GuardSettings.metadata`
``.path`` and add ``resource_metadata="…"`` to their challenges (what MCP
clients look for).
"""

from __future__ import annotations

import difflib
import importlib
import logging
import re
import warnings
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import InitVar, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from ._dpop import DEFAULT_DPOP_ALGORITHMS, DPOP_MODES, DPoPPolicy
from ._dpop_url import normalized_htu
from ._errors import (
    BearerGuardDeprecationWarning,
    BearerGuardError,
    ConfigurationError,
    IssuerMismatch,
)
from ._fetch import Fetcher
from ._http import PlainResponse, error_response
from ._introspection import Introspection
from ._mtls import CertificateSource
from ._redis_link import check_redis_url
from ._refusals import Refusal, RefusalReporter
from ._resource_metadata import ResourceMetadata
from ._revocation import Revocations, revocations_setting
from ._sources import DEFAULT_CLAIM_SOURCES, ClaimSources
from ._urls import check_url
from ._validation import Validator
from .claims import AccessClaims, StandardClaims

if TYPE_CHECKING:
    from ._issuer import Issuer
    from ._issuer_group import IssuerGroup
    from .keyset import KeySetPolicy
    from .verifier import Verifier

__all__ = ["GuardSettings"]

# What a ready Verifier already decides (so these settings cannot go with verifier=).
_VERIFIER_HOLDS = (
    "issuers",
    "dpop",
    "dpop_policy",
    "oidc",
    "oauth2",
    "jwks_uri",
    "issuer",
    "audience",
    "validator",
    "claim_sources",
    "claims_type",
    "algorithms",
    "policy",
    "fetcher",
    "cache_size",
    "meter_provider",
    "redis_url",
    "introspection",
    "revocations",
)
# What ready issuers already decide (their keys and claim policy): not with issuers=.
_ISSUERS_HOLD = (
    "oidc",
    "oauth2",
    "jwks_uri",
    "issuer",
    "audience",
    "validator",
    "claim_sources",
    "algorithms",
    "policy",
    "fetcher",
)
# RFC 6455 §4.1: a subprotocol is an RFC 7230 token (tchar).
_SUBPROTOCOL = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Old spellings still accepted, with a BearerGuardDeprecationWarning: old -> new.
_DEPRECATED = {"jwks_url": "jwks_uri"}


def _urls(value: str | Sequence[str] | None, name: str, require_https: bool) -> tuple[str, ...]:
    if value is None:
        return ()
    urls = (value,) if isinstance(value, str) else tuple(value)
    if not urls:
        raise ConfigurationError(f"{name}= is empty: give one URL or a list of URLs")
    for url in urls:
        check_url(url, name, require_https=require_https)
    return urls


def _unknown_settings(
    names: Iterable[str],
    known: Collection[str],
    spell: Callable[[str], str],
    what: str = "bearerguard setting",
) -> ConfigurationError:
    """The error for setting *names* that are not in *known*, each with its close match.

    Names are compared case-insensitively and shown as *spell* writes them
    (``audience=``, ``BEARERGUARD_AUDIENCE``), so the message says what to
    write instead: ``unknown bearerguard setting audiance= (did you mean
    audience=?)``. The known names are listed when a name has no close match.
    """
    by_lower = {name.lower(): name for name in known}
    parts = []
    unmatched = False
    for name in names:
        close = difflib.get_close_matches(name.lower(), by_lower, n=1)
        if close:
            parts.append(f"{spell(name)} (did you mean {spell(by_lower[close[0]])}?)")
        else:
            parts.append(spell(name))
            unmatched = True
    plural = "s" if len(parts) > 1 else ""
    message = f"unknown {what}{plural} {', '.join(parts)}"
    if unmatched:
        message += f"; known: {', '.join(spell(name) for name in sorted(known))}"
    return ConfigurationError(message)


def _introspection(mapping: Mapping[Any, Any], prefix: str) -> Introspection:
    """``INTROSPECTION`` as a mapping of :class:`~bearerguard.Introspection` fields."""
    known = {f.name.upper() for f in fields(Introspection) if f.init}
    bad = sorted(str(k) for k in mapping if str(k).upper() not in known)
    if bad:
        error = _unknown_settings(bad, known, str, "Introspection field")
        raise ConfigurationError(f"{prefix}INTROSPECTION: {error.description}")
    values = {str(k).lower(): v for k, v in mapping.items()}
    if "validator" in values:
        values["validator"] = _import(values["validator"], prefix + "INTROSPECTION VALIDATOR")
    try:
        return Introspection(**values)
    except TypeError as exc:
        raise ConfigurationError(f"{prefix}INTROSPECTION: {exc}") from None


def _keyword(name: str) -> str:
    return f"{name}="


def _import(value: Any, name: str) -> Any:
    """A dotted path ``"package.module.attr"`` (settings files) or the object itself."""
    if not isinstance(value, str):
        return value
    module, _, attr = value.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        raise ConfigurationError(f"{name}: cannot import {value!r}") from None


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardSettings:
    """How an adapter accepts bearer tokens. Immutable; build once at start-up.

    Where tokens come from (one or more of the first three, or ``verifier``):

    * ``oidc``: issuer URL(s) found by OpenID Connect discovery;
    * ``oauth2``: issuer URL(s) found by RFC 8414 metadata;
    * ``jwks_uri`` with ``issuer``: a JWKS URL and the ``iss`` its tokens carry
      (``jwks_url`` is its deprecated spelling);
    * ``issuers``: ready :class:`~bearerguard.Issuer` objects, such as the
      identity provider profiles of :mod:`bearerguard.providers` (an
      :class:`~bearerguard.providers.IssuerGroup` counts as its members); each holds its keys
      and claim policy, so ``oidc``, ``oauth2``, ``jwks_uri``, ``audience``,
      ``validator``, ``claim_sources``, ``algorithms``, ``policy`` and
      ``fetcher`` must be unset;
    * ``verifier``: a ready :class:`~bearerguard.verifier.Verifier` (it already
      holds issuers, audience and claims type, so those settings must be unset).

    What they must satisfy: ``audience`` (required unless ``validator`` gives the
    whole claim policy), ``claims_type`` (default
    :class:`~bearerguard.claims.AccessClaims`), ``algorithms`` (allow-list).
    ``claim_sources`` (a :class:`~bearerguard.ClaimSources`; in settings files a
    mapping such as ``{"ROLES": ["cognito:groups"]}``) says which claims fill
    the claims' ``scopes``, ``roles`` and ``client_id``; with ``validator``, set
    it on the Validator instead.
    ``policy`` and ``fetcher`` tune key fetching. ``cache_size`` is the
    verified-token cache's capacity (default
    10 000 entries; ``0`` turns it off). ``meter_provider`` (an OpenTelemetry
    ``MeterProvider``, the ``otel`` extra; in settings files also a dotted path)
    reports the verifier's metrics, as ``Verifier(meter_provider=...)`` does.
    ``redis_url`` (``redis://``, ``rediss://`` or ``unix://``; the ``redis``
    extra) shares key sets between the processes of a fleet, as
    ``Verifier(redis_url=...)`` does; checked here, connected on first use.
    ``introspection`` (a :class:`~bearerguard.Introspection`; in settings
    files also a mapping of its fields, ``{"ISSUER": ..., "CLIENT_ID": ...}``)
    asks the authorization server about opaque tokens (RFC 7662), as
    ``Verifier(introspection=...)`` does; it may be the only source of tokens
    (no ``oidc``, ``oauth2`` or ``jwks_uri``: every token is introspected, its
    answer checked against ``audience``).
    With ``redis_url``, every verification is also checked against the
    revocation deny list there; ``revocations`` (a
    :class:`~bearerguard.Revocations`; in settings files also a mapping of its
    options on ``redis_url``'s server, ``{"REQUIRED": True, "STALENESS": 2}``)
    tunes that or uses another server, as ``Verifier(revocations=...)`` does.

    Refusals: each is logged on ``"bearerguard.refusals"`` (at
    ``refusal_log_level``, default ``"INFO"``; 503 at WARNING at least),
    rate-limited, and passed to ``on_refusal`` (a callable taking a
    :class:`~bearerguard.Refusal`; in settings files also a dotted path).

    Requests: ``required=True`` refuses requests without a token (401);
    ``required=False`` lets them through unauthenticated for the view to decide.
    ``public_paths`` are never authenticated (an entry ending in ``*`` is a
    prefix). ``realm`` goes into every challenge. ``resource`` (this API's
    RFC 9728 resource identifier) turns on the protected-resource metadata;
    ``resource_metadata`` adds members to that document (``scopes_supported``,
    ``resource_name``, ...). ``websocket_subprotocol`` (Starlette/FastAPI only;
    off by default) lets browsers send the token in a WebSocket handshake as
    the subprotocol that follows this name (``["bearer", token]``).

    Certificate-bound tokens (RFC 8705 §3): ``mtls=True`` accepts a token
    whose ``cnf`` has ``x5t#S256`` only from a request with the TLS client
    certificate of that thumbprint (tokens without ``cnf`` work as before).
    The certificate comes from the server's TLS layer (the ASGI TLS
    extension, the WSGI environ's ``SSL_CLIENT_CERT``), or, behind a
    TLS-terminating proxy, from the header ``mtls_proxy_header`` names
    (URL-encoded PEM, as nginx's ``$ssl_client_escaped_cert``), believed only
    from the addresses and networks in ``mtls_trusted_proxies`` and ignored
    from any other.

    DPoP (RFC 9449; see the DPoP guide): ``dpop`` is ``"off"`` (default:
    DPoP-bound tokens refused), ``"allowed"`` (bearer and DPoP-bound tokens)
    or ``"required"`` (DPoP-bound tokens with a proof only), as
    ``Verifier(dpop=...)``; ``dpop_policy`` (a :class:`~bearerguard.DPoPPolicy`;
    in settings files also a mapping of its fields) tunes the proof checks;
    with ``redis_url`` proofs are remembered in that Redis. ``external_url``
    (``https://api.example.com``, optionally with the path prefix a proxy
    strips) is the URL clients address, against which a proof's ``htu`` is
    checked; without it the request's own scheme and ``Host`` header are used.
    ``Forwarded`` and ``X-Forwarded-*`` headers are never read for it.
    """

    oidc: str | Sequence[str] | None = None
    oauth2: str | Sequence[str] | None = None
    jwks_uri: str | None = None
    issuer: str | None = None
    verifier: Verifier[Any] | None = None
    issuers: Sequence[Issuer | IssuerGroup | tuple[Issuer, ...]] | None = None
    audience: str | Sequence[str] | None = None
    validator: Validator | None = None
    claim_sources: ClaimSources | None = None
    claims_type: type[StandardClaims] | None = None
    algorithms: Sequence[str] | None = None
    policy: KeySetPolicy | None = None
    fetcher: Fetcher | None = None
    cache_size: int | None = None
    meter_provider: Any = None
    redis_url: str | None = field(default=None, repr=False)  # may hold a password
    introspection: Introspection | None = None
    revocations: Revocations | None = None
    required: bool = True
    on_refusal: Callable[[Refusal], object] | None = None
    refusal_log_level: int | str = "INFO"
    realm: str | None = None
    public_paths: Sequence[str] = ()
    resource: str | None = None
    resource_metadata: Mapping[str, Any] | None = None
    websocket_subprotocol: str | None = None
    dpop: str | None = None
    dpop_policy: DPoPPolicy | None = None
    external_url: str | None = None
    mtls: bool = False
    mtls_proxy_header: str | None = None
    mtls_trusted_proxies: Sequence[str] | None = None
    jwks_url: InitVar[str | None] = None
    _exact: frozenset[str] = field(init=False, repr=False, compare=False)
    _prefixes: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _metadata: ResourceMetadata | None = field(init=False, repr=False, compare=False)
    _reporter: RefusalReporter = field(init=False, repr=False, compare=False)
    # (algs, required) for the DPoP challenges; (None, False) with DPoP off.
    _dpop_challenge: tuple[str | None, bool] = field(init=False, repr=False, compare=False)
    _certificates: CertificateSource | None = field(init=False, repr=False, compare=False)

    def __post_init__(self, jwks_url: str | None) -> None:
        if jwks_url is not None:
            warnings.warn(
                "jwks_url= (JWKS_URL) is deprecated: write jwks_uri= (JWKS_URI), "
                "the name RFC 8414 metadata gives the JWKS URL",
                BearerGuardDeprecationWarning,
                stacklevel=3,
            )
            if self.jwks_uri is not None:
                raise ConfigurationError("give jwks_uri= only (jwks_url= is its old spelling)")
            object.__setattr__(self, "jwks_uri", jwks_url)
        if self.policy is not None:
            from .keyset import KeySetPolicy

            if not isinstance(self.policy, KeySetPolicy):
                raise ConfigurationError("policy= must be a bearerguard.keyset.KeySetPolicy")
        https = True if self.policy is None else self.policy.require_https
        oidc = _urls(self.oidc, "oidc", https)
        oauth2 = _urls(self.oauth2, "oauth2", https)
        object.__setattr__(self, "oidc", oidc or None)
        object.__setattr__(self, "oauth2", oauth2 or None)
        if self.verifier is not None:
            self._check_verifier_alone()
        elif self.issuers is not None:
            self._check_issuers()
        else:
            self._check_sources(https)
        if self.cache_size is not None and (
            isinstance(self.cache_size, bool)
            or not isinstance(self.cache_size, int)
            or self.cache_size < 0
        ):
            raise ConfigurationError("cache_size= must be a non-negative integer (0: no cache)")
        if self.redis_url is not None:
            check_redis_url(self.redis_url)
        if self.introspection is not None and not isinstance(self.introspection, Introspection):
            raise ConfigurationError(
                "introspection= must be a bearerguard.Introspection "
                "(in a settings file also a mapping of its fields)"
            )
        if self.revocations is not None:
            revocations = revocations_setting(self.revocations, self.redis_url, "revocations=")
            object.__setattr__(self, "revocations", revocations)
        if not isinstance(self.required, bool):
            raise ConfigurationError("required= must be True or False")
        self._check_dpop()
        if self.realm is not None and (not isinstance(self.realm, str) or not self.realm):
            raise ConfigurationError("realm= must be a non-empty string")
        name = self.websocket_subprotocol
        if name is not None and not (isinstance(name, str) and _SUBPROTOCOL.fullmatch(name)):
            raise ConfigurationError(
                "websocket_subprotocol= must be a subprotocol name (RFC 6455 §4.1: letters, "
                "digits and !#$%&'*+-.^_`|~), e.g. websocket_subprotocol='bearer'"
            )
        paths = (self.public_paths,) if isinstance(self.public_paths, str) else self.public_paths
        paths = tuple(paths)
        for path in paths:
            if not isinstance(path, str) or not path.startswith("/"):
                raise ConfigurationError(
                    f"public_paths entries must be paths starting with '/', got {path!r}"
                )
        object.__setattr__(self, "public_paths", paths)
        metadata = self._build_metadata()
        exact = {p for p in paths if not p.endswith("*")}
        if metadata is not None:
            exact.add(metadata.path)  # RFC 9728 §3: the document is public
        object.__setattr__(self, "_exact", frozenset(exact))
        object.__setattr__(self, "_prefixes", tuple(p[:-1] for p in paths if p.endswith("*")))
        object.__setattr__(self, "_metadata", metadata)
        object.__setattr__(self, "_reporter", self._build_reporter())
        object.__setattr__(self, "_certificates", self._build_certificates())

    def _build_certificates(self) -> CertificateSource | None:
        if type(self.mtls) is not bool:
            raise ConfigurationError("mtls= must be True or False")
        if self.verifier is not None and self.verifier.mtls != self.mtls:
            raise ConfigurationError(
                f"mtls={self.mtls} but the verifier= was built with mtls={self.verifier.mtls}: "
                "give both the same value"
            )
        if not self.mtls:
            given = [n for n in ("mtls_proxy_header", "mtls_trusted_proxies") if getattr(self, n)]
            if given:
                raise ConfigurationError(
                    f"{'= and '.join(given)}= {'need' if len(given) > 1 else 'needs'} "
                    "mtls=True (certificate-bound tokens)"
                )
            return None
        source = CertificateSource(
            proxy_header=self.mtls_proxy_header, trusted_proxies=self.mtls_trusted_proxies
        )
        if self.mtls_trusted_proxies is not None:  # checked: a list of addresses
            object.__setattr__(self, "mtls_trusted_proxies", tuple(self.mtls_trusted_proxies))
        return source

    def _build_reporter(self) -> RefusalReporter:
        level = self.refusal_log_level
        number = logging.getLevelName(level.upper()) if isinstance(level, str) else level
        if isinstance(number, bool) or not isinstance(number, int):
            raise ConfigurationError(
                "refusal_log_level= must be a logging level such as 'INFO' or logging.DEBUG"
            )
        if self.on_refusal is not None and not callable(self.on_refusal):
            raise ConfigurationError(
                "on_refusal= must be a callable taking a bearerguard.Refusal "
                "(or its dotted import path in a settings file)"
            )
        return RefusalReporter(level=number, hook=self.on_refusal)

    def _check_dpop(self) -> None:
        if self.dpop is not None and self.dpop not in DPOP_MODES:
            raise ConfigurationError("dpop= must be 'off', 'allowed' or 'required'")
        policy: Any = self.dpop_policy
        if isinstance(policy, Mapping):
            known = {f.name.upper() for f in fields(DPoPPolicy) if f.init}
            bad = sorted(str(k) for k in policy if str(k).upper() not in known)
            if bad:
                raise _unknown_settings(bad, known, str, "DPoPPolicy field")
            values = {str(k).lower(): v for k, v in policy.items()}
            if "replay_cache" in values:  # a dotted path in a settings file
                values["replay_cache"] = _import(values["replay_cache"], "DPOP_POLICY.REPLAY_CACHE")
            object.__setattr__(self, "dpop_policy", DPoPPolicy(**values))
        elif policy is not None and not isinstance(policy, DPoPPolicy):
            raise ConfigurationError("dpop_policy= must be a bearerguard.DPoPPolicy")
        url = self.external_url
        if url is not None:
            if not isinstance(url, str) or normalized_htu(url) is None or "?" in url or "#" in url:
                raise ConfigurationError(
                    "external_url= must be the http(s) URL clients address, without query, "
                    "e.g. external_url='https://api.example.com'"
                )
            object.__setattr__(self, "external_url", url.rstrip("/"))
        mode = self.dpop_mode
        challenge: tuple[str | None, bool] = (None, False)
        if mode != "off":
            held = self.verifier.dpop_policy if self.verifier is not None else self.dpop_policy
            algs = held.algs if held is not None else " ".join(DEFAULT_DPOP_ALGORITHMS)
            challenge = (algs, mode == "required")
        object.__setattr__(self, "_dpop_challenge", challenge)

    @property
    def dpop_mode(self) -> str:
        """The DPoP mode in force: ``dpop``, or the ready verifier's."""
        if self.verifier is not None:
            return self.verifier.dpop
        return self.dpop or "off"

    def _check_verifier_alone(self) -> None:
        given = [name for name in _VERIFIER_HOLDS if getattr(self, name) is not None]
        if given:
            raise ConfigurationError(
                f"verifier= already holds the issuers and the claim policy; "
                f"remove {', '.join(given)}= or configure them on the Verifier"
            )

    def _check_issuers(self) -> None:
        from ._issuer import Issuer
        from ._issuer_group import IssuerGroup, members_of

        given = [name for name in _ISSUERS_HOLD if getattr(self, name) is not None]
        if given:
            raise ConfigurationError(
                "issuers= already hold their keys and claim policy; remove "
                + ", ".join(f"{name}=" for name in given)
                + " or pass it to each issuer "
                "(e.g. providers.auth0(domain, audience, fetcher=...))"
            )
        items = self.issuers
        if isinstance(items, (str, Issuer, IssuerGroup)) or not isinstance(items, Iterable):
            raise ConfigurationError(
                "issuers= must be a list of issuers, e.g. [providers.auth0(domain, audience)]"
            )
        flat = tuple(member for item in items for member in members_of(item))
        groups = [item for item in items if isinstance(item, IssuerGroup)]
        if not flat and not groups:
            raise ConfigurationError("issuers= is empty: give at least one issuer")
        for member in flat:
            if not isinstance(member, Issuer):
                raise ConfigurationError(
                    "issuers= entries must be bearerguard.Issuer objects or the profiles "
                    f"bearerguard.providers builds, got {type(member).__name__}"
                )
            if member.validator is None:
                raise ConfigurationError(
                    f"issuers=: {member!r} has no validator: pass validator=Validator(aud=...)"
                )
        # Groups stay groups: the verifier asks them about an iss none of its issuers has.
        object.__setattr__(self, "issuers", tuple(item for item in items if item != ()))
        claims_type = self.claims_type
        if claims_type is not None and not (
            isinstance(claims_type, type) and issubclass(claims_type, StandardClaims)
        ):
            raise ConfigurationError(
                "claims_type= must be a subclass of bearerguard.AccessClaims (or StandardClaims)"
            )

    def _check_sources(self, https: bool) -> None:
        if self.jwks_uri is not None:
            check_url(self.jwks_uri, "jwks_uri", require_https=https)
            if self.issuer is None:
                raise ConfigurationError(
                    "jwks_uri= needs issuer=: the exact `iss` value of the tokens these keys "
                    "sign (e.g. issuer='https://login.example.com')"
                )
        if self.issuer is not None:
            if self.jwks_uri is None:
                raise ConfigurationError(
                    "issuer= goes with jwks_uri=; for discovery use oidc='<issuer>' "
                    "or oauth2='<issuer>' instead"
                )
            check_url(self.issuer, "issuer", require_https=https)
        if not (self.oidc or self.oauth2 or self.jwks_uri or self.introspection is not None):
            raise ConfigurationError(
                "no token issuer configured: set oidc='https://login.example.com' "
                "(OpenID Connect discovery), oauth2=... (RFC 8414 metadata), "
                "jwks_uri=... with issuer=..., introspection=Introspection(...) "
                "(opaque tokens), or verifier=Verifier(...)"
            )
        if self.claim_sources is not None and not isinstance(self.claim_sources, ClaimSources):
            raise ConfigurationError("claim_sources= must be a bearerguard.ClaimSources")
        if self.validator is not None:
            if not isinstance(self.validator, Validator):
                raise ConfigurationError("validator= must be a bearerguard.Validator")
            if self.audience is not None:
                raise ConfigurationError(
                    "give audience= or validator=, not both (set aud on the Validator)"
                )
            if self.claim_sources is not None:
                raise ConfigurationError(
                    "give claim_sources= or validator=, not both "
                    "(set claim_sources on the Validator)"
                )
        elif self.audience is None or not self.audience:
            raise ConfigurationError(
                "audience= is required: the `aud` value tokens for this API carry "
                "(e.g. audience='api://orders'); tokens for other APIs are then refused"
            )
        else:
            audiences = (self.audience,) if isinstance(self.audience, str) else self.audience
            if not all(isinstance(a, str) and a for a in audiences):
                raise ConfigurationError("audience= must be a non-empty string or strings")
        claims_type = self.claims_type
        if claims_type is not None and not (
            isinstance(claims_type, type) and issubclass(claims_type, StandardClaims)
        ):
            raise ConfigurationError(
                "claims_type= must be a subclass of bearerguard.AccessClaims (or StandardClaims)"
            )

    def _build_metadata(self) -> ResourceMetadata | None:
        if self.resource is None:
            if self.resource_metadata is not None:
                raise ConfigurationError(
                    "resource_metadata= needs resource=: this API's resource identifier "
                    "(e.g. resource='https://api.example.com')"
                )
            return None
        extra = dict(self.resource_metadata or {})
        extra.setdefault("authorization_servers", list(self.issuer_urls))
        return ResourceMetadata.build(self.resource, **extra)

    # -- what adapters use ------------------------------------------------------

    @property
    def issuer_urls(self) -> tuple[str, ...]:
        """The configured issuer identifiers (the RFC 9728 ``authorization_servers``)."""
        if self.verifier is not None:
            return tuple(issuer.url for issuer in self.verifier.issuers)
        if self.issuers is not None:
            from ._issuer_group import IssuerGroup, members_of

            return tuple(
                dict.fromkeys(
                    url
                    for item in self.issuers
                    for url in (
                        item.urls
                        if isinstance(item, IssuerGroup)
                        else [member.url for member in members_of(item)]
                    )
                )
            )
        urls = [*(self.oidc or ()), *(self.oauth2 or ())]
        if self.issuer is not None:
            urls.append(self.issuer)
        if isinstance(self.introspection, Introspection):
            urls.append(self.introspection.issuer)
        return tuple(dict.fromkeys(urls))

    @property
    def metadata(self) -> ResourceMetadata | None:
        """The RFC 9728 document to serve, or ``None`` when ``resource`` is unset."""
        return self._metadata

    @property
    def certificates(self) -> CertificateSource | None:
        """Where requests' client certificates come from (``None``: ``mtls`` is off)."""
        return self._certificates

    def is_public(self, path: str) -> bool:
        """Whether requests to *path* skip authentication."""
        return path in self._exact or path.startswith(self._prefixes)

    def render(
        self, error: BearerGuardError, token: str | None = None, *, report: bool = True
    ) -> PlainResponse:
        """The response for *error*, with this API's realm and RFC 9728 link.

        Every refusal an adapter sends passes here, so it is reported here
        (unless *report* is false): a rate-limited line on the
        ``"bearerguard.refusals"`` logger and a call of ``on_refusal``, with
        what can be read unverified from *token* (the refused token, when
        there was one) and never the token itself.
        """
        if report:
            self.report(error, token)
        metadata = self._metadata
        algs, required = self._dpop_challenge
        return error_response(
            error,
            realm=self.realm,
            resource_metadata=metadata.url if metadata else None,
            dpop_algs=algs,
            dpop_required=required,
        )

    def report(self, error: BearerGuardError, token: str | None = None) -> None:
        """Log *error* (rate-limited) and pass it to ``on_refusal``; never raises."""
        # The configured issuers are listed on an issuer mismatch only.
        issuers = self.issuer_urls if isinstance(error, IssuerMismatch) else ()
        self._reporter.report(error, token, issuers)

    def build_verifier(self) -> Verifier[Any]:
        """The :class:`~bearerguard.verifier.Verifier` these settings describe.

        Makes no network call: discovery and key fetches happen on the first
        token, so an app can be configured at import time.
        """
        if self.verifier is not None:
            return self.verifier
        from ._issuer import Issuer
        from .keyset import KeySetPolicy
        from .verifier import DEFAULT_CACHE_SIZE, Verifier

        if self.issuers is not None:
            return Verifier(
                issuers=self.issuers,
                # None: the issuers' own claims_type (a conflict is refused there).
                claims_type=self.claims_type,
                cache_size=DEFAULT_CACHE_SIZE if self.cache_size is None else self.cache_size,
                meter_provider=self.meter_provider,
                introspection=self.introspection,
                redis_url=self.redis_url,
                revocations=self.revocations,
                dpop=self.dpop or "off",
                dpop_policy=self.dpop_policy,
                mtls=self.mtls,
            )
        validator = self.validator or Validator(
            aud=self.audience, claim_sources=self.claim_sources or DEFAULT_CLAIM_SOURCES
        )
        options: dict[str, Any] = {
            "validator": validator,
            "algorithms": self.algorithms,
            "fetcher": self.fetcher,
            "policy": self.policy or KeySetPolicy(),
            "lazy": True,
        }
        issuers = [Issuer.from_oidc(url, **options) for url in self.oidc or ()]
        issuers += [Issuer.from_oauth2(url, **options) for url in self.oauth2 or ()]
        if self.jwks_uri is not None:
            assert self.issuer is not None  # checked in __post_init__
            issuers.append(Issuer.from_jwks_url(self.jwks_uri, issuer=self.issuer, **options))
        introspection = self.introspection
        if (
            introspection is not None
            and introspection.validator is None
            and introspection.issuer not in {issuer.url for issuer in issuers}
        ):
            # An authorization server of opaque tokens only: its answers must meet
            # this API's audience and claim policy, as the JWTs do.
            introspection = replace(introspection, validator=validator)
        return Verifier(
            issuers=issuers,
            claims_type=self.claims_type or AccessClaims,
            cache_size=DEFAULT_CACHE_SIZE if self.cache_size is None else self.cache_size,
            meter_provider=self.meter_provider,
            introspection=introspection,
            redis_url=self.redis_url,
            revocations=self.revocations,
            dpop=self.dpop or "off",
            dpop_policy=self.dpop_policy,
            mtls=self.mtls,
        )

    @classmethod
    def of(
        cls, settings: GuardSettings | None, options: Mapping[str, Any], adapter: str
    ) -> GuardSettings:
        """An adapter's settings: the ready *settings*, or those its keyword *options* give.

        Both at once is a configuration error naming the *adapter*.
        """
        if settings is None:
            names = {f.name for f in fields(cls) if f.init}
            # An unknown keyword would otherwise be a bare TypeError from __init__.
            bad = [name for name in options if name not in names and name not in _DEPRECATED]
            if bad:
                raise _unknown_settings(bad, names - set(_DEPRECATED), _keyword)
            return cls(**options)
        if options:
            raise ConfigurationError(f"{adapter} takes settings= or keyword settings, not both")
        return settings

    # -- from settings files ----------------------------------------------------

    @classmethod
    def from_mapping(
        cls,
        mapping: Mapping[str, Any],
        *,
        prefix: str = "",
        ignore: Collection[str] = (),
        **overrides: Any,
    ) -> GuardSettings:
        """Settings from upper-case keys: ``app.config`` or Django's ``BEARERGUARD``.

        Keys are the field names in upper case after *prefix* (``OIDC``,
        ``AUDIENCE``, ``PUBLIC_PATHS``, ...). With *prefix*, other keys are
        ignored; an unknown key after the prefix is an error (a typo would
        otherwise silently weaken the configuration), except those in *ignore*
        (an adapter's own keys). ``CLAIMS_TYPE``, ``VERIFIER`` and ``FETCHER``
        may be dotted import paths; ``POLICY`` may be a mapping of
        :class:`~bearerguard.keyset.KeySetPolicy` fields, ``CLAIM_SOURCES`` one
        of :class:`~bearerguard.ClaimSources` fields. *overrides* (lower
        case, e.g. from ``BearerGuard(app, audience=...)``) win over the mapping.
        """
        names = {f.name for f in fields(cls) if f.init} | set(_DEPRECATED)
        current = names - set(_DEPRECATED)
        values: dict[str, Any] = {}
        unknown: list[str] = []
        for key, value in mapping.items():
            if not isinstance(key, str) or not key.startswith(prefix):
                continue
            name = key[len(prefix) :]
            if name in ignore:
                continue
            if name.isupper() and name.lower() in names:
                values[name.lower()] = value
            else:
                unknown.append(name)
        if unknown:
            raise _unknown_settings(
                sorted(unknown),
                {name.upper() for name in current} | set(ignore),
                lambda name: prefix + name,
            )
        bad = sorted(set(overrides) - names)
        if bad:
            raise _unknown_settings(bad, current, _keyword)
        values.update(overrides)
        for name in (
            "claims_type",
            "verifier",
            "fetcher",
            "on_refusal",
            "meter_provider",
            "revocations",
        ):
            if name in values:
                values[name] = _import(values[name], prefix + name.upper())
        sources = values.get("claim_sources")
        if isinstance(sources, Mapping):
            values["claim_sources"] = ClaimSources.from_mapping(sources, prefix + "CLAIM_SOURCES")
        introspection = values.get("introspection")
        if isinstance(introspection, Mapping):
            values["introspection"] = _introspection(introspection, prefix)
        policy = values.get("policy")
        if isinstance(policy, Mapping):
            from .keyset import KeySetPolicy

            known = {f.name.upper() for f in fields(KeySetPolicy) if f.init}
            bad = sorted(str(k) for k in policy if str(k).upper() not in known)
            if bad:
                error = _unknown_settings(bad, known, str, "KeySetPolicy field")
                raise ConfigurationError(f"{prefix}POLICY: {error.description}")
            try:
                values["policy"] = KeySetPolicy(**{str(k).lower(): v for k, v in policy.items()})
            except TypeError as exc:
                raise ConfigurationError(f"{prefix}POLICY: {exc}") from None
        return cls(**values)
