"""``rxdispatch ingest`` (the telemetry worker) and ``rxdispatch telemetry stats``."""

from __future__ import annotations

import json
import signal
import threading

import typer

from api.cli.ingest_workers import MQTT_SINGLE_WORKER, run_workers
from api.services import AppSettings
from dispatch.adapters.postgres.database import migrate as migrate_database
from dispatch.adapters.postgres.database import open_pool
from dispatch.adapters.postgres.embedded import resolve_database_url
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.clock import clock_from_settings
from dispatch.context import DispatchContext
from dispatch.dev_secrets import dev_secret
from dispatch.settings import DatabaseSettings
from telemetry.embedded_broker import EmbeddedBroker
from telemetry.runtime import TelemetryRuntime
from telemetry.stats import read_stats
from telemetry.store import TelemetryStore

telemetry_app = typer.Typer(
    help="Cold-chain telemetry operations.", no_args_is_help=True
)


def _database_url() -> str:
    settings = DatabaseSettings()
    return resolve_database_url(settings.database_url, settings.data_dir)


def ingest_command(
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        help="Worker processes sharing RabbitMQ's queue (TELEMETRY_TRANSPORT=amqp).",
    ),
    worker_index: int | None = typer.Option(None, "--worker-index", hidden=True),
) -> None:
    """Run the ingest worker(s) until SIGINT/SIGTERM (no MQTT_URL: embedded)."""
    app_settings = AppSettings()  # resolves the secrets (dispatch.dev_secrets)
    settings = app_settings.telemetry
    amqp = settings.transport == "amqp"
    if workers > 1 and not amqp:
        raise typer.BadParameter(MQTT_SINGLE_WORKER, param_hint="--workers")
    if amqp and not settings.amqp_url:
        raise typer.BadParameter(
            "TELEMETRY_TRANSPORT=amqp needs TELEMETRY_AMQP_URL (RabbitMQ)",
            param_hint="TELEMETRY_AMQP_URL",
        )
    url = _database_url()
    if worker_index is None:
        migrate_database(url)
    if workers > 1:
        run_workers(workers)
        return
    broker = None
    mqtt_url = settings.mqtt_url or ""
    if not mqtt_url and not amqp:
        password = dev_secret("mqtt", app_settings.database.data_dir)
        broker = EmbeddedBroker(password=password.get_secret_value()).start()
        mqtt_url = broker.url
    pool = open_pool(url, min_size=1, max_size=4)
    clock = clock_from_settings(app_settings.clock)
    dispatch_db = Database(
        pool, DispatchContext.from_settings(app_settings.dispatch), clock=clock
    )
    runtime = TelemetryRuntime(
        settings,
        database_url=url,
        mqtt_url=mqtt_url,
        shared_subscriptions=broker is None,  # amqtt has no $share subscriptions
        dispatch_db=dispatch_db,
        proofs=not worker_index,  # one loop attaching proofs, not one per worker
        clock=clock,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    runtime.start()
    typer.echo(f"ingesting from {runtime.ingest.transport.subscription}", err=True)
    try:
        stop.wait()
    finally:
        runtime.stop()
        pool.close()
        if broker is not None:
            broker.stop()


@telemetry_app.command("stats")
def stats(
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON instead of a table."
    ),
) -> None:
    """Stored readings, dead letters by reason, open excursions, per-box last seen."""
    store = TelemetryStore(_database_url())
    try:
        result = read_stats(store)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(result.as_json(), indent=2))
        return
    typer.echo(f"readings stored: {result.readings}")
    typer.echo("dead letters by reason:")
    for reason, count in result.dead_letters_by_reason.items() or {"(none)": 0}.items():
        typer.echo(f"  {reason:<24} {count}")
    typer.echo("open excursions by kind:")
    for kind, count in result.open_excursions_by_kind.items() or {"(none)": 0}.items():
        typer.echo(f"  {kind:<24} {count}")
    typer.echo(f"{'box':<24} {'last seen (UTC)':<34} {'temp °C':>8}")
    for box in result.boxes:
        seen = box.last_received_at.isoformat()
        typer.echo(f"{box.box_id:<24} {seen:<34} {box.temp_c:>8.2f}")
