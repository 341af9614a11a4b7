"""The bundled city as the map views see it: loaded once, in the background.

``API_CITY=bundled`` starts a daemon thread at startup that loads the city
(:func:`dispatch.city.loader.load_city`, from the ``.npz`` cache under the data
folder when present, else parsing the extract: seconds to a minute) and then
hands its road graph to the route legs. Until then, and with ``API_CITY=none``,
every polyline is null and the UI config has no bounds: the API never invents
geometry. Shutting down never waits for a load in progress.
"""

from __future__ import annotations

import logging
import threading
from enum import StrEnum
from pathlib import Path
from typing import Any

from dispatch.city.loader import City, load_city
from dispatch.geo import ServiceArea
from dispatch.planning.legs import RouteLegs
from routing.paths import RoadPaths

log = logging.getLogger(__name__)

DISPLAY_TOLERANCE_DEG = 2e-5
"""The service area shown to UIs is simplified within ~2 m (the city's outline
drops from ~100 kB of GeoJSON to ~40 kB); the enforced polygon is unchanged."""


class CityStatus(StrEnum):
    """Where the city stands."""

    disabled = "disabled"
    """Not loaded by configuration (``API_CITY=none``)."""
    loading = "loading"
    ready = "ready"
    failed = "failed"
    """The load failed (see the log); map geometry stays unavailable."""


class CityMap:
    """The loaded city (or none) and the route legs drawn on its roads."""

    def __init__(self, legs: RouteLegs | None = None) -> None:
        self.legs = legs or RouteLegs()
        self._lock = threading.Lock()
        self._city: City | None = None
        self._status = CityStatus.disabled
        self._bbox: tuple[float, float, float, float] | None = None
        self._geojson: tuple[ServiceArea, dict[str, Any]] | None = None

    @property
    def city(self) -> City | None:
        """The city once ready."""
        with self._lock:
            return self._city

    @property
    def status(self) -> CityStatus:
        """Disabled, loading, ready or failed."""
        with self._lock:
            return self._status

    def bbox(self) -> tuple[float, float, float, float] | None:
        """``(west, south, east, north)`` of the city's roads, once ready."""
        with self._lock:
            return self._bbox

    def area_geojson(self, area: ServiceArea) -> dict[str, Any]:
        """``area`` as GeoJSON (the last one asked for is kept)."""
        with self._lock:
            if self._geojson is not None and self._geojson[0] is area:
                return self._geojson[1]
        geojson = area.to_geojson(tolerance_deg=DISPLAY_TOLERANCE_DEG)
        with self._lock:
            self._geojson = (area, geojson)
        return geojson

    def set_city(self, city: City) -> None:
        """Use ``city`` from now on (the loader's last step; tests call it too)."""
        self.legs.use(RoadPaths(city.roads))
        roads = city.roads
        bbox = (
            float(roads.node_lon.min()),
            float(roads.node_lat.min()),
            float(roads.node_lon.max()),
            float(roads.node_lat.max()),
        )
        with self._lock:
            self._city = city
            self._bbox = bbox
            self._status = CityStatus.ready

    def load_in_background(self, data_dir: Path) -> threading.Thread:
        """Start loading the bundled city on a daemon thread."""
        with self._lock:
            self._status = CityStatus.loading
        thread = threading.Thread(
            target=self._load, args=(data_dir,), name="city-load", daemon=True
        )
        thread.start()
        return thread

    def _load(self, data_dir: Path) -> None:
        try:
            city = load_city(data_dir=data_dir)
            self.set_city(city)
        except Exception:
            log.exception("loading the city failed: map geometry is unavailable")
            with self._lock:
                self._status = CityStatus.failed
            return
        log.info(
            "city ready: %d road nodes, %.1f s%s",
            city.roads.num_nodes,
            city.stats.get("load_s", 0.0),
            " (cached)" if city.stats.get("from_cache") else "",
        )
