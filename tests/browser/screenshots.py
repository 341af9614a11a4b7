"""Screenshots of the web UI for the README: ``python -m tests.browser.screenshots``
(``make screenshots``).

Starts the real app (re-planner on) on a fresh database of the PostgreSQL named
by ``DATABASE_URL`` (or an embedded one), plays a small morning on Malta through
the API (pharmacies, riders on shift, orders; the engine plans them; a few are
picked up, delivered, failed or held; one rider's phone goes quiet), then has
headless Chromium sign in and take PNGs of the sign-in page and the
dispatcher's map in light and dark mode, a patient's tracking page (an order on
its way) on a phone-sized window in light and dark mode, the pharmacist's
console on a hold placed for a cold box that ran warm, and that rider's phone
(list and map).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatch.adapters.postgres.database import create_database, drop_database, migrate
from dispatch.adapters.postgres.embedded import start_embedded_postgres
from dispatch.holds.commands import place_hold
from dispatch.holds.reasons import HoldReason
from telemetry import excursion_store
from telemetry.excursions import detect_episodes
from telemetry.model import BoxId, Reading
from telemetry.store import TelemetryStore
from tests.browser.stack import PASSWORD, PLACES, Driver, LiveApp, serving, settings_for

if TYPE_CHECKING:
    from playwright.sync_api import ViewportSize

CHROMIUM = "/usr/bin/chromium"
VIEWPORT: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}

RIDERS = {
    "rider-luca": ("Luca Zammit", "Sliema"),
    "rider-maria": ("Maria Borg", "Birkirkara"),
    "rider-john": ("John Farrugia", "Paola"),
    "rider-ana": ("Ana Vella", "Mosta"),
    "rider-karl": ("Karl Grech", "Żejtun"),
    "rider-rita": ("Rita Camilleri", "Qormi"),
}
PHARMACIES = {
    "ph-valletta": "Valletta",
    "ph-birkirkara": "Birkirkara",
    "ph-mosta": "Mosta",
    "ph-paola": "Paola",
    "ph-stjulians": "St Julian's",
}
HOMES = [
    "Gżira",
    "Msida",
    "Ħamrun",
    "Fgura",
    "Żabbar",
    "Marsaskala",
    "Naxxar",
    "Attard",
    "Luqa",
    "Siġġiewi",
    "Żebbuġ",
    "Marsa",
    "Rabat",
    "Qawra",
    "Birżebbuġa",
    "Mellieħa",
]


def log(text: str) -> None:
    """Progress on stderr."""
    print(f"[screenshots] {text}", file=sys.stderr, flush=True)  # noqa: T201


@contextmanager
def fresh_database() -> Iterator[str]:
    """A migrated database of its own, dropped afterwards."""
    admin = os.environ.get("DATABASE_URL")
    data_dir: Path | None = None
    if not admin:
        data_dir = Path(f"/tmp/rxd-shots-{uuid.uuid4().hex[:8]}")
        admin = start_embedded_postgres(data_dir)
    name = f"rxd_shots_{uuid.uuid4().hex[:10]}"
    url = create_database(admin, name)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(admin, name)
        if data_dir is not None:
            shutil.rmtree(data_dir, ignore_errors=True)


def _wait(what: str, check: Any, timeout_s: float = 90) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise SystemExit(f"timed out waiting for {what}")


def _pick_up(world: Driver, order: dict[str, Any], rider_id: str) -> None:
    """The rider collects ``order`` at its pharmacy and is seen there."""
    world.position(rider_id, **world.pick_up(order, rider_id))


def _next(world: Driver, rider_id: str) -> dict[str, Any] | None:
    """The rider's next stop when it is a delivery (their route as they see it)."""
    route = world.http.get("/riders/me/route", headers=world.device(rider_id))
    stops: list[dict[str, Any]] = route.json()["stops"]
    if stops and all(stop["kind"] == "delivery" for stop in stops):
        return stops[0]
    return None


