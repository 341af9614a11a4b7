"""The API runs on the configured business clock (e.g. a simulator's warp)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principals import Role
from dispatch.settings import ClockSettings
from tests.integration.api.conftest import Credentials, api_settings, services_of
from tests.integration.api.test_order_flow import PATIENT, SKU, _seed_catalogue

# a month ago, at 100x: far enough that real "now" is outside every window below
ORIGIN = (datetime.now(UTC) - timedelta(days=30)).replace(microsecond=0)


@pytest.fixture
def client(fresh_db: str) -> Iterator[TestClient]:
    """An app whose business time started at ORIGIN a moment ago, at 100x."""
    settings = api_settings(fresh_db)
    settings.clock = ClockSettings(
        origin_at=ORIGIN, wall_origin_s=time.time(), speed=100
    )
    with TestClient(create_app(settings)) as c:
        yield c


def test_orders_positions_and_links_use_business_time(
    client: TestClient, creds: Credentials
) -> None:
    """A window that is "now" on the warped clock (a month ago in real time) is
    accepted; creation, positions without a device time and the tracking link
    are stamped in business time."""
    _seed_catalogue(client, creds)
    services = services_of(client)
    start = services.clock.now()
    assert ORIGIN <= start < ORIGIN + timedelta(hours=2)
    body = {
        "patient_ref": "P-9",
        "patient": PATIENT,
        "delivery_location": {"lat": 35.8989, "lon": 14.5146},
        "lines": [{"sku": SKU, "quantity": 1}],
        "window_start_at": start.isoformat(),
        "window_end_at": (start + timedelta(hours=3)).isoformat(),
    }
    disp = creds(Role.dispatcher)
    r = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "clock-key-1"}, json=body
    )
    assert r.status_code == 201, r.text
    created_at = datetime.fromisoformat(r.json()["created_at"])
    assert start <= created_at <= services.clock.now()
    assert client.get(f"/track/{r.json()['tracking_token']}").status_code == 200

    client.post(
        "/riders",
        headers=disp,
        json={"id": creds.rider_id, "name": "Luca", "vehicle_type": "scooter"},
    )
    before = services.clock.now()
    r = client.post(
        "/riders/me/position",
        headers=creds(Role.rider),
        json={"lat": 35.9, "lon": 14.51},
    )
    assert r.status_code == 200, r.text
    [rider] = client.get("/riders", headers=disp).json()
    position_at = datetime.fromisoformat(rider["position_at"])
    assert before <= position_at <= services.clock.now()
