"""The dispatcher's live map in Chromium, driven through the real API."""

from __future__ import annotations

import http.server
import json
import re
import threading
from typing import Any

from api.auth.credentials import issue_access_token
from dispatch.dev_secrets import reveal
from tests.browser.conftest import VIEWPORT, serious_violations, sign_in, wait_live
from tests.browser.stack import PLACES, Driver, LiveApp, serving, settings_for

ORDERS_SOURCE = "rxd-orders"
RIDERS_SOURCE = "rxd-riders"


def source_features(page: Any, source: str) -> list[dict[str, Any]]:
    """What the map's GeoJSON source was last given (the app's test hook)."""
    features: list[dict[str, Any]] = page.evaluate(
        "(id) => (window.rxdMap.writer.current.get(id)?.features ?? [])", source
    )
    return features


def wait_for_feature(page: Any, source: str, predicate: str, arg: Any) -> None:
    """Wait until a feature of ``source`` satisfies the JS ``predicate(f, arg)``."""
    page.wait_for_function(
        f"""([id, arg]) => (window.rxdMap.writer.current.get(id)?.features ?? [])
            .some((f) => ({predicate})(f, arg))""",
        arg=[source, arg],
    )


def test_orders_and_riders_appear_and_move_live(page: Any, world: Driver) -> None:
    """Sign in as a dispatcher; an order created through the API appears in the
    list and on the map with its status; a rider's posted position moves their
    marker; nothing leaves the origin; axe finds nothing serious."""
    world.catalogue({"ph-1": "Valletta", "ph-2": "Birkirkara"})
    world.rider("rider-1", "Luca Zammit", "Sliema")
    sign_in(page)

    lat, lon = PLACES["Gżira"]
    order = world.order(lat, lon)
    row = page.locator(f"[data-testid=order-row][data-order-id='{order['id']}']")
    row.wait_for()
    assert order["status"] == "sourced"
    assert row.get_attribute("data-status") == "unassigned"
    wait_for_feature(
        page,
        ORDERS_SOURCE,
        "(f, id) => f.properties.id === id && f.properties.status === 'unassigned'",
        order["id"],
    )
    chip = page.locator("[data-testid=orders-list]")
    assert chip.is_visible()
    assert (
        page.locator(".chip[data-status=unassigned]").get_attribute("data-count") == "1"
    )
    # drawn, not only handed to the source: MapLibre renders it at the spot
    page.wait_for_function(
        """(id) => window.rxdMap.map.queryRenderedFeatures({layers: ['orders-point']})
            .some((f) => f.properties.id === id)""",
        arg=order["id"],
    )

    [rider] = [f for f in source_features(page, RIDERS_SOURCE) if f["id"] == "rider-1"]
    assert rider["geometry"]["coordinates"] == [
        PLACES["Sliema"][1],
        PLACES["Sliema"][0],
    ]
    assert rider["properties"]["stale"] is False
    to_lat, to_lon = PLACES["Msida"]
    world.position("rider-1", to_lat, to_lon)
    wait_for_feature(
        page,
        RIDERS_SOURCE,
        "(f, [lon, lat]) => f.id === 'rider-1' && f.geometry.coordinates[0] === lon"
        " && f.geometry.coordinates[1] === lat",
        [to_lon, to_lat],
    )

    page.get_by_role("tab", name=re.compile("Riders")).click()
    rider_row = page.locator("[data-testid=rider-row][data-rider-id=rider-1]")
    assert rider_row.get_attribute("data-stale") == "false"
    assert serious_violations(page) == []
    page.watch.assert_clean()


def test_status_chips_filter_the_list_and_the_map(page: Any, world: Driver) -> None:
    """Hiding a status removes its orders from both the list and the map's data
    (clustered points included: the data is filtered before setData)."""
    world.catalogue({"ph-1": "Valletta"})
    placed = [world.order(*PLACES[p]) for p in ("Gżira", "Msida", "Ħamrun")]
    sign_in(page)
    page.locator("[data-testid=order-row]").nth(2).wait_for()
    assert (
        page.locator(".chip[data-status=unassigned]").get_attribute("data-count") == "3"
    )

    page.locator(".chip[data-status=unassigned]").click()
    page.wait_for_function(
        "() => window.rxdMap.writer.current.get('rxd-orders').features.length === 0"
    )
    assert page.locator("[data-testid=order-row]").count() == 0

    page.locator(".chip[data-status=unassigned]").click()
    page.locator("[data-testid=order-row]").nth(2).wait_for()
    ids = {f["properties"]["id"] for f in source_features(page, ORDERS_SOURCE)}
    assert ids == {o["id"] for o in placed}

    page.fill("#order-search", placed[1]["patient_ref"])
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=order-row]').length === 1"
    )
    page.keyboard.press("Escape")  # leaves the search box
    page.keyboard.press("d")  # dark mode
    page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
    assert serious_violations(page) == []
    page.watch.assert_clean()


