"""GuardSettings: checked at construction, read from settings mappings, no network at build."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from bearerguard import (
    AccessClaims,
    BearerGuardDeprecationWarning,
    ConfigurationError,
    Issuer,
    Validator,
)
from bearerguard._errors import InvalidRequest, MissingToken
from bearerguard._resource_metadata import (
    ResourceMetadata,
    protected_resource_metadata,
    resource_metadata_url,
)
from bearerguard._settings import GuardSettings
from bearerguard.keyset import KeySetPolicy
from bearerguard.testing import LocalIssuer
from bearerguard.verifier import Verifier

from .cases import AUDIENCE

OIDC = "https://login.example.com"


@dataclass(frozen=True, slots=True, kw_only=True)
class AppClaims(AccessClaims):
    """A claims subclass importable by dotted path."""

    tenant: str = ""


def _verifier() -> Verifier[AccessClaims]:
    return Verifier([Issuer(OIDC, [], Validator(aud=AUDIENCE))])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        pytest.param({"audience": AUDIENCE}, "no token issuer configured", id="no-issuer"),
        pytest.param({}, "no token issuer configured", id="nothing"),
        pytest.param(
            {"jwks_uri": OIDC + "/jwks", "audience": AUDIENCE},
            "jwks_uri= needs issuer=",
            id="jwks-uri-without-issuer",
        ),
        pytest.param(
            {"issuer": OIDC, "audience": AUDIENCE},
            "issuer= goes with jwks_uri=",
            id="issuer-without-jwks-uri",
        ),
        pytest.param({"oidc": OIDC}, "audience= is required", id="no-audience"),
        pytest.param({"oidc": OIDC, "audience": ""}, "audience= is required", id="empty-audience"),
        pytest.param(
            {"oidc": OIDC, "audience": ["a", ""]},
            "audience= must be a non-empty string or strings",
            id="blank-audience-in-list",
        ),
        pytest.param(
            {"oidc": OIDC, "audience": AUDIENCE, "validator": Validator(aud=AUDIENCE)},
            "give audience= or validator=, not both",
            id="audience-and-validator",
        ),
        pytest.param(
            {"oidc": OIDC, "verifier": "set below"},
            "verifier= already holds the issuers and the claim policy; remove oidc=",
            id="verifier-and-oidc",
        ),
        pytest.param(
            {"oidc": "http://login.example.com", "audience": AUDIENCE},
            "must use https",
            id="plain-http-issuer",
        ),
        pytest.param({"oidc": [], "audience": AUDIENCE}, "oidc= is empty", id="empty-oidc-list"),
        pytest.param(
            {"oidc": OIDC, "audience": AUDIENCE, "public_paths": ["health"]},
            "public_paths entries must be paths starting with '/'",
            id="relative-public-path",
        ),
        pytest.param(
            {"oidc": OIDC, "audience": AUDIENCE, "required": "no"},
            "required= must be True or False",
            id="required-not-bool",
        ),
        pytest.param(
            {"oidc": OIDC, "audience": AUDIENCE, "realm": ""},
            "realm= must be a non-empty string",
            id="empty-realm",
        ),
        pytest.param(
            {"oidc": OIDC, "audience": AUDIENCE, "resource_metadata": {"resource_name": "x"}},
            "resource_metadata= needs resource=",
            id="metadata-without-resource",
        ),
        pytest.param(
            {"oidc": OIDC, "audience": AUDIENCE, "resource": "http://api.example.com"},
            "must use https",
            id="plain-http-resource",
        ),
        pytest.param(
            {"oidc": OIDC, "audience": AUDIENCE, "resource": "https://api.example.com/#x"},
            "must not contain a fragment",
            id="resource-with-fragment",
        ),
        pytest.param(
            {"oidc": OIDC, "audience": AUDIENCE, "claims_type": dict},
            "claims_type= must be a subclass",
            id="claims-type-not-claims",
        ),
        pytest.param(
            {"oidc": OIDC, "audience": AUDIENCE, "policy": {"cooldown": 1}},
            "policy= must be a bearerguard.keyset.KeySetPolicy",
            id="policy-not-a-policy",
        ),
    ],
)
def test_bad_settings_say_what_to_fix(options: dict[str, Any], message: str) -> None:
    """Each mistake is a ConfigurationError whose message names the fix."""
    if options.get("verifier") == "set below":
        options["verifier"] = _verifier()
    with pytest.raises(ConfigurationError, match=message):
        GuardSettings(**options)


def test_defaults_are_strict() -> None:
    """Tokens are required by default; one URL becomes a one-element tuple."""
    settings = GuardSettings(oidc=OIDC, audience=AUDIENCE)
    assert (settings.required, settings.oidc, settings.public_paths) == (True, (OIDC,), ())
    assert settings.issuer_urls == (OIDC,)
    assert settings.metadata is None


@pytest.mark.parametrize(
    ("path", "public"),
    [
        pytest.param("/health", True, id="exact"),
        pytest.param("/health/", False, id="exact-is-exact"),
        pytest.param("/healthz", False, id="not-a-prefix"),
        pytest.param("/docs", True, id="prefix-itself"),
        pytest.param("/docs/oauth2-redirect", True, id="under-prefix"),
        pytest.param("/orders", False, id="other"),
        pytest.param("/.well-known/oauth-protected-resource/v1", True, id="metadata-document"),
    ],
)
def test_public_paths(path: str, public: bool) -> None:
    """Entries are exact paths, or prefixes when they end in '*'; RFC 9728's document is public."""
    settings = GuardSettings(
        oidc=OIDC,
        audience=AUDIENCE,
        public_paths=["/health", "/docs*"],
        resource="https://api.example.com/v1",
    )
    assert settings.is_public(path) is public


