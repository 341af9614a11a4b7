"""The dispatcher dashboard's starting point: one consistent snapshot, numbered.

``GET /dashboard/snapshot`` returns riders, orders in flight, the current plan's
summary and open alerts, with the dispatchers' feed position it matches
(``feed_id``, ``seq``). The database snapshot and ``seq`` are taken at one
instant (:meth:`dispatch.adapters.postgres.unit_of_work.Database.consistent_read`):
every dispatch change the snapshot shows was published as a frame at or below
``seq``, and every frame above it is a change the snapshot does not show. A
client then opens ``/ws/dispatch?since=<seq>&feed_id=<feed_id>`` and applies the
event frames that follow (all above ``seq``): none lost, none applied twice.

Alerts carry the ``alert_id`` their feed frames carry. Cold-box excursions are
detected by telemetry and announced after their own commit, so one may appear
both here and in a later ``alert`` frame: the same ``alert_id`` tells them apart.
Rider positions are state, not events: the freshest known (live, else stored).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth.access import DISPATCH
from api.deps import ServicesDep, Tx
from api.errors import error_responses
from api.schemas.common import Point
from api.schemas.orders import OrderRead
from api.schemas.riders import RiderRead
from dispatch import fleet
from dispatch.errors import PlanNotFound
from dispatch.holds import queries as holds_queries
from dispatch.orders import queries as order_queries
from dispatch.orders.order import Order, OrderStatus
from dispatch.planning import apply as plans
from dispatch.planning.plan import Plan
from telemetry import excursion_store

router = APIRouter(tags=["dashboard"])

IN_FLIGHT = (
    OrderStatus.CREATED,
    OrderStatus.SOURCED,
    OrderStatus.ASSIGNED,
    OrderStatus.PICKED_UP,
    OrderStatus.ON_HOLD,
)


class PlanSummaryRead(BaseModel):
    """The current plan in numbers (``GET /plans/current`` has the routes)."""

    version: int
    created_at: datetime
    status: str
    cost: int
    routes: int = Field(description="Riders with at least one planned stop.")
    planned_orders: int
    unassigned_orders: int


class AlertRead(BaseModel):
    """Something a dispatcher should look at, still open."""

    alert_id: str = Field(
        description="Stable id, ``<kind>:<subject>``; feed ``alert`` frames carry "
        "the same one."
    )
    kind: Literal["hold.placed", "excursion.opened", "order.unassignable"]
    since: datetime | None
    order_ids: list[str]
    box_id: str | None
    reason: str | None
    detail: str | None
    acknowledged: bool = Field(
        default=False,
        description="Someone acknowledged it (``POST /excursions/{id}/acknowledge``).",
    )


class DashboardSnapshotRead(BaseModel):
    """Everything the dispatcher map starts from, and the feed position it matches."""

    feed_id: str = Field(
        description="Names this server's feed; pass it back as ``feed_id`` on "
        "``/ws/dispatch``."
    )
    seq: int = Field(
        description="The feed's sequence number this snapshot includes; apply "
        "event frames with a higher ``seq`` (``/ws/dispatch?since=<seq>``)."
    )
    taken_at: datetime = Field(description="Business time of the snapshot.")
    riders: list[RiderRead]
    orders: list[OrderRead] = Field(
        description="Orders in flight: created, sourced, assigned, picked up, on hold."
    )
    plan: PlanSummaryRead | None = Field(description="Null before the first plan.")
    alerts: list[AlertRead]


def _plan_summary(plan: Plan) -> PlanSummaryRead:
    return PlanSummaryRead(
        version=plan.version,
        created_at=plan.created_at,
        status=plan.status,
        cost=plan.cost,
        routes=sum(1 for r in plan.routes if r.stops),
        planned_orders=len({s.order_id for r in plan.routes for s in r.stops}),
        unassigned_orders=len(plan.unassigned),
    )


def _alerts(tx: Tx, plan: Plan | None, orders: list[Order]) -> list[AlertRead]:
    alerts = [
        AlertRead(
            alert_id=f"hold.placed:{h.id}",
            kind="hold.placed",
            since=h.placed_at,
            order_ids=list(h.order_ids),
            box_id=h.box_id,
            reason=h.reason.value,
            detail=h.reason_note or None,
        )
        for h in holds_queries.list_open_holds(tx)
    ]
    alerts += [
        AlertRead(
            alert_id=f"excursion.opened:{x.id}",
            kind="excursion.opened",
            since=x.alarmed_at,
            order_ids=[],
            box_id=x.box_id,
            reason=x.kind.value,
            detail=x.rule.value,
            acknowledged=x.status == "acknowledged",
        )
        for x in excursion_store.unresolved(tx.conn)
    ]
    if plan is None:
        return alerts
    open_ids = {o.id for o in orders}
    alerts += [
        AlertRead(
            alert_id=f"order.unassignable:{u.order_id}",
            kind="order.unassignable",
            since=plan.created_at,
            order_ids=[u.order_id],
            box_id=None,
            reason=u.reason,
            detail=u.detail or None,
        )
        for u in plan.unassigned
        if u.order_id in open_ids
    ]
    return alerts


def _riders(tx: Tx, services: ServicesDep) -> list[RiderRead]:
    live = {p.rider_id: p for p in services.hub.latest_positions()}
    riders = []
    for rider in fleet.list_riders(tx):
        read = RiderRead.of(rider)
        fix = live.get(rider.id)
        if fix is not None and (read.position_at is None or fix.at > read.position_at):
            read.position = Point(lat=fix.lat, lon=fix.lon)
            read.position_at = fix.at
        riders.append(read)
    return riders


@router.get(
    "/dashboard/snapshot",
    response_model=DashboardSnapshotRead,
    dependencies=[Depends(DISPATCH)],
    responses=error_responses(401, 403),
)
def dashboard_snapshot(services: ServicesDep) -> DashboardSnapshotRead:
    """Riders, orders in flight, the plan's summary and open alerts, with the
    feed ``seq`` they match: then follow ``/ws/dispatch?since=<seq>``."""
    with services.db.consistent_read(services.hub.feed_position) as (tx, mark):
        feed_id, seq = mark
        orders = order_queries.list_orders(tx, statuses=IN_FLIGHT)
        try:
            plan: Plan | None = plans.current_plan(tx)
        except PlanNotFound:
            plan = None
        return DashboardSnapshotRead(
            feed_id=feed_id,
            seq=seq,
            taken_at=tx.now,
            riders=_riders(tx, services),
            orders=[OrderRead.of(o) for o in orders],
            plan=_plan_summary(plan) if plan else None,
            alerts=_alerts(tx, plan, orders),
        )
