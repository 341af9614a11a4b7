"""The rider app on a phone (390x844, touch, fake GPS) against the real API:
sign-in by device token, position on the live socket, pickup by typed lot,
a delivery confirmed offline that lands exactly once back online, "Location
off", and a revoked token back at sign-in with the reason."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from dispatch.orders import fulfilment
from tests.browser.conftest import serious_violations, watched_page
from tests.browser.stack import PLACES, SKU, Driver, LiveApp

PHONE: dict[str, Any] = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
PHARMACY = PLACES["Valletta"]
HOME = PLACES["Sliema"]
PRODUCT = "Insulin pen"
#: What only going offline may cause: requests cut by the emulated outage.
OFFLINE = re.compile(r"ERR_INTERNET_DISCONNECTED|ERR_NETWORK_CHANGED|WebSocket")


@pytest.fixture
def phone(browser: Any, live_app: LiveApp) -> Iterator[Any]:
    """A phone whose GPS says it is at the pharmacy, location allowed."""
    context = browser.new_context(
        **PHONE,
        base_url=live_app.base_url,
        geolocation={"latitude": PHARMACY[0], "longitude": PHARMACY[1]},
        permissions=["geolocation"],
    )
    context.set_default_timeout(30_000)
    yield watched_page(context, live_app.base_url)
    context.close()


def _rider_with_order(world: Driver) -> tuple[str, dict[str, Any]]:
    """A rider with a device token a dispatcher issued, and an order assigned."""
    world.catalogue({"ph-valletta": "Valletta"})
    dora = world.login("dora")
    world.http.post(
        "/riders",
        headers=dora,
        json={"id": "rider-luca", "name": "Luca Zammit", "vehicle_type": "scooter"},
    ).raise_for_status()
    issued = world.http.post(
        "/riders/rider-luca/device-tokens", headers=dora, json={"label": "phone"}
    )
    issued.raise_for_status()
    order = world.order(*HOME)
    with world.live.services.db.transaction() as tx:
        fulfilment.assign_order(tx, order["id"], "rider-luca", actor="test:planner")
    return str(issued.json()["device_token"]), order


def _near(position: dict[str, float] | None, place: tuple[float, float]) -> bool:
    if position is None:
        return False
    return math.dist((position["lat"], position["lon"]), place) < 1e-4


def _wait(page: Any, check: Any, what: str, timeout_s: float = 60) -> None:
    for _ in range(int(timeout_s * 2)):
        if check():
            return
        page.wait_for_timeout(500)
    raise AssertionError(f"timed out waiting for {what}")


def _rider_position(world: Driver) -> dict[str, float] | None:
    riders = world.http.get("/riders", headers=world.login("dora")).json()
    [luca] = [r for r in riders if r["id"] == "rider-luca"]
    position: dict[str, float] | None = luca["position"]
    return position


def _count(db: str, sql: str, *params: object) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


def _patient_code(world: Driver, order: dict[str, Any]) -> str:
    token = world.patient_token(order["id"])  # the creator's link cannot read it
    [message] = world.http.get(f"/track/{token}/messages").json()
    match = re.search(r"\d{4,8}", message["body"])
    assert match is not None
    return match.group(0)


def test_a_delivery_confirmed_offline_lands_once_back_online(
    phone: Any, world: Driver, live_app: LiveApp, fresh_db: str
) -> None:
    """The whole shift on a phone, with the network lost before the hand-off."""
    page = phone
    token, order = _rider_with_order(world)
    page.goto(f"/ui/rider/#device-token={token}")
    page.get_by_test_id("rider-name").filter(has_text="Luca Zammit").wait_for()
    assert "device-token" not in page.url
    page.wait_for_selector("[data-testid=connection][data-state=live]")
    stops = page.get_by_test_id("stop")
    stops.first.wait_for()
    assert [s.get_attribute("data-kind") for s in stops.all()] == [
        "pickup",
        "delivery",
    ]
    html = page.content()
    assert PRODUCT not in html  # the rider never sees what is in the bag
    assert SKU not in html
    delivery = page.locator("[data-testid=stop][data-kind=delivery]")
    assert "Maria" in delivery.inner_text()
    assert "Camilleri" not in delivery.inner_text()  # first name only
    links = delivery.locator(".nav-links a")
    assert [a.get_attribute("data-app") for a in links.all()] == [
        "geo",
        "google",
        "apple",
        "waze",
    ]

    # the fake GPS fix reaches the server over the rider's socket
    _wait(page, lambda: _near(_rider_position(world), PHARMACY), "the GPS fix")

    page.get_by_test_id("start-shift").click()
    page.wait_for_selector("[data-testid=shift][data-on-shift=true]")

    # pickup by typing the lot
    [line] = world.http.get(
        f"/orders/{order['id']}/pick-list", headers=world.login("phil")
    ).json()
    page.get_by_label("Lot codes").fill(line["scan_code"])
    page.get_by_role("button", name="Confirm pickup").click()
    _wait(
        page,
        lambda: world.get_order(order["id"])["status"] == "picked_up",
        "the pickup",
    )
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=stop]').length === 1"
    )
    assert page.get_by_test_id("attempts-left").inner_text() == "5 tries left"

    # at the door; the server sees the rider there, then the network goes
    phone.context.set_geolocation({"latitude": HOME[0], "longitude": HOME[1]})
    _wait(page, lambda: _near(_rider_position(world), HOME), "the fix at the door")
    shell = page.evaluate(
        """async () => {
            await navigator.serviceWorker.ready;
            const cache = await caches.open('rxd-rider-shell-v1');
            return (await cache.keys()).map((r) => new URL(r.url).pathname);
        }"""
    )
    assert "/ui/rider/" in shell
    assert any(p.startswith("/ui/assets/rider-") and p.endswith(".js") for p in shell)
    assert any(p.endswith(".woff2") for p in shell)
    failed_before = len(page.watch.failed)
    errors_before = len(page.watch.console_errors)
    phone.context.set_offline(True)
    # Chromium's offline emulation can let a freshly reloaded, service-worker
    # controlled page out for a moment: the outage also cuts the hand-offs here
    hand_offs = re.compile(r"/orders/[^/]+/(pickup|delivery|failure)$")
    phone.context.route(hand_offs, lambda route: route.abort("internetdisconnected"))
    page.get_by_test_id("offline").wait_for()

    page.get_by_label("Patient's code").fill(_patient_code(world, order))
    page.get_by_role("button", name="Confirm delivery").click()
    queued = page.locator("[data-testid=queued][data-kind=delivery]")
    queued.wait_for()
    assert queued.get_attribute("data-state") == "waiting"
    assert "Waiting to send (1)" in page.get_by_test_id("queue").inner_text()
    page.get_by_test_id("stop-waiting").wait_for()
    # a reload without network: the shell comes from the phone, the queue too
    page.reload()
    page.locator("[data-testid=queued][data-kind=delivery]").wait_for()
    page.get_by_test_id("offline").wait_for()
    page.wait_for_timeout(1500)
    assert world.get_order(order["id"])["status"] == "picked_up"

    phone.context.unroute(hand_offs)
    phone.context.set_offline(False)
    page.get_by_test_id("queue").wait_for(state="detached", timeout=60_000)
    _wait(
        page,
        lambda: world.get_order(order["id"])["status"] == "delivered",
        "the delivery",
    )
    page.wait_for_selector("[data-testid=connection][data-state=live]")
    page.wait_for_timeout(1500)  # any second send would have landed by now
    delivered = (
        "SELECT count(*) FROM dispatch.audit_entry WHERE action = 'order.transition'"
        " AND subject_id = %s AND details->>'to' = 'delivered'"
    )
    assert _count(fresh_db, delivered, order["id"]) == 1
    proofs = "SELECT count(*) FROM dispatch.proof_of_delivery WHERE order_id = %s"
    assert _count(fresh_db, proofs, order["id"]) == 1
    page.get_by_text("No stops for now").wait_for()

    assert PRODUCT not in page.content()
    assert serious_violations(page) == []
    # only the emulated outage may have cut requests
    cut = page.watch.failed[failed_before:]
    assert all(OFFLINE.search(f) for f in cut), cut
    del page.watch.failed[failed_before:]
    noise = page.watch.console_errors[errors_before:]
    page.watch.console_errors[errors_before:] = [
        e for e in noise if not OFFLINE.search(e)
    ]
    page.watch.assert_clean()


def test_location_off_is_shown_loudly(
    browser: Any, world: Driver, live_app: LiveApp
) -> None:
    """A phone that refuses to share its position gets the banner."""
    token, _ = _rider_with_order(world)
    context = browser.new_context(**PHONE, base_url=live_app.base_url)
    context.set_default_timeout(30_000)
    page = watched_page(context, live_app.base_url)
    try:
        page.goto(f"/ui/rider/#device-token={token}")
        banner = page.get_by_test_id("location-off")
        banner.wait_for()
        assert "Location off" in (banner.text_content() or "")
        page.get_by_test_id("stop").first.wait_for()
        assert serious_violations(page) == []
        page.watch.assert_clean()
    finally:
        context.close()


def test_a_revoked_token_leads_back_to_sign_in_with_the_reason(
    phone: Any, world: Driver
) -> None:
    """Dispatch revokes the phone's token: the app forgets it and says why; a
    token typed into the form that the API refuses shows the same reason."""
    page = phone
    token, _ = _rider_with_order(world)
    page.goto("/ui/rider/")
    page.get_by_label("Device token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stop").first.wait_for()
    world.http.delete(
        "/riders/rider-luca/device-tokens", headers=world.login("dora")
    ).raise_for_status()
    page.reload()
    reason = page.get_by_test_id("signin-reason")
    reason.wait_for()
    assert reason.inner_text() == "The device token is not valid."
    # the page may have signed out before the reload (its socket was refused):
    # the reason outlives a reload either way
    page.reload()
    reason.wait_for()
    assert reason.inner_text() == "The device token is not valid."
    assert page.evaluate("() => localStorage.getItem('rxd.rider.device')") is None
    assert serious_violations(page) == []
    page.watch.console_errors = [e for e in page.watch.console_errors if "401" not in e]
    page.watch.assert_clean()


def test_a_dropped_socket_says_reconnecting_and_resyncs(
    phone: Any, world: Driver
) -> None:
    """While the rider's socket is down the app says so; back, it re-reads the
    route: an order assigned meanwhile is on the list."""
    page = phone
    token, _ = _rider_with_order(world)
    blocked = {"on": False}

    def route(ws: Any) -> None:
        if blocked["on"]:
            ws.close()
        else:
            ws.connect_to_server()

    page.route_web_socket(re.compile(r"/ws/rider"), route)
    page.goto(f"/ui/rider/#device-token={token}")
    page.wait_for_selector("[data-testid=connection][data-state=live]")
    blocked["on"] = True
    page.evaluate("() => window.rxdRider.reconnectNow()")
    page.get_by_test_id("reconnecting").wait_for()
    second = world.order(*PLACES["Gżira"])
    with world.live.services.db.transaction() as tx:
        fulfilment.assign_order(tx, second["id"], "rider-luca", actor="test:planner")
    page.wait_for_timeout(1000)
    blocked["on"] = False
    page.evaluate("() => window.rxdRider.reconnectNow()")
    page.wait_for_selector("[data-testid=connection][data-state=live]")
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=stop]').length === 4"
    )
    assert page.get_by_test_id("reconnecting").count() == 0
    page.watch.assert_clean()


def test_the_barcode_reader_loads_from_our_origin(phone: Any, world: Driver) -> None:
    """Opening the scanner loads the zxing wasm from /ui/vendor/zxing/ (never a
    CDN); with no camera the rider is told to type the lot, and typing works."""
    page = phone
    token, _ = _rider_with_order(world)
    page.goto(f"/ui/rider/#device-token={token}")
    page.get_by_label("Lot codes").wait_for()
    with page.expect_response(re.compile(r"/ui/vendor/zxing/zxing_reader\.wasm$")) as r:
        page.get_by_role("button", name="Scan").click()
    assert r.value.status == 200
    assert r.value.headers["content-type"] == "application/wasm"
    page.get_by_test_id("scanner").get_by_role("alert").wait_for()
    assert "type the lot code" in page.get_by_test_id("scanner").inner_text()
    page.get_by_label("Lot codes").fill("12a")
    page.get_by_role("button", name="Confirm pickup").click()
    assert page.get_by_text('"12a" is not a lot code.').is_visible()
    assert serious_violations(page) == []
    page.watch.assert_clean()


def test_a_refused_code_stays_visible_with_the_problem(
    phone: Any, world: Driver
) -> None:
    """A wrong code is refused: the queued item stays with the problem's title
    and detail until the rider dismisses it; the stop then shows one try less."""
    page = phone
    token, order = _rider_with_order(world)
    [line] = world.http.get(
        f"/orders/{order['id']}/pick-list", headers=world.login("phil")
    ).json()
    world.http.post(
        f"/orders/{order['id']}/pickup",
        headers={"Authorization": f"Bearer {token}"},
        json={"scanned_lot_codes": [line["scan_code"]]},
    ).raise_for_status()
    code = _patient_code(world, order)
    wrong = "1" * len(code) if code == "0" * len(code) else "0" * len(code)
    phone.context.set_geolocation({"latitude": HOME[0], "longitude": HOME[1]})
    page.goto(f"/ui/rider/#device-token={token}")
    page.wait_for_selector("[data-location=on]")  # a delivery needs the fix
    page.get_by_label("Patient's code").fill(wrong)
    page.get_by_role("button", name="Confirm delivery").click()
    refused = page.locator("[data-testid=queued][data-state=refused]")
    refused.wait_for()
    problem = refused.get_by_test_id("queued-problem").inner_text()
    assert "wrong code, 4 attempt(s) left" in problem
    assert world.get_order(order["id"])["status"] == "picked_up"
    page.get_by_role("button", name="Dismiss").click()
    page.get_by_test_id("queue").wait_for(state="detached")
    assert page.get_by_test_id("attempts-left").inner_text() == "4 tries left"
    assert serious_violations(page) == []
    page.watch.console_errors = [e for e in page.watch.console_errors if "422" not in e]
    page.watch.assert_clean()


def test_a_controlled_delivery_needs_the_id_check_and_a_signature(
    phone: Any, world: Driver, fresh_db: str
) -> None:
    """An order whose proof level asks for more shows the ID check and the
    signature pad; without a signature the app says so, with one it lands and
    the proof keeps the document type, last digits and the signature."""
    page = phone
    token, _ = _rider_with_order(world)
    start = datetime.now(UTC)
    body = {
        "patient_ref": "P-controlled",
        "patient": {"name": "Rita Grech", "phone": "+35699000001", "address": "Triq"},
        "delivery_location": {"lat": HOME[0], "lon": HOME[1]},
        "lines": [{"sku": SKU, "quantity": 1}],
        "window_start_at": start.isoformat(),
        "window_end_at": (start + timedelta(hours=3)).isoformat(),
        "proof_level": "otp_id_signature",
    }
    r = world.http.post(
        "/orders",
        headers={**world.login("dora"), "Idempotency-Key": "controlled-order-01"},
        json=body,
    )
    assert r.status_code == 201, r.text
    order = r.json()
    with world.live.services.db.transaction() as tx:
        fulfilment.assign_order(tx, order["id"], "rider-luca", actor="test:planner")
    [line] = world.http.get(
        f"/orders/{order['id']}/pick-list", headers=world.login("phil")
    ).json()
    world.http.post(
        f"/orders/{order['id']}/pickup",
        headers={"Authorization": f"Bearer {token}"},
        json={"scanned_lot_codes": [line["scan_code"]]},
    ).raise_for_status()
    phone.context.set_geolocation({"latitude": HOME[0], "longitude": HOME[1]})
    page.goto(f"/ui/rider/#device-token={token}")
    page.wait_for_selector("[data-location=on]")  # a delivery needs the fix
    stop = page.locator(f"[data-stop-id='{order['id']}:delivery']")
    stop.get_by_label("Patient's code").fill(_patient_code(world, order))
    stop.get_by_label("Document", exact=True).select_option("passport")
    stop.get_by_label("Last 2–4 characters of the document").fill("k7x")
    stop.get_by_role("button", name="Confirm delivery").click()
    assert stop.get_by_text("The recipient must sign.").is_visible()
    pad = stop.get_by_role("img", name="Recipient's signature").bounding_box()
    assert pad is not None
    page.mouse.move(pad["x"] + 20, pad["y"] + 40)
    page.mouse.down()
    for k in range(1, 8):
        page.mouse.move(pad["x"] + 20 + 30 * k, pad["y"] + 40 + (15 if k % 2 else -10))
    page.mouse.up()
    stop.get_by_role("button", name="Confirm delivery").click()
    _wait(
        page,
        lambda: world.get_order(order["id"])["status"] == "delivered",
        "the controlled delivery",
    )
    with psycopg.connect(fresh_db) as conn:
        row = conn.execute(
            "SELECT method, id_document_type, id_last_digits, signature"
            " FROM dispatch.proof_of_delivery WHERE order_id = %s",
            (order["id"],),
        ).fetchone()
    assert row is not None
    method, document, digits, signature = row
    assert (method, document, digits) == ("otp+id+signature", "passport", "K7X")
    assert str(signature).startswith("<svg")  # vector strokes, not a photo
    assert serious_violations(page) == []
    page.watch.assert_clean()


def test_a_failed_delivery_is_reported_with_its_reason(
    phone: Any, world: Driver, fresh_db: str
) -> None:
    """Nobody at home: the rider picks the reason and the order fails with it."""
    page = phone
    token, order = _rider_with_order(world)
    [line] = world.http.get(
        f"/orders/{order['id']}/pick-list", headers=world.login("phil")
    ).json()
    world.http.post(
        f"/orders/{order['id']}/pickup",
        headers={"Authorization": f"Bearer {token}"},
        json={"scanned_lot_codes": [line["scan_code"]]},
    ).raise_for_status()
    page.goto(f"/ui/rider/#device-token={token}")
    page.get_by_role("button", name="Cannot deliver…").click()
    page.get_by_label("Why the delivery failed").select_option("patient_absent")
    page.get_by_role("button", name="Report failure").click()
    _wait(
        page,
        lambda: world.get_order(order["id"])["status"] == "failed",
        "the failure",
    )
    failed = (
        "SELECT count(*) FROM dispatch.audit_entry WHERE action = 'order.transition'"
        " AND subject_id = %s AND details->>'to' = 'failed'"
    )
    assert _count(fresh_db, failed, order["id"]) == 1
    page.get_by_text("No stops for now").wait_for()
    assert serious_violations(page) == []
    page.watch.assert_clean()


def test_the_map_tab_draws_the_route_from_our_origin(phone: Any, world: Driver) -> None:
    """The Map tab draws the stops on the bundled basemap: nothing off the
    origin, no console error, no serious axe finding."""
    page = phone
    token, _ = _rider_with_order(world)
    page.goto(f"/ui/rider/#device-token={token}")
    page.get_by_test_id("stop").first.wait_for()
    page.get_by_role("button", name="Map").click()
    page.wait_for_selector("[data-testid=rider-map][data-ready=true]", timeout=90_000)
    assert page.get_by_test_id("stop").count() == 0
    assert serious_violations(page) == []
    page.watch.assert_clean()
