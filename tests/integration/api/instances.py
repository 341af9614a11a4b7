"""Several ``serve`` processes on one database (``API_CLUSTER``), as a load
balancer would see them: each a uvicorn process of its own (its own process
group, so a SIGKILL takes its solver worker with it), driven over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from telemetry.embedded_broker import free_port

REPO = Path(__file__).resolve().parents[3]
ADMIN = "admin"
PASSWORD = "correct-horse-battery"
SKU = "SKU-INS-100"
VALLETTA = {"lat": 35.8989, "lon": 14.5146}
PHARMACY = {"lat": 35.8975, "lon": 14.5120}
#: generous: a busy 2-core CI host starts a Python process slowly
START_S = 90.0


def _secret(name: str) -> str:
    return f"test-cluster-{name}-secret-0123456789abcdef"


@dataclass
class Instance:
    """One API process."""

    name: str
    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    http: httpx.Client = field(init=False)
    _token: str | None = None

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    @property
    def ws_url(self) -> str:
        """Base URL of the websockets."""
        return "ws" + self.base_url.removeprefix("http")

    def admin(self) -> dict[str, str]:
        """Bearer header of the bootstrap admin (logged in on this instance)."""
        if self._token is None:
            r = self.http.post(
                "/auth/token", json={"username": ADMIN, "password": PASSWORD}
            )
            r.raise_for_status()
            self._token = r.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        """A request that must succeed; its JSON."""
        r = self.http.request(method, path, **kwargs)
        assert r.status_code < 300, f"{self.name} {method} {path}: {r.text}"
        return r.json() if r.content else None

    def role(self) -> str | None:
        """``replanner_role`` of ``/health/ready`` (None if not answering)."""
        try:
            r = self.http.get("/health/ready", timeout=5)
        except httpx.HTTPError:
            return None
        role: str | None = r.json().get("replanner_role")
        return role

    def kill(self) -> None:
        """SIGKILL the process group (the server and its solver worker)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.http.close()

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then for good."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)
        self.http.close()


def start_instance(name: str, database_url: str, folder: Path, **env: str) -> Instance:
    """A ``serve``-like uvicorn process on a free port (not yet ready)."""
    port = free_port()
    environ = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DATABASE_URL": database_url,
        "RXDISPATCH_DATA_DIR": str(folder / "data"),
        "API_ENVIRONMENT": "test",
        "API_CLUSTER": "true",
        "API_RUN_MIGRATIONS": "false",
        "API_RUN_INGEST": "false",
        "API_CITY": "none",
        "API_LEADER_POLL_S": "0.5",
        "API_BOOTSTRAP_ADMIN_USERNAME": ADMIN,
        "API_BOOTSTRAP_ADMIN_PASSWORD": PASSWORD,
        "API_JWT_SECRET": _secret("jwt"),
        "API_TRACKING_LINK_SECRET": _secret("link"),
        "API_LOGIN_ATTEMPTS_PER_MIN": "1000",
        "DISPATCH_DATA_KEY": _secret("data"),
        "DISPATCH_OTP_PEPPER": _secret("otp"),
        "TELEMETRY_WEBHOOK_SECRET": _secret("webhook"),
        "DISPATCH_REPLAN_DEBOUNCE_S": "0.3",
        "DISPATCH_SOLVER_TIME_LIMIT_S": "1",
        **env,
    }
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "api.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=environ,
            cwd=REPO,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Instance(name, f"http://127.0.0.1:{port}", process, log_path)


def wait_ready(instance: Instance, timeout_s: float = START_S) -> None:
    """Until ``/health/ready`` answers (the lifespan has run)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if instance.process.poll() is not None:
            raise AssertionError(
                f"{instance.name} exited: {instance.log_path.read_text()[-3000:]}"
            )
        try:
            if instance.http.get("/health/ready", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{instance.name} not ready in {timeout_s} s")


@contextmanager
def cluster(
    database_url: str, folder: Path, count: int = 2, **env: str
) -> Iterator[list[Instance]]:
    """``count`` started instances on one (migrated) database, stopped after."""
    instances = [
        start_instance(chr(ord("a") + i), database_url, folder, **env)
        for i in range(count)
    ]
    try:
        for instance in instances:
            wait_ready(instance)
        yield instances
    finally:
        for instance in instances:
            instance.stop()


def wait_until(what: str, check: Any, timeout_s: float = 60.0) -> Any:
    """Poll ``check()`` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def seed_city(instance: Instance) -> None:
    """A pharmacy with 500 units of one product in stock."""
    admin = instance.admin()
    instance.ok(
        "POST",
        "/pharmacies",
        headers=admin,
        json={
            "id": "ph-1",
            "name": "Valletta Pharmacy",
            "location": PHARMACY,
            "licence_number": "LIC-1",
        },
    )
    instance.ok(
        "POST", "/products", headers=admin, json={"sku": SKU, "name": "Insulin pen"}
    )
    expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    instance.ok(
        "POST",
        "/pharmacies/ph-1/stock",
        headers=admin,
        json={
            "sku": SKU,
            "lot_number": "LOT-1",
            "expiry_date": expiry,
            "quantity": 500,
        },
    )


def start_shifts(instance: Instance, riders: tuple[str, ...]) -> dict[str, Any]:
    """``riders`` registered, with a device each, on shift in Valletta; their
    device headers by rider id."""
    devices: dict[str, Any] = {}
    for rider_id in riders:
        devices[rider_id] = add_rider(instance, rider_id)
        instance.ok(
            "POST",
            "/riders/me/shift/start",
            headers=devices[rider_id],
            json={
                "ends_at": (datetime.now(UTC) + timedelta(hours=8)).isoformat(),
                "position": VALLETTA,
            },
        )
    return devices


def add_rider(instance: Instance, rider_id: str) -> dict[str, str]:
    """A registered rider and the header of a new device token."""
    admin = instance.admin()
    instance.ok(
        "POST",
        "/riders",
        headers=admin,
        json={"id": rider_id, "name": rider_id.title(), "vehicle_type": "scooter"},
    )
    token = instance.ok(
        "POST", f"/riders/{rider_id}/device-tokens", headers=admin, json={}
    )["device_token"]
    return {"Authorization": f"Bearer {token}"}


def place_order(instance: Instance, n: int) -> str:
    """A new order through ``instance``; its id."""
    now = datetime.now(UTC)
    order: dict[str, Any] = instance.ok(
        "POST",
        "/orders",
        headers={**instance.admin(), "Idempotency-Key": f"burst-{n:04d}"},
        json={
            "patient_ref": f"P-{n}",
            "patient": {
                "name": "Maria Camilleri",
                "phone": "+35699123456",
                "address": "12 Triq il-Kbira",
            },
            "delivery_location": {
                "lat": VALLETTA["lat"] + 0.002 * (n % 7),
                "lon": VALLETTA["lon"] - 0.002 * (n % 5),
            },
            "lines": [{"sku": SKU, "quantity": 1}],
            "window_start_at": now.isoformat(),
            "window_end_at": (now + timedelta(hours=4)).isoformat(),
        },
    )
    return str(order["id"])