def play_morning(world: Driver) -> tuple[str, str]:
    """Seed the city and move some orders along their lifecycle; the tracking
    token of an order on its way (the third rider's first) and that rider."""
    world.staff()
    world.catalogue(PHARMACIES)
    for rider_id, (name, place) in RIDERS.items():
        world.rider(rider_id, name, place)
    orders = [
        world.order(
            *PLACES[home],
            window_h=0.05 if i in (3, 9) else 2.5,
            priority="urgent" if i % 5 == 0 else "standard",
        )
        for i, home in enumerate(HOMES)
    ]
    log(f"{len(orders)} orders placed; waiting for the engine's plan")
    dora = world.login("dora")

    def assigned() -> list[dict[str, Any]]:
        page = world.http.get(
            "/orders", headers=dora, params={"status": "assigned", "limit": 100}
        ).json()
        items: list[dict[str, Any]] = page["items"]
        return items if len(items) >= 6 else []

    mine = _wait("assigned orders", assigned)
    by_rider: dict[str, list[dict[str, Any]]] = {}
    for order in mine:
        by_rider.setdefault(order["rider_id"], []).append(order)
    riders = sorted(by_rider)
    phil = world.login("phil")
    # picked up: the first order of the first two riders, all of the third's
    for rider_id in riders[:3]:
        for order in by_rider[rider_id][: None if rider_id == riders[2] else 1]:
            _pick_up(world, order, rider_id)
    # delivered: the first of them hands it over with the patient's code
    first = by_rider[riders[0]][0]
    token = world.patient_token(first["id"])
    [message] = world.http.get(f"/track/{token}/messages").json()
    code = re.search(r"\d{4,8}", message["body"])
    assert code is not None
    world.http.post(
        f"/orders/{first['id']}/delivery",
        headers=world.device(riders[0]),
        json={"otp": code.group(0), "position": first["delivery_location"]},
    ).raise_for_status()
    # failed: the second rider's patient was not at home
    second = by_rider[riders[1]][0]
    world.http.post(
        f"/orders/{second['id']}/failure",
        headers=world.device(riders[1]),
        json={"reason": "patient_absent", "position": second["delivery_location"]},
    ).raise_for_status()
    # on hold: a pharmacist wants to look at one before it goes on
    held = by_rider[riders[-1]][-1]
    world.http.post(
        "/holds",
        headers=phil,
        json={
            "reason": "pharmacist_request",
            "note": "check the seal",
            "order_ids": [held["id"]],
        },
    ).raise_for_status()
    # the patient whose delivery is the third rider's next stop
    on_its_way = _wait(
        "the third rider's next delivery", lambda: _next(world, riders[2])
    )
    # the patient opens their own link (texted to them), which shows their code
    tracked = world.patient_token(on_its_way["order_id"])
    # a cold box runs warm: another order it carries waits for the pharmacist
    warm = next(
        (o for o in by_rider[riders[2]] if o["id"] != on_its_way["order_id"]),
        by_rider[riders[0]][-1],
    )
    cold_excursion(world, warm["rider_id"], warm["id"])
    # riders move a little; one phone went quiet ten minutes ago
    for rider_id, (_, place) in list(RIDERS.items())[1:4]:
        lat, lon = PLACES[place]
        world.position(rider_id, lat + 0.004, lon + 0.006)
    quiet = "rider-rita"
    lat, lon = PLACES[RIDERS[quiet][1]]
    world.http.post(
        "/riders/me/position",
        headers=world.device(quiet),
        json={
            "lat": lat - 0.003,
            "lon": lon + 0.004,
            "at": (datetime.now(UTC) - timedelta(minutes=10)).isoformat(),
        },
    ).raise_for_status()
    # the tracked order's rider sets off towards the patient
    order = world.get_order(on_its_way["order_id"])
    home = order["delivery_location"]
    pharmacy = world.http.get(
        f"/pharmacies/{order['pharmacy_id']}", headers=phil
    ).json()["location"]
    world.position(
        riders[2],
        (pharmacy["lat"] * 2 + home["lat"]) / 3,
        (pharmacy["lon"] * 2 + home["lon"]) / 3,
    )
    return tracked, riders[2]


def _box_temp(minute: int) -> float:
    """4-6 °C, then from minute 50 warming past 8 °C and staying there."""
    if minute >= 50:
        return round(
            min(11.2, 8.4 + 0.12 * (minute - 50))
            + 0.3 * ((minute * 3) % 4 - 1.5) / 1.5,
            1,
        )
    return round(5.0 + 0.6 * ((minute * 7) % 5 - 2) / 2, 1)


def cold_excursion(world: Driver, rider_id: str, order_id: str) -> None:
    """A box running warm for over an hour: readings stored as the ingest
    would, the episode detected and the carried order held as telemetry does,
    the box quarantined."""
    box = "box-" + rider_id.removeprefix("rider-")
    dora = world.login("dora")
    world.http.post(
        "/cold-boxes",
        headers=dora,
        json={"id": box, "profile_code": "refrigerated", "rider_id": rider_id},
    ).raise_for_status()
    t0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    readings = [
        Reading(BoxId(box), m, t0 + timedelta(minutes=m), _box_temp(m))
        for m in range(118)
    ]
    services = world.live.services
    store = TelemetryStore(services.database_url)
    try:
        store.write_batch(readings)
        episodes = detect_episodes(readings, store.box_rules()[BoxId(box)])
        with store.transaction() as conn:
            [excursion_id] = excursion_store.reconcile(
                conn,
                BoxId(box),
                episodes[:1],
                profile_code="refrigerated",
                retract_from=None,
                now=datetime.now(UTC),
            )
    finally:
        store.close()
    with services.db.transaction() as tx:
        place_hold(
            tx,
            reason=HoldReason.TEMPERATURE_EXCURSION,
            actor="telemetry",
            order_ids=[order_id],
            box_id=box,
            excursion_ref=f"telemetry.excursion:{excursion_id}",
        )
    world.http.post(
        f"/cold-boxes/{box}/quarantine",
        headers=dora,
        json={"reason": "above 8 °C since an hour"},
    ).raise_for_status()


