"""``rxdispatch ingest`` (the telemetry worker) and ``rxdispatch telemetry stats``."""

from __future__ import annotations

import json
import signal
import threading

import typer

from api.cli.ingest_workers import MQTT_SINGLE_WORKER, run_workers
from api.cluster.bus import ClusterBus
from api.cluster.journal import FeedJournal
from api.cluster.leader import ReplanRequests
from api.cluster.wiring import LIVE_CHANNELS
from api.live.hub import Hub
from api.live.publisher import HubEventPublisher
from api.services import AppSettings
from dispatch.adapters.memory import FanoutPublisher
from dispatch.adapters.postgres.database import migrate as migrate_database
from dispatch.adapters.postgres.database import open_pool
from dispatch.adapters.postgres.embedded import resolve_database_url
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.clock import clock_from_settings
from dispatch.context import DispatchContext
from dispatch.dev_secrets import dev_secret
from dispatch.ports import EventPublisher
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
    bus, publisher, journal = cluster_publisher(app_settings, url)
    dispatch_db = Database(
        pool,
        DispatchContext.from_settings(app_settings.dispatch),
        clock=clock,
        publisher=publisher,
    )
    dispatch_db.journal = journal
    runtime = TelemetryRuntime(
        settings,
        database_url=url,
        mqtt_url=mqtt_url,
        shared_subscriptions=broker is None,  # amqtt has no $share subscriptions
        dispatch_db=dispatch_db,
        publisher=publisher,
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
        if bus is not None:
            bus.stop()
        pool.close()
        if broker is not None:
            broker.stop()


def cluster_publisher(
    settings: AppSettings, url: str
) -> tuple[ClusterBus | None, EventPublisher | None, FeedJournal | None]:
    """With ``API_CLUSTER``: holds and excursion alerts this worker raises reach
    every API instance's dispatch feed (the journal writes a command's frames in
    its transaction), and the leader re-plans; else nothing."""
    if not settings.api.cluster:
        return None, None, None
    bus = ClusterBus(url)
    bus.start()
    hub = Hub()
    hub.share(
        feed_id=bus.feed_id,
        journal=bus.append_feed,
        relay=lambda kind, payload: bus.send(LIVE_CHANNELS[kind], payload),
    )
    journal = FeedJournal(bus.origin)
    feed = HubEventPublisher(hub)
    feed.journaled = journal.journaled
    return bus, FanoutPublisher(feed, ReplanRequests(bus)), journal


@telemetry_app.command("stats")
def stats(
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON instead of a table."
    ),
) -> None:
    """Stored readings, dead letters by reason, open excursions, sequence gaps,
    per-box last seen."""
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
    closed = result.seq_gaps_closed_by_outcome
    typer.echo(
        f"sequence gaps: {result.seq_gaps_open} open, closed "
        + (", ".join(f"{o} {n}" for o, n in sorted(closed.items())) or "none")
        + f"; readings confirmed lost: {result.seq_readings_lost}"
    )
    typer.echo(f"{'box':<24} {'last seen (UTC)':<34} {'temp °C':>8}")
    for box in result.boxes:
        seen = box.last_received_at.isoformat()
        typer.echo(f"{box.box_id:<24} {seen:<34} {box.temp_c:>8.2f}")
