"""Liveness, readiness and metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth.access import DISPATCH, PUBLIC
from api.deps import ServicesDep
from api.errors import error_responses

router = APIRouter(tags=["health"])


class HealthRead(BaseModel):
    """Process liveness."""

    status: Literal["ok"] = "ok"


class WorkerRead(BaseModel):
    """One background worker's health (no patient data: types and places only)."""

    status: Literal["ok", "degraded", "stopped"] = Field(
        description="ok: its last round succeeded; degraded: its last round failed "
        "(it goes on with the next); stopped: its loop ended (being restarted)."
    )
    stage: str | None = Field(
        default=None, description="Where the last failure happened (e.g. solve)."
    )
    error: str | None = Field(
        default=None,
        description="Exception type and code location of the last failure.",
    )
    consecutive_failures: int = 0
    failures_total: int = 0
    since: datetime | None = Field(
        default=None, description="When the current failure spell started."
    )
    last_ok_at: datetime | None = None


class ReadinessRead(BaseModel):
    """Whether the dependencies answer and the background workers work.

    Always HTTP 200 while the process can answer: ``status`` is ``degraded`` when
    the database does not answer or any worker's last round failed, and
    ``workers`` says which and why. A failing worker does not take the API out
    of a load balancer (orders, deliveries and live feeds still work, and a
    restart would not fix bad data); monitoring alerts on ``status``.
    """

    status: Literal["ready", "degraded"]
    database: bool
    workers: dict[str, WorkerRead] = Field(
        default_factory=dict,
        description="Background workers by name (replanner, ingest, notifier, "
        "excursion_monitor, silence_monitor), when this process runs them.",
    )
    replanner_role: Literal["leader", "follower"] | None = Field(
        default=None,
        description="Several instances (API_CLUSTER): whether this one runs the "
        "re-planner now (holds the leader lease) or stands by; null otherwise.",
    )


class MetricsRead(BaseModel):
    """Counters and gauges by name."""

    metrics: dict[str, float]


@router.get("/health", response_model=HealthRead, dependencies=[Depends(PUBLIC)])
async def health() -> HealthRead:
    """The process is up (answers even while the solver runs)."""
    return HealthRead()


@router.get(
    "/health/ready", response_model=ReadinessRead, dependencies=[Depends(PUBLIC)]
)
def ready(services: ServicesDep) -> ReadinessRead:
    """PostgreSQL answers a trivial query and every background worker's last
    round succeeded; else ``degraded`` (still 200), saying which worker and why."""
    try:
        with services.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        db_ok = True
    except Exception:  # readiness reports, it does not raise
        db_ok = False
    workers = {
        name: WorkerRead(
            status=w.status,
            stage=w.stage,
            error=w.error,
            consecutive_failures=w.consecutive_failures,
            failures_total=w.failures_total,
            since=w.since,
            last_ok_at=w.last_ok_at,
        )
        for name, w in services.workers.states().items()
    }
    healthy = db_ok and all(w.status == "ok" for w in workers.values())
    return ReadinessRead(
        status="ready" if healthy else "degraded",
        database=db_ok,
        workers=workers,
        replanner_role=services.leadership,
    )


@router.get(
    "/health/metrics",
    response_model=MetricsRead,
    dependencies=[Depends(DISPATCH)],
    responses=error_responses(401, 403),
)
def metrics(services: ServicesDep) -> MetricsRead:
    """In-process counters (requests, logins, websocket clients, positions,
    re-planning rounds, and per worker ``worker_<name>_failures_total`` and
    ``worker_<name>_degraded``)."""
    return MetricsRead(metrics=services.metrics.snapshot())
