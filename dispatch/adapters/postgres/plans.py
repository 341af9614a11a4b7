"""Plan persistence and the planner's snapshot read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import GeoPoint
from dispatch.planning.problem import Plan, PlannedStop, RiderRoute, UnservableOrder

LOCK_PLANS = "SELECT pg_advisory_xact_lock(hashtext('dispatch.plan'))"
SELECT_LATEST = """
SELECT version, created_at, status, cost, solve_time_s, trigger_reasons, routes,
    unassigned
FROM dispatch.plan ORDER BY version DESC LIMIT 1
"""


@dataclass(frozen=True, slots=True)
class PlanRow:
    """A row of ``SELECT_LATEST`` (``routes`` and ``unassigned`` as stored JSON)."""

    version: int
    created_at: datetime
    status: str
    cost: int
    solve_time_s: float
    trigger_reasons: list[str]
    routes: list[dict[str, Any]]
    unassigned: list[dict[str, Any]]


INSERT_PLAN = """
INSERT INTO dispatch.plan (version, created_at, status, cost, solve_time_s,
    trigger_reasons, routes, unassigned)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""


def lock_plans(tx: Tx) -> None:
    """Serialise plan application (held until the transaction ends)."""
    tx.conn.execute(LOCK_PLANS)


def _routes_json(plan: Plan) -> list[dict[str, Any]]:
    return [
        {
            "rider_id": r.rider_id,
            "duration_s": r.duration_s,
            "distance_m": r.distance_m,
            "start": [r.start.lat, r.start.lon] if r.start else None,
            "stops": [
                {
                    "order_id": s.order_id,
                    "kind": s.kind,
                    "pharmacy_id": s.pharmacy_id,
                    "arrival_at": s.arrival_at.isoformat(),
                    "late_s": s.late_s,
                }
                for s in r.stops
            ],
        }
        for r in plan.routes
    ]


def latest_version(tx: Tx) -> int | None:
    """The version of the most recently applied plan (primary-key look-up)."""
    row = tx.fetch_one(dict_row, "SELECT max(version) AS version FROM dispatch.plan")
    return int(row["version"]) if row and row["version"] is not None else None


def latest_plan(tx: Tx) -> Plan | None:
    """The most recently applied plan, if any."""
    row = tx.fetch_one(class_row(PlanRow), SELECT_LATEST)
    if row is None:
        return None
    routes = tuple(
        RiderRoute(
            rider_id=r["rider_id"],
            stops=tuple(
                PlannedStop(
                    s["order_id"],
                    s["kind"],
                    s["pharmacy_id"],
                    datetime.fromisoformat(s["arrival_at"]),
                    s["late_s"],
                )
                for s in r["stops"]
            ),
            duration_s=r["duration_s"],
            distance_m=r["distance_m"],
            start=GeoPoint(*r["start"]) if r.get("start") else None,
        )
        for r in row.routes
    )
    unassigned = tuple(
        UnservableOrder(
            u["order_id"],
            u["reason"],
            u["detail"],
            deadline_at=_instant(u.get("deadline_at")),
            earliest_at=_instant(u.get("earliest_at")),
        )
        for u in row.unassigned
    )
    return Plan(
        version=row.version,
        created_at=row.created_at,
        status=row.status,
        cost=row.cost,
        solve_time_s=row.solve_time_s,
        routes=routes,
        unassigned=unassigned,
        trigger_reasons=tuple(row.trigger_reasons),
    )


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _instant(value: str | None) -> datetime | None:
    """An instant stored in a plan's JSON (absent in plans stored before it)."""
    return datetime.fromisoformat(value) if value else None


def insert_plan(tx: Tx, plan: Plan) -> None:
    """Store an applied plan."""
    tx.conn.execute(
        INSERT_PLAN,
        (
            plan.version,
            plan.created_at,
            plan.status,
            plan.cost,
            plan.solve_time_s,
            list(plan.trigger_reasons),
            Jsonb(_routes_json(plan)),
            Jsonb(
                [
                    {
                        "order_id": u.order_id,
                        "reason": u.reason,
                        "detail": u.detail,
                        "deadline_at": _iso(u.deadline_at),
                        "earliest_at": _iso(u.earliest_at),
                    }
                    for u in plan.unassigned
                ]
            ),
        ),
    )
