"""Pickup scans an unguessable code from the lot's label, not the internal lot
id, and a mismatch reveals nothing about counts (issue 20, item 8)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from api.auth.principals import Role
from dispatch.orders import fulfilment
from tests.integration.api.conftest import Credentials, services_of
from tests.integration.api.test_order_flow import _order_body, _seed_catalogue


def _assigned_order(client: TestClient, creds: Credentials) -> dict[str, Any]:
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    order: dict[str, Any] = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "scan-0001"}, json=_order_body()
    ).json()
    client.post(
        "/riders",
        headers=disp,
        json={"id": creds.rider_id, "name": "Luca", "vehicle_type": "scooter"},
    ).raise_for_status()
    with services_of(client).db.transaction() as tx:
        fulfilment.assign_order(tx, order["id"], creds.rider_id, actor="test:planner")
    return order


def test_the_rider_scans_the_label_code(client: TestClient, creds: Credentials) -> None:
    order = _assigned_order(client, creds)
    ph, rider = creds(Role.pharmacist), creds(Role.rider)
    [line] = client.get(f"/orders/{order['id']}/pick-list", headers=ph).json()
    code = line["scan_code"]
    assert re.fullmatch(r"[A-Z2-7]{24}", code)
    [lot] = client.get("/pharmacies/ph-1/stock", headers=ph).json()
    assert lot["scan_code"] == code
    url = f"/orders/{order['id']}/pickup"
    other = code[:-1] + ("A" if code[-1] != "A" else "B")
    for guess in (
        str(line["lot_id"]),
        "A" * 24,
        other,
    ):
        r = client.post(url, headers=rider, json={"scanned_lot_codes": [guess]})
        assert r.status_code == 422, r.text
        problem = r.json()
        # an id is no code: refused by the pattern (0, 1, 8, 9) or unmatched
        assert problem["code"] in {"validation_error", "lot_mismatch"}, problem
        assert not re.search(r"\d+ (missing|unexpected)", problem["detail"])
    both = client.post(
        url, headers=rider, json={"scanned_lot_codes": [code], "scanned_lot_ids": [1]}
    )
    assert both.status_code == 422
    typed = "-".join(code[i : i + 4] for i in range(0, 24, 4)).lower()
    r = client.post(url, headers=rider, json={"scanned_lot_codes": [typed]})
    assert r.status_code == 200, r.text
    got = client.get(f"/orders/{order['id']}", headers=creds(Role.dispatcher)).json()
    assert got["status"] == "picked_up"


def test_a_wrong_lot_id_says_nothing_about_counts(
    client: TestClient, creds: Credentials
) -> None:
    """The deprecated id form still works, but its mismatch reveals no counts."""
    order = _assigned_order(client, creds)
    [lot] = client.get("/pharmacies/ph-1/stock", headers=creds(Role.pharmacist)).json()
    url = f"/orders/{order['id']}/pickup"
    r = client.post(
        url, headers=creds(Role.rider), json={"scanned_lot_ids": [lot["id"] + 1]}
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "lot_mismatch"
    assert "missing" not in r.json()["detail"]
    assert "unexpected" not in r.json()["detail"]
