"""A private mosquitto on free ports, running the shipped ``deploy/mosquitto`` config.

Ports and file paths of the shipped configuration are rewritten to a temporary
folder; everything else (auth, ACL, queue and in-flight limits, persistence) is
used as shipped. Also used by ``benchmarks/ingest_throughput.py``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from telemetry.embedded_broker import free_port

from .tls import write_test_pki

SHIPPED = Path(__file__).resolve().parents[3] / "deploy" / "mosquitto"
_PATH_KEYS = {"password_file", "acl_file", "cafile", "certfile", "keyfile"}
_TLS_KEYS = {"cafile", "certfile", "keyfile", "tls_version"}


def mosquitto_binary() -> str | None:
    """Path of a ``mosquitto`` executable, or None."""
    return shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )


def render_config(
    *,
    port: int,
    tls_port: int | None,
    folder: Path,
    tls_files: dict[str, Path],
    overrides: dict[str, str] | None = None,
) -> str:
    """The shipped ``mosquitto.conf`` with listeners and paths moved to ``folder``
    (and ``overrides`` replacing the values of those keys, for experiments)."""
    overrides = overrides or {}
    out: list[str] = []
    in_tls = False
    for line in (SHIPPED / "mosquitto.conf").read_text().splitlines():
        words = line.split()
        key = words[0] if words and not line.startswith("#") else ""
        if key == "listener":
            in_tls = words[1] == "8883"
            if in_tls and tls_port is None:
                continue
            line = f"listener {tls_port if in_tls else port} 127.0.0.1"
        elif key in _TLS_KEYS and tls_port is None:
            continue
        elif key in ("cafile", "certfile", "keyfile"):
            line = f"{key} {tls_files[key]}"
        elif key in ("password_file", "acl_file"):
            line = f"{key} {folder / key}"
        elif key == "persistence_location":
            line = f"persistence_location {folder}/"
        elif key in overrides:
            line = f"{key} {overrides[key]}"
        out.append(line)
    out.append(f"pid_file {folder / 'mosquitto.pid'}")
    out.append("log_dest stderr")
    return "\n".join(out) + "\n"


class PrivateMosquitto:
    """Runs mosquitto with the shipped config on free ports until :meth:`stop`."""

    def __init__(
        self,
        users: dict[str, str],
        *,
        tls: bool = False,
        binary: str | None = None,
        overrides: dict[str, str] | None = None,
    ) -> None:
        self.binary = binary or mosquitto_binary() or "mosquitto"
        self.folder = Path(tempfile.mkdtemp(prefix="rxd-mosq-"))
        os.chmod(self.folder, 0o777)  # noqa: S103 - mosquitto drops root to its own user
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        pki = self.folder / "pki"
        pki.mkdir()
        self.tls_files = write_test_pki(pki) if tls else {}
        self.proc: subprocess.Popen[bytes] | None = None
        passwd = self.folder / "password_file"
        for i, (user, password) in enumerate(users.items()):
            flags = ["-c"] if i == 0 else []
            subprocess.run(
                ["mosquitto_passwd", *flags, "-b", str(passwd), user, password],
                check=True,
                capture_output=True,
            )
        shutil.copy(SHIPPED / "acl", self.folder / "acl_file")
        for path in self.folder.iterdir():
            if path.is_file():
                os.chmod(path, 0o644)
        conf = render_config(
            port=self.port,
            tls_port=self.tls_port,
            folder=self.folder,
            tls_files=self.tls_files,
            overrides=overrides,
        )
        self.conf_path = self.folder / "mosquitto.conf"
        self.conf_path.write_text(conf)
        os.chmod(self.conf_path, 0o644)

    def url(self, user: str, password: str, *, tls: bool = False) -> str:
        scheme, port = ("mqtts", self.tls_port) if tls else ("mqtt", self.port)
        return f"{scheme}://{user}:{password}@127.0.0.1:{port}"

    def start(self, timeout_s: float = 60.0) -> PrivateMosquitto:
        log = (self.folder / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(self.conf_path)], stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("mosquitto exited: " + self.log_text()[-2000:])
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def log_text(self) -> str:
        path = self.folder / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL (a crash: queued messages since the last autosave are lost)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """Clean shutdown (persists the queue to disk)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PrivateMosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
