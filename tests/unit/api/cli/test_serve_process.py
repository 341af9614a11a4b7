"""Starting ``rxdispatch serve`` as a child: the command line and the /health wait
shared by the demo and the benchmarks."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from api.cli.serve_process import ServerStartError, serve_command, wait_until_healthy
from telemetry.embedded_broker import free_port


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def healthy_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_serve_command_runs_this_interpreter_on_the_port() -> None:
    cmd = serve_command(8123, log_level="warning")
    assert cmd[0] == sys.executable
    assert cmd[3:] == [
        "serve",
        "--port",
        "8123",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def test_wait_returns_once_health_answers(healthy_url: str) -> None:
    wait_until_healthy(healthy_url, lambda: None, timeout_s=5)


def test_wait_stops_when_the_child_exits() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerStartError, match="exited with code 3") as caught:
        wait_until_healthy(url, lambda: 3, timeout_s=30)
    assert caught.value.returncode == 3


def test_wait_gives_up_after_the_timeout() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerStartError, match="in time") as caught:
        wait_until_healthy(url, lambda: None, timeout_s=0, interval_s=0)
    assert caught.value.returncode is None
