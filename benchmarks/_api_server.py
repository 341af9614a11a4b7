"""Start ``rxdispatch serve`` in a subprocess on a throw-away database (benchmarks).

Uses ``DATABASE_URL``'s server (or an embedded PostgreSQL) to create a database,
starts the API with a bootstrap admin, waits for ``/health``, and tears it all
down afterwards.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from api.cli.serve_process import serve_command, wait_until_healthy
from dispatch.adapters.postgres.database import create_database, drop_database
from dispatch.adapters.postgres.embedded import resolve_database_url
from telemetry.embedded_broker import free_port

ADMIN = ("bench-admin", "bench-password-0123456789")


@dataclass
class RunningApi:
    """A started API server."""

    base_url: str
    database_url: str
    process: subprocess.Popen[bytes]

    def admin_headers(self) -> dict[str, str]:
        """Bearer header of the bootstrap admin."""
        r = httpx.post(
            f"{self.base_url}/auth/token",
            json={"username": ADMIN[0], "password": ADMIN[1]},
            timeout=30,
        )
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@contextmanager
def running_api(extra_env: dict[str, str] | None = None) -> Iterator[RunningApi]:
    """A fresh database and an API server process on a free localhost port."""
    data_dir = Path(tempfile.mkdtemp(prefix="rxd-bench-"))
    admin_url = resolve_database_url(os.environ.get("DATABASE_URL"), data_dir)
    name = f"rxd_bench_{uuid.uuid4().hex[:10]}"
    url = create_database(admin_url, name)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "API_BOOTSTRAP_ADMIN_USERNAME": ADMIN[0],
        "API_BOOTSTRAP_ADMIN_PASSWORD": ADMIN[1],
        "API_LOGIN_ATTEMPTS_PER_MIN": "1000",
        "API_RUN_INGEST": "false",
        **(extra_env or {}),
    }
    process = subprocess.Popen(serve_command(port, log_level="warning"), env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process.poll, timeout_s=120)
        yield RunningApi(base, url, process)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        drop_database(admin_url, name)
        shutil.rmtree(data_dir, ignore_errors=True)


def percentile(values: list[float], pct: float) -> float | None:
    """The ``pct`` percentile (nearest rank) of ``values``, or None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]
