"""The dispatcher's live map in Chromium, driven through the real API."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from api.auth.credentials import issue_access_token
from dispatch.dev_secrets import reveal
from telemetry.model import BoxId, Reading
from telemetry.store import TelemetryStore
from tests.browser.conftest import (
    ARTIFACTS,
    VIEWPORT,
    serious_violations,
    sign_in,
    wait_live,
    watched_page,
)
from tests.browser.stack import (
    PASSWORD,
    PLACES,
    Driver,
    LiveApp,
    serving,
    settings_for,
)
from tests.integration.api.test_dispatcher_map import RAW, grid_city

ORDERS_SOURCE = "rxd-orders"
#: the riders are DOM markers (not a map source): what they show now
RIDERS_SOURCE = "riders"


def grid_nodes() -> set[tuple[float, float]]:
    """(lon, lat) of every node of the test road grid, to 5 decimals (the
    polyline's precision)."""
    return {
        (round(float(lon), 5), round(float(lat), 5))
        for lat, lon in zip(RAW.node_lat, RAW.node_lon, strict=True)
    }


CURRENT_FEATURES_JS = (
    "(id === 'riders' ? window.rxdMap.riders.current"
    " : window.rxdMap.writer.current.get(id))?.features ?? []"
)


def source_features(page: Any, source: str) -> list[dict[str, Any]]:
    """What the map's GeoJSON source was last given (the app's test hook)."""
    features: list[dict[str, Any]] = page.evaluate(
        f"(id) => ({CURRENT_FEATURES_JS})", source
    )
    return features


def wait_for_feature(page: Any, source: str, predicate: str, arg: Any) -> None:
    """Wait until a feature of ``source`` satisfies the JS ``predicate(f, arg)``."""
    page.wait_for_function(
        f"""([id, arg]) => ({CURRENT_FEATURES_JS})
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

    # the marker is on the map, and a click on it opens the rider in the panel
    marker = page.locator(".rider-marker[data-rider-id='rider-1']")
    marker.click()
    page.wait_for_selector("[data-testid=rider-row][data-rider-id=rider-1].selected")
    rider_row = page.locator("[data-testid=rider-row][data-rider-id=rider-1]")
    assert (
        page.get_by_role("tab", name=re.compile("Riders")).get_attribute(
            "aria-selected"
        )
        == "true"
    )
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
    assert {"orders-point", "routes-straight"} <= set(layers)
    assert style_url in requested
    assert not any("basemap.pmtiles" in url for url in requested)


# ---- the live flow with the re-planner on ------------------------------------------

#: In the test road grid (tests/integration/api/test_dispatcher_map.py: streets
#: every 0.001 degrees around Valletta): the pharmacy, the rider, the patient.
GRID_PHARMACY = (35.8989, 14.5146)
GRID_RIDER = (35.8962, 14.5101)
GRID_PATIENT = (35.9040, 14.5180)


@pytest.fixture
def planning_app(fresh_db: str) -> Iterator[LiveApp]:
    """The app with the re-planner running (a re-plan every 3 s at least) and the
    test street grid as its road graph."""
    # the grid only: the bundled city, loaded in the background, would replace it
    settings = settings_for(fresh_db, run_replanner=True, city="none")
    settings.dispatch.replan_timer_s = 3
    settings.dispatch.solver_time_limit_s = 1
    with serving(settings) as live:
        live.services.city.set_city(grid_city())
        yield live


@pytest.fixture
def planning_world(planning_app: LiveApp) -> Driver:
    driver = Driver(planning_app)
    driver.staff()
    return driver


@pytest.fixture
def planning_page(
    browser: Any, planning_app: LiveApp, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A watched page on the re-planning app (as the ``page`` fixture)."""
    context = browser.new_context(viewport=VIEWPORT, base_url=planning_app.base_url)
    context.set_default_timeout(60_000)
    page = watched_page(context, planning_app.base_url)
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"))
    context.close()


def _pharmacy_at(world: Driver, place: tuple[float, float]) -> None:
    """One pharmacy at ``place`` with stock (Driver.catalogue takes place names)."""
    PLACES["_grid_pharmacy"] = place
    world.catalogue({"ph-grid": "_grid_pharmacy"})


def test_an_order_is_assigned_routed_along_roads_and_its_rider_moves(
    planning_page: Any, planning_world: Driver
) -> None:
    """With the re-planner on: an order appears unassigned, the plan assigns it,
    its route is drawn along the roads (solid, more vertices than stops, every
    vertex a node of the road graph), its stops are numbered with ETAs, and the
    rider's marker moves with their fixes."""
    page, world = planning_page, planning_world
    _pharmacy_at(world, GRID_PHARMACY)
    PLACES["_grid_rider"] = GRID_RIDER
    world.rider("rider-1", "Luca Zammit", "_grid_rider")
    sign_in(page)

    order = world.order(*GRID_PATIENT)
    row = page.locator(f"[data-testid=order-row][data-order-id='{order['id']}']")
    row.wait_for()
    page.wait_for_function(
        """(id) => document.querySelector(`[data-order-id='${id}']`)
            ?.dataset.status === 'assigned'""",
        arg=order["id"],
        timeout=90_000,
    )
    wait_for_feature(
        page,
        ORDERS_SOURCE,
        "(f, id) => f.properties.id === id && f.properties.status === 'assigned'",
        order["id"],
    )
    page.wait_for_function(
        """() => (window.rxdMap.writer.current.get('rxd-routes')?.features ?? [])
            .some((f) => f.properties.routed)""",
        timeout=60_000,
    )
    legs = [f for f in source_features(page, "rxd-routes") if f["properties"]["routed"]]
    stops = source_features(page, "rxd-stops")
    assert [s["properties"]["n"] for s in stops] == [1, 2]  # pickup, delivery
    assert all(re.fullmatch(r"\d\d:\d\d", s["properties"]["eta"]) for s in stops)
    vertices = [tuple(c) for leg in legs for c in leg["geometry"]["coordinates"]]
    assert len(vertices) > len(stops) + 1
    nodes = grid_nodes()
    # every vertex between a leg's ends is a road node (the first leg may also
    # join the rider's live position to where the plan started, both known)
    starts = {(round(GRID_RIDER[1], 5), round(GRID_RIDER[0], 5))}
    inner = [
        v
        for leg in legs
        for v in leg["geometry"]["coordinates"][1:-1]
        if (round(v[0], 5), round(v[1], 5)) not in starts
    ]
    assert inner, "a leg along the grid turns at junctions"
    off_road = [
        (lon, lat) for lon, lat in inner if (round(lon, 5), round(lat, 5)) not in nodes
    ]
    assert off_road == [], [leg["geometry"]["coordinates"] for leg in legs]
    # the layer draws it
    page.wait_for_function(
        "() => window.rxdMap.map.queryRenderedFeatures({layers: ['routes-road']})"
        ".length > 0"
    )

    world.position("rider-1", 35.8975, 14.5120)
    wait_for_feature(
        page,
        RIDERS_SOURCE,
        "(f, [lon, lat]) => f.id === 'rider-1' && f.geometry.coordinates[0] === lon"
        " && f.geometry.coordinates[1] === lat",
        [14.5120, 35.8975],
    )
    page.get_by_role("tab", name=re.compile("Riders")).click()
    next_stop = page.locator("[data-rider-id=rider-1] [data-testid=rider-next]")
    assert "next: pickup" in next_stop.inner_text()
    page.get_by_role("tab", name=re.compile("Plan")).click()
    assert "Solve time" in page.get_by_test_id("plan-panel").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dispatcher-route.png"))
    assert serious_violations(page) == []
    page.watch.assert_clean()


def test_a_late_flag_appears_when_the_window_passes(
    planning_page: Any, planning_world: Driver
) -> None:
    """An order whose window ends 90 s after it is placed: once the window has
    passed (with the delivery still ahead, whatever the plan's ETA) the list and
    the map flag it late. (An ETA past a window still open flags it "at risk":
    ``ui/src/domain`` tests.)"""
    page, world = planning_page, planning_world
    _pharmacy_at(world, GRID_PHARMACY)
    PLACES["_grid_rider"] = GRID_RIDER
    world.rider("rider-1", "Luca Zammit", "_grid_rider")
    sign_in(page)

    order = world.order(*GRID_PATIENT, start_h=-1, window_h=1 + 1.5 / 60)
    row = page.locator(f"[data-order-id='{order['id']}']")
    row.wait_for()
    page.wait_for_function(
        """(id) => /^late /.test(document.querySelector(
            `[data-order-id='${id}'] [data-testid=late]`)?.textContent ?? '')""",
        arg=order["id"],
        timeout=180_000,
    )
    wait_for_feature(
        page,
        ORDERS_SOURCE,
        "(f, id) => f.properties.id === id && f.properties.late === true",
        order["id"],
    )
    page.keyboard.press("d")
    page.wait_for_timeout(1500)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dispatcher-late-dark.png"))
    assert serious_violations(page) == []
    page.watch.assert_clean()


def test_an_unservable_order_reads_its_reason_in_clock_times(
    planning_page: Any, planning_world: Driver
) -> None:
    """The only rider's shift ends in four minutes, 18 km away: the order stays
    unassigned and its reason gives clock times, not solver seconds."""
    page, world = planning_page, planning_world
    _pharmacy_at(world, GRID_PHARMACY)
    world.rider("rider-late", "Ġorġ Borg", "Mellieħa", hours=4 / 60)
    sign_in(page)

    order = world.order(*GRID_PATIENT)
    page.wait_for_function(
        """(id) => /\\d\\d:\\d\\d/.test(document.querySelector(
            `[data-order-id='${id}'] [data-testid=unassigned-reason]`)
            ?.textContent ?? '')""",
        arg=order["id"],
        timeout=120_000,
    )
    reason = page.locator(
        f"[data-order-id='{order['id']}'] [data-testid=unassigned-reason]"
    )
    text = reason.inner_text()
    assert re.search(r"\d\d:\d\d;.* \d\d:\d\d", text), text
    assert not re.search(r"\d{3,} s\b|earliest start \d", text), text
    page.locator(f"[data-order-id='{order['id']}'] .row-main").click()
    assert page.get_by_test_id("reason-detail").inner_text() == text
    assert serious_violations(page) == []
    page.watch.assert_clean()


# ---- actions by role, each confirmed ---------------------------------------------


def _confirm(page: Any, action: str, text: str | None = None) -> None:
    dialog = page.locator(f"[data-testid=confirm-dialog][data-action={action}]")
    dialog.wait_for()
    if text is not None:
        dialog.locator("input[type=text]").fill(text)
    dialog.get_by_test_id("confirm").click()
    dialog.wait_for(state="detached")


def test_actions_ask_for_confirmation(page: Any, world: Driver, fresh_db: str) -> None:
    """A dispatcher cancels an order and holds another, quarantines a rider's
    cold box and clears it: each only after confirming; going back changes
    nothing; a quarantine needs its reason. The box's 11 °C shows on the
    rider's marker and row, flagged out of its range."""
    world.catalogue({"ph-1": "Valletta"})
    world.rider("rider-1", "Luca Zammit", "Sliema")
    world._ok(
        world.http.post(
            "/cold-boxes",
            headers=world.login("dora"),
            json={"id": "BOX-7", "profile_code": "refrigerated", "rider_id": "rider-1"},
        )
    )
    store = TelemetryStore(fresh_db)
    try:
        store.write_batch(
            [Reading(BoxId("BOX-7"), 1, datetime.now(UTC), 11.0, 80.0, False)]
        )
    finally:
        store.close()
    first, second = world.order(*PLACES["Gżira"]), world.order(*PLACES["Msida"])
    sign_in(page)
    wait_for_feature(
        page,
        RIDERS_SOURCE,
        "(f) => f.id === 'rider-1' && f.properties.temp === '11.0°'"
        " && f.properties.warm === true",
        None,
    )

    page.locator(f"[data-order-id='{first['id']}'] .row-main").click()
    page.get_by_role("button", name="Cancel order…").click()
    dialog = page.get_by_test_id("confirm-dialog")
    assert "cannot be undone" in dialog.inner_text()
    assert serious_violations(page) == []
    dialog.get_by_role("button", name="Back").click()
    dialog.wait_for(state="detached")
    assert world.get_order(first["id"])["status"] == "sourced"

    page.get_by_role("button", name="Cancel order…").click()
    _confirm(page, "cancel_order", "duplicate order")
    page.wait_for_function(
        "(id) => document.querySelector(`[data-order-id='${id}']`)?.dataset.status"
        " === 'cancelled'",
        arg=first["id"],
    )
    assert world.get_order(first["id"])["status"] == "cancelled"

    page.locator(f"[data-order-id='{second['id']}'] .row-main").click()
    page.get_by_role("button", name="Place hold…").click()
    _confirm(page, "place_hold", "seal broken")
    page.wait_for_function(
        "(id) => document.querySelector(`[data-order-id='${id}']`)?.dataset.status"
        " === 'on_hold'",
        arg=second["id"],
    )

    page.get_by_role("tab", name=re.compile("Riders")).click()
    page.locator("[data-rider-id=rider-1] .row-main").click()
    box_line = page.locator("[data-rider-id=rider-1] [data-testid=rider-box]")
    assert box_line.get_attribute("data-in-range") == "false"
    assert "11.0 °C" in box_line.inner_text()
    tools = page.get_by_test_id("box-tools")
    assert tools.get_by_label("Cold box id").input_value() == "BOX-7"
    tools.get_by_role("button", name="Look up").click()
    assert tools.get_by_test_id("box-state").get_attribute("data-fit") == "true"
    tools.get_by_role("button", name="Quarantine…").click()
    dialog = page.locator("[data-testid=confirm-dialog][data-action=quarantine_box]")
    assert dialog.get_by_test_id("confirm").is_disabled()  # the reason is required
    _confirm(page, "quarantine_box", "lid cracked")
    tools.get_by_role("button", name="Look up").click()
    page.wait_for_selector("[data-testid=box-state][data-fit=false]")
    tools.get_by_role("button", name="Clear…").click()
    _confirm(page, "clear_box")
    tools.get_by_role("button", name="Look up").click()
    page.wait_for_selector("[data-testid=box-state][data-fit=true]")
    page.keyboard.press("e")
    drawer = page.get_by_test_id("events-drawer")
    for line in ("cancelled", "Hold placed", "BOX-7 quarantined", "BOX-7 cleared"):
        assert line in drawer.inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dispatcher-actions.png"))
    page.watch.assert_clean()


def test_a_pharmacist_is_sent_back_with_the_reason(page: Any, world: Driver) -> None:
    """The live map (and its cancel action) is for dispatchers and admins: a
    pharmacist signing in there is told so on the sign-in page."""
    page.goto("/ui/dispatcher/")
    page.wait_for_url(re.compile(r"/ui/login/"))
    page.fill("#username", "phil")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/ui/login/\?reason="), timeout=60_000)
    assert (
        page.get_by_test_id("login-reason").inner_text()
        == "The live map is for dispatchers and administrators."
    )
    page.watch.assert_clean()
