"""One run of ``rxdispatch demo``: the system and the simulator, supervised.

Order of events: the simulator's ``world`` command reads the scenario and warms
the city cache; a fresh migrated database and a broker are made ready; the API
server (re-planner and telemetry ingest inside, as in production) starts on a
warped clock whose day begins ``LEAD_S`` from then; the simulator plays the
same clock (``python -m simulator run``: nothing imports the simulator) and its
progress lines stream to the console. The run ends when the simulator has
played ``duration_s`` wall seconds of the day (or the whole day), settled every
order and written the KPI report into the run folder.
"""

from __future__ import annotations

import json
import logging
import secrets
import signal
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from api.demo.links import DemoLinks, announce
from api.demo.stack import (
    Child,
    DemoError,
    child_env,
    demo_broker,
    demo_database,
    python_module_cmd,
    start_server,
)
from dispatch.settings import DatabaseSettings
from telemetry.settings import TelemetrySettings

log = logging.getLogger(__name__)

#: Wall seconds between starting the server and the first simulated instant:
#: the server and the simulator's set-up (riders, stock) fit in it.
LEAD_S = 20.0
#: After the last simulated instant: settling statuses and writing the report.
SETTLE_GRACE_S = 90.0
ADMIN_USERNAME = "demo-admin"
#: The simulator names the first routed order and its rider here (run folder).
WATCH_FILE = "watch.json"

Echo = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    """What ``rxdispatch demo`` was asked to do."""

    scenario: Path
    data_dir: Path
    speed: float
    duration_s: float  # 0: the whole day, then serve until interrupted
    policy: Literal["optimised", "greedy"]


@dataclass(frozen=True)
class DemoResult:
    """Where the run left its files and what the simulator reported."""

    run_dir: Path
    kpis: dict[str, Any]
    interrupted: bool

    @property
    def report_paths(self) -> list[Path]:
        """The KPI report (JSON, table, chart) and the run log."""
        stem = self.run_dir / f"kpis-{self.kpis['policy']}"
        return [
            stem.with_suffix(".json"),
            stem.with_suffix(".txt"),
            stem.with_suffix(".png"),
            self.run_dir / f"run-{self.kpis['policy']}.json",
        ]


def run_demo(options: DemoOptions, echo: Echo) -> DemoResult:
    """Run the demo; raises :class:`DemoError` when a part fails and lets
    ``KeyboardInterrupt`` through once the children are stopped (a second one
    during the orderly stop)."""
    started = datetime.now(UTC)
    run_dir = options.data_dir / "demo" / started.strftime("%Y%m%d-%H%M%S")
    run_dir.mkdir(parents=True, exist_ok=True)
    _simulator_ok(
        ["world", str(options.scenario)], options, "reading the scenario", echo
    )
    database = DatabaseSettings()
    telemetry = TelemetrySettings()
    password = secrets.token_urlsafe(18)
    login_file = run_dir / "staff-login.txt"
    login_file.write_text(f"{ADMIN_USERNAME}\n{password}\n", encoding="utf-8")
    login_file.chmod(0o600)
    admin_env = {
        "API_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USERNAME,
        "API_BOOTSTRAP_ADMIN_PASSWORD": password,
    }
    with ExitStack() as stack:
        stack.callback(signal.signal, signal.SIGINT, signal.getsignal(signal.SIGINT))
        echo(f"database: {_where(database.database_url, options.data_dir)}")
        database_url = stack.enter_context(
            demo_database(options.data_dir, database.database_url)
        )
        mqtt_url = stack.enter_context(demo_broker(telemetry.mqtt_url))
        # On a broker of its own the demo keeps the standard topics; on a shared
        # one, topics of its own so other runs' boxes do not mix in.
        prefix = "rxdispatch/v1" if telemetry.mqtt_url is None else _own_prefix()
        echo(
            f"broker: {'embedded amqtt' if telemetry.mqtt_url is None else 'MQTT_URL'}"
        )
        wall_start_s = time.time() + LEAD_S
        clock_env = _clock_env(options, wall_start_s)
        server_log = stack.enter_context(
            (run_dir / "server.log").open("w", encoding="utf-8")
        )
        server_env = child_env(
            {
                **clock_env,
                **admin_env,
                "DATABASE_URL": database_url,
                "MQTT_URL": mqtt_url,
                "RXDISPATCH_DATA_DIR": str(options.data_dir),
                "DISPATCH_POLICY": options.policy,
                "API_RUN_MIGRATIONS": "false",
                "API_ACCESS_TOKEN_TTL_S": "86400",
                # every simulated rider calls from 127.0.0.1: the per-IP OTP
                # limit (per wall minute) would throttle the whole fleet
                "API_OTP_ATTEMPTS_PER_MIN": "100000",
                "TELEMETRY_TOPIC_PREFIX": prefix,
                "TELEMETRY_CLIENT_ID": f"rxd-demo-ingest-{uuid.uuid4().hex[:8]}",
            }
        )
        server, base_url = start_server(server_env, server_log)
        stack.callback(server.stop)
        echo(f"API: {base_url} (docs at {base_url}/docs), staff login in {login_file}")
        links = DemoLinks(base_url, (ADMIN_USERNAME, password), run_dir / WATCH_FILE)
        announce(links, options.data_dir, echo)
        with login_file.open("a", encoding="utf-8") as out:
            out.writelines(f"{s.username}\n{s.password}\n" for s in links.staff)
        simulator = Child.start(
            "simulator",
            simulator_cmd(options, base_url, prefix, wall_start_s, run_dir),
            simulator_env(admin_env, mqtt_url),
            echo,
        )
        stack.callback(simulator.stop, 60.0)
        # once stopping, further Ctrl-Cs must not cut the children's shutdown short
        stack.callback(signal.signal, signal.SIGINT, signal.SIG_IGN)
        echo(
            f"the simulated day starts in {max(0.0, wall_start_s - time.time()):.0f} s "
            f"at {options.speed:g}x; "
            + (
                f"playing {options.duration_s:g} s of it"
                if options.duration_s
                else "playing all of it (Ctrl-C ends it early)"
            )
        )
        interrupted = _supervise(simulator, server, wall_start_s, options, echo, links)
        result = DemoResult(run_dir, _read_kpis(run_dir, options.policy), interrupted)
        print_summary(result, echo)
        serving = not options.duration_s and not interrupted
        _links_again(links, serving, echo)
        if serving:
            _serve_until_interrupted(server, base_url, echo)
        return result
    raise AssertionError("unreachable")  # pragma: no cover - for mypy


