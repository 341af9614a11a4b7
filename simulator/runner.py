"""Run a scenario against a live system: set up, play the day, report.

``python -m simulator run SCENARIO.toml --api URL --mqtt URL``. The system must
either run on the same warped clock as the simulator (``--server-clock shared``,
any ``--speed``) or on real time (``--server-clock real``, ``--speed 1`` only).
A shared clock is three numbers: start the server with
``RXDISPATCH_CLOCK_ORIGIN_AT`` (the scenario start), ``RXDISPATCH_CLOCK_SPEED`` and
``RXDISPATCH_CLOCK_WALL_ORIGIN_S`` (a Unix time), and pass that same Unix time as
``--wall-start-s`` (``WarpClock.server_env`` builds the variables).
Staff credentials come from ``--user``/``--password`` or the API's bootstrap
admin variables (``API_BOOTSTRAP_ADMIN_USERNAME``/``_PASSWORD``), the broker URL
from ``--mqtt`` or ``MQTT_URL``: through the environment, a password in it stays
out of the process list.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from simulator.agents import RiderAgent
from simulator.boxes import BoxUnit
from simulator.city import load_city
from simulator.client import ApiClient
from simulator.clock import WarpClock
from simulator.context import RunContext
from simulator.desk import place_orders, sweep_alerts, sweep_statuses, watch_holds
from simulator.errors import ApiUnavailable, SimulatorError
from simulator.motion import RiderMotion
from simulator.report import compute_kpis, format_table, write_report
from simulator.roads import RoadGraph
from simulator.runlog import OrderStatus, RunLog
from simulator.sensors import MqttPublisher
from simulator.setup import register_world
from simulator.wire import TOPIC_PREFIX
from simulator.world import World

__all__ = ["RunOptions", "add_run_arguments", "play", "run_options", "run_scenario"]

log = logging.getLogger(__name__)

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
_PROGRESS_EVERY_S = 5.0
_LAG_PROBE_S = 0.25


def add_run_arguments(run: argparse.ArgumentParser) -> None:
    """The ``run`` command's options."""
    run.add_argument("scenario")
    run.add_argument("--api", default="http://127.0.0.1:8000", help="API base URL")
    run.add_argument(
        "--mqtt",
        help=f"broker URL (default $MQTT_URL or {DEFAULT_MQTT_URL}; prefer the "
        "variable when the URL carries a password: arguments are public in ps)",
    )
    run.add_argument("--speed", type=float, help="time warp (default: scenario's)")
    run.add_argument(
        "--duration", type=float, help="stop after this many simulated minutes"
    )
    run.add_argument(
        "--server-clock",
        choices=("shared", "real"),
        default="shared",
        help="shared: the system runs on the simulator's warped clock; "
        "real: it runs on real time (then --speed must be 1)",
    )
    run.add_argument(
        "--wall-start-s",
        type=float,
        help="Unix time at which the scenario starts (the server's "
        "RXDISPATCH_CLOCK_WALL_ORIGIN_S); default: now",
    )
    run.add_argument(
        "--user", help="staff user (default $API_BOOTSTRAP_ADMIN_USERNAME)"
    )
    run.add_argument("--password", help="(default $API_BOOTSTRAP_ADMIN_PASSWORD)")
    run.add_argument(
        "--topic-prefix",
        default=TOPIC_PREFIX,
        help="MQTT topic prefix of the boxes (the server's TELEMETRY_TOPIC_PREFIX)",
    )
    run.add_argument("--policy", default="engine", help="policy label in the report")
    run.add_argument("--out", default="var/run", help="folder for run log and report")
    run.add_argument(
        "--watch-file",
        type=Path,
        help="once an order first reaches a rider's route, write its id, patient "
        "tracking token and rider here (JSON, mode 0600): links for people "
        "watching the run",
    )


@dataclass(frozen=True)
class RunOptions:
    """How to reach the system and how to play the scenario."""

    api_url: str
    mqtt_url: str
    user: str
    password: str
    speed: float
    server_clock: str = "shared"  # "shared" | "real"
    duration_min: float | None = None
    policy: str = "engine"
    wall_start_s: float | None = None
    """Wall instant (``time.time``) of the scenario start; set it when the server
    was started on the same clock (``WarpClock.server_env``). None: now."""
    topic_prefix: str = TOPIC_PREFIX
    watch_file: Path | None = None
    """Where to write the first routed order's tracking token and rider."""


def run_scenario(args: argparse.Namespace, world: World, data_dir: Path) -> int:
    """The ``run`` command: play ``world``, write the run log and report."""
    options = run_options(args, world.scenario.speed)
    run_log = asyncio.run(play(world, options, data_dir, stop_on_signals=True))
    return _write(Path(args.out), run_log)


