"""The Redis test fixture itself: a clear skip without a server, a failure when CI requires one."""

from __future__ import annotations

from pathlib import Path

import pytest

from .redis_server import redis_server


@pytest.fixture
def no_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEARERGUARD_REDIS_URL", raising=False)
    monkeypatch.delenv("BEARERGUARD_REQUIRE_REDIS", raising=False)
    monkeypatch.setenv("PATH", "")


def test_without_a_server_the_tests_skip_and_say_why(no_redis: None, tmp_path: Path) -> None:
    with pytest.raises(pytest.skip.Exception) as info, redis_server(tmp_path):
        pass
    assert str(info.value) == (
        "redis-server is not on PATH; install it or set BEARERGUARD_REDIS_URL"
    )


def test_ci_turns_the_skip_into_a_failure(
    no_redis: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEARERGUARD_REQUIRE_REDIS", "1")
    with pytest.raises(pytest.fail.Exception) as info, redis_server(tmp_path):
        pass
    assert str(info.value) == (
        "redis-server is not on PATH; install it or set BEARERGUARD_REDIS_URL "
        "(BEARERGUARD_REQUIRE_REDIS=1 forbids skipping)"
    )


def test_a_configured_server_is_used_as_is(
    no_redis: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEARERGUARD_REDIS_URL", "redis://127.0.0.1:6399/3")
    with redis_server(tmp_path) as url:
        assert url == "redis://127.0.0.1:6399/3"
    assert list(tmp_path.iterdir()) == []


def test_a_dedicated_server_is_started_even_when_one_is_configured(
    no_redis: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A test that changes server settings never gets the shared server."""
    monkeypatch.setenv("BEARERGUARD_REDIS_URL", "redis://127.0.0.1:6399/3")
    with pytest.raises(pytest.skip.Exception) as info, redis_server(tmp_path, dedicated=True):
        pass
    assert str(info.value) == (
        "redis-server is not on PATH; install it or set BEARERGUARD_REDIS_URL"
    )


@pytest.mark.redis
def test_a_dedicated_server_runs_with_the_options_given(tmp_path: Path) -> None:
    import redis

    with redis_server(tmp_path, ["--maxmemory-policy", "volatile-ttl"], dedicated=True) as url:
        client = redis.Redis.from_url(url)
        try:
            assert client.config_get("maxmemory-policy") == {"maxmemory-policy": "volatile-ttl"}
        finally:
            client.close()
