"""Background workers the lifespan runs beside the API: continuous re-planning
and the MQTT telemetry ingest (with its excursion notifier and proof records)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from api.services import Services
from dispatch.adapters.memory import FanoutPublisher
from dispatch.adapters.solver_pool import SolverPool
from dispatch.dev_secrets import dev_secret
from dispatch.planning.replanner import Replanner
from routing import SolverParams
from telemetry.embedded_broker import EmbeddedBroker
from telemetry.runtime import TelemetryRuntime

log = logging.getLogger(__name__)


@asynccontextmanager
async def run_replanner(services: Services) -> AsyncIterator[Replanner]:
    """Continuous re-planning on the solver worker process, fed by dispatch events."""
    settings = services.settings.dispatch
    solver = SolverPool()
    replanner = Replanner(
        services.db,
        solver,
        solver_params=SolverParams(time_limit_s=settings.solver_time_limit_s),
        debounce_s=settings.replan_debounce_s,
        timer_s=settings.replan_timer_s,
    )
    previous = services.db.publisher
    services.db.publisher = FanoutPublisher(services.publisher, replanner)
    services.metrics.gauge("replan_rounds_total", lambda: replanner.stats.rounds)
    services.metrics.gauge("replan_applied_total", lambda: replanner.stats.applied)
    services.metrics.gauge("replan_stale_total", lambda: replanner.stats.stale)
    services.metrics.gauge("replan_failed_total", lambda: replanner.stats.failed)
    services.metrics.gauge("replan_skipped_total", lambda: replanner.stats.skipped)
    task = asyncio.create_task(replanner.run(), name="replanner")
    replanner.trigger("startup")
    try:
        yield replanner
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        services.db.publisher = previous
        await asyncio.to_thread(solver.close)


@asynccontextmanager
async def run_ingest(services: Services) -> AsyncIterator[TelemetryRuntime]:
    """The telemetry ingest worker; an embedded broker when MQTT_URL is unset.

    Excursions place holds through the dispatch database (so the re-planner and
    the live feeds hear ``hold.placed``) and reach the dispatch feed as alerts.
    """
    settings = services.settings.telemetry
    broker: EmbeddedBroker | None = None
    mqtt_url = settings.mqtt_url
    if mqtt_url is None:
        # the data folder's credentials: a simulator on this folder can connect,
        # anonymous clients cannot
        password = dev_secret("mqtt", services.settings.database.data_dir)
        embedded = EmbeddedBroker(password=password.get_secret_value())
        broker = await asyncio.to_thread(embedded.start)
        mqtt_url = broker.url
    runtime = TelemetryRuntime(
        settings,
        database_url=services.database_url,
        mqtt_url=mqtt_url,
        shared_subscriptions=broker is None,  # amqtt has no $share subscriptions
        dispatch_db=services.db,
        publisher=services.publisher,
        clock=services.clock,
    )
    await asyncio.to_thread(runtime.start)
    log.info("telemetry ingest running")
    try:
        yield runtime
    finally:
        await asyncio.to_thread(runtime.stop)
        if broker is not None:
            await asyncio.to_thread(broker.stop)
