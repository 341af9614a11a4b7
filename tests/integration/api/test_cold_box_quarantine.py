"""Cold boxes quarantined and cleared by hand over HTTP (real PostgreSQL)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.auth.principals import Role
from dispatch.events import DispatchEvent, RiderChanged
from tests.integration.api.conftest import Credentials, services_of

BOX = "box-q1"
RIDER = "rider-q1"
PROBLEM = "application/problem+json"


def _box_with_rider(client: TestClient, creds: Credentials) -> None:
    disp = creds(Role.dispatcher)
    client.post(
        "/riders",
        headers=disp,
        json={
            "id": RIDER,
            "name": "Marija",
            "vehicle_type": "scooter",
            "cold_box_slots": 2,
        },
    ).raise_for_status()
    client.post(
        "/cold-boxes",
        headers=disp,
        json={"id": BOX, "profile_code": "refrigerated", "rider_id": RIDER},
    ).raise_for_status()


def _audit_actions(client: TestClient, creds: Credentials) -> list[tuple[str, str]]:
    entries = client.get(
        "/audit", headers=creds(Role.admin), params={"subject_id": BOX}
    ).json()
    return sorted((e["action"], e["actor"]) for e in entries)


def test_dispatcher_quarantines_and_pharmacist_clears(
    client: TestClient, creds: Credentials
) -> None:
    """Both staff roles can act; each change is audited with who did it and is
    published for the box's rider (dispatch feed, re-planner)."""
    _box_with_rider(client, creds)
    url = f"/cold-boxes/{BOX}"
    services = services_of(client)
    events: list[DispatchEvent] = []
    publish = services.publisher.publish

    def spy(event: DispatchEvent) -> None:
        events.append(event)
        publish(event)

    services.publisher.publish = spy  # type: ignore[method-assign]
    r = client.post(
        f"{url}/quarantine",
        headers=creds(Role.dispatcher),
        json={"reason": "lid cracked"},
    )
    assert r.status_code == 200, r.text
    # what the dispatch websocket feed sends as a rider.changed frame
    assert events == [RiderChanged(RIDER, "cold_box.quarantined")]
    body = r.json()
    assert (body["fit_for_cold"], body["quarantine_reason"]) == (False, "lid cracked")
    assert body["quarantine_ref"] is None
    assert body["quarantined_at"] is not None
    got = client.get(url, headers=creds(Role.pharmacist)).json()
    assert got["fit_for_cold"] is False

    r = client.post(
        f"{url}/clear", headers=creds(Role.pharmacist), json={"note": "new lid"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["fit_for_cold"] is True
    assert r.json()["quarantine_reason"] is None
    assert _audit_actions(client, creds) == [
        ("cold_box.cleared", "pharmacist:pharmacist-1"),
        ("cold_box.quarantined", "dispatcher:dispatcher-1"),
        ("cold_box.registered", "dispatcher:dispatcher-1"),
    ]


def test_wrong_state_unknown_box_and_bad_input_are_problems(
    client: TestClient, creds: Credentials
) -> None:
    """409 for quarantining twice / clearing a fit box, 404 for an unknown box,
    422 for a blank reason, 403 for a rider: all problem+json."""
    _box_with_rider(client, creds)
    disp = creds(Role.dispatcher)
    url = f"/cold-boxes/{BOX}"

    fit = client.post(f"{url}/clear", headers=disp, json={})
    assert (fit.status_code, fit.headers["content-type"]) == (409, PROBLEM)
    assert fit.json()["code"] == "conflict"

    client.post(f"{url}/quarantine", headers=disp, json={"reason": "dropped"})
    again = client.post(f"{url}/quarantine", headers=disp, json={"reason": "again"})
    assert (again.status_code, again.headers["content-type"]) == (409, PROBLEM)
    assert client.get(url, headers=disp).json()["quarantine_reason"] == "dropped"

    unknown = client.post(
        "/cold-boxes/no-such-box/quarantine", headers=disp, json={"reason": "x"}
    )
    assert (unknown.status_code, unknown.headers["content-type"]) == (404, PROBLEM)
    assert unknown.json()["code"] == "cold_box_not_found"
    assert (
        client.post("/cold-boxes/no-such-box/clear", headers=disp, json={}).status_code
        == 404
    )

    blank = client.post(f"{url}/quarantine", headers=disp, json={"reason": "   "})
    assert (blank.status_code, blank.headers["content-type"]) == (422, PROBLEM)
    extra = client.post(f"{url}/clear", headers=disp, json={"note": "", "x": 1})
    assert extra.status_code == 422

    rider = client.post(
        f"{url}/clear", headers=creds(Role.rider), json={"note": "mine"}
    )
    assert (rider.status_code, rider.headers["content-type"]) == (403, PROBLEM)
    assert client.get(url, headers=disp).json()["fit_for_cold"] is False


def test_quarantine_reaches_the_dispatch_feed(
    client: TestClient, creds: Credentials
) -> None:
    """The dispatchers' live map hears of the quarantine over the websocket (an
    ``alert`` frame of kind ``rider.changed`` naming the rider, ids only)."""
    _box_with_rider(client, creds)
    disp = creds(Role.dispatcher)
    with client.websocket_connect("/ws/dispatch", headers=disp) as feed:
        feed.receive_json()  # the snapshot sent on connect
        r = client.post(
            f"/cold-boxes/{BOX}/quarantine", headers=disp, json={"reason": "warm"}
        )
        assert r.status_code == 200, r.text
        for _ in range(200):
            frame = feed.receive_json()
            if frame["type"] == "alert" and frame["data"]["kind"] == "rider.changed":
                break
        else:
            raise AssertionError("no rider.changed alert on the dispatch feed")
    assert frame["data"]["rider_id"] == RIDER
    assert frame["data"]["what"] == "cold_box.quarantined"
    assert "warm" not in str(frame)  # the free-text reason stays off the feed
