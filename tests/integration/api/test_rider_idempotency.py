"""``Idempotency-Key`` on rider pickup, delivery and failure (real PostgreSQL).

A retry with the same key replays the first answer and acts no second time;
another request under the same key is refused; keys are per rider and expire.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.auth.principals import Role
from dispatch.orders import fulfilment
from tests.integration.api.conftest import Credentials, patient_token, services_of
from tests.integration.api.test_order_flow import (
    HOME,
    PHARMACY,
    _order_body,
    _seed_catalogue,
)

PROBLEM = "application/problem+json"


def _assigned_order(client: TestClient, creds: Credentials, n: int = 1) -> str:
    """An order assigned to ``creds.rider_id``."""
    if n == 1:
        _seed_catalogue(client, creds)
        client.post(
            "/riders",
            headers=creds(Role.dispatcher),
            json={"id": creds.rider_id, "name": "Luca", "vehicle_type": "scooter"},
        ).raise_for_status()
    r = client.post(
        "/orders",
        headers={**creds(Role.dispatcher), "Idempotency-Key": f"idem-order-{n:04d}"},
        json=_order_body(quantity=1),
    )
    assert r.status_code == 201, r.text
    order_id: str = r.json()["id"]
    with services_of(client).db.transaction() as tx:
        fulfilment.assign_order(tx, order_id, creds.rider_id, actor="test:planner")
    return order_id


def _lot_id(client: TestClient, creds: Credentials, order_id: str) -> int:
    [line] = client.get(
        f"/orders/{order_id}/pick-list", headers=creds(Role.pharmacist)
    ).json()
    return int(line["lot_id"])


def _pickup_body(client: TestClient, creds: Credentials, order_id: str) -> Any:
    return {"scanned_lot_ids": [_lot_id(client, creds, order_id)], "position": PHARMACY}


def _post(
    client: TestClient, creds: Credentials, url: str, body: Any, key: str | None
) -> Any:
    headers = dict(creds(Role.rider))
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(url, headers=headers, json=body)


def _count(db: str, sql: str, *params: object) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def _transitions(db: str, order_id: str, to: str) -> int:
    return _count(
        db,
        "SELECT count(*) FROM dispatch.audit_entry WHERE action = 'order.transition'"
        " AND subject_id = %s AND details->>'to' = %s",
        order_id,
        to,
    )


def _patient_code(client: TestClient, creds: Credentials, order_id: str) -> str:
    tracking = patient_token(client, order_id)
    [message] = client.get(f"/track/{tracking}/messages").json()
    match = re.search(r"\d{4,8}", message["body"])
    assert match is not None
    return match.group(0)


def test_pickup_twice_with_one_key_lands_once(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """The retry is a replay: same status and body, one transition audited."""
    order_id = _assigned_order(client, creds)
    body = _pickup_body(client, creds, order_id)
    url = f"/orders/{order_id}/pickup"
    first = _post(client, creds, url, body, "pickup-key-1")
    again = _post(client, creds, url, body, "pickup-key-1")
    assert first.status_code == again.status_code == 200, first.text
    assert first.content == again.content
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert _transitions(fresh_db, order_id, "picked_up") == 1
    # without the key the same request acts again: refused as a transition
    plain = _post(client, creds, url, body, None)
    assert plain.status_code in (409, 422)
    assert _transitions(fresh_db, order_id, "picked_up") == 1


def _picked_up(client: TestClient, creds: Credentials) -> tuple[str, str]:
    """An order picked up by the rider, and the patient's delivery code."""
    _seed_catalogue(client, creds)
    client.post(
        "/riders",
        headers=creds(Role.dispatcher),
        json={"id": creds.rider_id, "name": "Luca", "vehicle_type": "scooter"},
    ).raise_for_status()
    r = client.post(
        "/orders",
        headers={**creds(Role.dispatcher), "Idempotency-Key": "idem-order-0001"},
        json=_order_body(quantity=1),
    )
    order = r.json()
    with services_of(client).db.transaction() as tx:
        fulfilment.assign_order(tx, order["id"], creds.rider_id, actor="test:planner")
    body = _pickup_body(client, creds, order["id"])
    ok = _post(client, creds, f"/orders/{order['id']}/pickup", body, None)
    assert ok.status_code == 200, ok.text
    return order["id"], _patient_code(client, creds, order["id"])


