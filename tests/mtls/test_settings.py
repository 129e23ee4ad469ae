"""The mTLS settings as each adapter spells them, and their start-up errors."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings
from flask import Flask

import tests.django.conftest  # noqa: F401  (configures Django once for the whole run)
from bearerguard import ConfigurationError, GuardSettings, Issuer, Validator, Verifier
from bearerguard.django._conf import get_config
from bearerguard.flask import BearerGuard
from bearerguard.testing import LocalIssuer


def test_flask_reads_the_mtls_settings_from_app_config(idp: LocalIssuer) -> None:
    app = Flask("mtls")
    app.config.update(
        BEARERGUARD_OIDC=idp.url,
        BEARERGUARD_AUDIENCE=idp.audience,
        BEARERGUARD_MTLS=True,
        BEARERGUARD_MTLS_PROXY_HEADER="X-Client-Cert",
        BEARERGUARD_MTLS_TRUSTED_PROXIES=["10.0.0.0/8"],
    )
    BearerGuard(app)
    state = BearerGuard.state(app)
    assert state.verifier.mtls
    certificates = state.settings.certificates
    assert certificates is not None
    assert certificates.proxy_header == "x-client-cert"


def test_django_reads_the_mtls_settings_from_bearerguard(idp: LocalIssuer) -> None:
    keys = {
        "OIDC": idp.url,
        "AUDIENCE": idp.audience,
        "MTLS": True,
        "MTLS_PROXY_HEADER": "X-Client-Cert",
        "MTLS_TRUSTED_PROXIES": ["10.0.0.5"],
    }
    with override_settings(BEARERGUARD=keys):
        config = get_config()
    assert config.verifier.mtls
    certificates = config.guard.certificates
    assert certificates is not None
    assert certificates.proxy_header == "x-client-cert"


def test_django_misconfiguration_names_the_setting_to_fix(idp: LocalIssuer) -> None:
    keys = {"OIDC": idp.url, "AUDIENCE": idp.audience, "MTLS_PROXY_HEADER": "X-Client-Cert"}
    with override_settings(BEARERGUARD=keys), pytest.raises(ImproperlyConfigured) as caught:
        get_config()
    assert str(caught.value) == (
        "settings.BEARERGUARD: mtls_proxy_header= needs mtls=True (certificate-bound tokens)"
    )


@pytest.mark.parametrize(("verifier_mtls", "settings_mtls"), [(True, False), (False, True)])
def test_mtls_must_agree_with_a_ready_verifier(
    idp: LocalIssuer, verifier_mtls: bool, settings_mtls: bool
) -> None:
    """The adapter reads certificates only with mtls=True: it must match the verifier's."""
    issuer = Issuer.from_jwks_url(
        idp.jwks_uri, issuer=idp.url, validator=Validator(aud=idp.audience)
    )
    verifier = Verifier([issuer], mtls=verifier_mtls)
    with pytest.raises(ConfigurationError, match="give both the same value"):
        GuardSettings(verifier=verifier, mtls=settings_mtls)


def test_trusted_proxies_are_kept_as_a_tuple(idp: LocalIssuer) -> None:
    """The settings are immutable: the list given is copied into a tuple."""
    proxies = ["10.0.0.5", "10.1.0.0/16"]
    settings = GuardSettings(
        oidc=idp.url,
        audience=idp.audience,
        mtls=True,
        mtls_proxy_header="X-Client-Cert",
        mtls_trusted_proxies=proxies,
    )
    proxies.append("0.0.0.0/0")
    assert settings.mtls_trusted_proxies == ("10.0.0.5", "10.1.0.0/16")
