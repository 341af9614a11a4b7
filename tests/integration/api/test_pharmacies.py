"""Pharmacies through the API: the time zone is checked at the door, and a
pharmacy can be edited and deactivated (issue 20)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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


def _pharmacy(pid: str = "ph-1", **fields: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": "Valletta Pharmacy",
        "location": VALLETTA,
        "licence_number": f"LIC-{pid}",
        **fields,
    }


def test_an_unknown_time_zone_is_a_422_naming_the_field(
    client: TestClient, creds: Credentials
) -> None:
    r = client.post(
        "/pharmacies",
        headers=creds(Role.pharmacist),
        json=_pharmacy(timezone="Mars/Olympus"),
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "validation_error"
    assert [e["loc"] for e in problem["errors"]] == [["body", "timezone"]]
    listed = client.get("/pharmacies", headers=creds(Role.pharmacist)).json()
    assert listed == []


def test_a_known_time_zone_is_stored(client: TestClient, creds: Credentials) -> None:
    r = client.post(
        "/pharmacies",
        headers=creds(Role.pharmacist),
        json=_pharmacy(timezone="Europe/Rome"),
    )
    assert r.status_code == 201, r.text
    got = client.get("/pharmacies/ph-1", headers=creds(Role.pharmacist)).json()
    assert got["timezone"] == "Europe/Rome"


# -- editing and deactivating ---------------------------------------------------

SLIEMA = {"lat": 35.9122, "lon": 14.5042}
HOME = {"lat": 35.8989, "lon": 14.5146}
SKU = "SKU-AMOX"


@pytest.fixture
def area_client(fresh_db: str) -> Iterator[TestClient]:
    """An app whose service area is Malta's bounding box."""
    settings = api_settings(fresh_db)
    settings.dispatch.service_area_bbox = "35.78,14.17,36.09,14.59"
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def area_creds(area_client: TestClient) -> Credentials:
    services = services_of(area_client)
    headers: dict[Role, dict[str, str]] = {}
    for role in (Role.admin, Role.dispatcher, Role.pharmacist):
        services.auth.add_user(username=f"{role.value}-1", password=PASSWORD, role=role)
        headers[role] = login(area_client, f"{role.value}-1")
    token = services.auth.issue_device_token(rider_id="rider-1")
    headers[Role.rider] = {"Authorization": f"Bearer {token}"}
    return Credentials(headers=headers, rider_id="rider-1")


def _stocked(
    client: TestClient, ph: dict[str, str], pid: str, where: dict[str, float]
) -> None:
    r = client.post("/pharmacies", headers=ph, json=_pharmacy(pid, location=where))
    assert r.status_code == 201, r.text
    expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    r = client.post(
        f"/pharmacies/{pid}/stock",
        headers=ph,
        json={"sku": SKU, "lot_number": "LOT-1", "expiry_date": expiry, "quantity": 10},
    )
    assert r.status_code == 201, r.text


def _order(client: TestClient, disp: dict[str, str], key: str) -> Any:
    now = datetime.now(UTC)
    return client.post(
        "/orders",
        headers={**disp, "Idempotency-Key": key},
        json={
            "patient_ref": "P-1",
            "patient": {"name": "A B", "phone": "+35699123456", "address": "x"},
            "delivery_location": HOME,
            "lines": [{"sku": SKU, "quantity": 1}],
            "window_start_at": now.isoformat(),
            "window_end_at": (now + timedelta(hours=3)).isoformat(),
        },
    )


def test_a_pharmacy_can_be_edited_and_the_edit_is_audited(
    area_client: TestClient, area_creds: Credentials
) -> None:
    client, ph = area_client, area_creds(Role.pharmacist)
    assert client.post("/pharmacies", headers=ph, json=_pharmacy()).status_code == 201
    hours = [{"weekday": 0, "opens": "08:00:00", "closes": "13:00:00"}]
    r = client.patch(
        "/pharmacies/ph-1",
        headers=ph,
        json={
            "name": "Sliema Pharmacy",
            "location": SLIEMA,
            "opening_hours": hours,
            "timezone": "Europe/Rome",
        },
    )
    assert r.status_code == 200, r.text
    got = client.get("/pharmacies/ph-1", headers=ph).json()
    assert got == {
        **_pharmacy(),
        "name": "Sliema Pharmacy",
        "location": SLIEMA,
        "opening_hours": hours,
        "timezone": "Europe/Rome",
        "active": True,
    }
    r = client.patch(
        "/pharmacies/ph-1", headers=area_creds(Role.admin), json={"name": "S"}
    )
    assert r.status_code == 200, r.text
    audit = client.get(
        "/audit", headers=area_creds(Role.admin), params={"subject_id": "ph-1"}
    ).json()
    updates = [e for e in audit if e["action"] == "pharmacy.updated"]
    assert [sorted(e["details"]["fields"]) for e in updates] == [
        ["name"],
        ["location", "name", "opening_hours", "timezone"],
    ]
    assert updates[1]["actor"] == "pharmacist:pharmacist-1"


def test_bad_edits_are_refused_naming_the_field(
    area_client: TestClient, area_creds: Credentials
) -> None:
    client, ph = area_client, area_creds(Role.pharmacist)
    assert client.post("/pharmacies", headers=ph, json=_pharmacy()).status_code == 201
    r = client.patch("/pharmacies/ph-1", headers=ph, json={"timezone": "Mars/Olympus"})
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "timezone"]]
    r = client.patch(
        "/pharmacies/ph-1", headers=ph, json={"location": {"lat": 48.85, "lon": 2.35}}
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "outside_service_area"
    r = client.patch("/pharmacies/ph-1", headers=ph, json={"licence_number": "X"})
    assert r.status_code == 422
    assert (
        client.patch("/pharmacies/nope", headers=ph, json={"name": "N"}).status_code
        == 404
    )
    for role in (Role.rider, Role.dispatcher):
        r = client.patch(
            "/pharmacies/ph-1", headers=area_creds(role), json={"name": "N"}
        )
        assert r.status_code == 403, role
    assert (
        client.get("/pharmacies/ph-1", headers=ph).json()["timezone"] == "Europe/Malta"
    )


def test_a_deactivated_pharmacy_sources_no_new_orders_but_keeps_its_own(
    area_client: TestClient, area_creds: Credentials
) -> None:
    client, ph = area_client, area_creds(Role.pharmacist)
    disp = area_creds(Role.dispatcher)
    r = client.post("/products", headers=ph, json={"sku": SKU, "name": "Amox"})
    assert r.status_code == 201, r.text
    _stocked(client, ph, "ph-near", VALLETTA)
    _stocked(client, ph, "ph-far", SLIEMA)
    in_flight = _order(client, disp, "deact-0001").json()
    assert in_flight["pharmacy_id"] == "ph-near"

    r = client.patch("/pharmacies/ph-near", headers=ph, json={"active": False})
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    later = _order(client, disp, "deact-0002").json()
    assert later["pharmacy_id"] == "ph-far"
    kept = client.get(f"/orders/{in_flight['id']}", headers=disp).json()
    assert (kept["status"], kept["pharmacy_id"]) == ("sourced", "ph-near")

    assert (
        client.patch(
            "/pharmacies/ph-near", headers=ph, json={"active": True}
        ).status_code
        == 200
    )
    again = _order(client, disp, "deact-0003").json()
    assert again["pharmacy_id"] == "ph-near"
    actions = [
        e["action"]
        for e in client.get(
            "/audit", headers=area_creds(Role.admin), params={"subject_id": "ph-near"}
        ).json()
    ]
    assert actions[:2] == ["pharmacy.reactivated", "pharmacy.deactivated"]
