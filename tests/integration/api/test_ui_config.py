"""The public UI configuration: map style and attribution, the city's bounds and
service area once loaded, and the business clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape

from api.app import create_app
from dispatch.settings import ClockSettings
from tests.integration.api.conftest import api_settings, services_of
from tests.integration.api.test_dispatcher_map import grid_city


def test_public_defaults_without_a_city(client: TestClient) -> None:
    """No credentials needed; the bundled style path, OSM attribution under ODbL;
    no city (API_CITY=none): status disabled, no bounds, but the enforced
    service area (the bundled city's polygon, by default); real time."""
    r = client.get("/ui/config")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["map"] == {
        "style_url": None,
        "attribution": "© OpenStreetMap contributors",
        "license": "ODbL-1.0",
        "license_url": "https://opendatacommons.org/licenses/odbl/1-0/",
        "copyright_url": "https://www.openstreetmap.org/copyright",
    }
    area = body["city"].pop("service_area")
    assert body["city"] == {"status": "disabled", "name": None, "bbox": None}
    assert area["type"] == "Polygon"
    assert shape(area).covers(shapely.Point(14.5146, 35.8989))  # Valletta
    clock = body["clock"]
    assert clock["speed"] == 1.0
    assert clock["origin_at"] is None
    assert clock["wall_origin_s"] is None
    assert clock["time_zone"] == "Europe/Malta"
    now = datetime.fromisoformat(clock["now"])
    assert abs((now - datetime.now(UTC)).total_seconds()) < 60


@pytest.fixture
def unbounded(fresh_db: str) -> Iterator[TestClient]:
    """An app with no enforced service area (DISPATCH_SERVICE_AREA=none)."""
    settings = api_settings(fresh_db)
    settings.dispatch.service_area = "none"
    with TestClient(create_app(settings)) as c:
        yield c


def test_the_loaded_city_gives_bounds_and_a_geojson_service_area(
    unbounded: TestClient,
) -> None:
    """Once ready: the road network's [west, south, east, north] and the service
    area as a valid GeoJSON polygon (lon, lat) around it (none is enforced)."""
    client = unbounded
    city = grid_city()
    services_of(client).city.set_city(city)
    body = client.get("/ui/config").json()["city"]
    assert body["status"] == "ready"
    assert body["name"] == "bbox"
    west, south, east, north = body["bbox"]
    roads = city.roads
    assert (west, south) == (roads.node_lon.min(), roads.node_lat.min())
    assert (east, north) == (roads.node_lon.max(), roads.node_lat.max())
    area = shape(body["service_area"])
    assert body["service_area"]["type"] == "Polygon"
    assert area.is_valid
    assert area.symmetric_difference(city.service_area.geometry).area < 1e-9
    assert shapely.is_ccw(area.exterior)


@pytest.fixture
def warped(fresh_db: str) -> Iterator[TestClient]:
    """An app with a configured style, a bbox service area and a warped clock."""
    settings = api_settings(fresh_db, map_style_url="https://tiles.example/s.json")
    settings.clock = ClockSettings(
        origin_at=datetime(2026, 3, 2, 8, tzinfo=UTC),
        wall_origin_s=time.time() - 10,
        speed=60,
    )
    settings.dispatch.service_area_bbox = "35.80,14.30,36.00,14.60"
    with TestClient(create_app(settings)) as c:
        yield c


def test_settings_reach_the_config(warped: TestClient) -> None:
    """The style setting wins; the enforced bbox is the service area even
    without a city; the clock reports origin, speed and a warped now."""
    body = warped.get("/ui/config").json()
    assert body["map"]["style_url"] == "https://tiles.example/s.json"
    assert body["city"]["status"] == "disabled"
    assert body["city"]["bbox"] is None
    area = shape(body["city"]["service_area"])
    assert area.bounds == pytest.approx((14.30, 35.80, 14.60, 36.00))
    clock = body["clock"]
    assert clock["speed"] == 60
    assert datetime.fromisoformat(clock["origin_at"]) == datetime(
        2026, 3, 2, 8, tzinfo=UTC
    )
    now = datetime.fromisoformat(clock["now"])
    elapsed = now - datetime(2026, 3, 2, 8, tzinfo=UTC)
    assert timedelta(minutes=9) < elapsed < timedelta(hours=2)


def test_a_bad_setting_is_refused_at_startup() -> None:
    """An over-long style URL is a settings error, not a broken UI later."""
    from pydantic import ValidationError

    from api.settings import ApiSettings

    with pytest.raises(ValidationError):
        ApiSettings(map_style_url="https://x/" + "a" * 3000)
