"""A day of medicine deliveries on Malta, played for each dispatch policy.

``python -m benchmarks.city_day [--quick] [--json FILE] [--speed N]``

For each policy: a fresh database and ``rxdispatch serve`` (``benchmarks._api_server``,
on ``DATABASE_URL``/``MQTT_URL`` or the embedded defaults), then the simulator plays
the same scenario with the same seed against it (the bundled ``standard``
scenario, ``simulator/scenarios/standard.toml``; ``--quick``: ``short``). Prints
the KPI table with the ratios of the first policy to the baseline and writes the
KPIs as JSON (and the PNG chart next to it). Targets (issue 6): on-time >= 98 %,
>= 25 % less rider travel per order than the baseline, 0 cold-chain orders
delivered after an excursion.

``POLICIES`` maps each policy to the settings that select it in the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._api_server import ADMIN, running_api
from benchmarks._report import write_json
from simulator.city import load_city
from simulator.clock import WarpClock
from simulator.report import Kpis, compare, compute_kpis, format_table, write_report
from simulator.runner import RunOptions, play
from simulator.scenario_loader import BUNDLED_DIR, load_scenario
from simulator.world import World, build_world
from telemetry.embedded_broker import EmbeddedBroker

REPO = Path(__file__).resolve().parent.parent

#: Server settings per policy; the first is the candidate, the last the baseline
#: (issue 6's greedy dispatch: nearest stocked pharmacy, then nearest idle rider,
#: one order at a time, no re-planning).
POLICIES: dict[str, dict[str, str]] = {
    "engine": {"DISPATCH_POLICY": "optimised"},
    "greedy": {"DISPATCH_POLICY": "greedy"},
}


def _run_policy(
    name: str, env: dict[str, str], args: argparse.Namespace, data_dir: Path
) -> tuple[Kpis, float]:
    scenario = load_scenario(args.scenario)
    world = build_world(scenario, load_city(cache_dir=data_dir / "city"))
    # the server's ingest and the simulator's boxes meet on MQTT_URL, or on an
    # embedded broker run here for the duration
    configured = os.environ.get("MQTT_URL")
    broker = EmbeddedBroker().start() if configured is None else None
    mqtt_url = broker.url if broker is not None else str(configured)
    try:
        return _play_policy(name, env, args, world, mqtt_url, data_dir)
    finally:
        if broker is not None:
            broker.stop()


def _play_policy(
    name: str,
    env: dict[str, str],
    args: argparse.Namespace,
    world: World,
    mqtt_url: str,
    data_dir: Path,
) -> tuple[Kpis, float]:
    scenario = world.scenario
    started = time.monotonic()
    speed = args.speed or scenario.speed
    # the scenario starts a little after the server is up (same three numbers)
    clock = WarpClock(scenario.start_at, speed, wall_start_s=time.time() + 60.0)
    if args.server_clock == "shared":
        env = {**env, **clock.server_env()}
    # the server's ingest listens to this run's boxes only (topics of its own)
    prefix = f"rxd-bench-{uuid.uuid4().hex[:8]}/v1"
    env = {
        **env,
        # every simulated rider calls from 127.0.0.1: the per-IP OTP limit (per
        # wall minute) would throttle the whole fleet's deliveries at any warp
        "API_OTP_ATTEMPTS_PER_MIN": "100000",
        # tokens live on the warped clock: one (simulated) day
        "API_ACCESS_TOKEN_TTL_S": "86400",
        "API_RUN_INGEST": "true",
        "MQTT_URL": mqtt_url,
        "TELEMETRY_TOPIC_PREFIX": prefix,
        "TELEMETRY_CLIENT_ID": f"rxd-bench-ingest-{uuid.uuid4().hex[:8]}",
    }
    with running_api(env) as api:
        options = RunOptions(
            api_url=api.base_url,
            mqtt_url=mqtt_url,
            user=ADMIN[0],
            password=ADMIN[1],
            speed=speed,
            server_clock=args.server_clock,
            duration_min=args.duration,
            policy=name,
            wall_start_s=clock.wall_start_s if args.server_clock == "shared" else None,
            topic_prefix=prefix,
        )
        run_log = asyncio.run(play(world, options, data_dir))
    run_log.save(Path(args.out) / f"run-{name}.json")
    return compute_kpis(run_log), time.monotonic() - started


def main(argv: list[str] | None = None) -> None:
    """Run every policy, print the table, write JSON and the chart."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short scenario")
    parser.add_argument("--json", help="write the KPIs here")
    parser.add_argument("--speed", type=float, help="time warp (default: scenario's)")
    parser.add_argument("--duration", type=float, help="simulated minutes to play")
    parser.add_argument("--server-clock", choices=("shared", "real"), default="shared")
    parser.add_argument("--out", default="var/bench/city_day")
    args = parser.parse_args(argv)
    name = "short" if args.quick else "standard"
    args.scenario = BUNDLED_DIR / f"{name}.toml"
    Path(args.out).mkdir(parents=True, exist_ok=True)
    data_dir = Path(os.environ.get("RXDISPATCH_DATA_DIR") or REPO / "var")
    results = [_run_policy(p, env, args, data_dir) for p, env in POLICIES.items()]
    kpis = [k for k, _ in results]
    print(format_table(kpis))
    write_report(Path(args.out), kpis, stem="city_day")
    body: dict[str, Any] = {
        "scenario": name,
        "machine": platform.platform(),
        "wall_s": {k.policy: round(s, 1) for k, s in results},
        "policies": {k.policy: k.__dict__ for k in kpis},
        "ratios": compare(kpis[0], kpis[-1]),
    }
    if args.json:
        write_json(args.json, body)


if __name__ == "__main__":
    main()
