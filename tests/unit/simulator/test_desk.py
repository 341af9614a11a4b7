"""Orders are written in the API's OrderCreate shape, on the system's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from simulator.demand import OrderLine, OrderRequest
from simulator.desk import order_body

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
        "patient_ref", "patient", "delivery_location", "lines",
        "window_start_at", "window_end_at", "priority",
    }  # fmt: skip


def test_standard_priority() -> None:
    """Non-urgent orders are standard priority."""
    assert order_body(_order(urgent=False), lambda at: at)["priority"] == "standard"
