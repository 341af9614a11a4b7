"""The parts ``rxdispatch demo`` runs: database, broker and child processes.

The API server and the simulator are child processes in sessions of their own,
so a Ctrl-C in the terminal reaches only the demo, which then stops them in
order: the simulator first (it settles its orders with the API still up), then
the server. Every stop is SIGINT, then SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, ClassVar

from api.cli.serve_process import ServerStartError, serve_command, wait_until_healthy
from api.errors import ApiError
from dispatch.adapters.postgres.database import create_database, drop_database, migrate
from dispatch.adapters.postgres.embedded import start_embedded_postgres
from telemetry.embedded_broker import EmbeddedBroker, free_port

log = logging.getLogger(__name__)

#: The embedded server's demo database: recreated by every demo, kept afterwards
#: (under the data folder) so the last run can be inspected.
EMBEDDED_DEMO_DATABASE = "rxdispatch_demo"


class DemoError(ApiError):
    """The demo could not start or a child process failed."""

    code: ClassVar[str] = "demo_failed"
    status: ClassVar[int] = 500


@contextmanager
def demo_database(data_dir: Path, database_url: str | None) -> Iterator[str]:
    """URL of a fresh, migrated database for one demo run.

    Without ``database_url``: an embedded PostgreSQL in ``data_dir/pg``. With it:
    a throw-away database on that server, dropped afterwards (the configured
    database itself is never touched).
    """
    if database_url is None:
        admin_url = start_embedded_postgres(data_dir)
        drop_database(admin_url, EMBEDDED_DEMO_DATABASE)
        url = create_database(admin_url, EMBEDDED_DEMO_DATABASE)
        migrate(url)
        yield url
        return
    name = f"rxd_demo_{uuid.uuid4().hex[:10]}"
    url = create_database(database_url, name)
    try:
        migrate(url)
        yield url
    finally:
        drop_database(database_url, name)


@contextmanager
def demo_broker(mqtt_url: str | None) -> Iterator[str]:
    """``mqtt_url``, or the URL of an embedded amqtt broker run meanwhile."""
    if mqtt_url:
        yield mqtt_url
        return
    with EmbeddedBroker() as broker:
        yield broker.url


@dataclass
class Child:
    """A child process whose output lines go to ``sink`` from a reader thread."""

    name: str
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _reader: threading.Thread | None = None

    @classmethod
    def start(
        cls,
        name: str,
        cmd: list[str],
        env: dict[str, str],
        sink: Callable[[str], None],
        *,
        stderr: IO[str] | None = None,
    ) -> Child:
        """Start ``cmd`` in its own session; stdout lines (and stderr unless
        redirected to ``stderr``) go to ``sink``."""
        process = subprocess.Popen(  # noqa: S603 - our interpreter, our arguments
            cmd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr if stderr is not None else subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        child = cls(name, process)
        child._reader = threading.Thread(
            target=child._pump, args=(sink,), name=f"{name}-output", daemon=True
        )
        child._reader.start()
        return child

    def _pump(self, sink: Callable[[str], None]) -> None:
        stream = self.process.stdout
        if stream is None:
            return
        for raw in stream:
            line = raw.rstrip("\n")
            self.lines.append(line)
            sink(line)

    @property
    def returncode(self) -> int | None:
        """The exit code, None while it runs."""
        return self.process.poll()

    def signal(self, sig: signal.Signals) -> None:
        """Send ``sig`` if it still runs."""
        if self.process.poll() is None:
            self.process.send_signal(sig)

    def wait(self, timeout_s: float) -> int | None:
        """Wait up to ``timeout_s``; the exit code or None if it still runs."""
        try:
            code = self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None
        if self._reader is not None:
            self._reader.join(5)
        return code

    def stop(self, grace_s: float = 20.0) -> int:
        """SIGINT, then SIGTERM after ``grace_s``, then SIGKILL; the exit code."""
        for sig, wait_s in (
            (signal.SIGINT, grace_s),
            (signal.SIGTERM, 5.0),
            (signal.SIGKILL, 5.0),
        ):
            if self.process.poll() is not None:
                break
            log.debug("stopping %s with %s", self.name, sig.name)
            self.signal(sig)
            self.wait(wait_s)
        return self.process.wait()


def python_module_cmd(*args: str) -> list[str]:
    """Run this interpreter on ``args`` (``-m pkg ...`` or ``-c code ...``)."""
    return [sys.executable, *args]


def start_server(
    env: dict[str, str], log_file: IO[str], *, startup_timeout_s: float = 120.0
) -> tuple[Child, str]:
    """``rxdispatch serve`` on a free port, logging to ``log_file``; waits for
    ``/health`` and returns the child and its base URL."""
    port = free_port()

    def to_file(line: str) -> None:
        log_file.write(line + "\n")
        log_file.flush()

    child = Child.start("server", serve_command(port, log_level="info"), env, to_file)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(
            base_url, lambda: child.returncode, timeout_s=startup_timeout_s
        )
    except ServerStartError as exc:
        if exc.returncode is None:
            child.stop()
        raise DemoError(str(exc)) from exc
    return child, base_url


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment plus ``extra``, output unbuffered."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
