"""``rxdispatch audit``: verify the keyed hash chain of the audit trail, and take
signed checkpoints of its head to keep outside the database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from api.services import AppSettings
from dispatch.adapters.postgres.embedded import resolve_database_url
from dispatch.audit import trail
from dispatch.audit.checkpoint import AuditCheckpoint, CheckpointError, parse_checkpoint
from dispatch.dev_secrets import reveal

audit_app = typer.Typer(
    help="Inspect the append-only audit trail.", no_args_is_help=True
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url", help="PostgreSQL URL (default: DATABASE_URL/embedded)."
    ),
]


def _url_and_key(database_url: str | None) -> tuple[str, bytes]:
    settings = AppSettings()
    db = settings.database
    url = database_url or resolve_database_url(db.database_url, db.data_dir)
    return url, reveal(settings.dispatch.audit_key, "DISPATCH_AUDIT_KEY").encode()


def _check(url: str, key: bytes, checkpoint: AuditCheckpoint | None) -> int:
    """Verify and report; the number of entries checked (exit 1 if broken)."""
    report = trail.verify(url, key=key, checkpoint=checkpoint)
    if report.problems:
        for problem in report.problems:
            typer.echo(
                f"entry {problem.seq}: {problem.kind}: {problem.detail}", err=True
            )
        typer.echo(
            f"audit chain BROKEN: {len(report.problems)} problem(s) in "
            f"{report.count} entries",
            err=True,
        )
        raise typer.Exit(code=1)
    keyed = (
        "keyed from entry 1"
        if report.unkeyed_until == 0
        else f"entries 1-{report.unkeyed_until} predate the audit key (SHA-256), "
        f"keyed from entry {report.unkeyed_until + 1}"
    )
    against = (
        f"; matches the checkpoint at entry {checkpoint.seq}" if checkpoint else ""
    )
    typer.echo(
        f"audit chain intact: {report.count} entries verified ({keyed}){against}"
    )
    return report.count


@audit_app.command("verify")
def verify(
    database_url: DatabaseUrl = None,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            "--checkpoint",
            help="A file written by `rxdispatch audit checkpoint`: also fail if "
            "the chain was truncated or rewritten since.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Detect edited, deleted, reordered or re-hashed audit entries (and, with a
    checkpoint, a truncated tail); exit 1 if any."""
    url, key = _url_and_key(database_url)
    signed: AuditCheckpoint | None = None
    if checkpoint is not None:
        try:
            signed = parse_checkpoint(key, checkpoint.read_bytes())
        except CheckpointError as exc:
            typer.echo(f"checkpoint {checkpoint} refused: {exc}", err=True)
            raise typer.Exit(code=1) from exc
    _check(url, key, signed)


@audit_app.command("checkpoint")
def checkpoint(
    database_url: DatabaseUrl = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write the checkpoint here (default: standard output)."
        ),
    ] = None,
) -> None:
    """Verify the chain, then write its head (entry, hash, time) signed with the
    audit key; keep it outside the database (see README, Running it safely)."""
    url, key = _url_and_key(database_url)
    _check(url, key, None)
    document = trail.checkpoint(url, key=key, now=datetime.now(UTC))
    if out is None:
        typer.echo(document.decode())
    else:
        out.write_bytes(document + b"\n")
        typer.echo(f"checkpoint written to {out}", err=True)
