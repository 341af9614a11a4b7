"""Liveness, readiness and metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.auth.access import DISPATCH, PUBLIC
from api.deps import ServicesDep
from api.errors import error_responses

router = APIRouter(tags=["health"])


class HealthRead(BaseModel):
    """Process liveness."""

    status: Literal["ok"] = "ok"


class ReadinessRead(BaseModel):
    """Whether the dependencies answer."""

    status: Literal["ready", "degraded"]
    database: bool


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
    """PostgreSQL answers a trivial query."""
    try:
        with services.pool.connection(timeout=2) as conn:
            conn.execute("SELECT 1")
        db_ok = True
    except Exception:  # readiness reports, it does not raise
        db_ok = False
    return ReadinessRead(status="ready" if db_ok else "degraded", database=db_ok)


@router.get(
    "/health/metrics",
    response_model=MetricsRead,
    dependencies=[Depends(DISPATCH)],
    responses=error_responses(401, 403),
)
def metrics(services: ServicesDep) -> MetricsRead:
    """In-process counters (requests, logins, websocket clients, positions)."""
    return MetricsRead(metrics=services.metrics.snapshot())