def test_a_dropped_feed_reconnects_and_refetches(page: Any, world: Driver) -> None:
    """While the websocket is down the page says so; what happened meanwhile is
    on the page once it is back (it re-reads, it does not wait for events)."""
    world.catalogue({"ph-1": "Valletta"})
    blocked = {"on": False}

    def route(ws: Any) -> None:
        if blocked["on"]:
            ws.close()
        else:
            ws.connect_to_server()

    page.route_web_socket(re.compile(r"/ws/dispatch"), route)
    sign_in(page)
    blocked["on"] = True
    page.evaluate("() => window.rxdLive.reconnectNow()")
    page.wait_for_selector("[data-testid=connection][data-state=reconnecting]")
    page.wait_for_selector("[data-testid=reconnecting-banner]")

    missed = world.order(*PLACES["Paola"])  # its event goes nowhere
    page.wait_for_timeout(1000)
    assert page.locator(f"[data-order-id='{missed['id']}']").count() == 0
    assert page.get_by_role("button", name="Retry now").is_visible()

    blocked["on"] = False
    page.evaluate("() => window.rxdLive.reconnectNow()")  # what "Retry now" does
    wait_live(page)
    page.locator(f"[data-order-id='{missed['id']}']").wait_for()
    assert page.locator("[data-testid=reconnecting-banner]").count() == 0
    page.watch.assert_clean()


def test_an_expired_token_leads_back_to_sign_in_with_the_reason(
    page: Any, world: Driver, live_app: LiveApp
) -> None:
    """A credential the API refuses ends the session: the sign-in page says why.
    A wrong password shows the problem's title and detail."""
    user = live_app.services.auth.user_by_name("dora")
    assert user is not None
    token, _ = issue_access_token(
        secret=reveal(live_app.services.settings.api.jwt_secret, "API_JWT_SECRET"),
        user_id=user.user_id,
        username="dora",
        role=user.role,
        ttl_s=-1,  # already expired: what the page meets after a long pause
    )
    page.goto("/ui/login/")
    page.evaluate(
        """(token) => sessionStorage.setItem('rxd.session', JSON.stringify({
            token, role: 'dispatcher', username: 'dora',
            expiresAt: new Date(Date.now() + 600000).toISOString()}))""",
        token,
    )
    page.goto("/ui/dispatcher/")
    page.wait_for_url(re.compile(r"/ui/login/\?reason="))
    reason = page.get_by_test_id("login-reason")
    assert reason.inner_text() == "The access token has expired."
    assert page.evaluate("() => sessionStorage.getItem('rxd.session')") is None

    page.fill("#username", "dora")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    problem = page.get_by_test_id("login-error")
    problem.wait_for()
    assert "Unauthorized" in problem.inner_text()
    assert "Unknown username or wrong password." in problem.inner_text()
    assert serious_violations(page) == []
    # the refused calls are the point of this test: only they may fail
    page.watch.console_errors = [e for e in page.watch.console_errors if "401" not in e]
    page.watch.assert_clean()


def test_docs_work_offline(page: Any, live_app: LiveApp) -> None:
    """/docs renders Swagger UI from our own assets: no CDN request."""
    page.goto("/docs")
    page.locator(".swagger-ui .opblock").first.wait_for()
    assert page.locator(".swagger-ui .opblock").count() > 20
    page.watch.assert_clean()


class _StyleHandler(http.server.BaseHTTPRequestHandler):
    """A 'production' basemap host: one style, CORS open like real ones."""

    style = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(self.style)

    def log_message(self, format: str, *args: Any) -> None:
        return


def test_a_production_style_url_replaces_the_basemap(
    browser: Any, fresh_db: str
) -> None:
    """API_MAP_STYLE_URL: the map loads that style instead of the bundled one
    and our layers (orders, riders) still draw over it."""
    _StyleHandler.style = json.dumps(
        {
            "version": 8,
            "name": "production stand-in",
            "sources": {},
            "layers": [
                {
                    "id": "bg",
                    "type": "background",
                    "paint": {"background-color": "#123"},
                }
            ],
        }
    ).encode()
    host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StyleHandler)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    style_url = f"http://127.0.0.1:{host.server_port}/styles/streets.json"
    try:
        with serving(settings_for(fresh_db, map_style_url=style_url)) as live:
            world = Driver(live)
            world.staff()
            world.catalogue({"ph-1": "Valletta"})
            world.rider("rider-1", "Luca Zammit", "Sliema")
            order = world.order(*PLACES["Gżira"])
            context = browser.new_context(viewport=VIEWPORT, base_url=live.base_url)
            page = context.new_page()
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            sign_in(page)
            wait_for_feature(
                page,
                ORDERS_SOURCE,
                "(f, id) => f.properties.id === id",
                order["id"],
            )
            layers = page.evaluate(
                "() => window.rxdMap.map.getStyle().layers.map((l) => l.id)"
            )
            context.close()
    finally:
        host.shutdown()
    assert layers[0] == "bg"
    assert "road" not in layers  # the bundled basemap's layers are not there
    assert {"orders-point", "riders-dot", "routes-straight"} <= set(layers)
    assert style_url in requested
    assert not any("basemap.pmtiles" in url for url in requested)