def test_delivery_twice_with_one_key_lands_once_and_a_wrong_code_counts_once(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """A wrong code retried under its key: the same 422, one attempt counted.
    The right code retried: one proof, one audit entry, the same 200."""
    order_id, code = _picked_up(client, creds)
    url = f"/orders/{order_id}/delivery"
    wrong_code = "1" * len(code) if code == "0" * len(code) else "0" * len(code)
    wrong = {"otp": wrong_code, "position": HOME}
    bad1 = _post(client, creds, url, wrong, "deliver-wrong-1")
    bad2 = _post(client, creds, url, wrong, "deliver-wrong-1")
    assert bad1.status_code == bad2.status_code == 422
    assert bad1.json()["code"] == "otp_mismatch"
    assert bad1.headers["content-type"] == bad2.headers["content-type"] == PROBLEM
    assert bad1.content == bad2.content
    assert bad2.headers["idempotent-replayed"] == "true"
    attempts = "SELECT attempts FROM dispatch.otp WHERE order_id = %s"
    assert _count(fresh_db, attempts, order_id) == 1
    failed = (
        "SELECT count(*) FROM dispatch.audit_entry"
        " WHERE action = 'otp.failed_attempt' AND subject_id = %s"
    )
    assert _count(fresh_db, failed, order_id) == 1

    right = {"otp": code, "position": HOME}
    ok1 = _post(client, creds, url, right, "deliver-right-1")
    ok2 = _post(client, creds, url, right, "deliver-right-1")
    assert ok1.status_code == ok2.status_code == 200, ok1.text
    assert ok1.json() == ok2.json() == {"ok": True}
    assert ok2.headers["idempotent-replayed"] == "true"
    proofs = "SELECT count(*) FROM dispatch.proof_of_delivery WHERE order_id = %s"
    assert _count(fresh_db, proofs, order_id) == 1
    assert _transitions(fresh_db, order_id, "delivered") == 1
    assert _count(fresh_db, attempts, order_id) == 1  # the right code: no attempt

    # the same key with another body is refused, and does not act
    other = _post(client, creds, url, wrong, "deliver-right-1")
    assert other.status_code == 409
    assert other.headers["content-type"] == PROBLEM
    assert other.json()["code"] == "idempotency_key_reused"
    # ... as is the same key on another route
    moved = _post(
        client,
        creds,
        f"/orders/{order_id}/failure",
        {"reason": "refused"},
        "deliver-right-1",
    )
    assert moved.status_code == 409


def test_concurrent_retries_with_one_key_act_once(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """Two deliveries racing under one key: one proof; both answered 200."""
    order_id, code = _picked_up(client, creds)
    url = f"/orders/{order_id}/delivery"
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def deliver() -> None:
        barrier.wait()
        r = _post(client, creds, url, {"otp": code, "position": HOME}, "race-key-01")
        statuses.append(r.status_code)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert statuses == [200, 200]
    proofs = "SELECT count(*) FROM dispatch.proof_of_delivery WHERE order_id = %s"
    assert _count(fresh_db, proofs, order_id) == 1
    assert _transitions(fresh_db, order_id, "delivered") == 1


def test_failure_report_replays_and_refusals_replay_too(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """A failure retried is a replay; a refused command (404 for an order that
    is not the rider's) is replayed as refused."""
    order_id, _ = _picked_up(client, creds)
    url = f"/orders/{order_id}/failure"
    body = {"reason": "patient_absent"}
    first = _post(client, creds, url, body, "failure-key-1")
    again = _post(client, creds, url, body, "failure-key-1")
    assert first.status_code == again.status_code == 200, first.text
    assert _transitions(fresh_db, order_id, "failed") == 1

    missing = _post(client, creds, "/orders/nope/failure", body, "failure-key-2")
    replay = _post(client, creds, "/orders/nope/failure", body, "failure-key-2")
    assert missing.status_code == replay.status_code == 404
    assert missing.content == replay.content
    assert replay.headers["idempotent-replayed"] == "true"


def test_keys_are_per_rider_and_expire(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """Another rider's identical key is theirs alone; an expired key acts anew."""
    order_id = _assigned_order(client, creds)
    body = _pickup_body(client, creds, order_id)
    url = f"/orders/{order_id}/pickup"
    assert _post(client, creds, url, body, "shared-key-1").status_code == 200

    other = services_of(client).auth.issue_device_token(rider_id="rider-2")
    r = client.post(
        f"/orders/{order_id}/failure",
        headers={"Authorization": f"Bearer {other}", "Idempotency-Key": "shared-key-1"},
        json={"reason": "refused"},
    )
    assert r.status_code == 404  # acted (not rider-2's order), not a key clash

    with psycopg.connect(fresh_db) as conn:
        conn.execute(
            "UPDATE api.idempotent_request SET expires_at = now() - interval '1 s'"
        )
    expired = _post(client, creds, url, body, "shared-key-1")
    assert expired.status_code in (409, 422)  # ran again: already picked up
    assert "idempotent-replayed" not in expired.headers
    assert _transitions(fresh_db, order_id, "picked_up") == 1


@pytest.mark.parametrize("key", ["short", "has space!", "k" * 129, "semi;colon-key"])
def test_malformed_keys_are_422(
    client: TestClient, creds: Credentials, key: str
) -> None:
    """Keys are 8-128 characters of A-Z a-z 0-9 . _ : -."""
    r = client.post(
        "/orders/x/failure",
        headers={**creds(Role.rider), "Idempotency-Key": key},
        json={"reason": "refused"},
    )
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
