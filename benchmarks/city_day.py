"""A day of medicine deliveries on Malta, played for each dispatch policy.

``python -m benchmarks.city_day [--quick] [--json FILE] [--speed N] [--report-only]``

For each policy: a fresh database and ``rxdispatch serve`` (``benchmarks._api_server``,
on ``DATABASE_URL``/``MQTT_URL`` or the embedded defaults), then the simulator plays
the same scenario with the same seed against it (the bundled ``standard``
scenario, ``simulator/scenarios/standard.toml``; ``--quick``: ``short``). Prints
the KPI table with the ratios of the first policy to the baseline and writes the
KPIs as JSON (and the PNG chart next to it), with the re-planner's round counters
read from the server's ``/health/metrics`` at the end of each play (applied, stale,
failed, skipped, total). Targets (issue 6): on-time >= 98 %,
>= 25 % less rider travel per order than the baseline, 0 cold-chain orders
delivered after an excursion.

``POLICIES`` maps each policy to the settings that select it in the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from benchmarks._api_server import ADMIN, RunningApi, running_api
from benchmarks._report import write_json
from simulator.city import load_city
from simulator.clock import WarpClock
from simulator.report import Kpis, compare, compute_kpis, format_table, write_report
from simulator.runlog import RunLog
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


REPLAN_COUNTERS = ("applied", "stale", "failed", "skipped", "rounds")
"""The re-planner's ``replan_<name>_total`` gauges reported per policy."""


def _replan_counters(api: RunningApi) -> dict[str, int]:
    """The re-planner's round counters from the server's ``/health/metrics``."""
    r = httpx.get(
        f"{api.base_url}/health/metrics", headers=api.admin_headers(), timeout=30
    )
    r.raise_for_status()
    metrics = r.json()["metrics"]
    return {
        name: int(metrics[f"replan_{name}_total"])
        for name in REPLAN_COUNTERS
        if f"replan_{name}_total" in metrics
    }


class _LoadSampler:
    """The 1-minute load average, sampled every ``every_s`` while a policy plays
    (the machine is shared: a figure without its load means little)."""

    def __init__(self, every_s: float = 30.0) -> None:
        self.samples: list[float] = []
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            if self._stop.wait(self._every_s):
                return

    def summary(self) -> dict[str, float]:
        """Mean and max of the samples."""
        if not self.samples:
            return {}
        mean = sum(self.samples) / len(self.samples)
        return {"mean": round(mean, 2), "max": round(max(self.samples), 2)}


def _run_policy(
    name: str, env: dict[str, str], args: argparse.Namespace, data_dir: Path
) -> tuple[Kpis, float, dict[str, float], dict[str, int]]:
    scenario = load_scenario(args.scenario)
    world = build_world(scenario, load_city(cache_dir=data_dir / "city"))
    # the server's ingest and the simulator's boxes meet on MQTT_URL, or on an
    # embedded broker run here for the duration
    configured = os.environ.get("MQTT_URL")
    broker = EmbeddedBroker().start() if configured is None else None
    mqtt_url = broker.url if broker is not None else str(configured)
    try:
        with _LoadSampler() as load:
            kpis, wall_s, replans = _play_policy(
                name, env, args, world, mqtt_url, data_dir
            )
        return kpis, wall_s, load.summary(), replans
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
) -> tuple[Kpis, float, dict[str, int]]:
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
        replans = _replan_counters(api)
    run_log.save(Path(args.out) / f"run-{name}.json")
    return compute_kpis(run_log), time.monotonic() - started, replans


def main(argv: list[str] | None = None) -> None:
    """Run every policy, print the table, write JSON and the chart."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short scenario")
    parser.add_argument("--json", help="write the KPIs here")
    parser.add_argument("--speed", type=float, help="time warp (default: scenario's)")
    parser.add_argument("--duration", type=float, help="simulated minutes to play")
    parser.add_argument("--server-clock", choices=("shared", "real"), default="shared")
    parser.add_argument("--out", default="var/bench/city_day")
    parser.add_argument(
        "--scenario",
        help="a bundled scenario's name or a TOML file (default: standard)",
    )
    parser.add_argument(
        "--policy",
        action="append",
        choices=sorted(POLICIES),
        help="play only this policy (repeatable; default: all)",
    )
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="play nothing: report again from the run logs saved in --out",
    )
    args = parser.parse_args(argv)
    name = args.scenario or ("short" if args.quick else "standard")
    args.scenario = name if Path(name).is_file() else BUNDLED_DIR / f"{name}.toml"
    policies = {p: POLICIES[p] for p in args.policy or POLICIES}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    body: dict[str, Any] = {"benchmark": "city_day", "scenario": name}
    if args.report_only:
        kpis = [
            compute_kpis(RunLog.from_json((out / f"run-{p}.json").read_bytes()))
            for p in policies
        ]
    else:
        data_dir = Path(os.environ.get("RXDISPATCH_DATA_DIR") or REPO / "var")
        results = [_run_policy(p, env, args, data_dir) for p, env in policies.items()]
        kpis = [k for k, _, _, _ in results]
        body["speed"] = args.speed or load_scenario(args.scenario).speed
        body["wall_s"] = {k.policy: round(s, 1) for k, s, _, _ in results}
        body["load_avg_1m"] = {k.policy: load for k, _, load, _ in results}
        body["replan_rounds"] = {k.policy: r for k, _, _, r in results}
    print(format_table(kpis))
    for policy, counters in body.get("replan_rounds", {}).items():
        shown = ", ".join(f"{k} {v}" for k, v in counters.items())
        print(f"re-plan rounds ({policy}): {shown}")
    logs = [RunLog.from_json((out / f"run-{k.policy}.json").read_bytes()) for k in kpis]
    write_report(out, logs, stem="city_day")
    body["policies"] = {k.policy: k.__dict__ for k in kpis}
    body["ratios"] = compare(kpis[0], kpis[-1])
    if args.json:
        write_json(
            args.json,
            body,
            baseline="policy 'greedy' (nearest stocked pharmacy, nearest idle rider,"
            " one order at a time, no re-planning), same scenario and seed",
        )


if __name__ == "__main__":
    main()
