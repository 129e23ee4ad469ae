"""Each adapter's copy of a small DPoP-protected API, driven through its framework's test client.

``open_dpop_client(adapter, mapping)`` yields ``send(method, path, headers)``
returning an :class:`Answer`: the status, the headers bearerguard sets
(``DPoP-Nonce`` included) and the body. Starlette, FastAPI, Flask and plain
WSGI serve :mod:`tests.adapters.apps`'s API (``/token`` answers the ``sub``);
Django (middleware under WSGI and ASGI) and Django REST framework serve
:mod:`tests.dpop.django_urls` and :mod:`tests.dpop.drf_urls`, the same answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from werkzeug.test import Client

from bearerguard._settings import GuardSettings

from ..adapters.apps import (
    FastAPITestClient,
    TestClient,
    fastapi_app,
    flask_app,
    starlette_app,
    wsgi_app,
)

ADAPTERS = ("starlette", "fastapi", "flask", "wsgi", "django", "django-asgi", "drf")
#: The headers bearerguard sets on a refusal; only these are compared.
COMPARED = (
    "content-type",
    "content-length",
    "cache-control",
    "www-authenticate",
    "dpop-nonce",
    "retry-after",
)

Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Answer:
    """What came back, reduced to what the tests compare."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    @classmethod
    def of(cls, status: int, headers: Any, body: bytes) -> Answer:
        lowered = {name.lower(): value for name, value in headers.items()}
        return cls(status, {name: lowered[name] for name in COMPARED if name in lowered}, body)


Send = Callable[[str, str, Headers], Answer]


@contextmanager
def _asgi(app: Any, client_class: type[TestClient] = TestClient) -> Iterator[Send]:
    with client_class(app, base_url="http://testserver") as client:

        def send(method: str, path: str, headers: Headers) -> Answer:
            raw = [(name.lower().encode(), value.encode("latin-1")) for name, value in headers]
            response = client.request(method, path, headers=raw)
            return Answer.of(response.status_code, response.headers, response.content)

        yield send


@contextmanager
def _wsgi(app: Any) -> Iterator[Send]:
    client = Client(app)

    def send(method: str, path: str, headers: Headers) -> Answer:
        response = client.open(
            path, method=method, headers=list(headers), base_url="http://testserver"
        )
        try:
            return Answer.of(response.status_code, dict(response.headers), response.get_data())
        finally:
            response.close()

    yield send


@contextmanager
def _django(variant: str, mapping: Mapping[str, Any]) -> Iterator[Send]:
    from django.test import AsyncClient
    from django.test import Client as DjangoClient
    from django.test.utils import override_settings

    from ..security.apps import ensure_django

    ensure_django()
    overrides: dict[str, Any] = {
        "ROOT_URLCONF": "tests.dpop.drf_urls" if variant == "drf" else "tests.dpop.django_urls",
        "ALLOWED_HOSTS": ["testserver"],
        "MIDDLEWARE": [] if variant == "drf" else ["bearerguard.django.BearerTokenMiddleware"],
        "AUTHENTICATION_BACKENDS": ["bearerguard.django.BearerTokenBackend"],
        "BEARERGUARD": dict(mapping),
        # The same as tests/django's: DRF freezes APIView's defaults when first imported.
        "REST_FRAMEWORK": {
            "DEFAULT_AUTHENTICATION_CLASSES": [
                "bearerguard.django.rest_framework.BearerTokenAuthentication"
            ],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "EXCEPTION_HANDLER": "bearerguard.django.rest_framework.exception_handler",
        },
    }

    def send(method: str, path: str, headers: Headers) -> Answer:
        # Django's clients take one value per header: repeated lines are joined, as WSGI does.
        joined: dict[str, str] = {}
        for name, value in headers:
            key = name.lower()
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        response: Any
        with override_settings(**overrides):
            if variant == "django-asgi":
                response = async_to_sync(getattr(AsyncClient(), method.lower()))(
                    path, headers=joined
                )
            else:
                response = getattr(DjangoClient(), method.lower())(path, headers=joined)
        return Answer.of(response.status_code, dict(response.items()), response.content)

    yield send


@contextmanager
def open_dpop_client(adapter: str, mapping: Mapping[str, Any]) -> Iterator[Send]:
    """A ``send(method, path, headers)`` for *adapter*'s copy of the API, set up by *mapping*."""
    if adapter.startswith("django") or adapter == "drf":
        with _django(adapter, mapping) as send:
            yield send
        return
    settings = GuardSettings.from_mapping(dict(mapping))
    if adapter == "starlette":
        with _asgi(starlette_app(settings)) as send:
            yield send
    elif adapter == "fastapi":
        with _asgi(fastapi_app(settings), FastAPITestClient) as send:
            yield send
    elif adapter == "flask":
        with _wsgi(flask_app(settings)) as send:
            yield send
    elif adapter == "wsgi":
        with _wsgi(wsgi_app(settings)) as send:
            yield send
    else:  # pragma: no cover - a typo in a test
        raise ValueError(adapter)
