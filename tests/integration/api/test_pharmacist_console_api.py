"""What the pharmacist console and the dispatcher's alerts need from the API
(real PostgreSQL): a hold's audit trail, acknowledging an excursion (kept in
the snapshot, announced on the feed), and the pharmacist on the live feed."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.auth.principals import Role
from tests.integration.api.conftest import Credentials
from tests.integration.api.test_excursion_records import _excursion

PROBLEM = "application/problem+json"


def _alerts(client: TestClient, creds: Credentials) -> dict[str, Any]:
    r = client.get("/dashboard/snapshot", headers=creds(Role.dispatcher))
    assert r.status_code == 200, r.text
    return {a["alert_id"]: a for a in r.json()["alerts"]}


def test_a_rejected_holds_audit_trail_names_the_replacements_and_the_note(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """Placed, then rejected with a note: both entries, oldest first, the
    rejection with its replacement order and the pharmacist's note."""
    _, hold_id, order_id = _excursion(
        client, creds, fresh_db, minutes=180, hot_until=100
    )
    ph = creds(Role.pharmacist)
    r = client.post(
        f"/holds/{hold_id}/reject", headers=ph, json={"note": "40 min at 12 C"}
    )
    assert r.status_code == 200, r.text
    [replacement] = r.json()["replacement_order_ids"]

    r = client.get(f"/holds/{hold_id}/audit", headers=ph)
    assert r.status_code == 200, r.text
    trail = r.json()
    assert [e["action"] for e in trail] == ["hold.placed", "hold.rejected"]
    assert {e["subject_id"] for e in trail} == {str(hold_id)}
    assert trail[0]["details"]["orders"] == [order_id]
    assert trail[1]["details"]["replacements"] == [[order_id, replacement]]
    assert trail[1]["details"]["note"] == "40 min at 12 C"
    assert trail[1]["actor"].startswith("pharmacist:")


def test_the_audit_of_an_unknown_hold_is_a_404_problem(
    client: TestClient, creds: Credentials
) -> None:
    r = client.get("/holds/999999/audit", headers=creds(Role.pharmacist))
    assert r.status_code == 404
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["title"]


def test_an_acknowledged_excursion_stays_acknowledged_in_the_snapshot(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """The snapshot's alert says acknowledged after the dispatcher's POST; the
    record names who; a second acknowledgement is a 409 problem."""
    excursion_id, _, _ = _excursion(
        client, creds, fresh_db, minutes=120, hot_until=10_000
    )
    alert_id = f"excursion.opened:{excursion_id}"
    assert _alerts(client, creds)[alert_id]["acknowledged"] is False

    disp = creds(Role.dispatcher)
    r = client.post(f"/excursions/{excursion_id}/acknowledge", headers=disp)
    assert r.status_code == 200, r.text
    record = r.json()
    assert record["status"] == "acknowledged"
    assert record["acknowledged_by"].startswith("dispatcher:")
    assert _alerts(client, creds)[alert_id]["acknowledged"] is True

    again = client.post(f"/excursions/{excursion_id}/acknowledge", headers=disp)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM)
    missing = client.post("/excursions/999999/acknowledge", headers=disp)
    assert missing.status_code == 404


def test_acknowledging_is_announced_on_the_dispatch_feed(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """A pharmacist may follow the feed; an acknowledgement reaches it with
    the alert's id."""
    excursion_id, _, _ = _excursion(
        client, creds, fresh_db, minutes=120, hot_until=10_000
    )
    with client.websocket_connect("/ws/dispatch", headers=creds(Role.pharmacist)) as ws:
        assert ws.receive_json()["type"] == "hello"
        r = client.post(
            f"/excursions/{excursion_id}/acknowledge", headers=creds(Role.dispatcher)
        )
        assert r.status_code == 200, r.text
        for _ in range(50):
            frame = ws.receive_json()
            if frame["type"] == "excursion.acknowledged":
                break
        else:
            raise AssertionError("no excursion.acknowledged frame")
    assert frame["data"]["alert_id"] == f"excursion.opened:{excursion_id}"
    assert frame["data"]["excursion_id"] == excursion_id


def test_a_pharmacist_follows_the_feed_without_riders_positions(
    client: TestClient, creds: Credentials
) -> None:
    """A rider's position reaches the dispatcher's feed, not the pharmacist's;
    both get the event frames."""
    with (
        client.websocket_connect(
            "/ws/dispatch", headers=creds(Role.dispatcher)
        ) as disp,
        client.websocket_connect("/ws/dispatch", headers=creds(Role.pharmacist)) as ph,
    ):
        assert disp.receive_json()["type"] == "hello"
        assert ph.receive_json()["type"] == "hello"
        with client.websocket_connect("/ws/rider", headers=creds(Role.rider)) as rider:
            rider.receive_json()
            rider.send_json({"type": "position", "data": {"lat": 35.9, "lon": 14.5}})
            for _ in range(50):
                if disp.receive_json()["type"] == "positions":
                    break
            else:
                raise AssertionError("no positions frame for the dispatcher")
        # the pharmacist's frames up to the answer to a second ping (a batch
        # sends events before positions): no positions
        seen = []
        for n in (1, 2):
            ph.send_json({"type": "ping", "data": {"n": n}})
            for _ in range(50):
                frame = ph.receive_json()
                seen.append(frame["type"])
                if frame["type"] == "pong" and frame["data"] == {"n": n}:
                    break
    assert seen.count("pong") == 2
    assert "positions" not in seen
