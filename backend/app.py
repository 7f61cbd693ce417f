"""The FastAPI application factory.

``create_app(settings)`` builds one service instance; the :class:`Runtime` (database,
ingest, sources, live hub) starts in the lifespan, so importing or constructing the
app does no I/O and tests get a fresh, isolated instance per call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from backend.api import (
    alerts,
    auth_routes,
    dashboard,
    data,
    export,
    nodes,
    static,
    system,
    views,
    ws,
)
from backend.api.deps import BAD_BODY, TOKEN_ERRORS, MetricsReader
from backend.api.methods import method_not_allowed
from backend.api.openapi_links import state_links
from backend.api.schema_bounds import exact_integer_bounds
from backend.api.schemas import Liveness
from backend.api.url_guard import UrlGuard, state_url_rule
from backend.api.validation_errors import validation_failed
from backend.core.auth import check_production_secret
from backend.core.service import Runtime
from backend.core.settings import Settings
from backend.core.timing import RequestTiming

SYSTEM_PUSH_S = 2.0


async def _system_ticker(rt: Runtime) -> None:
    """Push the computed system status to ``system`` subscribers every few seconds."""
    while True:
        await asyncio.sleep(SYSTEM_PUSH_S)
        if not any("system" in c.topics for c in rt.hub.clients):
            continue

        def compute() -> dict[str, object]:
            with rt.sessions() as db:
                return system.compute_status(db, rt)

        with contextlib.suppress(Exception):
            rt.hub.publish("system", await asyncio.to_thread(compute), relay=False)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the service; refuses production mode with the default secret."""
    settings = settings or Settings()
    check_production_secret(settings)
    rt = Runtime(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(rt.start)
        rt.hub.bind(asyncio.get_running_loop())
        ticker = asyncio.create_task(_system_ticker(rt))
        try:
            yield
        finally:
            ticker.cancel()
            await asyncio.to_thread(rt.stop)

    app = FastAPI(
        title="EDGE-QI backend",
        version="1.0",
        description="Ingest, storage, analytics, alerts and live push for EDGE-QI nodes.",
        lifespan=lifespan,
    )
    app.state.runtime = rt
    app.add_exception_handler(405, method_not_allowed)
    app.add_exception_handler(RequestValidationError, validation_failed)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )

    app.add_middleware(RequestTiming, histogram=rt.metrics.request_seconds)
    app.add_middleware(UrlGuard)

    @app.get("/health", tags=["system"], response_model=Liveness)
    def health() -> dict[str, str]:
        """Liveness only (no auth, no I/O); see /api/system/health for dependencies."""
        return {"status": "ok"}

    @app.get(
        "/metrics",
        tags=["system"],
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus text exposition format 0.0.4",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            **TOKEN_ERRORS,
        },
    )
    def metrics(_: MetricsReader) -> Response:
        """Prometheus exposition: the scrape token (``EDGEQI_METRICS_TOKEN``) or a user's
        access token, like every endpoint but /health."""
        return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    for module in (auth_routes, system, nodes, data, alerts, export, dashboard, views):
        app.include_router(module.router, responses=TOKEN_ERRORS | BAD_BODY)
    app.include_router(ws.router)
    # Last: the dashboard's catch-all must not shadow any route above.
    app.include_router(static.router_for(settings.dashboard_dist))
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        return state_links(exact_integer_bounds(state_url_rule(generate_openapi())))

    app.openapi = openapi  # type: ignore[method-assign]
    return app
