"""``meter_provider=`` in the adapters' settings: the verifier behind an adapter reports metrics."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, g
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from bearerguard import ConfigurationError, GuardSettings
from bearerguard.flask import BearerGuard
from bearerguard.starlette import JWTAuth
from bearerguard.testing import LocalIssuer

AUD = "api://metrics"


def _outcomes(reader: InMemoryMetricReader) -> dict[str, int]:
    data = reader.get_metrics_data()
    assert data is not None
    counts: dict[str, int] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != "bearerguard.verifications":
                    continue
                for point in metric.data.data_points:
                    outcome = str((point.attributes or {})["bearerguard.outcome"])
                    counts[outcome] = counts.get(outcome, 0) + int(getattr(point, "value", 0))
    return counts


@pytest.fixture
def local_issuer() -> Any:
    with LocalIssuer(audience=AUD) as issuer:
        yield issuer


def _requests(get: Any, token: str) -> None:
    assert get({"Authorization": f"Bearer {token}"}) == 200
    assert get({"Authorization": f"Bearer {token[:-4]}AAAA"}) == 401


def test_starlette_reports_its_verifications(local_issuer: LocalIssuer) -> None:
    """JWTAuth(meter_provider=...): one verified and one refused token are counted."""
    reader = InMemoryMetricReader()

    async def home(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.user.claims.sub)

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(
        JWTAuth,
        oidc=local_issuer.url,
        audience=AUD,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )
    with TestClient(app) as client:
        _requests(lambda headers: client.get("/", headers=headers).status_code, local_issuer.mint())
    assert _outcomes(reader) == {"verified": 1, "refused": 1}


def test_flask_reports_its_verifications(local_issuer: LocalIssuer) -> None:
    """BearerGuard(app, meter_provider=...) counts like the other adapters."""
    reader = InMemoryMetricReader()
    app = Flask(__name__)
    BearerGuard(
        app,
        oidc=local_issuer.url,
        audience=AUD,
        meter_provider=MeterProvider(metric_readers=[reader]),
    )

    @app.get("/")
    def home() -> str:
        return str(g.claims.sub)

    client = app.test_client()
    _requests(lambda headers: client.get("/", headers=headers).status_code, local_issuer.mint())
    assert _outcomes(reader) == {"verified": 1, "refused": 1}


def test_meter_provider_beside_a_verifier_is_refused(local_issuer: LocalIssuer) -> None:
    """A ready verifier= carries its own metrics: meter_provider= beside it is a mistake."""
    verifier = GuardSettings(oidc=local_issuer.url, audience=AUD).build_verifier()
    with pytest.raises(ConfigurationError, match="meter_provider"):
        GuardSettings(verifier=verifier, meter_provider=MeterProvider())


def test_under_uvicorn_refusals_are_reported_counted_and_raised_ones_rendered(
    local_issuer: LocalIssuer,
) -> None:
    """A real uvicorn server: on_refusal sees each refusal (raised ones too), metrics count
    verifications, and an InsufficientScope raised by the endpoint is a 403, not a 500."""
    import httpx

    from bearerguard import InsufficientScope, Refusal

    from .servers import serve

    reader = InMemoryMetricReader()
    refusals: list[Refusal] = []

    async def home(request: Request) -> PlainTextResponse:
        raise InsufficientScope(["orders:write"], ["orders:write"])

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(
        JWTAuth,
        oidc=local_issuer.url,
        audience=AUD,
        meter_provider=MeterProvider(metric_readers=[reader]),
        on_refusal=refusals.append,
    )
    token = local_issuer.mint()
    with serve(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        bad = http.get("/", headers={"Authorization": f"Bearer {token[:-4]}AAAA"})
        raised = http.get("/", headers={"Authorization": f"Bearer {token}"})
    assert bad.status_code == 401
    assert raised.status_code == 403
    assert 'error="insufficient_scope"' in raised.headers["www-authenticate"]
    assert [refusal.status for refusal in refusals] == [401, 403]
    assert token not in repr(refusals)
    assert _outcomes(reader) == {"verified": 1, "refused": 1}
