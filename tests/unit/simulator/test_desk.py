"""Orders are written in the API's OrderCreate shape, on the system's clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from simulator.client import ApiClient
from simulator.clock import WarpClock
from simulator.context import RunContext
from simulator.demand import OrderLine, OrderRequest
from simulator.desk import order_body
from simulator.runlog import RunLog
from simulator.sensors import MqttPublisher
from simulator.world import World

T0 = datetime(2026, 6, 15, 8, tzinfo=UTC)


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


@pytest.fixture
def ctx() -> RunContext:
    """A context whose system clock runs one day ahead of simulated time."""
    return RunContext(
        world=World.__new__(World),
        clock=WarpClock(T0, 1.0),
        client=ApiClient("http://api.test"),
        staff_token="t",
        publisher=MqttPublisher("mqtt://127.0.0.1:1", client_id="unused"),
        log=RunLog("engine", "short", T0, T0),
        end_at=T0,
        server_offset=timedelta(days=1),
    )


def test_order_body_matches_order_create(ctx: RunContext) -> None:
    """Window, priority, lines and contact are sent; times on the system's clock."""
    body = order_body(ctx, _order(urgent=True))
    assert body["window_start_at"] == (T0 + timedelta(days=1)).isoformat()
    assert body["window_end_at"] == (T0 + timedelta(days=1, hours=1)).isoformat()
    assert body["priority"] == "urgent"
    assert body["lines"] == [{"sku": "INS-GLAR-100-PEN", "quantity": 2}]
    assert body["patient"]["name"] == "Maria Borg"
    assert body["delivery_location"] == {"lat": 35.9, "lon": 14.5}
    assert set(body) == {
        "patient_ref", "patient", "delivery_location", "lines",
        "window_start_at", "window_end_at", "priority",
    }  # fmt: skip


def test_time_mapping_round_trips(ctx: RunContext) -> None:
    """Times go to the system shifted by the offset and come back unchanged."""
    assert ctx.from_server(ctx.to_server(T0)) == T0
    assert order_body(ctx, _order(urgent=False))["priority"] == "standard"
