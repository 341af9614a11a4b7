"""The simulator against the real system (PostgreSQL, MQTT broker, API).

- Simulated boxes (thermal model, loggers, injected faults) publish over the real
  broker to the real ingest worker; the readings arrive complete (also the backlog
  of a box that was offline) and a box whose lid was left open opens a
  temperature excursion close to the simulator's ground truth.
- The staff set-up registers a world through the real API, a patient's link
  shows their order, and the rider's GPS over ``/ws/rider`` reaches
  ``/ws/dispatch`` (websockets client against uvicorn).
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import uvicorn
from pydantic import SecretStr

from api.app import create_app
from api.services import AppSettings
from api.settings import ApiSettings
from dispatch.settings import ClockSettings, DatabaseSettings
from simulator.boxes import BoxUnit
from simulator.city import load_city
from simulator.client import ApiClient
from simulator.clock import WarpClock
from simulator.errors import ApiError
from simulator.live import Frame, LiveChannel, websocket_url
from simulator.report import compute_kpis, write_report
from simulator.runlog import OrderStatus
from simulator.runner import RunOptions, play
from simulator.scenario import BoxFailureMode
from simulator.scenario_fields import Fields, parse_cold_chain, parse_thermal
from simulator.scenario_loader import BUNDLED_DIR, load_scenario, parse_scenario
from simulator.sensors import MqttPublisher
from simulator.setup import register_world
from simulator.world import Outage, World, build_world
from telemetry.embedded_broker import free_port
from telemetry.ingest import IngestParams
from telemetry.service import IngestService
from telemetry.store import TelemetryStore

THERMAL = parse_thermal(Fields({}, "thermal", ""))
RULE = parse_cold_chain(Fields({}, "cold_chain", ""))
MINUTES = 45
SCENARIOS = BUNDLED_DIR


#: Bound of every wait on the server, the broker or the ingest worker. Generous on
#: purpose (a busy CI host is slow): a wait ends as soon as its condition holds.
WAIT_S = 120.0


def wait_for(
    predicate: Callable[[], bool], what: str, timeout_s: float = WAIT_S
) -> None:
    """Poll until ``predicate`` holds (not a timing assertion: a generous bound)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def rows(url: str, query: str, *params: object) -> list[tuple[object, ...]]:
    """All rows of ``query``."""
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture
def prefix(unique_id: str) -> str:
    """A topic prefix of our own on the shared broker."""
    return f"rxd-sim-{unique_id}/v1"


