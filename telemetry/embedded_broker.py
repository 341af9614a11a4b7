"""An in-process MQTT broker (amqtt) for when no MQTT_URL is set."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import warnings
from typing import Any

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

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

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
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {
                    "allow_anonymous": True
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

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
