"""An in-process MQTT broker (amqtt) for when no MQTT_URL is set.

It requires a username and password: anonymous clients are refused, so nobody
else on the host can fake an excursion or hide one. The credentials are the
caller's (``serve`` and ``ingest`` use the data folder's, see
:mod:`dispatch.dev_secrets`) or random per broker; :attr:`EmbeddedBroker.url`
carries them to the clients that should connect.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

from argon2 import PasswordHasher

log = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedBroker:
    """amqtt running on its own event loop in a daemon thread.

    Use as a context manager or call :meth:`start` / :meth:`stop`; :attr:`url`
    is the ``mqtt://host:port`` clients connect to.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        username: str = "rxdispatch",
        password: str | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.username = username
        self.password = password or secrets.token_urlsafe(24)
        self._passwd_dir = tempfile.TemporaryDirectory(prefix="rxd-mqtt-")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        """``mqtt://user:password@host:port``: what a client needs to connect."""
        user, password = quote(self.username, safe=""), quote(self.password, safe="")
        return f"mqtt://{user}:{password}@{self.host}:{self.port}"

    def _password_file(self) -> Path:
        path = Path(self._passwd_dir.name) / "passwd"
        path.write_text(
            f"{self.username}:{PasswordHasher().hash(self.password)}\n",
            encoding="utf-8",
        )
        path.chmod(0o600)
        return path

    def start(self, timeout_s: float = 15.0) -> EmbeddedBroker:
        self._thread = threading.Thread(
            target=self._run, name="embedded-mqtt", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise RuntimeError("embedded MQTT broker did not start in time")
        if self._error is not None:
            raise RuntimeError("embedded MQTT broker failed") from self._error
        log.info("embedded mqtt broker ready", extra={"port": self.port})
        return self

    def _run(self) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from amqtt.broker import Broker

        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        config = {
            "listeners": {
                "default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}
            },
            "plugins": {
                "amqtt.plugins.authentication.FileAuthPlugin": {
                    "password_file": str(self._password_file())
                }
            },
        }
        try:
            self._broker = Broker(config, loop=loop)
            loop.run_until_complete(self._broker.start())
        except BaseException as exc:  # surfaced to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        loop.close()

    def stop(self) -> None:
        loop, broker = self._loop, self._broker
        if loop is None or broker is None or not loop.is_running():
            return
        fut = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
        try:
            fut.result(timeout=10)
        except Exception:  # a broker that fails to stop cleanly is still abandoned
            log.warning("embedded mqtt broker did not shut down cleanly")
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._passwd_dir.cleanup()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
