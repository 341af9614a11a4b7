"""The closed loop with dispatch: an excursion holds the box's orders and tells
people (event + signed webhook) once; delivered cold orders get their record."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.delivery.handoff import complete_delivery, get_proof
from dispatch.events import HoldPlaced
from dispatch.orders.fulfilment import assign_order, mark_picked_up
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderStatus
from dispatch.orders.patient_data import read_patient_messages
from telemetry.dispatch_link import DispatchHolds, attach_pending_temperature_records
from telemetry.events import ExcursionOpened
from telemetry.model import BoxId, Reading
from telemetry.monitor import ExcursionMonitor
from telemetry.notify import ExcursionNotifier
from telemetry.store import TelemetryStore
from telemetry.webhooks import WebhookSender, verify
from tests.integration.dispatch.conftest import (
    INSULIN,
    NEAR_VALLETTA,
    NOW,
    TODAY,
    VALLETTA,
    add_lot,
    add_rider,
    make_request,
    seed_catalogue,
)

SECRET = b"test-webhook-secret"
BOX = BoxId("box-rider-1")


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook_url() -> Iterator[str]:
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/excursion"
    server.shutdown()
    server.server_close()


@pytest.fixture
def store(fresh_db: str) -> Iterator[TelemetryStore]:
    s = TelemetryStore(fresh_db)
    yield s
    s.close()


def _carry_insulin(db: Database) -> tuple[str, str]:
    seed_catalogue(db)
    add_lot(db, VALLETTA, INSULIN, 5, TODAY + timedelta(days=200))
    rider = add_rider(db)  # with cold box "box-rider-1" (refrigerated)
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(INSULIN, 1)]), actor="api")
        assign_order(tx, order.id, rider, actor="d")
        mark_picked_up(tx, order.id, rider_id=rider, position=None, actor="r")
    return order.id, rider


def _series(start: datetime, temps: list[float]) -> list[Reading]:
    now = datetime.now(UTC)
    return [
        Reading(BOX, i, start + timedelta(minutes=i), t, received_at=now)
        for i, t in enumerate(temps)
    ]


def test_excursion_holds_the_boxs_orders_and_notifies_once(
    db, publisher, store: TelemetryStore, webhook_url: str
) -> None:
    """20 min above 8 °C (dispatch profile: 15 min allowed) holds the carried
    order, publishes excursion.opened and hold.placed, POSTs one signed webhook."""
    order_id, _ = _carry_insulin(db)
    start = datetime.now(UTC) - timedelta(minutes=40)
    written = store.write_batch(_series(start, [5.0] * 5 + [11.0] * 20 + [5.0] * 5))
    monitor = ExcursionMonitor(store, store.box_rules().get)
    created = monitor.process(written.inserted)
    assert len(created) == 1
    notifier = ExcursionNotifier(
        store,
        holds=DispatchHolds(db),
        publisher=publisher,
        webhooks=WebhookSender([webhook_url], SECRET, backoff_s=0.01),
    )
    assert notifier.notify(created[0])
    assert not notifier.notify(created[0])  # one notification per episode
    with db.transaction() as tx:
        assert orders_repo.get_order(tx, order_id).status is OrderStatus.ON_HOLD
    events = publisher.events
    opened = [e for e in events if isinstance(e, ExcursionOpened)]
    holds = [e for e in events if isinstance(e, HoldPlaced)]
    assert len(opened) == 1
    assert len(holds) == 1
    assert opened[0].order_ids == (order_id,) == holds[0].order_ids
    assert opened[0].kind == "temperature_high"
    ((headers, body),) = _Receiver.received
    assert verify(
        SECRET,
        headers["X-Rxdispatch-Timestamp"],
        body,
        headers["X-Rxdispatch-Signature"],
    )
    assert not verify(
        SECRET,
        headers["X-Rxdispatch-Timestamp"],
        body + b" ",
        headers["X-Rxdispatch-Signature"],
    )
    again = monitor.process(store.write_batch(_series(start, [11.0] * 25)).inserted)
    assert again == []  # redelivered readings: same episode, nothing new


def test_delivered_cold_order_gets_its_temperature_record(db, clock, store) -> None:
    """The proof of a delivered insulin order carries min, max, MKT, minutes out
    of range and the span of its box's readings between pickup and delivery."""
    order_id, rider = _carry_insulin(db)
    store.write_batch(_series(NOW, [5.0] * 10 + [10.0] * 5 + [5.0] * 16))
    clock.advance(30 * 60)
    with db.transaction() as tx:
        otp = read_patient_messages(tx, order_id, actor="patient")[-1].body.rsplit(
            " ", 1
        )[1]
        complete_delivery(
            tx, order_id, otp=otp, rider_id=rider, position=NEAR_VALLETTA, actor="r"
        )
    assert attach_pending_temperature_records(db, store) == 1
    assert attach_pending_temperature_records(db, store) == 0
    with db.transaction() as tx:
        record: Any = get_proof(tx, order_id).temperature_record
    assert record["readings"] == 31
    assert (record["min_c"], record["max_c"]) == (5.0, 10.0)
    assert record["minutes_out_of_range"] == pytest.approx(5.0)
    assert 5.0 < record["mkt_c"] < 10.0
    assert record["box_id"] == BOX
    assert record["first_at"] == NOW.isoformat()