def run_options(args: argparse.Namespace, default_speed: float) -> RunOptions:
    """The ``run`` command's options; the staff sign-in and the broker URL from
    the environment unless given."""
    user = args.user or os.environ.get("API_BOOTSTRAP_ADMIN_USERNAME")
    password = args.password or os.environ.get("API_BOOTSTRAP_ADMIN_PASSWORD")
    if not user or not password:
        raise SimulatorError("staff credentials needed: --user/--password")
    return RunOptions(
        api_url=args.api,
        mqtt_url=args.mqtt or os.environ.get("MQTT_URL") or DEFAULT_MQTT_URL,
        user=user,
        password=password,
        speed=float(args.speed or default_speed),
        server_clock=args.server_clock,
        duration_min=args.duration,
        policy=args.policy,
        wall_start_s=args.wall_start_s,
        topic_prefix=args.topic_prefix,
        watch_file=args.watch_file,
    )


async def play(
    world: World,
    options: RunOptions,
    data_dir: Path,
    *,
    pick_list: Callable[[str], Awaitable[list[str]]] | None = None,
    stop_on_signals: bool = False,
) -> RunLog:
    """Set the world up in the system, play the day, return what happened.

    ``pick_list`` gives the label codes of an order's reserved lots (what the
    pharmacist hands the rider to scan); by default the staff user reads the
    API's pick list.
    ``stop_on_signals``: the first SIGINT/SIGTERM ends the day early (statuses
    are still settled and reported); a second one aborts.
    """
    if options.server_clock == "real" and options.speed != 1:
        raise SimulatorError(
            "a system on real time keeps step with the simulator only at --speed 1"
        )
    client = ApiClient(options.api_url)
    interrupted = asyncio.Event()
    restore = _stop_on_signals(interrupted) if stop_on_signals else _nothing
    try:
        if not await client.health():
            raise ApiUnavailable(f"no API answering at {options.api_url}")
        token = await client.login(options.user, options.password)
        registry = await register_world(client, token, world)
        ctx = _context(options, world, client, token)
        ctx.pick_list = pick_list or partial(client.pick_list, token)
        await _play(ctx, world, registry.device_tokens, data_dir, interrupted)
        await sweep_statuses(ctx)
        await sweep_alerts(ctx)
    finally:
        restore()
        await client.aclose()
    return ctx.log


def _nothing() -> None:
    return None


