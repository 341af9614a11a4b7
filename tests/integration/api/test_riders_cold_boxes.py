"""The boxes riders carry with their newest temperature (GET /cold-boxes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from api.auth.principals import Role
from telemetry.model import BoxId, Reading
from telemetry.store import TelemetryStore
from tests.integration.api.conftest import Credentials


def _rider_with_box(client: TestClient, creds: Credentials, n: int) -> None:
    disp = creds(Role.dispatcher)
    client.post(
        "/riders",
        headers=disp,
        json={"id": f"r-{n}", "name": f"Rider {n}", "vehicle_type": "scooter"},
    ).raise_for_status()
    client.post(
        "/cold-boxes",
        headers=disp,
        json={"id": f"box-{n}", "profile_code": "refrigerated", "rider_id": f"r-{n}"},
    ).raise_for_status()


def test_each_riders_box_with_its_newest_reading_and_band(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """A box reading 4 °C is in its 2-8 °C band, one reading 11 °C is not, one
    that never reported has no reading; a box without a rider is not listed;
    pharmacists are refused (the live map is the dispatchers')."""
    for n in (1, 2, 3):
        _rider_with_box(client, creds, n)
    client.post(
        "/cold-boxes",
        headers=creds(Role.dispatcher),
        json={"id": "box-spare", "profile_code": "refrigerated"},
    ).raise_for_status()
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    store = TelemetryStore(fresh_db)
    try:
        store.write_batch(
            [
                Reading(BoxId("box-1"), 1, t0, 9.5, 80.0, False),
                Reading(BoxId("box-1"), 2, t0 + timedelta(minutes=1), 4.0, 80.0, False),
                Reading(BoxId("box-2"), 1, t0, 11.0, 80.0, False),
            ]
        )
    finally:
        store.close()

    r = client.get("/cold-boxes", headers=creds(Role.dispatcher))
    assert r.status_code == 200
    boxes = {b["box_id"]: b for b in r.json()}
    assert set(boxes) == {"box-1", "box-2", "box-3"}
    one, two, three = boxes["box-1"], boxes["box-2"], boxes["box-3"]
    assert (one["rider_id"], one["temp_c"], one["in_range"]) == ("r-1", 4.0, True)
    assert (two["temp_c"], two["in_range"]) == (11.0, False)
    assert (three["temp_c"], three["in_range"]) == (None, None)
    assert one["low_c"] < 4.0 < one["high_c"] < 11.0
    assert client.get("/cold-boxes", headers=creds(Role.pharmacist)).status_code == 403
