"""Rejected goods: the replacement order takes over the patient's tracking link;
access notes reach the delivering rider only; product and order listings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from api.auth.principals import Role
from dispatch.adapters.postgres import stock as stock_repo
from dispatch.holds import commands as holds
from dispatch.orders import fulfilment
from tests.integration.api.conftest import Credentials, services_of
from tests.integration.api.test_order_flow import (
    PHARMACY,
    _order_body,
    _seed_catalogue,
)

NOTES = "Gate code 4711, second floor, blue door"


def _picked_up_order(client: TestClient, creds: Credentials) -> dict[str, str]:
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    body = {**_order_body(), "access_notes": NOTES}
    r = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "repl-0001"}, json=body
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert NOTES not in r.text  # staff order views do not echo the notes
    r = client.post(
        "/riders",
        headers=disp,
        json={"id": creds.rider_id, "name": "Luca", "vehicle_type": "scooter"},
    )
    assert r.status_code == 201, r.text
    services = services_of(client)
    with services.db.transaction() as tx:
        fulfilment.assign_order(tx, order["id"], creds.rider_id, actor="test")
        lots = [
            res.lot_id for res in stock_repo.reservations(tx, order["id"], ["held"])
        ]
    route = client.get("/riders/me/route", headers=creds(Role.rider)).json()
    [delivery] = [s for s in route["stops"] if s["kind"] == "delivery"]
    assert delivery["access_notes"] == NOTES
    [pickup] = [s for s in route["stops"] if s["kind"] == "pickup"]
    assert pickup["access_notes"] is None
    r = client.post(
        f"/orders/{order['id']}/pickup",
        headers=creds(Role.rider),
        json={"scanned_lot_ids": lots, "position": PHARMACY},
    )
    assert r.status_code == 200, r.text
    return dict(order)


def test_replacement_inherits_the_tracking_link(
    client: TestClient, creds: Credentials
) -> None:
    """After a pharmacist rejects the held goods, the patient's link shows the
    replacement (not "not delivered"), the staff view of the original names its
    replacement, and closing the original's links does not close the patient's."""
    order = _picked_up_order(client, creds)
    token = order["tracking_token"]
    assert client.get(f"/track/{token}").json()["status"] == "on_the_way"
    services = services_of(client)
    with services.db.transaction() as tx:
        hold = holds.place_hold(
            tx, reason="temperature_excursion", actor="test", order_ids=[order["id"]]
        )
    assert client.get(f"/track/{token}").json()["status"] == "delayed"

    ph = creds(Role.pharmacist)
    r = client.post(f"/holds/{hold.id}/reject", headers=ph, json={"note": "warm"})
    assert r.status_code == 200, r.text
    [replacement_id] = r.json()["replacement_order_ids"]

    original = client.get(f"/orders/{order['id']}", headers=ph).json()
    assert (original["status"], original["replaced_by"]) == ("failed", replacement_id)
    replacement = client.get(f"/orders/{replacement_id}", headers=ph).json()
    assert replacement["replacement_of"] == order["id"]

    view = client.get(f"/track/{token}")
    assert view.status_code == 200
    assert view.json()["status"] == "preparing"  # the replacement's status
    services.auth.close_tracking_links(order["id"], datetime.now(UTC))
    assert client.get(f"/track/{token}").status_code == 200

    # the replacement keeps the access notes for its rider
    services = services_of(client)
    with services.db.transaction() as tx:
        fulfilment.assign_order(tx, replacement_id, creds.rider_id, actor="test")
    route = client.get("/riders/me/route", headers=creds(Role.rider)).json()
    notes = {s["order_id"]: s["access_notes"] for s in route["stops"]}
    assert notes[replacement_id] == NOTES


def test_products_list_and_order_filters_are_paged_in_sql(
    client: TestClient, creds: Credentials
) -> None:
    """GET /products pages the catalogue; GET /orders filters by rider, pharmacy,
    status and creation time, with totals for the whole match."""
    _seed_catalogue(client, creds)
    ph, disp = creds(Role.pharmacist), creds(Role.dispatcher)
    for sku in ("SKU-A-1", "SKU-B-2"):
        r = client.post(
            "/products",
            headers=ph,
            json={"sku": sku, "name": sku, "storage_class": "refrigerated"},
        )
        assert r.status_code == 201, r.text
    page = client.get("/products", headers=ph, params={"limit": 2}).json()
    assert [p["sku"] for p in page["items"]] == ["SKU-A-1", "SKU-B-2"]
    assert page["total"] == 3
    cold = client.get(
        "/products", headers=disp, params={"storage_class": "refrigerated"}
    )
    assert cold.json()["total"] == 2
    assert client.get("/products", headers=creds(Role.rider)).status_code == 403

    before = datetime.now(UTC) - timedelta(seconds=1)
    ids = []
    for n in range(3):
        r = client.post(
            "/orders",
            headers={**disp, "Idempotency-Key": f"filter-key-{n:04d}"},
            json=_order_body(quantity=1),
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    r = client.post(
        "/riders",
        headers=disp,
        json={"id": creds.rider_id, "name": "Luca", "vehicle_type": "scooter"},
    )
    services = services_of(client)
    with services.db.transaction() as tx:
        fulfilment.assign_order(tx, ids[1], creds.rider_id, actor="test")

    def listed(**params: str | int | list[str]) -> tuple[list[str], int]:
        r = client.get("/orders", headers=disp, params=params)
        assert r.status_code == 200, r.text
        return [o["id"] for o in r.json()["items"]], r.json()["total"]

    assert listed() == (ids, 3)
    assert listed(limit=1, offset=1) == ([ids[1]], 3)
    assert listed(rider_id=creds.rider_id) == ([ids[1]], 1)
    assert listed(status="sourced") == ([ids[0], ids[2]], 2)
    assert listed(status=["assigned", "sourced"], limit=2) == (ids[:2], 3)
    assert listed(pharmacy_id="ph-1") == (ids, 3)
    assert listed(pharmacy_id="ph-none") == ([], 0)
    assert listed(created_from=before.isoformat()) == (ids, 3)
    assert listed(created_to=before.isoformat()) == ([], 0)
    naive = before.replace(tzinfo=None).isoformat()  # no offset: UTC
    assert listed(created_from=naive) == (ids, 3)
    bad = client.get("/orders", headers=disp, params={"rider_id": "bad id;"})
    assert bad.status_code == 422
