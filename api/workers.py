"""Background workers the lifespan runs beside the API: re-planning (and, when
telemetry provides it, the MQTT ingest)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from api.services import Services
from dispatch.adapters.memory import FanoutPublisher
from dispatch.adapters.solver_pool import SolverPool
from dispatch.replanner import Replanner
from routing import SolverParams

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
