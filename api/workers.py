"""Background workers the lifespan runs beside the API: continuous re-planning
(with ``API_CLUSTER``, only on the instance holding the leader lease:
:mod:`api.cluster.leader`) and the MQTT telemetry ingest (with its excursion
notifier and proof records).

Each reports to ``services.workers`` (:class:`~dispatch.worker_health.WorkerHealth`:
readiness, metrics, dispatch alerts). Stopping never raises and never skips a
step: the re-planner task is cancelled, then the solver worker process is stopped
(terminated if it hangs); the ingest is stopped, then the embedded broker, each
even if the step before it failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from api.cluster.leader import ReplanRelay, lead
from api.cluster.wiring import REPLAN_CHANNEL
from api.services import Services
from dispatch.adapters.memory import FanoutPublisher
from dispatch.adapters.postgres.leader_lease import LeaderLease
from dispatch.adapters.solver_pool import SolverPool
from dispatch.dev_secrets import dev_secret
from dispatch.planning.replanner import WORKER, Replanner
from dispatch.worker_health import supervise
from routing import SolverParams
from telemetry import seq_gap_store
from telemetry.embedded_broker import EmbeddedBroker
from telemetry.mqtt import MqttTransport
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
        health=services.workers,
    )
    previous = services.db.publisher
    run: Callable[[], Awaitable[None]] = replanner.run
    if services.bus is not None:  # several instances: the lease holder plans
        lease = LeaderLease(services.database_url)
        relay = ReplanRelay(replanner, lease, services.bus)
        replanner.fence = lease.fence
        services.bus.on(REPLAN_CHANNEL, relay.on_request)
        services.db.publisher = FanoutPublisher(services.publisher, relay)
        poll_s = services.settings.api.leader_poll_s
        services.metrics.gauge(
            "replan_leader", lambda: 1.0 if services.leadership == "leader" else 0.0
        )

        async def run_leader() -> None:
            await lead(services, replanner, lease, poll_s)

        run = run_leader
    else:
        services.db.publisher = FanoutPublisher(services.publisher, replanner)
    services.metrics.gauge("replan_rounds_total", lambda: replanner.stats.rounds)
    services.metrics.gauge("replan_applied_total", lambda: replanner.stats.applied)
    services.metrics.gauge("replan_stale_total", lambda: replanner.stats.stale)
    services.metrics.gauge("replan_failed_total", lambda: replanner.stats.failed)
    services.metrics.gauge("replan_skipped_total", lambda: replanner.stats.skipped)
    services.metrics.gauge("replan_set_aside_orders", lambda: replanner.stats.set_aside)
    services.metrics.gauge(
        "replan_unusable_pharmacies", lambda: replanner.stats.unusable_pharmacies
    )
    task = asyncio.create_task(
        supervise(WORKER, run, services.workers), name="replanner"
    )
    if services.bus is None:
        replanner.trigger("startup")
    try:
        yield replanner
    finally:
        try:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        except Exception:  # never raised by supervise; stopping goes on regardless
            log.exception("the re-planner task ended with an error")
        finally:
            services.db.publisher = previous
            if services.bus is not None:
                services.bus.on(REPLAN_CHANNEL, None)
            await asyncio.to_thread(solver.close)


def _seq_gap_metrics(
    services: Services, runtime: TelemetryRuntime
) -> Callable[[], dict[str, float]]:
    """The sequence audit's gauges: gap totals from the database (every
    worker's), resend requests sent by this process's worker."""
    audit = runtime.ingest.worker.seq_audit.metrics

    def read() -> dict[str, float]:
        values = {
            "telemetry_seq_resend_requests_total": float(audit.resend_requests),
            "telemetry_seq_resend_failures_total": float(audit.resend_failures),
        }
        try:
            with services.pool.connection(timeout=2) as conn:
                counts = seq_gap_store.counts(conn)
        except Exception:  # metrics must answer while PostgreSQL is down
            log.warning("sequence gap counts unavailable")
            return values
        closed = counts.closed_by_outcome
        values |= {
            "telemetry_seq_gaps_open": float(counts.open),
            "telemetry_seq_gaps_closed_total": float(
                closed.get("filled", 0) + closed.get("resent", 0)
            ),
            "telemetry_seq_gaps_lost_total": float(closed.get("lost", 0)),
            "telemetry_seq_readings_lost_total": float(counts.lost_readings),
        }
        return values

    return read


@asynccontextmanager
async def run_ingest(services: Services) -> AsyncIterator[TelemetryRuntime]:
    """The telemetry ingest worker; an embedded broker when MQTT_URL is unset.

    Excursions place holds through the dispatch database (so the re-planner and
    the live feeds hear ``hold.placed``) and reach the dispatch feed as alerts.
    """
    settings = services.settings.telemetry
    broker: EmbeddedBroker | None = None
    mqtt_url = settings.mqtt_url or ""
    if not mqtt_url and settings.transport == "mqtt":  # amqp: RabbitMQ, no broker
        # the data folder's credentials: a simulator on this folder can connect,
        # anonymous clients cannot
        password = dev_secret("mqtt", services.settings.database.data_dir)
        embedded = EmbeddedBroker(password=password.get_secret_value())
        broker = await asyncio.to_thread(embedded.start)
        mqtt_url = broker.url
    try:
        runtime = TelemetryRuntime(
            settings,
            database_url=services.database_url,
            mqtt_url=mqtt_url,
            shared_subscriptions=broker is None,  # amqtt has no $share subscriptions
            dispatch_db=services.db,
            publisher=services.publisher,
            clock=services.clock,
            health=services.workers,
        )
        transport = runtime.ingest.transport
        if isinstance(transport, MqttTransport):  # RabbitMQ has no client-id takeover
            mqtt = transport
            services.metrics.gauge(
                "ingest_mqtt_takeovers_total", lambda: float(mqtt.takeovers)
            )
        services.metrics.source(_seq_gap_metrics(services, runtime))
        try:
            await asyncio.to_thread(runtime.start)
            log.info("telemetry ingest running")
            yield runtime
        finally:
            try:
                await asyncio.to_thread(runtime.stop)
            except Exception:
                log.exception("stopping the telemetry ingest failed")
    finally:
        if broker is not None:
            await asyncio.to_thread(broker.stop)
