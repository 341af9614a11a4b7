"""What ``/ui/config.json`` tells the pages about this deployment."""

from __future__ import annotations

from datetime import datetime

from fastapi.testclient import TestClient

from api.app import create_app
from dispatch.settings import ClockSettings, DispatchSettings
from tests.integration.api.conftest import api_settings


def test_config_has_the_style_the_service_area_and_the_business_clock(
    fresh_db: str,
) -> None:
    settings = api_settings(
        fresh_db, map_style_url="https://tiles.example/styles/streets.json"
    )
    settings.dispatch = DispatchSettings(service_area_bbox="35.80,14.18,36.09,14.58")
    settings.clock = ClockSettings(speed=30)
    with TestClient(create_app(settings)) as client:
        r = client.get("/ui/config.json")  # public: the login page has no token
    assert r.status_code == 200
    body = r.json()
    assert body["map_style_url"] == "https://tiles.example/styles/streets.json"
    area = body["service_area"]
    assert area["type"] == "Polygon"
    lons = [p[0] for p in area["coordinates"][0]]
    lats = [p[1] for p in area["coordinates"][0]]
    assert (min(lons), max(lons), min(lats), max(lats)) == (14.18, 14.58, 35.80, 36.09)
    assert body["clock"]["speed"] == 30
    assert datetime.fromisoformat(body["clock"]["now"]).tzinfo is not None


def test_unset_style_and_area_mean_the_bundled_basemap_and_no_limit(
    fresh_db: str,
) -> None:
    with TestClient(create_app(api_settings(fresh_db))) as client:
        body = client.get("/ui/config.json").json()
    assert body["map_style_url"] is None
    assert body["service_area"] is None
    assert body["clock"]["speed"] == 1.0
