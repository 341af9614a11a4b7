"""The web UI's serving: Range requests for the basemap, cache headers, the
offline Swagger UI, the redirects; every UI route is public and undocumented."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import ROUTERS, create_app
from api.auth.access import PUBLIC
from api.routers.webui import SWAGGER_ASSETS, build_router, install_web_ui, ui_built
from api.services import AppSettings
from api.settings import ApiSettings
from tests.integration.api.test_role_matrix import declared_access

BASEMAP = bytes(range(256)) * 40


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A minimal build: two pages, a hashed asset, the basemap, Swagger UI."""
    for page in ("dispatcher", "login"):
        (tmp_path / page).mkdir()
        (tmp_path / page / "index.html").write_text(f"<!doctype html><p>{page}</p>")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app-abc123.js").write_text("console.log(1)")
    (tmp_path / "map").mkdir()
    (tmp_path / "map" / "basemap.pmtiles").write_bytes(BASEMAP)
    swagger = tmp_path / SWAGGER_ASSETS
    swagger.mkdir(parents=True)
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        (swagger / name).write_text("x")
    return tmp_path


def _app(dist: Path) -> TestClient:
    app = FastAPI(docs_url=None, redoc_url=None)
    install_web_ui(app, dist)
    return TestClient(app)


def test_the_basemap_is_served_by_byte_ranges(dist: Path) -> None:
    """PMTiles reads the file in ranges: 206 with exactly those bytes."""
    r = _app(dist).get("/ui/map/basemap.pmtiles", headers={"Range": "bytes=100-227"})
    assert r.status_code == 206
    assert r.content == BASEMAP[100:228]
    assert r.headers["content-range"] == f"bytes 100-227/{len(BASEMAP)}"


def test_pages_revalidate_and_hashed_assets_are_immutable(dist: Path) -> None:
    client = _app(dist)
    page = client.get("/ui/dispatcher/")
    assert page.status_code == 200
    assert "dispatcher" in page.text
    assert page.headers["cache-control"] == "no-cache"
    asset = client.get("/ui/assets/app-abc123.js")
    assert "immutable" in asset.headers["cache-control"]


def test_home_redirects_to_the_dispatcher(dist: Path) -> None:
    client = _app(dist)
    for path in ("/", "/ui"):
        r = client.get(path, follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (307, "/ui/dispatcher/")


def test_docs_load_swagger_ui_from_our_origin(dist: Path) -> None:
    """No CDN: every script, stylesheet and icon of /docs is under /ui/."""
    html = _app(dist).get("/docs").text
    assert "/ui/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "/ui/vendor/swagger-ui/swagger-ui.css" in html
    assert "cdn" not in html.lower()
    assert "https://" not in html.replace("https://fastapi.tiangolo.com", "")


def test_without_a_build_docs_say_how_to_get_it(tmp_path: Path) -> None:
    assert not ui_built(tmp_path)
    client = _app(tmp_path)
    r = client.get("/docs")
    assert r.status_code == 503
    assert "make ui" in r.text
    assert client.get("/ui/dispatcher/").status_code == 404


def test_ui_routes_are_public_and_undocumented() -> None:
    """Each declares PUBLIC (as the role matrix requires of the API's routes)
    and none reaches the OpenAPI document."""
    routes = build_router(Path("/nonexistent")).routes
    assert routes
    assert all(declared_access(r) == [PUBLIC] for r in routes)
    documented = create_app(AppSettings()).openapi()["paths"]
    assert not {getattr(r, "path", "") for r in routes} & set(documented)
    assert all(r not in routes for router in ROUTERS for r in router.routes)


def test_map_style_url_must_be_http() -> None:
    assert ApiSettings(map_style_url="https://tiles.example/style.json").map_style_url
    with pytest.raises(ValueError, match="should match pattern"):
        ApiSettings(map_style_url="javascript:alert(1)")
