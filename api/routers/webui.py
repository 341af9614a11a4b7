"""The web surfaces on the API's own origin: the built UI and offline docs.

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
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from api.auth.access import PUBLIC

log = logging.getLogger(__name__)

#: Where ``make ui`` writes the built pages (git-ignored, in the wheel).
UI_DIST = Path(__file__).resolve().parents[1] / "ui_dist"
UI_PREFIX = "/ui"
HOME_PAGE = f"{UI_PREFIX}/dispatcher/"
SWAGGER_ASSETS = "vendor/swagger-ui"


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


def build_router(dist: Path) -> APIRouter:
    """The UI's routes (public, undocumented)."""
    router = APIRouter(include_in_schema=False, dependencies=[Depends(PUBLIC)])

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
