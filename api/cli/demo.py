"""``rxdispatch demo``: the whole system and a simulated city day, live.

Starts what is needed (embedded PostgreSQL and MQTT broker unless
``DATABASE_URL`` / ``MQTT_URL`` are set), the API server with its re-planner
and telemetry ingest, and the simulator on the same warped clock; streams the
simulator's progress and ends with the KPI summary (:mod:`api.demo.run`).

Exit codes: 0 done (report written), 1 a part failed, 2 bad options, 3 the run
finished but not one order was delivered, 130 aborted.
"""

from __future__ import annotations

import importlib.util
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated, Literal

import typer

from api.demo.run import DemoOptions, run_demo
from api.demo.stack import DemoError
from dispatch.settings import DatabaseSettings


def demo_command(
    duration: Annotated[
        float,
        typer.Option(
            "--duration",
            min=0,
            help="Wall seconds of the simulated day to play, then the summary; "
            "0: the whole day, then serve until Ctrl-C.",
        ),
    ] = 180.0,
    speed: Annotated[
        float, typer.Option("--speed", min=1, help="Time warp (simulated s per s).")
    ] = 30.0,
    scenario: Annotated[
        Path,
        typer.Option(
            "--scenario",
            help="Scenario file (TOML) or a bundled scenario: short, standard.",
        ),
    ] = Path("short"),
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Data folder: embedded database, city cache, run reports "
            "(default: RXDISPATCH_DATA_DIR or var/).",
        ),
    ] = None,
    policy: Annotated[
        str,
        typer.Option(
            "--policy", help="optimised (the engine) or greedy (the baseline)."
        ),
    ] = "optimised",
) -> None:
    """Run the system and a simulated city day; print the KPIs at the end."""
    if policy not in ("optimised", "greedy"):
        typer.echo("error: --policy must be optimised or greedy", err=True)
        raise typer.Exit(2)
    chosen: Literal["optimised", "greedy"] = (
        "optimised" if policy == "optimised" else "greedy"
    )
    folder = (data_dir or DatabaseSettings().data_dir).resolve()
    try:
        options = DemoOptions(
            scenario=_scenario_file(scenario),
            data_dir=folder,
            speed=speed,
            duration_s=duration,
            policy=chosen,
        )
    except DemoError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    # Ctrl-C even when started with SIGINT ignored (background jobs of scripts)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    try:
        result = run_demo(options, typer.echo)
    except DemoError as exc:
        typer.echo(f"demo failed: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("demo aborted", err=True)
        raise typer.Exit(130) from None
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
    if result.kpis["orders"] and not result.kpis["delivered"]:
        typer.echo("demo failed: not one order was delivered", err=True)
        raise typer.Exit(3)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM stops the demo like Ctrl-C


def _scenario_file(path: Path) -> Path:
    """``path`` if it is a file, else the bundled scenario of that name
    (``short``, ``short.toml`` or ``scenarios/short.toml``)."""
    if path.is_file():
        return path.resolve()
    name = path.name if path.suffix == ".toml" else f"{path.name}.toml"
    bundled = _bundled_scenarios() / name
    if bundled.is_file():
        return bundled
    raise DemoError(f"no scenario file at {path} (bundled: short, standard)")


def _bundled_scenarios() -> Path:
    """The simulator package's scenario folder (package data), found without
    importing the simulator: the API only runs it as a separate process."""
    spec = importlib.util.find_spec("simulator")
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise DemoError("the simulator package is not installed")
    return Path(next(iter(locations))) / "scenarios"
