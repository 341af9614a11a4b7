"""The web surfaces on the API's own origin: the built UI, its config, offline docs.

``make ui`` builds ``ui/`` (Vite) into ``api/ui_dist/`` (git-ignored; the wheel
carries it as a build artifact) with the offline basemap and the Swagger UI
assets inside. When that folder exists the app serves it under ``/ui/``
through Starlette's ``StaticFiles``, which answers HTTP Range requests (PMTiles
reads the basemap by byte ranges). Nothing the pages load comes from another
origin unless ``API_MAP_STYLE_URL`` names a production basemap style.

Routes here are public (the pages themselves hold no data; every API call they
make is authorised) and stay out of the OpenAPI document.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from shapely.geometry import mapping
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.auth.access import PUBLIC
from api.services import Services

log = logging.getLogger(__name__)

#: Where ``make ui`` writes the built pages (git-ignored, in the wheel).
UI_DIST = Path(__file__).resolve().parent / "ui_dist"
UI_PREFIX = "/ui"
HOME_PAGE = f"{UI_PREFIX}/dispatcher/"
SWAGGER_ASSETS = "vendor/swagger-ui"


class ClockRead(BaseModel):
    """Business time as the server sees it, for lateness and fix ages."""

    now: datetime = Field(description="Business time now.")
    speed: float = Field(description="Business seconds per wall-clock second.")


class UiConfigRead(BaseModel):
    """What the pages need to know about this deployment."""

    map_style_url: str | None = Field(
        description="A MapLibre style URL replacing the bundled offline basemap."
    )
    service_area: dict[str, Any] | None = Field(
        description="The service area as a GeoJSON geometry (lon/lat), if limited."
    )
    clock: ClockRead


class UiStaticFiles(StaticFiles):
    """The built pages: hashed assets cached for good, the rest revalidated."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if path.startswith("assets/"):
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers.setdefault("Cache-Control", "no-cache")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


def ui_built(dist: Path = UI_DIST) -> bool:
    """Whether ``make ui`` has produced the pages."""
    return (dist / "dispatcher" / "index.html").is_file()


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _service_area(services: Services) -> dict[str, Any] | None:
    area = services.db.ctx.service_area
    if area is None:
        return None
    geometry: dict[str, Any] = mapping(area.geometry)
    return geometry


def build_router(dist: Path) -> APIRouter:
    """The UI's routes (public, undocumented)."""
    router = APIRouter(include_in_schema=False, dependencies=[Depends(PUBLIC)])

    @router.get("/ui/config.json", response_model=UiConfigRead)
    def ui_config(request: Request) -> UiConfigRead:
        """Basemap, service area and business clock for the pages."""
        services = _services(request)
        return UiConfigRead(
            map_style_url=services.settings.api.map_style_url,
            service_area=_service_area(services),
            clock=ClockRead(
                now=services.clock.now(),
                speed=float(getattr(services.clock, "speed", 1.0)),
            ),
        )

    @router.get("/docs")
    def swagger_ui() -> HTMLResponse:
        """Swagger UI from our own assets (no CDN)."""
        assets = f"{UI_PREFIX}/{SWAGGER_ASSETS}"
        if not (dist / SWAGGER_ASSETS / "swagger-ui-bundle.js").is_file():
            return HTMLResponse(
                "<!doctype html><title>rxdispatch API</title>"
                "<p>The interactive documentation is part of the UI build "
                "(<code>make ui</code>). The OpenAPI document is at "
                '<a href="/openapi.json">/openapi.json</a>.</p>',
                status_code=503,
            )
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="rxdispatch API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon-32x32.png",
        )

    @router.get("/")
    @router.get(UI_PREFIX)
    def home() -> RedirectResponse:
        """The dispatcher's page (it sends to sign-in when needed)."""
        return RedirectResponse(HOME_PAGE)

    return router


def install_web_ui(app: FastAPI, dist: Path = UI_DIST) -> None:
    """Add the UI routes, and the pages themselves when they are built."""
    app.include_router(build_router(dist))
    if ui_built(dist):
        app.mount(UI_PREFIX, UiStaticFiles(directory=dist, html=True), name="ui")
    else:
        log.info("web UI not built (make ui): %s missing", dist)
