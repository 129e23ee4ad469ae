"""The pytest plugin, as a user's test suite sees it: loaded by entry point, in a fresh pytest."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

USER_TESTS = textwrap.dedent(
    """
    import pytest
    import requests

    from bearerguard import Issuer, Validator

    SEEN = []


    def test_issuer_is_fresh_and_running(bearerguard_issuer):
        assert bearerguard_issuer.running
        assert bearerguard_issuer.count() == 0
        token = bearerguard_issuer.mint(sub="user-42", scopes=["orders:read"])
        verifier = Issuer.from_oidc(
            bearerguard_issuer.url, validator=Validator(aud=bearerguard_issuer.audience)
        )
        assert verifier.verify_and_validate(token)[1].sub == "user-42"
        SEEN.append(bearerguard_issuer)


    def test_previous_issuer_was_stopped(bearerguard_issuer):
        assert not SEEN[0].running
        assert bearerguard_issuer is not SEEN[0]


    @pytest.mark.bearerguard_issuer(audience="api://orders", path="/tenant-a")
    def test_marker_configures_the_issuer(bearerguard_issuer):
        assert bearerguard_issuer.audience == "api://orders"
        assert bearerguard_issuer.url.endswith("/tenant-a")


    def test_factory_starts_several(bearerguard_issuer_factory):
        first = bearerguard_issuer_factory()
        second = bearerguard_issuer_factory(kty="EC")
        assert first.url != second.url
        assert requests.get(second.jwks_uri, timeout=5).json()["keys"][0]["kty"] == "EC"


    def test_session_issuer_a(bearerguard_session_issuer):
        SEEN.append(bearerguard_session_issuer.url)


    def test_session_issuer_b(bearerguard_session_issuer):
        assert bearerguard_session_issuer.url == SEEN[-1]
    """
)


@pytest.mark.slow
def test_user_suite_gets_the_fixtures_by_installing_bearerguard(tmp_path: Path) -> None:
    (tmp_path / "test_api.py").write_text(USER_TESTS, encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "--strict-markers",
            "test_api.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "6 passed" in result.stdout


def test_plugin_import_loads_no_issuer_machinery() -> None:
    """pytest imports the plugin in every run; the issuer loads when a fixture is used."""
    code = (
        "import sys, bearerguard.testing.plugin; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith("
        "('bearerguard.issuing', 'bearerguard.testing.', 'http.server', 'socketserver')))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["bearerguard.testing.plugin"]
