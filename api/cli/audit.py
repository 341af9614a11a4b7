"""``rxdispatch audit verify``: check the hash chain of the audit trail."""

from __future__ import annotations

import typer

from dispatch.adapters.postgres.embedded import resolve_database_url
from dispatch.audit import trail
from dispatch.settings import DatabaseSettings

audit_app = typer.Typer(
    help="Inspect the append-only audit trail.", no_args_is_help=True
)


@audit_app.command("verify")
def verify(
    database_url: str | None = typer.Option(
        None, "--database-url", help="PostgreSQL URL (default: DATABASE_URL/embedded)."
    ),
) -> None:
    """Detect edited, deleted or reordered audit entries; exit 1 if any."""
    settings = DatabaseSettings()
    url = database_url or resolve_database_url(settings.database_url, settings.data_dir)
    count, problems = trail.verify(url)
    if not problems:
        typer.echo(f"audit chain intact: {count} entries verified")
        return
    for problem in problems:
        typer.echo(f"entry {problem.seq}: {problem.kind}: {problem.detail}", err=True)
    typer.echo(
        f"audit chain BROKEN: {len(problems)} problem(s) in {count} entries", err=True
    )
    raise typer.Exit(code=1)
