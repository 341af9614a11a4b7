"""``python -m simulator``: inspect a scenario, run it against a system, report.

Commands::

    python -m simulator world SCENARIO.toml            # what the seed draws
    python -m simulator report RUN.json [RUN2.json]    # KPIs from saved run logs
    python -m simulator run SCENARIO.toml --api URL [--mqtt URL] [--speed 30]
    python -m simulator clock SCENARIO.toml [--speed 30] [--wall-start-s T]

``run`` takes the broker URL from ``MQTT_URL`` when ``--mqtt`` is not given (a
password in it then stays out of the process list), and with ``--watch-file``
names the first order that reaches a rider's route (for ``rxdispatch demo``'s
links). ``clock`` prints (JSON) the environment that puts a server on the same warped
clock as a ``run`` given the same ``--speed`` and ``--wall-start-s``.

The city cache lives under ``--data-dir`` (default ``$RXDISPATCH_DATA_DIR`` or
``var/``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections import Counter
from pathlib import Path

from simulator.city import load_city
from simulator.clock import WarpClock
from simulator.errors import SimulatorError
from simulator.report import compute_kpis, format_table, write_report
from simulator.runlog import RunLog
from simulator.runner import add_run_arguments, run_scenario
from simulator.scenario_loader import load_scenario
from simulator.world import World, build_world

__all__ = ["main"]


def _data_dir(arg: str | None) -> Path:
    return Path(arg or os.environ.get("RXDISPATCH_DATA_DIR") or "var")


def load_world(scenario_path: str, data_dir: Path) -> World:
    """Scenario + city (cached under ``data_dir/city``) -> the seeded world."""
    scenario = load_scenario(scenario_path)
    city = load_city(cache_dir=data_dir / "city")
    return build_world(scenario, city)


def _world(args: argparse.Namespace) -> int:
    world = load_world(args.scenario, _data_dir(args.data_dir))
    s = world.scenario
    orders = world.orders
    vehicles = Counter(r.vehicle.value for r in world.riders)
    print(f"scenario {s.name} (seed {s.seed}), {s.day} {s.timezone}")
    print(f"  open {s.start_at:%H:%M}-{s.end_at:%H:%M} UTC, speed {s.speed:g}x")
    print(f"  pharmacies {len(world.pharmacies)}, stock lots {len(world.stock)}")
    print(f"  riders {len(world.riders)} {dict(vehicles)}")
    print(
        f"  orders {len(orders)}: cold {sum(o.cold_chain for o in orders)}, "
        f"urgent {sum(o.urgent for o in orders)}, "
        f"patient not home {sum(not o.patient_home for o in orders)}"
    )
    f = world.failures
    print(
        f"  failures: boxes {len(f.box_failures)}, box outages {len(f.boxes_offline)}, "
        f"rider outages {len(f.riders_offline)}"
    )
    print("Map data © OpenStreetMap contributors (ODbL)")
    return 0


def _report(args: argparse.Namespace) -> int:
    logs = [RunLog.from_json(Path(p).read_bytes()) for p in args.logs]
    kpis = [compute_kpis(log) for log in logs]
    paths = write_report(Path(args.out), logs)
    print(format_table(kpis))
    print(f"written: {', '.join(str(p) for p in paths.values())}")
    return 0


def _clock(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    wall_start_s = time.time() if args.wall_start_s is None else args.wall_start_s
    speed = float(args.speed or scenario.speed)
    clock = WarpClock(scenario.start_at, speed, wall_start_s=wall_start_s)
    body = {
        "env": clock.server_env(),
        "start_at": scenario.start_at.isoformat(),
        "speed": speed,
        "wall_start_s": wall_start_s,
    }
    print(json.dumps(body))
    return 0


def _run(args: argparse.Namespace) -> int:
    data_dir = _data_dir(args.data_dir)
    return run_scenario(args, load_world(args.scenario, data_dir), data_dir)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulator", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--data-dir",
        help="data folder (city cache); default $RXDISPATCH_DATA_DIR or var/",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO")
    sub = parser.add_subparsers(dest="command", required=True)
    world = sub.add_parser("world", help="print what a scenario's seed draws")
    world.add_argument("scenario")
    world.set_defaults(handler=_world)
    report = sub.add_parser("report", help="KPIs from one or two saved run logs")
    report.add_argument("logs", nargs="+", metavar="RUN.json")
    report.add_argument("--out", default="var/report", help="output folder")
    report.set_defaults(handler=_report)
    clock = sub.add_parser("clock", help="the server environment of a run's clock")
    clock.add_argument("scenario")
    clock.add_argument("--speed", type=float, help="time warp (default: scenario's)")
    clock.add_argument(
        "--wall-start-s", type=float, help="Unix time of the scenario start (now)"
    )
    clock.set_defaults(handler=_clock)
    run = sub.add_parser("run", help="play a scenario against a running system")
    add_run_arguments(run)
    run.set_defaults(handler=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    try:
        code: int = args.handler(args)
    except SimulatorError as exc:
        print(f"error [{exc.code}]: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
