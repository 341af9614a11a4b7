"""Orders are written in the API's OrderCreate shape, on the system's clock;
final statuses are settled from the system."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from simulator.api_types import OrderView
from simulator.context import PlacedOrder, RunContext
from simulator.demand import OrderLine, OrderRequest
from simulator.desk import order_body, sweep_statuses
from simulator.runlog import OrderOutcome, OrderStatus

T0 = datetime(2026, 6, 15, 8, tzinfo=UTC)
DAY = timedelta(days=1)


def _order(urgent: bool) -> OrderRequest:
    return OrderRequest(
        ref="short-00001",
        created_at=T0,
        due_at=T0 + timedelta(minutes=60),
        node=1,
        lat=35.9,
        lon=14.5,
        lines=(OrderLine("INS-GLAR-100-PEN", 2),),
        cold_chain=True,
        urgent=urgent,
        patient_first_name="Maria",
        patient_surname="Borg",
        patient_phone="+356 79000001",
        patient_home=True,
    )


def test_order_body_matches_order_create() -> None:
    """Window, priority, lines and contact are sent; times on the system's clock."""
    body = order_body(_order(urgent=True), lambda at: at + DAY)
    assert body["window_start_at"] == (T0 + DAY).isoformat()
    assert body["window_end_at"] == (T0 + DAY + timedelta(hours=1)).isoformat()
    assert body["priority"] == "urgent"
    assert body["lines"] == [{"sku": "INS-GLAR-100-PEN", "quantity": 2}]
    assert body["patient"]["name"] == "Maria Borg"
    assert body["delivery_location"] == {"lat": 35.9, "lon": 14.5}
    assert set(body) == {
        "patient_ref",
        "patient",
        "delivery_location",
        "lines",
        "window_start_at",
        "window_end_at",
        "priority",
    }


def test_standard_priority() -> None:
    """Non-urgent orders are standard priority."""
    assert order_body(_order(urgent=False), lambda at: at)["priority"] == "standard"


@dataclass
class _Client:
    statuses: dict[str, str]

    async def get_order(self, token: str, order_id: str) -> OrderView:
        return OrderView(order_id, self.statuses[order_id], "r1", "p1", None, T0)


@dataclass
class _Ctx:
    client: _Client
    staff_token: str = "staff"
    placed: dict[str, PlacedOrder] = field(default_factory=dict)


def _placed(order_id: str, handoff_at: datetime | None) -> PlacedOrder:
    request = _order(urgent=False)
    outcome = OrderOutcome(request.ref, T0, request.due_at, False, False)
    outcome.status = OrderStatus.OPEN
    outcome.handoff_at = handoff_at
    return PlacedOrder(request, order_id, "tok", outcome)


def test_sweep_keeps_the_handoff_time_of_a_delivery_cut_off_by_the_end() -> None:
    """The rider's code reached the system but the run stopped before the
    answer: the order counts as delivered at the handoff, with a time."""
    handed = T0 + timedelta(minutes=42)
    ctx = _Ctx(_Client({"a": "delivered", "b": "picked_up", "c": "delivered"}))
    ctx.placed = {
        "a": _placed("a", handed),
        "b": _placed("b", handed),  # code sent, refused or never arrived
        "c": _placed("c", None),  # delivered with no handoff seen: no time
    }
    asyncio.run(sweep_statuses(cast(RunContext, ctx)))
    a, b, c = (ctx.placed[k].outcome for k in "abc")
    assert (a.status, a.delivered_at) == (OrderStatus.DELIVERED, handed)
    assert (b.status, b.delivered_at) == (OrderStatus.OPEN, None)
    assert (c.status, c.delivered_at) == (OrderStatus.DELIVERED, None)