@pytest.fixture
def start() -> datetime:
    """The first reading's time: the run replays the last 45 minutes."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=MINUTES)


@pytest.fixture
def boxes(unique_id: str, prefix: str, start: datetime) -> dict[str, BoxUnit]:
    """A healthy box, one whose lid is left open, one whose uplink drops."""
    rng = random.Random(5)
    ok, hot, gap = (f"sim-{kind}-{unique_id}" for kind in ("ok", "hot", "gap"))
    outage = Outage(0, start + timedelta(minutes=5), start + timedelta(minutes=15))
    fail = (start + timedelta(minutes=2), BoxFailureMode.LID_LEFT_OPEN)
    make = BoxUnit.create
    return {
        "ok": make(ok, THERMAL, RULE, rng=rng, topic_prefix=prefix),
        "hot": make(hot, THERMAL, RULE, rng=rng, failure=fail, topic_prefix=prefix),
        "gap": make(
            gap, THERMAL, RULE, rng=rng, outages=(outage,), topic_prefix=prefix
        ),
    }


@pytest.fixture
def ingest(
    fresh_db: str, mqtt_url: str, unique_id: str, prefix: str, boxes: dict[str, BoxUnit]
) -> Iterator[IngestService]:
    """The real ingest worker on a fresh database, our boxes registered."""
    store = TelemetryStore(fresh_db)
    for box in boxes.values():
        store.register_box(box.box_ref, report_interval_s=30)
    store.close()
    service = IngestService(
        database_url=fresh_db,
        mqtt_url=mqtt_url,
        client_id=f"ingest-{unique_id}",
        params=IngestParams(topic_prefix=prefix),
    )
    with service:
        # a message published before the SUBACK would not reach the worker
        wait_for(service.transport.subscribed.is_set, "the ingest subscription")
        yield service


def test_simulated_boxes_reach_telemetry(
    ingest: IngestService,
    boxes: dict[str, BoxUnit],
    fresh_db: str,
    mqtt_url: str,
    unique_id: str,
    start: datetime,
) -> None:
    """All readings are stored once (the offline box's backlog too) and the box
    with the lid left open opens one high-temperature excursion."""
    publisher = MqttPublisher(mqtt_url, client_id=f"sim-{unique_id}")
    publisher.start()
    ticks = MINUTES * 2
    try:
        for i in range(ticks):
            at = start + timedelta(seconds=30 * i)
            for box in boxes.values():
                for message in box.tick(at, 30.0, (35.9, 14.5)):
                    publisher.publish(message)
        assert publisher.flush(WAIT_S), "broker did not acknowledge every message"
    finally:
        publisher.stop()
    refs = [box.box_ref for box in boxes.values()]
    count = "SELECT count(*) FROM telemetry.reading WHERE box_id = ANY(%s)"
    wait_for(lambda: rows(fresh_db, count, refs)[0][0] == ticks * 3, "all readings")
    for box in boxes.values():
        seqs = rows(
            fresh_db,
            "SELECT seq FROM telemetry.reading WHERE box_id = %s ORDER BY seq",
            box.box_ref,
        )
        assert [s for (s,) in seqs] == list(range(1, ticks + 1))
    dead = rows(fresh_db, "SELECT reason FROM telemetry.dead_letter")
    assert dead == []
    truth = boxes["hot"].injected()
    assert truth is not None
    assert truth.true_excursion_at is not None
    high = (
        "SELECT box_id, started_at FROM telemetry.excursion "
        "WHERE kind = 'temperature_high' AND retracted_at IS NULL"
    )
    wait_for(lambda: bool(rows(fresh_db, high)), "an excursion")
    ((box_id, started_at),) = rows(fresh_db, high)
    assert box_id == boxes["hot"].box_ref
    assert isinstance(started_at, datetime)
    assert truth.true_exit_at is not None
    assert abs(started_at - truth.true_exit_at) <= timedelta(minutes=2)


@pytest.mark.parametrize("name", ["short", "standard"])
def test_ground_truth_mirrors_the_engines_cold_chain_rule(
    fresh_db: str, name: str
) -> None:
    """A bundled scenario's excursion ground truth is the rule telemetry applies
    to a refrigerated dispatch cold box (``telemetry.box_rules``), so detection
    delays compare like with like; its window covers the whole simulated day."""
    box = f"probe-box-{name}"
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO dispatch.cold_box (id, profile_code) "
            "VALUES (%s, 'refrigerated')",
            (box,),
        )
    ((low, high, hysteresis, delay, budget, window),) = rows(
        fresh_db,
        "SELECT low_c, high_c, hysteresis_c, single_event_delay_s, "
        "cumulative_budget_s, cumulative_window_s "
        "FROM telemetry.box_rules WHERE box_id = %s",
        box,
    )
    rule = load_scenario(name).cold_chain
    assert (low, high, hysteresis) == (rule.low_c, rule.high_c, rule.hysteresis_c)
    assert (delay, budget) == (rule.single_event_delay_s, rule.cumulative_budget_s)
    assert isinstance(window, int)
    assert window >= 24 * 3600


# -- the simulator against the real API --------------------------------------------

ADMIN = ("sim-admin", "sim-admin-password-1")


@pytest.fixture
def api_url(fresh_db: str) -> Iterator[str]:
    """The real API app under uvicorn on a free port, with a bootstrap admin."""
    with _serving(fresh_db, ClockSettings()) as url:
        yield url


@contextmanager
def _serving(database_url: str, clock: ClockSettings) -> Iterator[str]:
    settings = AppSettings(
        api=ApiSettings(
            environment="test",
            run_migrations=False,
            city="none",
            ws_heartbeat_s=0.5,
            bootstrap_admin_username=ADMIN[0],
            bootstrap_admin_password=SecretStr(ADMIN[1]),
        ),
        database=DatabaseSettings(database_url=database_url, pool_max_size=4),
        clock=clock,
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws="websockets-sansio",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), "the API to start")
    assert server.started, "the API server stopped during start-up"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(WAIT_S)


@pytest.fixture(scope="module")
def short_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The short scenario's world on the bundled city, dated today: the API here
    runs on the real clock and refuses lots already expired by then."""
    city = load_city(cache_dir=tmp_path_factory.mktemp("city"))
    scenario = load_scenario(SCENARIOS / "short.toml")
    today = dataclasses.replace(scenario, day=datetime.now(UTC).date())
    return build_world(today, city)


async def _first_frame(frames: asyncio.Queue[Frame], kind: str) -> Frame:
    while True:
        frame = await asyncio.wait_for(frames.get(), timeout=WAIT_S)
        if frame.type == kind:
            return frame


def test_world_set_up_and_live_channels_through_the_api(
    api_url: str, short_world: World
) -> None:
    """Staff set-up registers the world (idempotently); a patient's link shows their
    order; a rider's GPS over /ws/rider reaches the dispatcher's /ws/dispatch."""

    async def scenario() -> None:
        client = ApiClient(api_url)
        try:
            token = await client.login(*ADMIN)
            registry = await register_world(client, token, short_world)
            assert registry.pharmacies_created == len(short_world.pharmacies)
            assert registry.lots_imported == len(short_world.stock)
            assert len(registry.device_tokens) == len(short_world.riders)
            again = await register_world(client, token, short_world)
            assert again.pharmacies_created == 0

            order = short_world.orders[0]
            now = datetime.now(UTC)
            body = {
                "patient_ref": f"sim-{order.ref}",
                "patient": {
                    "name": "Maria Borg",
                    "phone": "+356 79000001",
                    "address": "Residential street, Malta",
                },
                "delivery_location": {"lat": order.lat, "lon": order.lon},
                "lines": [{"sku": x.sku, "quantity": x.quantity} for x in order.lines],
                "window_start_at": now.isoformat(),
                "window_end_at": (now + timedelta(hours=1)).isoformat(),
            }
            created = await client.create_order(token, body, idempotency_key=order.ref)
            retried = await client.create_order(token, body, idempotency_key=order.ref)
            assert retried.order_id == created.order_id
            view = await client.tracking(created.tracking_token)
            assert view["status"] in {"preparing", "assigned"}

            device = registry.device_tokens[0]
            rider = short_world.riders[0]
            await client.start_shift(
                device,
                ends_at=now + timedelta(hours=2),
                lat=rider.start_pharmacy.lat,
                lon=rider.start_pharmacy.lon,
            )
            await _gps_reaches_dispatcher(api_url, token, device, rider.ref)
        finally:
            await client.aclose()

    asyncio.run(scenario())


async def _gps_reaches_dispatcher(
    api_url: str, staff_token: str, device: str, rider_ref: str
) -> None:
    rider_frames: asyncio.Queue[Frame] = asyncio.Queue()
    dispatch_frames: asyncio.Queue[Frame] = asyncio.Queue()
    rider = LiveChannel(
        websocket_url(api_url, "/ws/rider"), token=device, on_frame=rider_frames.put
    )
    desk = LiveChannel(
        websocket_url(api_url, "/ws/dispatch"),
        token=staff_token,
        on_frame=dispatch_frames.put,
    )
    tasks = [asyncio.create_task(rider.run()), asyncio.create_task(desk.run())]
    try:
        hello = await _first_frame(rider_frames, "hello")
        assert hello.data["subject_id"] == rider_ref
        await _first_frame(dispatch_frames, "hello")
        fix = {"lat": 35.9, "lon": 14.51, "at": datetime.now(UTC).isoformat()}
        assert await rider.send("position", fix)
        positions = await _first_frame(dispatch_frames, "positions")
        assert any(p["rider_id"] == rider_ref for p in positions.data)
    finally:
        await rider.stop()
        await desk.stop()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_refused_credentials_stop_the_live_channel(api_url: str) -> None:
    """A bad device token is refused with 1008 and the channel raises ApiError."""

    async def scenario() -> None:
        channel = LiveChannel(
            websocket_url(api_url, "/ws/rider"), token="rxd_dev_bogus", on_frame=_ignore
        )
        with pytest.raises(ApiError, match="authentication refused"):
            await asyncio.wait_for(channel.run(), timeout=WAIT_S)

    asyncio.run(scenario())


async def _ignore(frame: Frame) -> None:
    return None


# -- a small day end to end ---------------------------------------------------------


def _tiny_world(city_dir: Path, around: tuple[float, float] | None = None) -> World:
    """Two orders placed at 10:00 near one pharmacy, one scooter rider there."""
    city = load_city(cache_dir=city_dir)
    data = tomllib.loads((SCENARIOS / "short.toml").read_text(encoding="utf-8"))
    pharmacy = city.pharmacies[0]
    lat, lon = around or (pharmacy.lat, pharmacy.lon)
    data["scenario"].update({"open": "10:00", "close": "10:01", "speed": 1})
    data["city"] = {
        "bbox": [lat - 0.004, lon - 0.005, lat + 0.004, lon + 0.005],
        "pharmacy_limit": 1,
    }
    data["demand"].update({"orders": 2, "cold_share": 0.5, "urgent_share": 0.0})
    data["fleet"]["groups"] = [
        {
            "count": 1,
            "vehicle": "scooter",
            "cold_box_slots": 4,
            "shift_start": "10:00",
            "shift_end": "12:00",
            "controlled": True,
        }
    ]
    data["failures"] = {"patient_not_home_share": 0.0}
    return build_world(parse_scenario(data), city)


#: Time warp of the small day: the server runs on the simulator's clock.
SMALL_DAY_SPEED = 10.0


@pytest.fixture
def small_day(tmp_path: Path) -> World:
    """The small day's world (two orders near Valletta, one scooter rider)."""
    world = _tiny_world(tmp_path / "city", around=(35.8989, 14.5146))
    assert len(world.orders) == 2
    return world


@pytest.fixture
def small_day_clock(small_day: World) -> WarpClock:
    """The shared clock: the day starts a few seconds from now, at 10x."""
    start_at = small_day.scenario.start_at
    return WarpClock(start_at, SMALL_DAY_SPEED, wall_start_s=time.time() + 8.0)


@pytest.fixture
def warped_api_url(fresh_db: str, small_day_clock: WarpClock) -> Iterator[str]:
    """The real API on the small day's warped clock."""
    clock = ClockSettings(
        origin_at=small_day_clock.sim_start_at,
        wall_origin_s=small_day_clock.wall_start_s,
        speed=small_day_clock.speed,
    )
    with _serving(fresh_db, clock) as url:
        yield url


@pytest.mark.timeout(900)  # a generous bound: a busy host is slow
def test_small_day_end_to_end(
    warped_api_url: str,
    small_day: World,
    small_day_clock: WarpClock,
    mqtt_url: str,
    tmp_path: Path,
) -> None:
    """Orders placed by patients are planned, picked (lots from the API's pick
    list), carried and delivered with the code the patient read from their
    link; the KPI report is written. The server runs on the simulator's warped
    clock; the run ends once both orders are settled (delivered after about
    eight simulated minutes, under a minute of wall time). The day may last 30
    simulated minutes: each wall second the host is late costs ten of them."""
    options = RunOptions(
        api_url=warped_api_url,
        mqtt_url=mqtt_url,
        user=ADMIN[0],
        password=ADMIN[1],
        speed=SMALL_DAY_SPEED,
        server_clock="shared",
        duration_min=30,
        wall_start_s=small_day_clock.wall_start_s,
    )
    run_log = asyncio.run(play(small_day, options, tmp_path))
    statuses = [o.status for o in run_log.orders]
    assert statuses == [OrderStatus.DELIVERED, OrderStatus.DELIVERED], statuses
    kpis = compute_kpis(run_log)
    assert kpis.otp_failures == 0
    assert kpis.travel_km_per_order is not None
    paths = write_report(tmp_path / "report", [run_log])
    assert paths["png"].stat().st_size > 0