def _stop_on_signals(interrupted: asyncio.Event) -> Callable[[], None]:
    """Turn the first SIGINT/SIGTERM into ``interrupted``; returns the undo."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def restore() -> None:
        for sig in signals:
            loop.remove_signal_handler(sig)  # back to the default: a second aborts

    def stop(sig: signal.Signals) -> None:
        print(f"{sig.name}: ending the run early (again to abort)", flush=True)
        restore()
        interrupted.set()

    for sig in signals:
        loop.add_signal_handler(sig, stop, sig)
    return restore


def _context(
    options: RunOptions, world: World, client: ApiClient, token: str
) -> RunContext:
    scenario = world.scenario
    clock = WarpClock(scenario.start_at, options.speed)
    if options.wall_start_s is not None:
        clock = WarpClock(
            scenario.start_at, options.speed, wall_start_s=options.wall_start_s
        )
    offset = timedelta(0)
    if options.server_clock == "real":
        offset = datetime.now(UTC) - scenario.start_at
    end_at = max(r.shift_end_at for r in world.riders)
    if options.duration_min:
        end_at = min(
            end_at, scenario.start_at + timedelta(minutes=options.duration_min)
        )
    publisher = MqttPublisher(
        options.mqtt_url, client_id=f"rxd-sim-{uuid.uuid4().hex[:8]}"
    )
    run_log = RunLog(options.policy, scenario.name, scenario.start_at, end_at)
    return RunContext(
        world=world,
        clock=clock,
        client=client,
        staff_token=token,
        publisher=publisher,
        log=run_log,
        end_at=end_at,
        server_offset=offset,
        topic_prefix=options.topic_prefix,
        watch_file=options.watch_file,
    )


async def _play(
    ctx: RunContext,
    world: World,
    tokens: dict[int, str],
    data_dir: Path,
    interrupted: asyncio.Event,
) -> None:
    roads = RoadGraph(load_city(cache_dir=data_dir / "city"))
    riders = [_agent(ctx, world, roads, tokens[r.index], r.index) for r in world.riders]
    sensors = {a.box.sensor.box_id: a.box.sensor for a in riders if a.box is not None}
    ctx.publisher.answer_resends(sensors.get, ctx.topic_prefix)
    ctx.publisher.start()
    tasks = [asyncio.create_task(place_orders(ctx), name="patients")]
    tasks += [asyncio.create_task(a.run(), name=a.spec.ref) for a in riders]
    background = [
        asyncio.create_task(watch_holds(ctx), name="pharmacist"),
        asyncio.create_task(_progress(ctx), name="progress"),
    ]
    settled: asyncio.Future[Any] = asyncio.create_task(
        _until_settled(ctx, tasks[0]), name="settled"
    )
    everyone: asyncio.Future[Any] = asyncio.gather(*tasks)
    stop = asyncio.create_task(interrupted.wait(), name="interrupted")
    try:
        done, _ = await asyncio.wait(
            {everyone, settled, stop},
            timeout=max(0.0, ctx.clock.wall_time_of(ctx.end_at) - ctx.clock.wall()),
            return_when=asyncio.FIRST_COMPLETED,
        )
        for finished in done:
            finished.result()  # an agent's error ends the run with that error
    finally:
        ctx.stopping.set()
        for task in [*tasks, *background, settled, everyone, stop]:
            task.cancel()
        await asyncio.gather(
            *tasks, *background, settled, everyone, stop, return_exceptions=True
        )
        await asyncio.to_thread(ctx.publisher.flush, 10.0)
        ctx.publisher.stop()
    for agent in riders:
        ctx.log.legs.extend(agent.motion.legs)
        if agent.box is not None and (truth := agent.box.injected()) is not None:
            ctx.log.injected.append(truth)
        if agent.box is not None:
            ctx.log.natural.extend(agent.box.natural())
    ctx.log.ended_at = min(ctx.now(), ctx.end_at)


def _agent(
    ctx: RunContext, world: World, roads: RoadGraph, token: str, index: int
) -> RiderAgent:
    spec = world.riders[index]
    plan = world.failures
    start = roads.nearest_node(spec.start_pharmacy.lat, spec.start_pharmacy.lon)
    box = None
    if spec.box_ref is not None:
        failure = next(
            ((at, mode) for r, at, mode in plan.box_failures if r == index), None
        )
        box = BoxUnit.create(
            spec.box_ref,
            world.scenario.thermal,
            world.scenario.cold_chain,
            rng=random.Random(f"{world.scenario.seed}:box:{index}"),
            failure=failure,
            outages=tuple(o for o in plan.boxes_offline if o.rider == index),
            topic_prefix=ctx.topic_prefix,
            clock_offset=ctx.server_offset,
        )
    return RiderAgent(
        ctx=ctx,
        spec=spec,
        device_token=token,
        motion=RiderMotion(spec.ref, spec.vehicle, roads, start),
        box=box,
        outages=tuple(o for o in plan.riders_offline if o.rider == index),
        rng=random.Random(f"{world.scenario.seed}:gps:{index}"),
    )


_SETTLED = {
    OrderStatus.DELIVERED,
    OrderStatus.FAILED_NOT_HOME,
    OrderStatus.FAILED_OTHER,
    OrderStatus.HELD,
    OrderStatus.UNASSIGNED,
    OrderStatus.CANCELLED,
}


async def _until_settled(ctx: RunContext, patients: asyncio.Task[None]) -> None:
    """Return once every order is placed and has reached a final state."""
    while True:
        await ctx.clock.sleep(10.0)
        if patients.done() and all(o.status in _SETTLED for o in ctx.log.orders):
            return


async def _progress(ctx: RunContext) -> None:
    """Print the simulated clock and counts; ``loop lag`` is the worst delay of
    the event loop since the last line (wall seconds: the simulator keeps up
    with its warp while it stays well under a second)."""
    loop = asyncio.get_running_loop()
    while True:
        lag, deadline = 0.0, loop.time() + _PROGRESS_EVERY_S
        while (ahead := deadline - loop.time()) > 0:
            due = loop.time() + min(_LAG_PROBE_S, ahead)
            await asyncio.sleep(min(_LAG_PROBE_S, ahead))
            lag = max(lag, loop.time() - due)
        orders = ctx.log.orders
        delivered = sum(o.status is OrderStatus.DELIVERED for o in orders)
        held = sum(o.status is OrderStatus.HELD for o in orders)
        print(
            f"[{ctx.now():%H:%M} UTC] orders {len(orders)}  delivered {delivered}  "
            f"held {held}  alerts {len(ctx.log.detected)}  loop lag {lag:.2f} s",
            flush=True,
        )


def _write(out: Path, run_log: RunLog) -> int:
    out.mkdir(parents=True, exist_ok=True)
    run_log.save(out / f"run-{run_log.policy}.json")
    kpis = compute_kpis(run_log)
    write_report(out, [run_log], stem=f"kpis-{run_log.policy}")
    print(format_table([kpis]))
    print("Map data © OpenStreetMap contributors (ODbL)")
    return 0
