"""An API app on a fresh database, with one credential per role."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principals import Role
from api.patient_channel import FakeSmsGateway
from api.services import AppSettings, Services
from api.settings import ApiSettings
from dispatch.settings import DatabaseSettings
from telemetry.embedded_broker import free_port

PASSWORD = "correct-horse-battery"
#: Bound of waits on a server, a feed or a worker. Generous on purpose (a busy CI
#: host is slow): a wait ends as soon as its condition holds.
WAIT_S = 60.0


def api_settings(database_url: str, **api: Any) -> AppSettings:
    """Test settings on ``database_url`` (already migrated)."""
    return AppSettings(
        api=ApiSettings(
            **{
                "environment": "test",
                "run_migrations": False,
                "run_replanner": False,
                "run_ingest": False,
                "city": "none",
                **api,
            }
        ),
        database=DatabaseSettings(database_url=database_url, pool_max_size=4),
    )


@dataclass
class Credentials:
    """Authorization headers per role (patient: a tracking token)."""

    headers: dict[Role, dict[str, str]]
    rider_id: str

    def __call__(self, role: Role) -> dict[str, str]:
        return self.headers[role]


@pytest.fixture
def client(fresh_db: str) -> Iterator[TestClient]:
    """A started app (lifespan run) on a fresh database."""
    with TestClient(create_app(api_settings(fresh_db))) as c:
        yield c


def services_of(client: TestClient) -> Services:
    """The composed services behind a started test client."""
    app = client.app
    services: Services = app.state.services  # type: ignore[attr-defined]
    return services


def patient_token(client: TestClient, order_id: str) -> str:
    """The patient's own tracking token, as the fake SMS gateway "texted" it (the
    only link that reads their delivery code)."""
    channel = services_of(client).patient_channel
    assert isinstance(channel, FakeSmsGateway)
    [sms] = channel.sent(order_id)
    found = re.search(r"#(rxd_trk_\S+)", sms.body)
    assert found is not None
    return found.group(1)


def login(
    client: TestClient, username: str, password: str = PASSWORD
) -> dict[str, str]:
    """Bearer header of a logged-in user."""
    r = client.post("/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture
def creds(client: TestClient) -> Credentials:
    """One user per staff role and one rider device token."""
    services = services_of(client)
    headers: dict[Role, dict[str, str]] = {}
    for role in (Role.admin, Role.dispatcher, Role.pharmacist):
        services.auth.add_user(username=f"{role.value}-1", password=PASSWORD, role=role)
        headers[role] = login(client, f"{role.value}-1")
    rider_token = services.auth.issue_device_token(rider_id="rider-1")
    headers[Role.rider] = {"Authorization": f"Bearer {rider_token}"}
    return Credentials(headers=headers, rider_id="rider-1")


@pytest.fixture
def server(fresh_db: str) -> Iterator[tuple[str, FastAPI]]:
    """A real uvicorn serving the app on a free port (heartbeat 0.2 s)."""
    app = create_app(api_settings(fresh_db, ws_heartbeat_s=0.2))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + WAIT_S
    while not srv.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"127.0.0.1:{port}", app
    finally:
        srv.should_exit = True
        thread.join(WAIT_S)
