"""Every request the simulator's HTTP client sends exists in the API's OpenAPI
snapshot and its body validates against the API's own request schema."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from api.routers.delivery import DeliveryConfirm, DeliveryFailure, PickupConfirm
from api.routers.holds import HoldDecision
from api.schemas.auth import DeviceTokenCreate, LoginRequest
from api.schemas.catalogue import PharmacyCreate, ProductCreate
from api.schemas.orders import OrderCreate
from api.schemas.riders import ColdBoxCreate, RiderCreate, ShiftStart
from simulator.client import ApiClient
from simulator.demand import OrderLine, OrderRequest
from simulator.desk import order_body

OPENAPI = Path(__file__).resolve().parents[1] / "data" / "openapi.json"
T0 = datetime(2026, 6, 15, 8, tzinfo=UTC)

BODY_SCHEMAS: dict[tuple[str, str], type[BaseModel] | None] = {
    ("POST", "/auth/token"): LoginRequest,
    ("POST", "/pharmacies"): PharmacyCreate,
    ("POST", "/products"): ProductCreate,
    ("POST", "/pharmacies/{pharmacy_id}/stock/import"): None,  # text/csv
    ("POST", "/riders"): RiderCreate,
    ("POST", "/cold-boxes"): ColdBoxCreate,
    ("POST", "/riders/{rider_id}/device-tokens"): DeviceTokenCreate,
    ("POST", "/orders"): OrderCreate,
    ("GET", "/orders/{order_id}"): None,
    ("GET", "/holds"): None,
    ("GET", "/orders/{order_id}/pick-list"): None,
    ("POST", "/holds/{hold_id}/reject"): HoldDecision,
    ("POST", "/riders/me/shift/start"): ShiftStart,
    ("POST", "/riders/me/shift/end"): None,
    ("GET", "/riders/me/route"): None,
    ("POST", "/orders/{order_id}/pickup"): PickupConfirm,
    ("POST", "/orders/{order_id}/delivery"): DeliveryConfirm,
    ("POST", "/orders/{order_id}/failure"): DeliveryFailure,
    ("GET", "/track/{token}"): None,
    ("GET", "/track/{token}/messages"): None,
    ("GET", "/dev/patient-sms/{order_id}"): None,
    ("GET", "/health"): None,
}


def _template(paths: list[str], method: str, path: str) -> str:
    for template in paths:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path):
            return template
    pytest.fail(f"{method} {path} is not in the API's OpenAPI document")


def _order() -> OrderRequest:
    return OrderRequest(
        ref="std-00001",
        created_at=T0,
        due_at=T0 + timedelta(hours=2),
        node=1,
        lat=35.9,
        lon=14.5,
        lines=(OrderLine("INS-GLAR-100-PEN", 2), OrderLine("CHR-MET-500-60", 1)),
        cold_chain=True,
        urgent=False,
        patient_first_name="Maria",
        patient_surname="Borg",
        patient_phone="+356 79000001",
        patient_home=True,
    )


def test_client_requests_match_the_openapi_contract() -> None:
    """Each client call hits a documented route with a body the API accepts."""
    spec = json.loads(OPENAPI.read_text(encoding="utf-8"))
    paths = list(spec["paths"])
    sent: list[tuple[str, str, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.url.path, request.content))
        answers: dict[str, Any] = {
            "/auth/token": {"access_token": "t"},
            "/riders/r1/device-tokens": {"device_token": "d"},
            "/orders": {"id": "o1", "tracking_token": "k", "status": "sourced"},
            "/orders/o1": {"id": "o1", "status": "sourced"},
            "/pharmacies/p1/stock/import": {"imported": 1},
            "/riders/me/route": {"stops": []},
        }
        return httpx.Response(200, json=answers.get(request.url.path, []))

    async def calls() -> None:
        client = ApiClient("http://api.test", transport=httpx.MockTransport(handler))
        await client.health()
        await client.login("admin", "secret-password")
        await client.create_pharmacy(
            "t", pharmacy_id="osm-node-1", name="P", lat=35.9, lon=14.5
        )
        await client.create_product(
            "t",
            sku="CD-MOR-10-60",
            name="Morphine",
            storage_class="ambient",
            controlled_schedule="II",
        )
        await client.import_stock("t", "p1", [("S", "L1", date(2027, 1, 1), 3)])
        await client.create_rider(
            "t", rider_id="r1", name="R", vehicle="bike", cold_box_slots=2
        )
        await client.create_cold_box("t", box_id="std-box-001", rider_id="r1")
        await client.issue_device_token("t", "r1")
        await client.create_order(
            "t", order_body(_order(), lambda at: at), idempotency_key="std-00001"
        )
        await client.get_order("t", "o1")
        await client.open_holds("t")
        await client.pick_list("t", "o1")
        await client.decide_hold("t", 7, release=False)
        await client.start_shift("d", ends_at=T0, lat=35.9, lon=14.5)
        await client.my_route("d")
        await client.confirm_pickup(
            "d", "o1", lot_codes=["ABCDEFGHIJKLMNOPQRSTUVWX"], lat=35.9, lon=14.5
        )
        await client.confirm_delivery(
            "d",
            "o1",
            otp="123456",
            lat=35.9,
            lon=14.5,
            id_check=("national_id", "42"),
            signature="M0 0 L1 1",
        )
        await client.report_failure(
            "d", "o1", reason="patient_absent", lat=35.9, lon=14.5
        )
        await client.tracking("k")
        await client.patient_texts("t", "o1")
        await client.patient_messages("k")
        await client.end_shift("d")
        await client.aclose()

    asyncio.run(calls())
    assert len(sent) == 22
    for method, path, content in sent:
        template = _template(paths, method, path)
        assert method.lower() in spec["paths"][template]
        schema = BODY_SCHEMAS[(method, template)]
        if schema is not None:
            schema.model_validate_json(content)