def test_one_public_path_as_a_string() -> None:
    """public_paths="/health" means one path, not five one-letter ones."""
    assert GuardSettings(oidc=OIDC, audience=AUDIENCE, public_paths="/health").public_paths == (
        "/health",
    )


def test_render_adds_realm_and_resource_metadata() -> None:
    """Challenges carry the realm and the RFC 9728 metadata URL."""
    settings = GuardSettings(
        oidc=OIDC, audience=AUDIENCE, realm="orders", resource="https://api.example.com"
    )
    assert dict(settings.render(MissingToken("x")).headers)["www-authenticate"] == (
        'Bearer realm="orders", resource_metadata='
        '"https://api.example.com/.well-known/oauth-protected-resource"'
    )
    assert dict(settings.render(InvalidRequest("bad")).headers)["www-authenticate"] == (
        'Bearer realm="orders", error="invalid_request", error_description="bad", '
        'resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"'
    )


# -- from_mapping -----------------------------------------------------------------------


def test_from_flask_style_config() -> None:
    """BEARERGUARD_* keys are read; other config keys are left alone."""
    config = {
        "SECRET_KEY": "x",
        "BEARERGUARD_OIDC": OIDC,
        "BEARERGUARD_AUDIENCE": AUDIENCE,
        "BEARERGUARD_REQUIRED": False,
        "BEARERGUARD_PUBLIC_PATHS": ["/health"],
    }
    settings = GuardSettings.from_mapping(config, prefix="BEARERGUARD_")
    assert (settings.oidc, settings.audience, settings.required, settings.public_paths) == (
        (OIDC,),
        AUDIENCE,
        False,
        ("/health",),
    )


def test_from_django_style_mapping() -> None:
    """BEARERGUARD = {...}: no prefix; dotted paths and a POLICY mapping are resolved."""
    settings = GuardSettings.from_mapping(
        {
            "OIDC": [OIDC],
            "AUDIENCE": AUDIENCE,
            "CLAIMS_TYPE": f"{__name__}.AppClaims",
            "POLICY": {"COOLDOWN": 5, "MAX_STALE": 60},
            "USER_MODE": "stateless",
        },
        ignore={"USER_MODE"},
    )
    assert settings.claims_type is AppClaims
    assert settings.policy == KeySetPolicy(cooldown=5, max_stale=60)


def test_overrides_win_over_the_mapping() -> None:
    """Keyword overrides (e.g. BearerGuard(app, audience=...)) replace config values."""
    settings = GuardSettings.from_mapping(
        {"BEARERGUARD_OIDC": OIDC, "BEARERGUARD_AUDIENCE": "api://config"},
        prefix="BEARERGUARD_",
        audience="api://override",
    )
    assert settings.audience == "api://override"


