"""``redis_url=``: checked at start-up in the core and in every adapter's settings."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from bearerguard import ConfigurationError, GuardSettings, Issuer, Validator
from bearerguard.verifier import Verifier

ISSUER = "https://login.example.com"
AUD = "api://orders"


def _issuer() -> Issuer:
    return Issuer.from_oidc(ISSUER, validator=Validator(aud=AUD), lazy=True)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("redis://localhost:6379/0", id="redis"),
        pytest.param("rediss://user:secret@redis.internal:6380/1", id="rediss-with-password"),
        pytest.param("unix:///run/redis.sock", id="unix"),
        pytest.param("REDIS://localhost", id="scheme-any-case"),
    ],
)
def test_redis_urls_are_accepted_and_kept(url: str) -> None:
    """Verifier(redis_url=) keeps a redis://, rediss:// or unix:// URL and opens no connection."""
    assert Verifier([_issuer()], redis_url=url).redis_url == url


def test_without_redis_url_nothing_is_shared() -> None:
    """A verifier without redis_url= reports None."""
    assert Verifier([_issuer()]).redis_url is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "http://localhost:6379",
            "redis_url= must start with redis://, rediss:// (TLS) or unix://, got http://",
            id="http",
        ),
        pytest.param(
            "localhost:6379",
            "redis_url= must start with redis://, rediss:// (TLS) or unix://, got localhost://",
            id="no-scheme-host-port",
        ),
        pytest.param(
            "/run/redis.sock",
            "redis_url= must start with redis://, rediss:// (TLS) or unix://, got no scheme",
            id="bare-path",
        ),
        pytest.param("redis://", "redis_url= needs a host after redis://", id="no-host"),
        pytest.param("unix://", "redis_url= needs the socket's path after unix://", id="no-path"),
        pytest.param(
            "redis://h:99999/0", "redis_url= is not a valid URL (host or port)", id="port"
        ),
        pytest.param("", "redis_url= must be a Redis URL such as", id="empty"),
        pytest.param(6379, "redis_url= must be a Redis URL such as", id="not-a-string"),
    ],
)
def test_bad_redis_urls_say_what_to_write(url: object, message: str) -> None:
    """A bad redis_url= is a ConfigurationError naming the accepted schemes."""
    with pytest.raises(ConfigurationError) as caught:
        Verifier([_issuer()], redis_url=url)  # type: ignore[call-overload]
    assert str(caught.value).startswith(message)
    assert re.search(r"(e\.g\.|such as) (redis|unix)://", str(caught.value))


def test_a_bad_redis_url_never_repeats_its_password() -> None:
    """The message names the scheme only: a URL's credentials never reach a log."""
    with pytest.raises(ConfigurationError) as caught:
        GuardSettings(oidc=ISSUER, audience=AUD, redis_url="https://user:hunter2@redis:6379")
    assert "hunter2" not in str(caught.value)


def test_the_settings_repr_never_shows_the_redis_password() -> None:
    """Settings end up in logs and tracebacks: their repr leaves redis_url out."""
    settings = GuardSettings(oidc=ISSUER, audience=AUD, redis_url="redis://:hunter2@redis:6379/0")
    assert "hunter2" not in repr(settings)


def test_guard_settings_check_redis_url_at_start_up() -> None:
    """GuardSettings(redis_url=) refuses a bad URL when built, before any request."""
    with pytest.raises(ConfigurationError, match="redis_url= must start with redis://"):
        GuardSettings(oidc=ISSUER, audience=AUD, redis_url="tcp://redis:6379")


def test_guard_settings_pass_redis_url_to_the_verifier() -> None:
    """build_verifier() gives the verifier the configured redis_url."""
    url = "redis://redis.internal:6379/2"
    settings = GuardSettings(oidc=ISSUER, audience=AUD, redis_url=url)
    assert settings.build_verifier().redis_url == url


def test_settings_files_spell_it_redis_url() -> None:
    """Flask's BEARERGUARD_REDIS_URL and Django's REDIS_URL are read like the other keys."""
    url = "redis://redis.internal:6379/3"
    flask_config = {"BEARERGUARD_OIDC": ISSUER, "BEARERGUARD_AUDIENCE": AUD}
    flask_config["BEARERGUARD_REDIS_URL"] = url
    from_flask = GuardSettings.from_mapping(flask_config, prefix="BEARERGUARD_")
    from_django = GuardSettings.from_mapping({"OIDC": ISSUER, "AUDIENCE": AUD, "REDIS_URL": url})
    assert from_flask.redis_url == from_django.redis_url == url


def test_redis_url_beside_a_ready_verifier_is_refused() -> None:
    """verifier= already decides whether state is shared: redis_url= beside it is a mistake."""
    verifier = Verifier([_issuer()])
    with pytest.raises(ConfigurationError, match="redis_url"):
        GuardSettings(verifier=verifier, redis_url="redis://localhost:6379/0")


MISSING_REDIS = """
import importlib.abc, sys

class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] == "redis":
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None

sys.meta_path.insert(0, Refuse())
from bearerguard import ConfigurationError, GuardSettings
try:
    GuardSettings(oidc="https://login.example.com", audience="api", redis_url="redis://r:6379/0")
except ConfigurationError as exc:
    print(exc)
"""


def test_redis_url_without_the_redis_package_names_the_extra() -> None:
    """With the redis package missing, redis_url= fails at start-up naming the redis extra."""
    run = subprocess.run(
        [sys.executable, "-c", MISSING_REDIS],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert run.stdout.strip() == (
        "redis_url= needs the redis package: pip install 'bearerguard[redis]'"
    )
