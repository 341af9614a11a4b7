"""The current plan (dispatchers) and one rider's planned route with ETAs.

Each route carries its road geometry (``legs``: one encoded polyline per leg,
computed on first read and cached per plan version and per leg; null without a
road graph).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth.access import DISPATCH
from api.deps import ServicesDep
from api.errors import error_responses
from api.schemas.common import LEGS_DESCRIPTION, LegRead, Point
from dispatch.planning import apply as plans
from dispatch.planning.legs import Leg, stop_id
from dispatch.planning.plan import Plan, RiderRoute

router = APIRouter(tags=["plans"])


class PlannedStopRead(BaseModel):
    """One planned stop and its ETA (live when the rider reports positions)."""

    stop_id: str = Field(
        description="``<order_id>:<kind>``, as legs and feeds name it."
    )
    order_id: str
    kind: str
    pharmacy_id: str | None
    planned_arrival_at: datetime
    eta_at: datetime | None
    late_s: int


class PlannedRouteRead(BaseModel):
    """A rider's planned route."""

    rider_id: str
    duration_s: int
    distance_m: int
    start: Point | None = Field(
        default=None,
        description="Where the rider was when the plan was computed (null in "
        "plans from before it was recorded).",
    )
    stops: list[PlannedStopRead]
    legs: list[LegRead] | None = Field(default=None, description=LEGS_DESCRIPTION)


class UnservableRead(BaseModel):
    """An order the plan cannot serve, with the routing engine's reason."""

    order_id: str
    reason: str
    detail: str = Field(
        description="The reason in words, clock times in the business time zone "
        "(e.g. 'the delivery window closes at 14:02; the earliest a rider can "
        "arrive is 14:30')."
    )
    deadline_at: datetime | None = Field(
        default=None,
        description="For a missed deadline: the deadline (a window's close, a "
        "shift's end).",
    )
    earliest_at: datetime | None = Field(
        default=None,
        description="For a missed deadline: the earliest a rider can be there "
        "(or finish).",
    )


class PlanRead(BaseModel):
    """The latest applied plan."""

    version: int
    created_at: datetime
    status: str
    cost: int
    solve_time_s: float
    trigger_reasons: list[str]
    routes: list[PlannedRouteRead]
    unassigned: list[UnservableRead]


def _route(
    route: RiderRoute, services: ServicesDep, legs: tuple[Leg, ...] | None
) -> PlannedRouteRead:
    live = services.live
    start = route.start
    return PlannedRouteRead(
        rider_id=route.rider_id,
        duration_s=route.duration_s,
        distance_m=route.distance_m,
        start=Point(lat=start.lat, lon=start.lon) if start else None,
        legs=LegRead.all_of(legs),
        stops=[
            PlannedStopRead(
                stop_id=stop_id(s.order_id, s.kind),
                order_id=s.order_id,
                kind=s.kind,
                pharmacy_id=s.pharmacy_id,
                planned_arrival_at=s.arrival_at,
                late_s=s.late_s,
                eta_at=live.eta_of_stop(route.rider_id, f"{s.order_id}:{s.kind}"),
            )
            for s in route.stops
        ],
    )


def _plan(
    plan: Plan, services: ServicesDep, legs: dict[str, tuple[Leg, ...]] | None
) -> PlanRead:
    return PlanRead(
        version=plan.version,
        created_at=plan.created_at,
        status=plan.status,
        cost=plan.cost,
        solve_time_s=plan.solve_time_s,
        trigger_reasons=list(plan.trigger_reasons),
        routes=[
            _route(r, services, None if legs is None else legs.get(r.rider_id, ()))
            for r in plan.routes
        ],
        unassigned=[
            UnservableRead(
                order_id=u.order_id,
                reason=u.reason,
                detail=u.detail,
                deadline_at=u.deadline_at,
                earliest_at=u.earliest_at,
            )
            for u in plan.unassigned
        ],
    )


@router.get(
    "/plans/current",
    response_model=PlanRead,
    dependencies=[Depends(DISPATCH)],
    responses=error_responses(401, 403, 404),
)
def current_plan(services: ServicesDep) -> PlanRead:
    """The latest applied plan: routes with their road geometry, ETAs, and
    orders it cannot serve."""
    with services.db.transaction() as tx:
        plan = plans.current_plan(tx)
    return _plan(plan, services, services.city.legs.of_plan(services.db, plan))


@router.get(
    "/plans/current/riders/{rider_id}",
    response_model=PlannedRouteRead,
    dependencies=[Depends(DISPATCH)],
    responses=error_responses(401, 403, 404),
)
def rider_plan(rider_id: str, services: ServicesDep) -> PlannedRouteRead:
    """One rider's planned route with ETAs and road geometry (empty if the plan
    gives them none)."""
    with services.db.transaction() as tx:
        plan = plans.current_plan(tx)
    legs = services.city.legs.of_route(services.db, plan, rider_id)
    for route in plan.routes:
        if route.rider_id == rider_id:
            return _route(route, services, legs)
    return PlannedRouteRead(
        rider_id=rider_id,
        duration_s=0,
        distance_m=0,
        stops=[],
        legs=None if legs is None else [],
    )
