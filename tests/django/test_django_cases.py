"""The shared response table (``adapters.cases``), answered by the Django adapter.

Three ways in, same bytes out: the middleware under WSGI (``Client``), the
middleware under ASGI with async views (``AsyncClient``, raw ASGI headers),
and Django REST framework alone (no middleware, bearerguard's exception handler).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.http import HttpResponseBase
from django.test import AsyncClient, Client

from bearerguard._settings import GuardSettings
from bearerguard.testing import LocalIssuer
from tests.adapters.cases import (
    Case,
    Observed,
    mint_tokens,
    params,
    table_settings,
    unavailable_settings,
)

from .testapp_settings import BACKEND, BEARER_MIDDLEWARE, COMMON_MIDDLEWARE


def as_bearerguard_setting(guard: GuardSettings) -> dict[str, Any]:
    """The ``settings.BEARERGUARD`` dict describing the same settings as *guard*."""
    return {
        f.name.upper(): getattr(guard, f.name)
        for f in fields(guard)
        if f.init and getattr(guard, f.name) is not None
    }


@pytest.fixture(scope="session")
def down() -> Iterator[LocalIssuer]:
    """An issuer whose every endpoint answers 503."""
    with LocalIssuer() as issuer:
        issuer.force_status(503)
        yield issuer


@pytest.fixture(scope="session")
def tokens(bearerguard_session_issuer: LocalIssuer, down: LocalIssuer) -> dict[str, str]:
    return mint_tokens(bearerguard_session_issuer, down)


def observed(response: HttpResponseBase, body: bytes) -> Observed:
    return Observed.of(response.status_code, dict(response.items()), body)


def send_wsgi(case: Case, tokens: dict[str, str]) -> Observed:
    values = case.header_values(tokens)
    extra: dict[str, Any] = {}
    if values:
        # What a WSGI server hands the app (PEP 3333): the bytes as latin-1
        # text, repeated header lines joined by commas.
        extra["HTTP_AUTHORIZATION"] = ",".join(v.decode("latin-1") for v in values)
    url = f"{case.path}?{case.query}" if case.query else case.path
    response = Client().get(url, **extra)
    return observed(response, response.content)


def send_asgi(case: Case, tokens: dict[str, str]) -> Observed:
    headers = [(b"host", b"testserver")]
    headers += [(b"authorization", value) for value in case.header_values(tokens)]

    async def send() -> Any:
        return await AsyncClient().request(
            method="GET", path=case.path, query_string=case.query.encode(), headers=headers
        )

    response = async_to_sync(send)()
    return observed(response, response.content)


VARIANTS: dict[str, tuple[dict[str, Any], Callable[[Case, dict[str, str]], Observed]]] = {
    "wsgi": ({"ROOT_URLCONF": "tests.django.testapp"}, send_wsgi),
    "asgi": ({"ROOT_URLCONF": "tests.django.testapp_async"}, send_asgi),
    "drf": (
        {"ROOT_URLCONF": "tests.django.testapp_drf", "MIDDLEWARE": [COMMON_MIDDLEWARE]},
        send_wsgi,
    ),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("case", params())
def test_response_is_the_tables(
    case: Case,
    variant: str,
    tokens: dict[str, str],
    local_issuer: LocalIssuer,
    down: LocalIssuer,
    configure: Callable[..., None],
) -> None:
    """Status, bearerguard's headers and body bytes are exactly the table's."""
    guard = unavailable_settings(down) if case.keys_down else table_settings(local_issuer.url)
    django_settings, send = VARIANTS[variant]
    configure(
        BEARERGUARD=as_bearerguard_setting(guard),
        AUTHENTICATION_BACKENDS=[BACKEND],
        **django_settings,
    )
    assert send(case, tokens) == case.expected()


def test_middleware_is_in_the_table_variants() -> None:
    """The WSGI and ASGI variants run with the middleware, the DRF one without."""
    from django.conf import settings

    assert BEARER_MIDDLEWARE in settings.MIDDLEWARE
    assert VARIANTS["drf"][0]["MIDDLEWARE"] == [COMMON_MIDDLEWARE]
