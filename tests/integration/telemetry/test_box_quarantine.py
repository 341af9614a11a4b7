"""A temperature excursion takes its box out of cold service until it resolves,
even when the box carried nothing (the hold then covers no order)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.domain import Product
from dispatch.fleet import clear_cold_box, get_cold_box, quarantine_cold_box
from dispatch.holds.commands import list_open_holds
from dispatch.orders.fulfilment import assign_order, mark_picked_up
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderStatus
from dispatch.planning.apply import take_snapshot
from dispatch.planning.greedy import choose_assignments
from dispatch.planning.problem import build_problem
from routing.matrix import HaversineProvider
from telemetry.dispatch_link import DispatchHolds, release_recovered_boxes
from telemetry.model import BoxId, Reading
from telemetry.monitor import ExcursionMonitor
from telemetry.notify import ExcursionNotifier
from telemetry.store import TelemetryStore
from tests.integration.dispatch.conftest import (
    AMOX,
    INSULIN,
    TODAY,
    VALLETTA,
    add_lot,
    add_rider,
    make_request,
    seed_catalogue,
)

BOX = BoxId("box-rider-1")


@pytest.fixture
def store(fresh_db: str) -> Iterator[TelemetryStore]:
    s = TelemetryStore(fresh_db)
    yield s
    s.close()


def _readings(start: datetime, first_seq: int, temps: list[float]) -> list[Reading]:
    """One reading a minute, the first at ``start`` + ``first_seq`` minutes."""
    now = datetime.now(UTC)
    return [
        Reading(BOX, seq, start + timedelta(minutes=seq), t, received_at=now)
        for seq, t in enumerate(temps, first_seq)
    ]


def _submit(db: Database, product: Product) -> str:
    with db.transaction() as tx:
        return submit_order(tx, make_request([(product, 1)]), actor="api").id


def test_open_excursion_quarantines_an_empty_box_until_it_resolves(
    db: Database, store: TelemetryStore
) -> None:
    """No cold order is dispatched to, or travels in, a box whose temperature is
    in doubt; ambient ones still are; once the excursion ends the box is usable."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, INSULIN, 5, TODAY + timedelta(days=200))
    add_lot(db, VALLETTA, AMOX, 5, TODAY + timedelta(days=200))
    rider = add_rider(db)  # with cold box "box-rider-1", carrying nothing
    monitor = ExcursionMonitor(store, store.box_rules().get)
    start = datetime.now(UTC) - timedelta(minutes=40)
    hot = store.write_batch(_readings(start, 0, [5.0] * 5 + [11.0] * 25))
    (excursion_id,) = monitor.process(hot.inserted)  # still above 8 °C: open
    assert ExcursionNotifier(store, holds=DispatchHolds(db)).notify(excursion_id)

    with db.transaction() as tx:
        box = get_cold_box(tx, BOX)
        (hold,) = list_open_holds(tx)
    assert not box.fit_for_cold
    assert box.quarantine_ref == f"telemetry.excursion:{excursion_id}"
    assert hold.order_ids == ()  # the box was empty: the hold alone protects nothing

    insulin, amox = _submit(db, INSULIN), _submit(db, AMOX)
    with db.transaction() as tx:
        snap = take_snapshot(tx, include_greedy=True)
    assert snap.cold_unfit_riders == {rider}
    got = [(a.order_id, a.rider_id) for a in choose_assignments(snap)]
    assert got == [(amox, rider)]  # insulin waits, amox still goes
    (vehicle,) = build_problem(snap, HaversineProvider()).problem.vehicles
    assert vehicle.capacity[1] == 0

    with db.transaction() as tx:  # a dispatcher override races the quarantine
        assign_order(tx, insulin, rider, actor="dispatcher")
        picked = mark_picked_up(tx, insulin, rider_id=rider, position=None, actor="r")
        holds = list_open_holds(tx)
    assert picked.status is OrderStatus.ON_HOLD
    assert [(h.box_id, h.order_ids) for h in holds[1:]] == [(BOX, (insulin,))]
    assert "quarantined" in holds[1].reason

    back = store.write_batch(_readings(start, 30, [5.0] * 10))
    monitor.process(back.inserted)  # back in range: the excursion resolves
    assert release_recovered_boxes(db, store) == 1
    assert release_recovered_boxes(db, store) == 0
    with db.transaction() as tx:
        assert get_cold_box(tx, BOX).fit_for_cold
        snap = take_snapshot(tx, include_greedy=True)
        assert orders_repo.get_order(tx, insulin).status is OrderStatus.ON_HOLD
    assert snap.cold_unfit_riders == frozenset()
    (vehicle,) = build_problem(snap, HaversineProvider()).problem.vehicles
    assert vehicle.capacity[1] == 2


def test_a_quarantine_set_by_a_person_is_theirs_to_clear(
    db: Database, store: TelemetryStore
) -> None:
    """Telemetry's sweep clears only its own quarantines; a dispatcher clears theirs."""
    seed_catalogue(db)
    add_rider(db)
    with db.transaction() as tx:
        assert quarantine_cold_box(
            tx, BOX, reason="lid cracked", ref=None, actor="dispatcher"
        )
        assert not quarantine_cold_box(
            tx, BOX, reason="again", ref=None, actor="dispatcher"
        )
    assert release_recovered_boxes(db, store) == 0
    with db.transaction() as tx:
        assert get_cold_box(tx, BOX).quarantine_reason == "lid cracked"
        assert clear_cold_box(tx, BOX, actor="pharmacist", note="box replaced")
        assert not clear_cold_box(tx, BOX, actor="pharmacist")
        assert get_cold_box(tx, BOX).fit_for_cold
