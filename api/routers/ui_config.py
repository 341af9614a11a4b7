"""What a web UI needs before it signs in: map style, attribution, city, clock.

Public (no credentials): nothing here is private. The map style is a setting
(``API_MAP_STYLE_URL``; unset: null, the bundled basemap the UI draws). The city's
bounds and service area come from the bundled OpenStreetMap city once loaded
(``city.status``); the business clock lets a UI show simulated time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth.access import PUBLIC
from api.deps import ServicesDep
from api.live.city_map import CityStatus
from dispatch.clock import WarpClock

router = APIRouter(tags=["ui"])

ATTRIBUTION = "© OpenStreetMap contributors"


class MapRead(BaseModel):
    """The base map and its credits (shown on the map, as ODbL requires)."""

    style_url: str | None = Field(
        description="MapLibre style of a production basemap; null: the UI draws the "
        "bundled offline basemap (built from the OpenStreetMap extract, served here)."
    )
    attribution: str = ATTRIBUTION
    license: Literal["ODbL-1.0"] = "ODbL-1.0"
    license_url: str = "https://opendatacommons.org/licenses/odbl/1-0/"
    copyright_url: str = "https://www.openstreetmap.org/copyright"


class CityRead(BaseModel):
    """The bundled city, once loaded (``status`` ready)."""

    status: CityStatus = Field(
        description="disabled (API_CITY=none), loading, ready or failed; bounds, "
        "service area and route polylines exist only when ready."
    )
    name: str | None
    bbox: tuple[float, float, float, float] | None = Field(
        description="[west, south, east, north] degrees (GeoJSON bbox order) of "
        "the road network."
    )
    service_area: dict[str, Any] | None = Field(
        description="GeoJSON geometry (lon, lat) of where deliveries are served: "
        "the enforced one (DISPATCH_SERVICE_AREA: by default the bundled "
        "city's polygon), else the loaded city's; "
        "simplified within about 2 m for display."
    )


class ClockRead(BaseModel):
    """Business time: ``now = origin_at + (wall time - wall_origin_s) * speed``."""

    now: datetime = Field(description="Business time when this answer was made.")
    speed: float = Field(description="Business seconds per wall-clock second.")
    origin_at: datetime | None = Field(description="Null: real time.")
    wall_origin_s: float | None = Field(
        description="Unix seconds at which business time was origin_at."
    )
    time_zone: str = Field(
        description="IANA time zone in which to show times (API_BUSINESS_TIMEZONE)."
    )


class UiConfigRead(BaseModel):
    """The public configuration of the web UI."""

    map: MapRead
    city: CityRead
    clock: ClockRead


@router.get("/ui/config", response_model=UiConfigRead, dependencies=[Depends(PUBLIC)])
def ui_config(services: ServicesDep) -> UiConfigRead:
    """Map style and attribution, the city's bounds and service area, the clock."""
    settings = services.settings.api
    city_map = services.city
    city = city_map.city
    area = services.db.ctx.service_area or (city.service_area if city else None)
    clock = services.clock
    warped = clock if isinstance(clock, WarpClock) else None
    return UiConfigRead(
        map=MapRead(style_url=settings.map_style_url),
        city=CityRead(
            status=city_map.status,
            name=city.service_area.name if city else None,
            bbox=city_map.bbox(),
            service_area=city_map.area_geojson(area) if area else None,
        ),
        clock=ClockRead(
            now=clock.now(),
            speed=warped.speed if warped else 1.0,
            origin_at=warped.origin_at if warped else None,
            wall_origin_s=warped.wall_origin_s if warped else None,
            time_zone=settings.business_timezone,
        ),
    )