def _supervise(
    simulator: Child,
    server: Child,
    wall_start_s: float,
    options: DemoOptions,
    echo: Echo,
    links: DemoLinks,
) -> bool:
    """Wait for the simulator, printing the patient's and rider's links once
    the simulator names them; True if a Ctrl-C/SIGTERM ended the day early."""
    deadline = None
    if options.duration_s:
        deadline = wall_start_s + options.duration_s + SETTLE_GRACE_S
    interrupted = False
    try:
        while simulator.returncode is None:
            if server.returncode is not None:
                raise DemoError(
                    f"the API server exited with code {server.returncode} "
                    "(see server.log in the run folder)"
                )
            if links.poll():
                echo("open in a browser, now that an order is on a rider's route:")
                for line in links.watched_lines():
                    echo(line)
            if deadline is not None and time.time() > deadline:
                echo("the simulator overran its time; ending its day now")
                _end_early(simulator)
                break
            time.sleep(0.25)
    except KeyboardInterrupt:
        interrupted = True
        echo("stopping: the simulator settles its orders (Ctrl-C again to abort)")
        _end_early(simulator)
    code = simulator.returncode
    if code != 0:
        raise DemoError(f"the simulator failed (exit code {code})")
    return interrupted


def _end_early(simulator: Child) -> None:
    simulator.signal(signal.SIGINT)  # the simulator's cue to end the day and report
    if simulator.wait(SETTLE_GRACE_S) is None:
        raise DemoError("the simulator did not stop in time")


def _serve_until_interrupted(server: Child, base_url: str, echo: Echo) -> None:
    echo(f"the day is over; the API keeps serving at {base_url} (Ctrl-C to stop)")
    try:
        while server.returncode is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        return
    raise DemoError(f"the API server exited with code {server.returncode}")


def simulator_cmd(
    options: DemoOptions,
    base_url: str,
    prefix: str,
    wall_start_s: float,
    run_dir: Path,
) -> list[str]:
    """The simulator's command line: no secret on it (arguments are public in
    ``ps``); the broker URL and staff sign-in go by :func:`simulator_env`."""
    args = [
        "-m", "simulator",
        "--data-dir", str(options.data_dir), "run", str(options.scenario),
        "--api", base_url, "--speed", f"{options.speed:g}",
        "--topic-prefix", prefix, "--policy", options.policy,
        "--wall-start-s", repr(wall_start_s),
        "--out", str(run_dir), "--watch-file", str(run_dir / WATCH_FILE),
    ]  # fmt: skip
    if options.duration_s:
        args += ["--duration", f"{options.duration_s * options.speed / 60:.3f}"]
    return python_module_cmd(*args)