@pytest.mark.parametrize(
    ("mapping", "prefix", "overrides", "message"),
    [
        pytest.param(
            {"BEARERGUARD_OIDC": OIDC, "BEARERGUARD_AUDIENSE": AUDIENCE},
            "BEARERGUARD_",
            {},
            r"^unknown bearerguard setting BEARERGUARD_AUDIENSE "
            r"\(did you mean BEARERGUARD_AUDIENCE\?\)$",
            id="typo-in-config-key",
        ),
        pytest.param(
            {"BEARERGUARD_OIDC": OIDC, "BEARERGUARD_AUDIENCE": AUDIENCE, "BEARERGUARD_ZZZ": 1},
            "BEARERGUARD_",
            {},
            r"^unknown bearerguard setting BEARERGUARD_ZZZ; "
            r"known: BEARERGUARD_ALGORITHMS, BEARERGUARD_AUDIENCE, "
            r".*BEARERGUARD_WEBSOCKET_SUBPROTOCOL$",
            id="no-close-match-lists-the-keys",
        ),
        pytest.param(
            {"oidc": OIDC, "AUDIENCE": AUDIENCE},
            "",
            {},
            r"^unknown bearerguard setting oidc \(did you mean OIDC\?\)$",
            id="lower-case-key",
        ),
        pytest.param(
            {"OIDC": OIDC},
            "",
            {"audiense": AUDIENCE},
            r"^unknown bearerguard setting audiense= \(did you mean audience=\?\)$",
            id="typo-in-override",
        ),
        pytest.param(
            {"OIDC": OIDC, "AUDIENCE": AUDIENCE, "CLAIMS_TYPE": "no.such.Claims"},
            "",
            {},
            "CLAIMS_TYPE: cannot import 'no.such.Claims'",
            id="dotted-path-not-found",
        ),
        pytest.param(
            {"OIDC": OIDC, "AUDIENCE": AUDIENCE, "POLICY": {"COOL_DOWN": 5}},
            "",
            {},
            r"^POLICY: unknown KeySetPolicy field COOL_DOWN \(did you mean COOLDOWN\?\)$",
            id="unknown-policy-field",
        ),
    ],
)
def test_from_mapping_refuses_unknown_keys(
    mapping: dict[str, Any], prefix: str, overrides: dict[str, Any], message: str
) -> None:
    """A misspelt key fails loudly instead of silently weakening the configuration."""
    with pytest.raises(ConfigurationError, match=message):
        GuardSettings.from_mapping(mapping, prefix=prefix, **overrides)


# -- build_verifier ------------------------------------------------------------------------


def test_build_verifier_makes_no_network_call(bearerguard_issuer: LocalIssuer) -> None:
    """Building is offline; the first token triggers discovery and one JWKS fetch."""
    settings = GuardSettings(oidc=bearerguard_issuer.url, audience=AUDIENCE)
    verifier = settings.build_verifier()
    assert bearerguard_issuer.count() == 0
    claims = verifier.verify(bearerguard_issuer.mint(sub="alice", audience=AUDIENCE))
    assert claims.sub == "alice"
    assert bearerguard_issuer.counts == {
        bearerguard_issuer.oidc_path: 1,
        bearerguard_issuer.jwks_path: 1,
    }


@pytest.mark.parametrize("source", ["oidc", "oauth2", "jwks_uri"])
def test_each_source_verifies_real_tokens(local_issuer: LocalIssuer, source: str) -> None:
    """oidc=, oauth2= and jwks_uri= + issuer= all lead to the issuer's keys."""
    options: dict[str, Any] = {
        "oidc": {"oidc": local_issuer.url},
        "oauth2": {"oauth2": local_issuer.url},
        "jwks_uri": {"jwks_uri": local_issuer.jwks_uri, "issuer": local_issuer.url},
    }[source]
    settings = GuardSettings(audience=AUDIENCE, claims_type=AppClaims, **options)
    claims = settings.build_verifier().verify(local_issuer.mint(sub="bob", tenant="acme"))
    assert (type(claims), claims.sub, claims.tenant) == (AppClaims, "bob", "acme")


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(
            lambda url, iss: GuardSettings(jwks_url=url, issuer=iss, audience=AUDIENCE),
            id="keyword",
        ),
        pytest.param(
            lambda url, iss: GuardSettings.from_mapping(
                {
                    "BEARERGUARD_JWKS_URL": url,
                    "BEARERGUARD_ISSUER": iss,
                    "BEARERGUARD_AUDIENCE": AUDIENCE,
                },
                prefix="BEARERGUARD_",
            ),
            id="config-key",
        ),
    ],
)
def test_jwks_url_is_the_deprecated_spelling_of_jwks_uri(
    local_issuer: LocalIssuer, build: Any
) -> None:
    """jwks_url= / JWKS_URL warns (BearerGuardDeprecationWarning) and still sets jwks_uri."""
    with pytest.warns(BearerGuardDeprecationWarning, match="write jwks_uri= .JWKS_URI."):
        settings = build(local_issuer.jwks_uri, local_issuer.url)
    assert settings.jwks_uri == local_issuer.jwks_uri
    assert settings.build_verifier().verify(local_issuer.mint(sub="ann")).sub == "ann"


