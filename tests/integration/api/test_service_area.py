"""The service area is enforced by default (issue 20, item 6): orders, pharmacies
and rider fixes outside the bundled city's polygon are refused with a 422 naming
the field and the area, and nothing is reserved or stored for them; a deployment
elsewhere points the setting at its own polygon or disables it explicitly."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principals import Role
from tests.integration.api.conftest import (
    PASSWORD,
    Credentials,
    api_settings,
    login,
    services_of,
)

VALLETTA = {"lat": 35.8975, "lon": 14.5120}
HOME = {"lat": 35.8989, "lon": 14.5146}
LONDON = {"lat": 51.5072, "lon": -0.1276}
NULL_ISLAND = {"lat": 0.0, "lon": 0.0}
OPEN_SEA = {"lat": 35.80, "lon": 14.70}  # east of Marsaxlokk
GOZO = {"lat": 36.0443, "lon": 14.2394}  # Victoria: another island, not served
SKU = "SKU-AMOX"
AREA = "Malta main island"


def _pharmacy(pid: str, where: dict[str, float]) -> dict[str, Any]:
    return {
        "id": pid,
        "name": "Valletta Pharmacy",
        "location": where,
        "licence_number": f"LIC-{pid}",
    }


def _order_body(where: dict[str, float]) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "patient_ref": "P-1",
        "patient": {"name": "A B", "phone": "+35699123456", "address": "x"},
        "delivery_location": where,
        "lines": [{"sku": SKU, "quantity": 1}],
        "window_start_at": now.isoformat(),
        "window_end_at": (now + timedelta(hours=3)).isoformat(),
    }


def _stock(client: TestClient, ph: dict[str, str]) -> None:
    r = client.post("/products", headers=ph, json={"sku": SKU, "name": "Amox"})
    assert r.status_code == 201, r.text
    r = client.post("/pharmacies", headers=ph, json=_pharmacy("ph-1", VALLETTA))
    assert r.status_code == 201, r.text
    expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    r = client.post(
        "/pharmacies/ph-1/stock",
        headers=ph,
        json={"sku": SKU, "lot_number": "LOT-1", "expiry_date": expiry, "quantity": 10},
    )
    assert r.status_code == 201, r.text


def _assert_outside(r: Any, loc: list[str]) -> None:
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "outside_service_area", problem.get("errors")
    assert AREA in problem["detail"]
    assert [e["loc"] for e in problem["errors"]] == [loc]


@pytest.mark.parametrize("where", [LONDON, NULL_ISLAND, OPEN_SEA, GOZO])
def test_an_order_outside_the_area_is_refused_and_reserves_nothing(
    client: TestClient, creds: Credentials, where: dict[str, float]
) -> None:
    ph, disp = creds(Role.pharmacist), creds(Role.dispatcher)
    _stock(client, ph)
    r = client.post(
        "/orders",
        headers={**disp, "Idempotency-Key": "key-outside"},
        json=_order_body(where),
    )
    _assert_outside(r, ["body", "delivery_location"])
    assert client.get("/orders", headers=disp).json()["items"] == []
    [lot] = client.get("/pharmacies/ph-1/stock", headers=ph).json()
    assert lot["quantity_reserved"] == 0
    inside = client.post(
        "/orders",
        headers={**disp, "Idempotency-Key": "key-inside"},
        json=_order_body(HOME),
    )
    assert inside.status_code == 201, inside.text


@pytest.mark.parametrize("where", [LONDON, NULL_ISLAND, OPEN_SEA])
def test_a_pharmacy_outside_the_area_is_refused(
    client: TestClient, creds: Credentials, where: dict[str, float]
) -> None:
    ph = creds(Role.pharmacist)
    r = client.post("/pharmacies", headers=ph, json=_pharmacy("ph-x", where))
    _assert_outside(r, ["body", "location"])
    assert client.get("/pharmacies", headers=ph).json() == []


def test_a_rider_fix_outside_the_area_or_badly_dated_is_refused(
    client: TestClient, creds: Credentials
) -> None:
    rider = creds(Role.rider)
    services = services_of(client)
    dispatcher = creds(Role.dispatcher)
    r = client.post(
        "/riders",
        headers=dispatcher,
        json={"id": "rider-1", "name": "R", "vehicle_type": "scooter"},
    )
    assert r.status_code == 201, r.text
    r = client.post("/riders/me/position", headers=rider, json=OPEN_SEA)
    _assert_outside(r, ["body"])
    now = services.clock.now()
    for at in (datetime(2999, 1, 1, tzinfo=UTC), now - timedelta(days=3)):
        r = client.post(
            "/riders/me/position", headers=rider, json={**HOME, "at": at.isoformat()}
        )
        assert r.status_code == 422, r.text
        assert [e["loc"] for e in r.json()["errors"]] == [["body", "at"]]
    [listed] = client.get("/riders", headers=dispatcher).json()
    assert listed["position"] is None
    r = client.post(
        "/riders/me/shift/start",
        headers=rider,
        json={"ends_at": (now + timedelta(hours=4)).isoformat(), "position": LONDON},
    )
    _assert_outside(r, ["body", "position"])
    ok = client.post(
        "/riders/me/position", headers=rider, json={**HOME, "at": now.isoformat()}
    )
    assert ok.status_code == 200, ok.text
    [listed] = client.get("/riders", headers=dispatcher).json()
    assert listed["position"]["lat"] == HOME["lat"]


def test_a_websocket_fix_outside_the_area_is_answered_and_not_fanned_out(
    client: TestClient, creds: Credentials
) -> None:
    services = services_of(client)
    with client.websocket_connect("/ws/rider", headers=creds(Role.rider)) as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "position", "data": LONDON})
        ws.send_json(
            {"type": "position", "data": {**HOME, "at": "2999-01-01T00:00:00Z"}}
        )
        codes: list[str] = []
        while len(codes) < 2:
            frame = ws.receive_json()
            if frame["type"] == "error":
                codes.append(frame["data"]["code"])
    assert codes == ["outside_service_area", "invalid_input"]
    assert services.hub.latest_positions() == []


# -- the setting ------------------------------------------------------------------


def _client_with(fresh_db: str, area: str) -> TestClient:
    settings = api_settings(fresh_db)
    settings.dispatch.service_area = area
    return TestClient(create_app(settings))


def _pharmacist(client: TestClient) -> dict[str, str]:
    services_of(client).auth.add_user(
        username="pharmacist-1", password=PASSWORD, role=Role.pharmacist
    )
    return login(client, "pharmacist-1")


def test_none_disables_the_area_explicitly(fresh_db: str) -> None:
    with _client_with(fresh_db, "none") as client:
        ph = _pharmacist(client)
        r = client.post("/pharmacies", headers=ph, json=_pharmacy("ph-x", LONDON))
        assert r.status_code == 201, r.text


@pytest.fixture
def london_polygon(tmp_path: Path) -> Path:
    path = tmp_path / "london.geojson"
    ring = [[-0.5, 51.3], [0.3, 51.3], [0.3, 51.7], [-0.5, 51.7], [-0.5, 51.3]]
    feature = {
        "type": "Feature",
        "properties": {"name": "Greater London"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    path.write_text(json.dumps(feature))
    return path


def test_a_polygon_file_replaces_the_bundled_area(
    fresh_db: str, london_polygon: Path
) -> None:
    with _client_with(fresh_db, str(london_polygon)) as client:
        ph = _pharmacist(client)
        r = client.post("/pharmacies", headers=ph, json=_pharmacy("ph-l", LONDON))
        assert r.status_code == 201, r.text
        r = client.post("/pharmacies", headers=ph, json=_pharmacy("ph-v", VALLETTA))
        assert r.status_code == 422, r.text
        assert "Greater London" in r.json()["detail"]


def test_a_broken_polygon_file_stops_the_start(fresh_db: str, tmp_path: Path) -> None:
    path = tmp_path / "broken.geojson"
    path.write_text('{"type": "Point", "coordinates": [0, 0]}')
    with pytest.raises(Exception, match="Polygon"), _client_with(fresh_db, str(path)):
        pass  # pragma: no cover