def simulator_env(admin_env: dict[str, str], mqtt_url: str) -> dict[str, str]:
    """The simulator's environment: the staff sign-in and the broker URL (with
    the embedded broker's password), which only the same user can read."""
    return child_env({**admin_env, "MQTT_URL": mqtt_url})


def _links_again(links: DemoLinks, serving: bool, echo: Echo) -> None:
    """The links next to the summary, or why they no longer answer."""
    if not links.staff:
        return
    if serving:
        echo("the stack keeps serving; open in a browser:")
        for line in links.lines():
            echo(line)
    else:
        echo(
            "the stack has stopped with the run, so its links no longer answer "
            "(--duration 0 keeps it serving after the day)"
        )


def _clock_env(options: DemoOptions, wall_start_s: float) -> dict[str, str]:
    """The server environment of the simulator's clock (from the simulator)."""
    out = _simulator_ok(
        [
            "clock",
            str(options.scenario),
            "--speed",
            f"{options.speed:g}",
            "--wall-start-s",
            repr(wall_start_s),
        ],
        options,
        "computing the clock",
        None,
    )
    env: dict[str, str] = json.loads(out[-1])["env"]
    return env


def _simulator_ok(
    args: list[str], options: DemoOptions, what: str, echo: Echo | None
) -> list[str]:
    """Run a short simulator command to its end; its output lines."""
    child = Child.start(
        f"simulator {args[0]}",
        python_module_cmd(
            "-m", "simulator", "--data-dir", str(options.data_dir), *args
        ),
        child_env({}),
        echo or (lambda _line: None),
    )
    try:
        code = child.wait(300)
    finally:
        child.stop()
    if code != 0:
        detail = "; ".join(child.lines[-3:])
        raise DemoError(f"{what} failed: {detail}")
    return child.lines


def _read_kpis(run_dir: Path, policy: str) -> dict[str, Any]:
    path = run_dir / f"kpis-{policy}.json"
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        kpis: dict[str, Any] = body["policies"][policy]
    except (OSError, ValueError, KeyError) as exc:
        raise DemoError(f"no KPI report at {path}: {exc}") from None
    return kpis


def _where(database_url: str | None, data_dir: Path) -> str:
    if database_url is None:
        return f"embedded PostgreSQL in {data_dir / 'pg'}"
    return "a throw-away database on DATABASE_URL's server"


def _own_prefix() -> str:
    return f"rxd-demo-{uuid.uuid4().hex[:8]}/v1"


def _num(value: object, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def print_summary(result: DemoResult, echo: Echo) -> None:
    """The headline KPIs and where the report files are."""
    k = result.kpis
    echo(f"summary ({k['policy']}):")
    echo(
        f"  orders {k['orders']}: delivered {k['delivered']} "
        f"(on time {_num(k['on_time_pct'], '.1f')} %), held {k['held']}, "
        f"patient not home {k['failed_not_home']}, unassigned {k['unassigned']}, "
        f"still open {k['open_at_end']}"
    )
    echo(
        f"  order to door p50 {_num(k['order_to_door_p50_min'], '.1f')} min, "
        f"p95 {_num(k['order_to_door_p95_min'], '.1f')} min; per order "
        f"{_num(k['travel_km_per_order'], '.2f')} km and "
        f"{_num(k['travel_min_per_order'], '.1f')} min of riding; "
        f"{_num(k['orders_per_rider_hour'], '.2f')} orders per rider-hour; "
        f"on a rider's route after p50 {_num(k['assignment_p50_min'], '.1f')} "
        f"min"
    )
    echo(
        f"  excursions detected {k['excursions_detected']}/"
        f"{k['excursions_injected']} (delay p50 "
        f"{_num(k['detection_delay_p50_s'], '.0f')} s), natural "
        f"{k['natural_detected']}/{k['natural_excursions']}, "
        f"false alarms "
        f"{k['false_alarms']}; cold-chain orders delivered after an excursion "
        f"{k['cold_chain_delivered_after_excursion']}; OTP failures "
        f"{k['otp_failures']}"
    )
    echo(f"  the day over time (picture): {result.report_paths[2]}")
    echo("  files: " + ", ".join(str(p) for p in result.report_paths))
    echo(f"  server log: {result.run_dir / 'server.log'}")