def shoot_rider(browser: Any, live: LiveApp, out: Path, token: str) -> list[Path]:
    """The rider app on a phone: the route list, then the map."""
    taken: list[Path] = []
    start = world_position(live, token)
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        base_url=live.base_url,
        geolocation={"latitude": start[0], "longitude": start[1]},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.goto(f"/ui/rider/#device-token={token}")
    page.wait_for_selector("[data-testid=connection][data-state=live]")
    page.get_by_test_id("stop").first.wait_for()
    page.wait_for_timeout(800)
    taken.append(out / "rider.png")
    page.screenshot(path=str(taken[-1]))
    page.get_by_role("button", name="Map").click()
    page.wait_for_selector("[data-testid=rider-map][data-ready=true]", timeout=90_000)
    page.wait_for_timeout(2500)
    taken.append(out / "rider-map.png")
    page.screenshot(path=str(taken[-1]))
    context.close()
    return taken


def world_position(live: LiveApp, token: str) -> tuple[float, float]:
    """Where the rider's first stop is (the phone's fake GPS starts there)."""
    route = live.http.get(
        "/riders/me/route", headers={"Authorization": f"Bearer {token}"}
    ).json()
    first = route["stops"][0]["location"] if route["stops"] else None
    return (first["lat"], first["lon"]) if first else PLACES["Valletta"]


def shoot(
    live: LiveApp, out: Path, tracking_token: str, rider_token: str
) -> list[Path]:
    """Sign in through the form and take the PNGs; then the patient's page,
    the pharmacist's console and the rider's phone."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        context = browser.new_context(viewport=VIEWPORT, base_url=live.base_url)
        page = context.new_page()
        page.goto("/ui/login/?reason=Your%20session%20has%20expired.")
        page.fill("#username", "dora")
        page.wait_for_timeout(300)
        taken.append(out / "login.png")
        page.screenshot(path=str(taken[-1]))
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/ui/dispatcher/$"))
        page.wait_for_function(
            "() => window.rxdMap && window.rxdMap.ready", timeout=90_000
        )
        page.wait_for_selector("[data-testid=connection][data-state=live]")
        page.wait_for_timeout(1500)
        page.keyboard.press("f")
        page.wait_for_timeout(2500)
        taken.append(out / "dispatcher.png")
        page.screenshot(path=str(taken[-1]))
        page.keyboard.press("e")
        page.keyboard.press("2")
        page.keyboard.press("d")
        page.wait_for_timeout(2500)
        taken.append(out / "dispatcher-dark.png")
        page.screenshot(path=str(taken[-1]))
        context.close()
        for scheme in ("light", "dark"):
            phone = browser.new_context(
                viewport={"width": 420, "height": 1100},
                device_scale_factor=2,
                color_scheme=scheme,
                base_url=live.base_url,
            )
            patient = phone.new_page()
            patient.goto(f"/ui/track/#{tracking_token}")
            patient.wait_for_selector("[data-testid=connection][data-state=live]")
            patient.wait_for_selector(
                "[data-testid=track-map][data-state=ready]", timeout=90_000
            )
            patient.wait_for_timeout(2500)
            taken.append(out / f"patient-{scheme}.png")
            patient.screenshot(path=str(taken[-1]), full_page=True)
            phone.close()
        # the pharmacist signs in on their own: the login sends them to the console
        context = browser.new_context(viewport=VIEWPORT, base_url=live.base_url)
        page = context.new_page()
        page.goto("/ui/login/")
        page.fill("#username", "phil")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/ui/pharmacist/$"))
        page.wait_for_selector("[data-testid=connection][data-state=live]")
        page.click("[data-testid=hold-row][data-reason=temperature_excursion]")
        page.wait_for_selector("[data-testid=chart-plot][data-drawn=true]")
        page.wait_for_timeout(800)
        taken.append(out / "pharmacist.png")
        page.screenshot(path=str(taken[-1]))
        page.click("[data-testid=reject]")
        page.wait_for_selector("[data-testid=confirm-dialog]")
        page.fill(
            "[data-testid=decision-note]", "Over an hour above 8 °C; MKT over the limit"
        )
        page.wait_for_timeout(300)
        taken.append(out / "pharmacist-reject.png")
        page.screenshot(path=str(taken[-1]))
        context.close()
        taken += shoot_rider(browser, live, out, rider_token)
        browser.close()
    return taken


def main(argv: list[str] | None = None) -> int:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    with fresh_database() as url:
        settings = settings_for(url, run_replanner=True)
        settings.dispatch.replan_timer_s = 5
        with serving(settings) as live:
            log(f"app at {live.base_url}")
            world = Driver(live)
            token, rider = play_morning(world)
            rider_token = world.device(rider)["Authorization"].removeprefix("Bearer ")
            for path in shoot(live, args.out, token, rider_token):
                log(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
