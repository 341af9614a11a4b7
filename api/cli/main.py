"""The ``rxdispatch`` command line (typer): builds settings, wires parts."""

from __future__ import annotations

import logging

import typer

from api.cli.audit import audit_app
from api.cli.demo import demo_command
from api.cli.serve import serve_command
from api.cli.solve import solve_command
from api.cli.telemetry import ingest_command, telemetry_app
from api.cli.user import user_app
from dispatch.adapters.postgres.database import migrate as migrate_database
from dispatch.adapters.postgres.embedded import resolve_database_url
from dispatch.settings import DatabaseSettings

app = typer.Typer(
    name="rxdispatch",
    help="Last-mile dispatch and cold-chain engine for medicine delivery.",
    no_args_is_help=True,
    add_completion=False,
)


@app.command()
def migrate() -> None:
    """Apply every pending database migration (dispatch, telemetry, api) as the
    schema owner (DATABASE_OWNER_URL, else DATABASE_URL), and grant the app's
    role rxdispatch_app its privileges."""
    settings = DatabaseSettings()
    url = settings.owner_url or resolve_database_url(
        settings.database_url, settings.data_dir
    )
    migrate_database(url)
    typer.echo("database is up to date")


app.command(name="solve")(solve_command)
app.command(name="demo")(demo_command)
app.add_typer(audit_app, name="audit")
app.command(name="ingest")(ingest_command)
app.add_typer(telemetry_app, name="telemetry")
app.command(name="serve")(serve_command)
app.add_typer(user_app, name="user")


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING)
    app()
