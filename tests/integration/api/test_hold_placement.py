"""Staff place holds with a reason code; an unknown code is a problem+json 422."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.auth.principals import Role
from tests.integration.api.conftest import Credentials
from tests.integration.api.test_order_flow import _order_body, _seed_catalogue


def test_staff_hold_with_a_code_and_the_pharmacist_sees_it(
    client: TestClient, creds: Credentials
) -> None:
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    r = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "hold-0001"}, json=_order_body()
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]

    body = {"reason": "damaged", "note": "seal broken", "order_ids": [order_id]}
    r = client.post("/holds", headers=disp, json=body)
    assert r.status_code == 201, r.text
    assert (r.json()["reason"], r.json()["reason_note"]) == ("damaged", "seal broken")
    assert client.get(f"/orders/{order_id}", headers=disp).json()["status"] == "on_hold"
    [listed] = client.get("/holds", headers=creds(Role.pharmacist)).json()
    assert (listed["id"], listed["reason"], listed["order_ids"]) == (
        r.json()["id"],
        "damaged",
        [order_id],
    )
    rider = client.post("/holds", headers=creds(Role.rider), json=body)
    assert rider.status_code == 403


def test_unknown_codes_and_empty_holds_are_problems(
    client: TestClient, creds: Credentials
) -> None:
    ph = creds(Role.pharmacist)
    for body in (
        {"reason": "fridge alarm", "order_ids": ["x"]},
        {"reason": "damaged"},
        {"reason": "damaged", "box_id": "b1", "note": "n" * 201},
    ):
        r = client.post("/holds", headers=ph, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    unknown = client.post(
        "/holds", headers=ph, json={"reason": "damaged", "box_id": "no-such-box"}
    )
    assert unknown.status_code == 404
    assert client.get("/holds", headers=ph).json() == []