def test_jwks_uri_and_jwks_url_together_are_refused() -> None:
    """Both spellings at once is a configuration error (which one would win is unclear)."""
    with (
        pytest.warns(BearerGuardDeprecationWarning),
        pytest.raises(ConfigurationError, match="give jwks_uri= only"),
    ):
        GuardSettings(
            jwks_uri=OIDC + "/jwks", jwks_url=OIDC + "/jwks", issuer=OIDC, audience=AUDIENCE
        )


def test_several_issuers(bearerguard_issuer_factory: Any) -> None:
    """A list of issuers: tokens from each verify; authorization_servers lists them all."""
    first, second = bearerguard_issuer_factory(), bearerguard_issuer_factory()
    settings = GuardSettings(oidc=[first.url], oauth2=second.url, audience=AUDIENCE)
    verifier = settings.build_verifier()
    assert [verifier.verify(i.mint(sub=name)).sub for i, name in ((first, "a"), (second, "b"))] == [
        "a",
        "b",
    ]
    assert settings.issuer_urls == (first.url, second.url)


def test_a_ready_verifier_is_used_as_is() -> None:
    """verifier= is returned by build_verifier; its issuers are the authorization servers."""
    verifier = _verifier()
    settings = GuardSettings(verifier=verifier, resource="https://api.example.com")
    assert settings.build_verifier() is verifier
    assert settings.metadata is not None
    assert settings.metadata.document["authorization_servers"] == [OIDC]


# -- RFC 9728 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "url"),
    [
        pytest.param(
            "https://resource.example.com",
            "https://resource.example.com/.well-known/oauth-protected-resource",
            id="host-only",
        ),
        pytest.param(
            "https://resource.example.com/resource1",
            "https://resource.example.com/.well-known/oauth-protected-resource/resource1",
            id="with-path",
        ),
        pytest.param(
            "https://resource.example.com/a/b/",
            "https://resource.example.com/.well-known/oauth-protected-resource/a/b",
            id="trailing-slash",
        ),
        pytest.param(
            "http://127.0.0.1:8000/api",
            "http://127.0.0.1:8000/.well-known/oauth-protected-resource/api",
            id="loopback-with-port",
        ),
    ],
)
def test_resource_metadata_url(resource: str, url: str) -> None:
    """RFC 9728 §3.1: the well-known segment goes between the host and the path."""
    assert resource_metadata_url(resource) == url


def test_protected_resource_metadata_document() -> None:
    """The document names the resource, header-only bearer use, and any extra member."""
    assert protected_resource_metadata(
        "https://api.example.com",
        authorization_servers=[OIDC],
        scopes_supported=["read"],
        resource_name="Orders",
        bearer_methods_supported=None,
    ) == {
        "resource": "https://api.example.com",
        "authorization_servers": [OIDC],
        "scopes_supported": ["read"],
        "resource_name": "Orders",
    }


def test_metadata_rendering() -> None:
    """The rendered document is compact sorted JSON with its own length and caching headers."""
    metadata = ResourceMetadata.build("https://api.example.com/v1", authorization_servers=[OIDC])
    assert metadata.path == "/.well-known/oauth-protected-resource/v1"
    assert metadata.body == (
        b'{"authorization_servers":["https://login.example.com"],'
        b'"bearer_methods_supported":["header"],"resource":"https://api.example.com/v1"}'
    )
    assert metadata.headers == (
        ("content-type", "application/json"),
        ("cache-control", "public, max-age=3600"),
        ("content-length", str(len(metadata.body))),
    )


def test_metadata_must_be_json() -> None:
    """A member that is not JSON is a configuration error."""
    with pytest.raises(ConfigurationError, match="resource_metadata= is not a JSON object"):
        GuardSettings(
            oidc=OIDC,
            audience=AUDIENCE,
            resource="https://api.example.com",
            resource_metadata={"resource_name": object()},
        )
