"""The pharmacist console and the dispatcher's cold-chain alerts in Chromium,
against the real app with its MQTT ingest on the real broker: a box sensor's
out-of-range readings raise one banner on the map and a hold in the console;
the pharmacist rejects it and the replacement order shows on both screens."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from api.auth.principals import Role
from dispatch.orders import fulfilment
from telemetry.settings import TelemetrySettings
from telemetry.store import TelemetryStore
from tests.browser.conftest import (
    VIEWPORT,
    serious_violations,
    sign_in,
    watched_page,
)
from tests.browser.stack import (
    PASSWORD,
    PLACES,
    SKU,
    Driver,
    LiveApp,
    serving,
    settings_for,
)
from tests.browser.test_dispatcher import ORDERS_SOURCE, wait_for_feature
from tests.integration.api.test_cold_chain_live import _publish, _wait_until_ingesting

BOX = "box-7"
RIDER = "rider-cold"


@pytest.fixture
def topic_prefix() -> str:
    return f"rxd-test/{uuid.uuid4().hex[:10]}"


@pytest.fixture
def live_app(fresh_db: str, mqtt_url: str, topic_prefix: str) -> Iterator[LiveApp]:
    """The app with its ingest worker on the test broker (unique topics)."""
    settings = settings_for(fresh_db, run_ingest=True)
    settings.telemetry = TelemetrySettings(
        mqtt_url=mqtt_url,
        topic_prefix=topic_prefix,
        client_id=f"api-{uuid.uuid4().hex[:10]}",
        share_group=None,
    )
    with serving(settings) as live:
        _wait_until_ingesting(mqtt_url, topic_prefix, fresh_db)
        yield live


@pytest.fixture
def console(browser: Any, live_app: LiveApp) -> Iterator[Any]:
    """A second browser context for the pharmacist, watched like ``page``."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_app.base_url)
    context.set_default_timeout(30_000)
    page = watched_page(context, live_app.base_url)
    yield page
    context.close()


def carried_cold_order(world: Driver) -> dict[str, Any]:
    """A refrigerated order picked up by a rider whose cold box is ``BOX``."""
    ph, dora = world.login("phil"), world.login("dora")
    lat, lon = PLACES["Valletta"]
    location = {"lat": lat, "lon": lon}
    world._ok(
        world.http.post(
            "/pharmacies",
            headers=ph,
            json={
                "id": "ph-1",
                "name": "Valletta Pharmacy",
                "location": location,
                "licence_number": "L-1",
            },
        )
    )
    world._ok(
        world.http.post(
            "/products",
            headers=ph,
            json={"sku": SKU, "name": "Insulin pen", "storage_class": "refrigerated"},
        )
    )
    expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    lot = world._ok(
        world.http.post(
            "/pharmacies/ph-1/stock",
            headers=ph,
            json={
                "sku": SKU,
                "lot_number": "LOT-1",
                "expiry_date": expiry,
                "quantity": 50,
            },
        )
    )
    world._ok(
        world.http.post(
            "/riders",
            headers=dora,
            json={
                "id": RIDER,
                "name": "Luca Zammit",
                "vehicle_type": "scooter",
                "cold_box_slots": 2,
            },
        )
    )
    world._ok(
        world.http.post(
            "/cold-boxes",
            headers=dora,
            json={"id": BOX, "profile_code": "refrigerated", "rider_id": RIDER},
        )
    )
    order = world.order(*PLACES["Gżira"])
    services = world.live.services
    with services.db.transaction() as tx:
        fulfilment.assign_order(tx, order["id"], RIDER, actor="test:planner")
    device = {
        "Authorization": "Bearer " + services.auth.issue_device_token(rider_id=RIDER)
    }
    world._ok(
        world.http.post(
            f"/orders/{order['id']}/pickup",
            headers=device,
            json={"scanned_lot_ids": [lot["id"]], "position": location},
        )
    )
    return order


def sensor_batch(first_seq: int, minutes_ago: list[float], temp_c: float) -> bytes:
    """What the box's sensor publishes: a buffered array of readings."""
    now = datetime.now(UTC)
    return orjson.dumps(
        [
            {
                "seq": first_seq + i,
                "temp_c": temp_c,
                "ts": int((now - timedelta(minutes=m)).timestamp() * 1000),
            }
            for i, m in enumerate(minutes_ago)
        ]
    )


def stored_readings(world: Driver) -> int:
    r = world.http.get(f"/cold-boxes/{BOX}/readings", headers=world.login("phil"))
    return len(r.json()["readings"]) if r.status_code == 200 else 0


