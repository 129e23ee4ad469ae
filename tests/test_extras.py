"""Importing a part whose optional dependency is missing names the extra to install.

Each case runs in a fresh interpreter whose import system refuses the framework
(a ``sys.meta_path`` finder installed by a small bootstrap), so the packages
stay installed for every other test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

BOOTSTRAP = """
import importlib.abc
import json
import sys

refused, statement = set(sys.argv[1].split(",")), sys.argv[2]


class Refuse(importlib.abc.MetaPathFinder):
    '''Makes the refused top-level packages look uninstalled.'''

    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] in refused:
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


assert not refused & set(sys.modules), "already imported before the finder"
sys.meta_path.insert(0, Refuse())
try:
    exec(statement)
except ImportError as exc:
    cause = exc.__cause__
    print(json.dumps({
        "type": type(exc).__name__,
        "message": str(exc),
        "cause": [type(cause).__name__, getattr(cause, "name", None)],
    }))
else:
    print(json.dumps(None))
"""


def _import_without(refused: str, statement: str) -> Any:
    result = subprocess.run(
        [sys.executable, "-c", BOOTSTRAP, refused, statement],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(result.stdout)


def _missing(message: str, package: str) -> dict[str, Any]:
    return {
        "type": "ModuleNotFoundError",
        "message": message,
        "cause": ["ModuleNotFoundError", package],
    }


@pytest.mark.parametrize(
    ("refused", "statement", "expected"),
    [
        pytest.param(
            "flask",
            "import bearerguard.flask",
            _missing("bearerguard.flask needs Flask: pip install 'bearerguard[flask]'", "flask"),
            id="flask",
        ),
        pytest.param(
            "starlette",
            "from bearerguard.starlette import JWTAuth",
            _missing(
                "bearerguard.starlette needs Starlette: pip install 'bearerguard[starlette]'",
                "starlette",
            ),
            id="starlette",
        ),
        pytest.param(
            "django,asgiref",
            "from bearerguard.django import BearerTokenMiddleware",
            _missing(
                "bearerguard.django needs Django: pip install 'bearerguard[django]'", "django"
            ),
            id="django",
        ),
        pytest.param(
            "django,asgiref",
            "import bearerguard.django.apps",
            _missing(
                "bearerguard.django needs Django: pip install 'bearerguard[django]'", "django"
            ),
            id="django-installed-apps-entry",
        ),
        pytest.param(
            "rest_framework",
            "import bearerguard.django.rest_framework",
            _missing(
                "bearerguard.django.rest_framework needs Django REST framework: "
                "pip install 'bearerguard[drf]'",
                "rest_framework",
            ),
            id="django-rest-framework",
        ),
        pytest.param(
            "redis",
            "from bearerguard.issuing import RedisRefreshStore\n"
            "RedisRefreshStore.from_url('redis://127.0.0.1:6379/0')",
            _missing(
                "RedisRefreshStore.from_url needs the redis package: "
                "pip install 'bearerguard[redis]'",
                "redis",
            ),
            id="redis",
        ),
    ],
)
def test_missing_extra_names_the_install_command(
    refused: str, statement: str, expected: dict[str, Any]
) -> None:
    """The ImportError says which extra to install and chains the original error."""
    assert _import_without(refused, statement) == expected


def test_the_core_wsgi_and_issuing_need_no_extra() -> None:
    """bearerguard, bearerguard.wsgi and bearerguard.issuing import with no framework or redis."""
    statement = "import bearerguard, bearerguard.wsgi, bearerguard.issuing, bearerguard.keyset"
    assert (
        _import_without("flask,werkzeug,starlette,django,rest_framework,redis", statement) is None
    )
