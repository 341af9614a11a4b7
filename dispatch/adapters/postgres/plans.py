"""Plan persistence and the planner's snapshot read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

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
    row = tx.conn.execute("SELECT max(version) FROM dispatch.plan").fetchone()
    return int(row[0]) if row and row[0] is not None else None


def latest_plan(tx: Tx) -> Plan | None:
    """The most recently applied plan, if any."""
    row = tx.conn.execute(SELECT_LATEST).fetchone()
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
        for r in row[6]
    )
    unassigned = tuple(
        UnservableOrder(u["order_id"], u["reason"], u["detail"]) for u in row[7]
    )
    return Plan(
        version=row[0],
        created_at=row[1],
        status=row[2],
        cost=row[3],
        solve_time_s=row[4],
        routes=routes,
        unassigned=unassigned,
        trigger_reasons=tuple(row[5]),
    )


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
                    {"order_id": u.order_id, "reason": u.reason, "detail": u.detail}
                    for u in plan.unassigned
                ]
            ),
        ),
    )
