"""Starting ``rxdispatch serve`` as a child process: its command line and the wait
for ``/health`` (shared by ``rxdispatch demo`` and the API benchmarks)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import httpx

__all__ = ["ServerStartError", "serve_command", "wait_until_healthy"]


class ServerStartError(RuntimeError):
    """The server exited (``returncode``) or did not answer ``/health`` in time
    (``returncode`` None)."""

    def __init__(self, message: str, returncode: int | None) -> None:
        super().__init__(message)
        self.returncode = returncode


def serve_command(port: int, *, log_level: str) -> list[str]:
    """This interpreter running ``rxdispatch serve`` on ``port``, no access log."""
    return [
        sys.executable,
        "-c",
        "from api.cli.main import main; main()",
        "serve",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        log_level,
    ]


def _is_healthy(base_url: str) -> bool:
    """Whether ``/health`` answers 200 now."""
    try:
        return httpx.get(f"{base_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_healthy(
    base_url: str,
    returncode: Callable[[], int | None],
    *,
    timeout_s: float = 120.0,
    interval_s: float = 0.3,
) -> None:
    """Poll ``/health`` until it answers; raise :class:`ServerStartError` as soon
    as ``returncode()`` (the child's exit code, None while it runs) says it exited,
    or after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not _is_healthy(base_url):
        code = returncode()
        if code is not None:
            raise ServerStartError(f"the API server exited with code {code}", code)
        if time.monotonic() > deadline:
            raise ServerStartError(
                "the API server did not answer /health in time", None
            )
        time.sleep(interval_s)
