"""A private RabbitMQ node on free ports, running the shipped ``deploy/rabbitmq``.

Next to the machine's own node, never touching it: its own node name, AMQP,
MQTT and distribution ports, data and log folders, an empty
``RABBITMQ_CONF_ENV_FILE`` (the system env file would name it
``rabbit@localhost``) and its own ``HOME`` (Erlang cookie). The shared epmd is
fine. The shipped ``rabbitmq.conf`` is used with listeners and paths moved to a
temporary folder (TLS lines kept only with ``tls=True``); the shipped
``definitions.json`` declares the ingest topology at boot. Several nodes with
``join=`` form a cluster for failover runs. Also used by
``benchmarks/ingest_scaleout.py``.

Starting a node takes ~15 s on a quiet machine, much longer on a busy one: start
one per test session.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

from telemetry.embedded_broker import free_port

from .tls import write_test_pki

SHIPPED = Path(__file__).resolve().parents[3] / "deploy" / "rabbitmq"
SBIN = Path("/usr/lib/rabbitmq/bin")
_TLS_KEYS = ("listeners.ssl.", "mqtt.listeners.ssl.", "ssl_options.")


def rabbitmq_available() -> bool:
    """Whether ``rabbitmq-server`` is installed."""
    return (SBIN / "rabbitmq-server").exists()


def box_topic_pattern(box_id: str, prefix: str = "rxdispatch/v1") -> str:
    """The only routing key (regex) box ``box_id`` may publish to."""
    key = prefix.replace("/", ".") + ".boxes." + box_id + ".telemetry"
    return "^" + re.escape(key) + "$"


def render_config(
    *,
    amqp_port: int,
    mqtt_port: int,
    folder: Path,
    tls_ports: tuple[int, int] | None = None,
    tls_files: dict[str, Path] | None = None,
) -> str:
    """The shipped ``rabbitmq.conf`` with listeners and paths moved to ``folder``."""
    out: list[str] = []
    files = tls_files or {}
    for line in (SHIPPED / "rabbitmq.conf").read_text().splitlines():
        key = line.split("=", 1)[0].strip() if "=" in line else ""
        if key.startswith(_TLS_KEYS) and tls_ports is None:
            continue
        if key == "listeners.tcp.default":
            line = f"listeners.tcp.local = 127.0.0.1:{amqp_port}"
        elif key == "mqtt.listeners.tcp.default":
            line = f"mqtt.listeners.tcp.local = 127.0.0.1:{mqtt_port}"
        elif key == "listeners.ssl.default" and tls_ports:
            line = f"listeners.ssl.local = 127.0.0.1:{tls_ports[0]}"
        elif key == "mqtt.listeners.ssl.default" and tls_ports:
            line = f"mqtt.listeners.ssl.local = 127.0.0.1:{tls_ports[1]}"
        elif key == "ssl_options.cacertfile":
            line = f"ssl_options.cacertfile = {files['cafile']}"
        elif key == "ssl_options.certfile":
            line = f"ssl_options.certfile = {files['certfile']}"
        elif key == "ssl_options.keyfile":
            line = f"ssl_options.keyfile = {files['keyfile']}"
        elif key == "load_definitions":
            line = f"load_definitions = {folder / 'definitions.json'}"
        out.append(line)
    return "\n".join(out) + "\n"


class PrivateRabbitMQ:
    """One RabbitMQ node with the shipped config on free ports until :meth:`cleanup`."""

    def __init__(
        self,
        *,
        tls: bool = False,
        name: str | None = None,
        folder: Path | None = None,
        cookie: str | None = None,
    ) -> None:
        token = name or f"rxd{uuid.uuid4().hex[:8]}"
        self.node = f"{token}@localhost"
        self.folder = folder or Path(tempfile.mkdtemp(prefix=f"rxd-rmq-{token}-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.amqp_port = free_port()
        self.mqtt_port = free_port()
        self.dist_port = free_port()
        self.tls_ports = (free_port(), free_port()) if tls else None
        self.tls_files: dict[str, Path] = {}
        if tls:
            pki = self.folder / "pki"
            pki.mkdir(exist_ok=True)
            self.tls_files = write_test_pki(pki)
        shutil.copy(SHIPPED / "definitions.json", self.folder / "definitions.json")
        (self.folder / "enabled_plugins").write_text(
            (SHIPPED / "enabled_plugins").read_text()
        )
        (self.folder / "rabbitmq.conf").write_text(
            render_config(
                amqp_port=self.amqp_port,
                mqtt_port=self.mqtt_port,
                folder=self.folder,
                tls_ports=self.tls_ports,
                tls_files=self.tls_files,
            )
        )
        (self.folder / "empty.env").write_text("")
        home = self.folder / "home"
        home.mkdir(exist_ok=True)
        cookie_file = home / ".erlang.cookie"
        if not cookie_file.exists():
            cookie_file.write_text(cookie or "RXDPRIVATECOOKIE" + token.upper())
            cookie_file.chmod(0o400)
        self.env = {
            **os.environ,
            "HOME": str(home),
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "empty.env"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.folder / "node.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle ------------------------------------------------------------
    def start(self, timeout_s: float = 300.0) -> PrivateRabbitMQ:
        log = (self.folder / "server.out").open("ab")
        self.proc = subprocess.Popen(
            [str(SBIN / "rabbitmq-server")],
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        self.ctl(
            "wait", str(self.folder / "node.pid"), "--timeout", str(int(timeout_s))
        )
        self.ctl("await_startup", "--timeout", str(int(timeout_s)))
        return self

    def ctl(self, *args: str, timeout_s: float = 300.0) -> str:
        """``rabbitmqctl -n <node> ...`` (raises with its output on failure)."""
        done = subprocess.run(
            [str(SBIN / "rabbitmqctl"), "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl {' '.join(args[:1])} failed: {done.stdout}{done.stderr}"
                + self.log_tail()
            )
        return done.stdout

    def queues(self, *args: str, timeout_s: float = 300.0) -> str:
        """``rabbitmq-queues -n <node> ...`` (quorum membership)."""
        done = subprocess.run(
            [str(SBIN / "rabbitmq-queues"), "-n", self.node, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmq-queues failed: {done.stdout}{done.stderr}")
        return done.stdout

    def log_text(self) -> str:
        """The node's own log file (connections, refusals)."""
        folder = self.folder / "log"
        return "".join(
            p.read_text(errors="replace") for p in sorted(folder.glob("*.log"))
        )

    def log_tail(self) -> str:
        path = self.folder / "server.out"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the node (its Erlang VM and children)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.ctl("stop", timeout_s=120)
            self.proc.wait(120)
        except (RuntimeError, subprocess.TimeoutExpired):
            self.kill()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PrivateRabbitMQ:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def join(self, other: PrivateRabbitMQ) -> None:
        """Join ``other``'s cluster (same cookie needed; this node is reset)."""
        self.ctl("stop_app")
        self.ctl("join_cluster", other.node)
        self.ctl("start_app")
        self.ctl("await_startup", "--timeout", "300")

    # -- users ------------------------------------------------------------------
    def add_ingest_user(self, user: str, password: str) -> None:
        """The workers' user: consumes the ingest queues, declares the topology."""
        self.ctl("add_user", user, password)
        self.ctl(
            "set_permissions", "-p", "/", user, "^(amq\\.topic|rxdispatch\\..*)$",
            "^(amq\\.topic|rxdispatch\\..*)$", "^(amq\\.topic|rxdispatch\\..*)$",
        )  # fmt: skip

    def add_box(
        self, box_id: str, password: str, prefix: str = "rxdispatch/v1"
    ) -> None:
        """A box's user: may publish (MQTT) only to its own telemetry topic and
        subscribe (with its box id as client id) only to its own resend topic
        (as ``deploy/rabbitmq/add-box.sh``)."""
        self.ctl("add_user", box_id, password)
        queue = f"mqtt-subscription-{re.escape(box_id)}qos[01]"
        self.ctl(
            "set_permissions", "-p", "/", box_id, f"^{queue}$",
            f"^(amq\\.topic|{queue})$", f"^(amq\\.topic|{queue})$",
        )  # fmt: skip
        resend = prefix.replace("/", ".") + ".boxes." + box_id + ".resend"
        self.ctl(
            "set_topic_permissions", "-p", "/", box_id, "amq.topic",
            box_topic_pattern(box_id, prefix), "^" + re.escape(resend) + "$",
        )  # fmt: skip

    def add_gateway(
        self, user: str, password: str, prefix: str = "rxdispatch/v1"
    ) -> None:
        """A gateway (simulator, load generator) publishing for any box and
        answering any box's resend requests (its own subscription queues)."""
        self.ctl("add_user", user, password)
        queue = f"mqtt-subscription-{re.escape(user)}.*"
        self.ctl(
            "set_permissions", "-p", "/", user, f"^{queue}$",
            f"^(amq\\.topic|{queue})$", f"^(amq\\.topic|{queue})$",
        )  # fmt: skip
        head = re.escape(prefix.replace("/", ".") + ".boxes.")
        self.ctl(
            "set_topic_permissions", "-p", "/", user, "amq.topic",
            f"^{head}.+\\.telemetry$", f"^{head}.+\\.resend$",
        )  # fmt: skip

    def amqp_url(self, user: str, password: str) -> str:
        return f"amqp://{quote(user)}:{quote(password)}@127.0.0.1:{self.amqp_port}/%2F"

    def mqtt_url(self, user: str, password: str) -> str:
        return f"mqtt://{quote(user)}:{quote(password)}@127.0.0.1:{self.mqtt_port}"

    def amqps_url(self, user: str, password: str) -> str:
        """The AMQP-over-TLS listener (needs ``tls=True``; CA in ``tls_files``)."""
        assert self.tls_ports is not None, "node started without TLS"
        port = self.tls_ports[0]
        return f"amqps://{quote(user)}:{quote(password)}@127.0.0.1:{port}/%2F"

    def mqtts_url(self, user: str, password: str) -> str:
        """The MQTT-over-TLS listener (needs ``tls=True``)."""
        assert self.tls_ports is not None, "node started without TLS"
        port = self.tls_ports[1]
        return f"mqtts://{quote(user)}:{quote(password)}@127.0.0.1:{port}"

    def queue_depth(self, queue: str) -> int:
        """Messages ready + unacked in ``queue`` (rabbitmqctl list_queues)."""
        out = self.ctl("list_queues", "-q", "--no-table-headers", "name", "messages")
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == queue:
                return int(parts[1])
        raise KeyError(queue)