def wait_until(what: str, check: Any, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_excursion_over_mqtt_to_a_rejected_hold_and_its_replacement(
    page: Any,
    console: Any,
    world: Driver,
    mqtt_url: str,
    topic_prefix: str,
    tmp_path: Any,
) -> None:
    """Readings out of range: one banner on the map (however many readings),
    the hold live in the console with its chart (band drawn, MKT and minutes
    out shown); a rejection needs a note and a confirmation, and its
    replacement order shows in the console and on the dispatcher's map."""
    order = carried_cold_order(world)
    sign_in(page)  # dora, the dispatcher's map

    console.goto("/ui/login/")
    console.fill("#username", "phil")
    console.fill("#password", PASSWORD)
    console.click("button[type=submit]")
    console.wait_for_url(re.compile(r"/ui/pharmacist/$"))  # the role's page
    console.wait_for_selector("[data-testid=connection][data-state=live]")
    console.wait_for_selector("[data-testid=queue-empty]")

    topic = f"{topic_prefix}/boxes/{BOX}/telemetry"
    _publish(mqtt_url, topic, sensor_batch(1, [40 - i for i in range(31)], 12.0))
    page.wait_for_selector("[data-testid=cold-alert]", timeout=90_000)
    # more readings of the same excursion, one message each: still one banner
    for i, minute in enumerate([9.5, 9.0, 8.5, 8.0, 7.5, 7.0]):
        _publish(mqtt_url, topic, sensor_batch(100 + i, [minute], 13.0))
    wait_until("the later readings", lambda: stored_readings(world) >= 37)
    page.wait_for_timeout(1500)
    banners = page.locator("[data-testid=cold-alert]")
    assert banners.count() == 1
    alert_id = banners.first.get_attribute("data-alert-id") or ""
    assert re.fullmatch(r"excursion\.opened:\d+", alert_id)
    assert banners.first.get_attribute("data-kind") == "excursion"
    assert BOX in banners.first.inner_text()

    # the hold arrived live in the console
    row = console.locator("[data-testid=hold-row]")
    row.wait_for(timeout=60_000)
    assert row.count() == 1
    assert row.first.get_attribute("data-reason") == "temperature_excursion"
    assert f"box {BOX}" in row.first.inner_text()
    row.first.click()
    plot = console.locator("[data-testid=chart-plot][data-drawn=true]")
    plot.wait_for(timeout=60_000)
    assert (
        plot.get_attribute("data-band-low"),
        plot.get_attribute("data-band-high"),
    ) == ("2", "8")
    assert int(plot.get_attribute("data-out-of-band") or 0) >= 31
    assert console.locator("[data-testid=chart-plot] canvas").count() >= 1
    assert re.search(r"\d+(\.\d)? °C", console.inner_text("[data-testid=fact-mkt]"))
    assert re.search(
        r"\d+(\.\d)? min", console.inner_text("[data-testid=fact-minutes-out]")
    )
    assert console.inner_text("[data-testid=fact-peak]") == "13.0 °C"
    assert order["id"] in console.inner_text("[data-testid=held-orders]")
    assert (
        console.locator("[data-testid=audit-entry][data-action='hold.placed']").count()
        == 1
    )
    console.screenshot(path=str(tmp_path / "console-hold.png"))
    assert serious_violations(console) == []

    # reject: confirmation, and the note is required
    console.click("[data-testid=reject]")
    dialog = console.locator("[data-testid=confirm-dialog]")
    dialog.wait_for()
    console.click("[data-testid=confirm-decision]")
    console.wait_for_selector("[data-testid=note-missing]")
    assert console.locator("[data-testid=decision]").count() == 0
    assert serious_violations(console) == []
    console.fill("[data-testid=decision-note]", "31 min at 12-13 C; MKT over limit")
    console.click("[data-testid=confirm-decision]")
    replacement = console.locator("[data-testid=replacement-order]")
    replacement.wait_for(timeout=60_000)
    replacement_id = replacement.first.get_attribute("data-order-id") or ""
    assert replacement_id
    assert replacement_id != order["id"]
    assert world.get_order(replacement_id)["replacement_of"] == order["id"]
    console.wait_for_selector("[data-testid=hold-record][data-decision=rejected]")
    console.wait_for_selector("[data-testid=audit-entry][data-action='hold.rejected']")
    console.wait_for_selector("[data-testid=queue-empty]")

    # the excursion quarantined the box: the pharmacist clears it
    console.wait_for_selector("[data-testid=box-status][data-quarantined=true]")
    console.click("[data-testid=clear-box]")
    console.click("[data-testid=confirm-decision]")
    console.wait_for_selector("[data-testid=box-status][data-quarantined=false]")
    console.screenshot(path=str(tmp_path / "console-rejected.png"))

    # the replacement order is on the dispatcher's map
    wait_for_feature(
        page, ORDERS_SOURCE, "(f, id) => f.properties.id === id", replacement_id
    )

    # acknowledged: the banner goes, and stays gone after a resync
    page.click(f"[data-alert-id='{alert_id}'] button")
    page.wait_for_selector("[data-testid=cold-alert]", state="detached")
    page.evaluate("() => window.rxdLive.reconnectNow()")
    page.wait_for_selector("[data-testid=connection][data-state=live]")
    page.wait_for_timeout(2000)
    assert page.locator("[data-testid=cold-alert]").count() == 0
    assert serious_violations(page) == []

    page.watch.assert_clean()
    console.watch.assert_clean()


def test_a_dropped_feed_shows_reconnecting_and_resyncs_the_queue(
    console: Any, world: Driver
) -> None:
    """While the console's feed is down it says so; a hold placed meanwhile
    is in the queue once it is back (a full re-read at reconnect)."""
    order = carried_cold_order(world)
    console.goto("/ui/pharmacist/")
    console.wait_for_url(re.compile(r"/ui/login/"))
    console.fill("#username", "phil")
    console.fill("#password", PASSWORD)
    console.click("button[type=submit]")
    console.wait_for_url(re.compile(r"/ui/pharmacist/$"))
    console.wait_for_selector("[data-testid=connection][data-state=live]")
    console.wait_for_selector("[data-testid=queue-empty]")

    # the feed drops and every reconnect is refused, for now
    blocked = [True]

    def feed(ws: Any) -> None:
        if blocked[0]:
            ws.close(code=1011, reason="test: down")
        else:
            ws.connect_to_server()

    console.route_web_socket(re.compile(r"/ws/dispatch"), feed)
    console.evaluate("() => window.rxdLive.reconnectNow()")
    console.wait_for_selector("[data-testid=reconnecting-banner]")
    world._ok(
        world.http.post(
            "/holds",
            headers=world.login("dora"),
            json={
                "reason": "damaged",
                "order_ids": [order["id"]],
                "note": "seal broken",
            },
        )
    )
    blocked[0] = False
    console.evaluate("() => window.rxdLive.reconnectNow()")
    console.wait_for_selector(
        "[data-testid=connection][data-state=live]", timeout=60_000
    )
    row = console.locator("[data-testid=hold-row][data-reason=damaged]")
    row.wait_for(timeout=60_000)
    assert console.locator("[data-testid=reconnecting-banner]").count() == 0

    # another pharmacist decides first: the console's release is refused with
    # the problem's title, in the dialog, the note kept
    row.click()
    console.wait_for_selector("[data-testid=hold-record][data-decision=open]")
    console.click("[data-testid=release]")
    console.fill("[data-testid=decision-note]", "seal checked, intact")
    hold_id = row.get_attribute("data-hold-id")
    ph = world.login("phil")
    world._ok(world.http.post(f"/holds/{hold_id}/release", headers=ph, json={}))
    refused = world.http.post(f"/holds/{hold_id}/release", headers=ph, json={})
    assert refused.status_code == 409
    console.click("[data-testid=confirm-decision]")
    problem = console.locator("[data-testid=decision-problem]")
    problem.wait_for()
    assert refused.json()["title"] in problem.inner_text()
    assert console.input_value("[data-testid=decision-note]") == "seal checked, intact"
    console.click("text=Cancel")
    console.wait_for_selector("[data-testid=hold-record][data-decision=released]")
    console.wait_for_selector("[data-testid=queue-empty]")
    assert serious_violations(console) == []


def test_a_revoked_credential_leads_to_sign_in_with_the_reason(
    console: Any, world: Driver
) -> None:
    """A token the server no longer accepts: back to sign-in, saying why."""
    world.user("pia", Role.pharmacist)
    console.goto("/ui/login/")
    console.fill("#username", "pia")
    console.fill("#password", PASSWORD)
    console.click("button[type=submit]")
    console.wait_for_url(re.compile(r"/ui/pharmacist/$"))
    console.wait_for_selector("[data-testid=connection][data-state=live]")
    console.evaluate(
        """() => {
            const s = JSON.parse(sessionStorage.getItem('rxd.session'));
            s.token = s.token.slice(0, -4) + 'AAAA';
            sessionStorage.setItem('rxd.session', JSON.stringify(s));
        }"""
    )
    console.reload()
    console.wait_for_url(re.compile(r"/ui/login/"), timeout=60_000)
    console.wait_for_selector("[data-testid=login-reason]")
    assert console.inner_text("[data-testid=login-reason]").strip()


def test_a_silent_box_raises_its_own_banner(
    page: Any, world: Driver, mqtt_url: str, topic_prefix: str, fresh_db: str
) -> None:
    """A box that reports every 5 s falls quiet after one message: the
    silence monitor's alert is one "Box silent" banner, not an excursion."""
    world._ok(
        world.http.post(
            "/cold-boxes",
            headers=world.login("dora"),
            json={"id": BOX, "profile_code": "refrigerated"},
        )
    )
    store = TelemetryStore(fresh_db)
    try:  # the sensor's registration: silent after 2 x 5 s
        store.register_box(BOX, report_interval_s=5, silent_after_intervals=2)
    finally:
        store.close()
    sign_in(page)
    topic = f"{topic_prefix}/boxes/{BOX}/telemetry"
    _publish(mqtt_url, topic, sensor_batch(1, [0.2, 0.1, 0], 5.0))
    banner = page.locator("[data-testid=cold-alert][data-kind=box_silent]")
    banner.wait_for(timeout=90_000)
    page.wait_for_timeout(6000)  # a few more rounds of the silence monitor
    assert page.locator("[data-testid=cold-alert]").count() == 1
    assert banner.inner_text().startswith("Box silent")
    assert BOX in banner.inner_text()
    assert serious_violations(page) == []
    page.watch.assert_clean()
