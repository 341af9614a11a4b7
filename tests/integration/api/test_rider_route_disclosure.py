"""A rider's route view: only their orders, the minimum patient data, and its
disclosure audited exactly once per (rider, order) however often it is rebuilt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth.principals import Role
from api.live.rider_stops import RiderRoutes
from dispatch.adapters.postgres import plans as plans_repo
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.events import PlanUpdated
from dispatch.orders import fulfilment
from dispatch.orders import patient_data as patients
from dispatch.planning import apply as plans
from dispatch.planning.plan import Plan, PlannedStop, RiderRoute
from tests.integration.api.conftest import Credentials, services_of
from tests.integration.api.test_order_flow import (
    FORBIDDEN_FOR_RIDER_AND_PATIENT,
    HOME,
    PATIENT,
    _order_body,
    _seed_catalogue,
)

NOTES = "Gate code 4711, blue door"


def _orders(client: TestClient, creds: Credentials, n: int) -> list[str]:
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    for rider in (creds.rider_id, "rider-2"):
        r = client.post(
            "/riders",
            headers=disp,
            json={"id": rider, "name": rider, "vehicle_type": "car"},
        )
        assert r.status_code == 201, r.text
    ids = []
    for k in range(n):
        body = {**_order_body(quantity=1), "access_notes": f"{NOTES} {k}"}
        body["delivery_location"] = {"lat": HOME["lat"] + k / 1000, "lon": HOME["lon"]}
        r = client.post(
            "/orders", headers={**disp, "Idempotency-Key": f"disc-{k:04d}"}, json=body
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids


def _disclosures(db: Database) -> list[tuple[str, str, dict[str, Any]]]:
    with db.transaction() as tx:
        rows = tx.conn.execute(
            "SELECT actor, subject_id, details FROM dispatch.audit_entry"
            " WHERE action LIKE 'patient.%' ORDER BY seq"
        ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]


def test_rebuilds_disclose_once_per_rider_and_order(
    client: TestClient, creds: Credentials
) -> None:
    """Many rebuilds (GET, feed refreshes, a fresh process) write one audit entry
    per (rider, order) naming the fields shown; reassignment discloses anew to the
    new rider only; the view never carries the bag's contents or full contact."""
    services = services_of(client)
    a, b, c, other = _orders(client, creds, 4)
    with services.db.transaction() as tx:
        for order_id in (a, b, c):
            fulfilment.assign_order(tx, order_id, creds.rider_id, actor="test")
        fulfilment.assign_order(tx, other, "rider-2", actor="test")
        fulfilment.mark_picked_up(
            tx, c, rider_id=creds.rider_id, position=None, actor="test"
        )
    rider = creds(Role.rider)
    for _ in range(3):
        r = client.get("/riders/me/route", headers=rider)
        assert r.status_code == 200, r.text
        services.routes.refresh(creds.rider_id)
    deliveries = [s for s in r.json()["stops"] if s["kind"] == "delivery"]
    assert sorted(s["order_id"] for s in deliveries) == sorted([a, b, c])
    assert {s["first_name"] for s in deliveries} == {PATIENT["name"].split()[0]}
    assert all(s["access_notes"].startswith(NOTES) for s in deliveries)
    for needle in FORBIDDEN_FOR_RIDER_AND_PATIENT:
        assert needle not in r.text, needle

    # another process (or a restart): decrypts again, audits nothing new
    again = RiderRoutes(services.db, services.live, services.hub)
    assert again.view(creds.rider_id) == services.routes.view(creds.rider_id)

    expected = {"purpose": "rider_route", "fields": ["first_name", "access_notes"]}
    me = f"rider:{creds.rider_id}"
    assert sorted(d for d in _disclosures(services.db) if d[0] == me) == sorted(
        (me, oid, expected) for oid in (a, b, c)
    )

    with services.db.transaction() as tx:  # a goes to rider-2
        fulfilment.unassign_order(tx, a, actor="test")
        fulfilment.assign_order(tx, a, "rider-2", actor="test")
    mine = {
        s["order_id"]
        for s in client.get("/riders/me/route", headers=rider).json()["stops"]
    }
    assert mine == {b, c}
    theirs = {s.order_id for s in services.routes.view("rider-2").stops}
    assert theirs == {a, other}
    assert sorted(_disclosures(services.db)) == sorted(
        [(me, oid, expected) for oid in (a, b, c)]
        + [("rider:rider-2", oid, expected) for oid in (a, other)]
    )


def test_disclosure_is_limited_to_the_riders_own_orders(
    client: TestClient, creds: Credentials
) -> None:
    """Asking for another rider's order, or a delivered one, discloses nothing."""
    services = services_of(client)
    mine, theirs = _orders(client, creds, 2)
    with services.db.transaction() as tx:
        fulfilment.assign_order(tx, mine, creds.rider_id, actor="test")
        fulfilment.assign_order(tx, theirs, "rider-2", actor="test")
        shown = patients.disclose_to_rider(tx, creds.rider_id, [mine, theirs])
    assert list(shown) == [mine]
    assert "Maria" not in repr(shown[mine])  # never logged
    with services.db.transaction() as tx:
        assert patients.disclose_to_rider(tx, "rider-2", [mine]) == {}
    # (the feed refresh after each assignment may have disclosed first: still one)
    assert [act for act, oid, _ in _disclosures(services.db) if oid == mine] == [
        f"rider:{creds.rider_id}"
    ]


def test_the_plan_is_read_once_per_version(
    client: TestClient, creds: Credentials, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stops follow the applied plan; the plan body is parsed once per version
    (on PlanUpdated), while each rebuild only checks the version."""
    services = services_of(client)
    a, b = _orders(client, creds, 2)
    with services.db.transaction() as tx:
        for order_id in (a, b):
            fulfilment.assign_order(tx, order_id, creds.rider_id, actor="test")
            fulfilment.mark_picked_up(
                tx, order_id, rider_id=creds.rider_id, position=None, actor="test"
            )
    reads: list[int] = []
    real = plans.current_plan

    def counted(tx: Any) -> Plan:
        plan = real(tx)
        reads.append(plan.version)
        return plan

    monkeypatch.setattr(plans, "current_plan", counted)
    now = datetime.now(UTC)
    for version, order in ((1, (b, a)), (2, (a, b))):
        stops = tuple(
            PlannedStop(oid, "delivery", None, now + timedelta(minutes=10 * (i + 1)))
            for i, oid in enumerate(order)
        )
        with services.db.transaction() as tx:
            plans_repo.insert_plan(
                tx,
                Plan(
                    version,
                    now,
                    "ok",
                    0,
                    0.1,
                    (RiderRoute(creds.rider_id, stops, 1, 1),),
                    (),
                ),
            )
        services.routes.on_event(PlanUpdated(version, 1, 2, 0, "ok"))
        for _ in range(3):
            view = client.get("/riders/me/route", headers=creds(Role.rider)).json()
            assert [s["order_id"] for s in view["stops"]] == list(order)
    assert reads == [1, 2]
    with services.db.transaction() as tx:
        assert plans.current_version(tx) == 2
