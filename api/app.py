"""The composition root: ``create_app()`` builds the FastAPI app; the lifespan
starts what it needs (embedded PostgreSQL when ``DATABASE_URL`` is unset, the
pool, migrations, the live hub, and the dispatch/telemetry workers). Nothing
runs at import time; ``uvicorn --factory api.app:create_app``.

Shutdown undoes it in reverse and never stops half way: the workers' contexts
do not raise, and the embedded PostgreSQL is released by the lifespan itself,
not left to interpreter exit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api.auth import custody
from api.auth.principals import Role
from api.cluster.wiring import run_cluster_bus
from api.errors import ApiConflict, install_error_handlers, problem_response
from api.openapi import install_openapi
from api.patient_channel import WebhookSmsGateway
from api.request_context import BodyLimitMiddleware, RequestIdMiddleware
from api.routers import audit as audit_routes
from api.routers import auth as auth_routes
from api.routers import catalogue as catalogue_routes
from api.routers import cold_boxes as cold_box_routes
from api.routers import dashboard as dashboard_routes
from api.routers import delivery as delivery_routes
from api.routers import excursions as excursion_routes
from api.routers import health as health_routes
from api.routers import holds as holds_routes
from api.routers import orders as orders_routes
from api.routers import patient_channel as patient_channel_routes
from api.routers import picking as picking_routes
from api.routers import plans as plans_routes
from api.routers import riders as riders_routes
from api.routers import tracking as tracking_routes
from api.routers import ui_config as ui_config_routes
from api.routers.live import router as ws_router
from api.routers.webui import install_web_ui
from api.services import AppSettings, Services, build_services
from api.workers import run_ingest, run_replanner
from dispatch.adapters.postgres.database import migrate, open_pool
from dispatch.adapters.postgres.embedded import (
    resolve_database_url,
    stop_embedded_postgres,
)
from dispatch.errors import DispatchError
from telemetry.errors import TelemetryError

log = logging.getLogger(__name__)

#: Every router of the app, in mounting order (the role-matrix test walks these).
ROUTERS: tuple[APIRouter, ...] = (
    health_routes.router,
    auth_routes.router,
    catalogue_routes.router,
    orders_routes.router,
    riders_routes.router,
    cold_box_routes.router,
    excursion_routes.router,
    plans_routes.router,
    dashboard_routes.router,
    delivery_routes.router,
    picking_routes.router,
    holds_routes.router,
    audit_routes.router,
    tracking_routes.router,
    patient_channel_routes.router,
    ui_config_routes.router,
    ws_router,
)

API_VERSION = "0.1.0"
DESCRIPTION = """Last-mile dispatch and cold-chain engine for medicine delivery.

Staff authenticate with `POST /auth/token` (bearer JWT); riders with a device
token (`Authorization: Bearer rxd_dev_...`); patients through their tracking link.
Errors are RFC 9457 `application/problem+json` with a stable `code`.
Live channels (`/ws/rider`, `/ws/dispatch`, `/ws/track/{token}`) use the JSON
envelope `{"v":1,"type":...,"ts":...,"data":...}` described in `api/live/envelope.py`.
`/ws/dispatch` frames also carry the feed's `seq`: load `GET /dashboard/snapshot`,
then subscribe with `?since=<seq>&feed_id=<feed_id>` to get every later frame once.
Route legs are Google encoded polylines (precision 5) along the city's roads.
"""


def _ensure_bootstrap_admin(services: Services) -> None:
    api = services.settings.api
    if api.bootstrap_admin_username and api.bootstrap_admin_password:
        try:
            custody.create_user(
                services.db,
                services.auth,
                username=api.bootstrap_admin_username,
                role=Role.admin,
                password=api.bootstrap_admin_password.get_secret_value(),
                actor="system:bootstrap_admin",
            )
            log.info("bootstrap admin created")
        except ApiConflict:
            pass  # already there: never overwrite a changed password


@asynccontextmanager
async def _compose(app: FastAPI, settings: AppSettings) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        db = settings.database
        if not db.database_url:
            # registered first, so it runs last: after the workers and the pool
            stack.push_async_callback(
                asyncio.to_thread, stop_embedded_postgres, db.data_dir
            )
        url = await asyncio.to_thread(
            resolve_database_url, db.database_url, db.data_dir
        )
        if settings.api.run_migrations:
            await asyncio.to_thread(migrate, db.owner_url or url)
        pool = await asyncio.to_thread(
            open_pool, url, min_size=db.pool_min_size, max_size=db.pool_max_size
        )
        stack.callback(pool.close)
        services = build_services(settings, pool=pool, database_url=url)
        stack.callback(services.publisher.close)
        if isinstance(services.patient_channel, WebhookSmsGateway):
            stack.callback(services.patient_channel.close)
        if settings.api.city == "bundled":
            services.city.load_in_background(db.data_dir)
        if settings.api.cluster:
            await stack.enter_async_context(run_cluster_bus(services))
        if settings.api.run_replanner:
            await stack.enter_async_context(run_replanner(services))
        if settings.api.run_ingest:
            await stack.enter_async_context(run_ingest(services))
        await asyncio.to_thread(_ensure_bootstrap_admin, services)
        for extension in app.state.extensions:
            await stack.enter_async_context(extension(services))
        yield services


def create_app(
    settings: AppSettings | None = None, services: Services | None = None
) -> FastAPI:
    """The API application; ``services`` given: used as-is (tests)."""
    app_settings = settings or AppSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            app.state.services = services
            services.hub.bind_loop(asyncio.get_running_loop())
            yield
            return
        async with _compose(app, app_settings) as built:
            built.hub.bind_loop(asyncio.get_running_loop())
            app.state.services = built
            yield

    app = FastAPI(
        title="rxdispatch",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by api.routers.webui from our own assets (offline)
        redoc_url=None,
    )
    app.state.extensions = []
    install_error_handlers(app, (DispatchError, TelemetryError))
    if app_settings.api.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=app_settings.api.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    limit = app_settings.api.max_body_bytes
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=limit,
        too_large=lambda: problem_response(
            None,
            status=413,
            code="body_too_large",
            detail=f"request bodies are limited to {limit} bytes",
        ),
    )
    app.add_middleware(RequestIdMiddleware)
    for router in ROUTERS:
        app.include_router(router)
    install_openapi(app)
    install_web_ui(app)
    return app
