"""A real app for the browser tests and the screenshots: uvicorn serving
``create_app`` (with the built UI) on a free port against a fresh database,
and helpers that drive it through its HTTP API like any client."""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.auth.principals import Role
from api.patient_channel import FakeSmsGateway
from api.services import AppSettings, Services
from api.settings import ApiSettings
from dispatch.settings import DatabaseSettings
from telemetry.embedded_broker import free_port

PASSWORD = "correct-horse-battery"
SKU = "SKU-INS-100"

#: Places on Malta (lat, lon) for pharmacies, riders and patients.
PLACES: dict[str, tuple[float, float]] = {
    "Valletta": (35.8989, 14.5146),
    "Sliema": (35.9120, 14.5040),
    "Birkirkara": (35.8970, 14.4620),
    "Mosta": (35.9090, 14.4260),
    "Qormi": (35.8760, 14.4720),
    "Paola": (35.8730, 14.5070),
    "Żabbar": (35.8760, 14.5370),
    "Marsaskala": (35.8620, 14.5670),
    "St Julian's": (35.9180, 14.4890),
    "Rabat": (35.8810, 14.3980),
    "Żejtun": (35.8560, 14.5330),
    "Naxxar": (35.9150, 14.4440),
    "Msida": (35.8970, 14.4890),
    "Gżira": (35.9050, 14.4940),
    "Ħamrun": (35.8860, 14.4890),
    "Fgura": (35.8700, 14.5170),
    "Birżebbuġa": (35.8260, 14.5270),
    "Mellieħa": (35.9570, 14.3620),
    "Qawra": (35.9530, 14.4200),
    "Attard": (35.8890, 14.4420),
    "Luqa": (35.8590, 14.4890),
    "Siġġiewi": (35.8550, 14.4370),
    "Żebbuġ": (35.8720, 14.4410),
    "Marsa": (35.8790, 14.4950),
}


def settings_for(database_url: str, **api: Any) -> AppSettings:
    """Settings of a test app on an already migrated database."""
    return AppSettings(
        api=ApiSettings(
            **{
                "environment": "test",
                "run_migrations": False,
                "run_replanner": False,
                "run_ingest": False,
                "login_attempts_per_min": 1000,
                "ws_heartbeat_s": 2.0,
                **api,
            }
        ),
        database=DatabaseSettings(database_url=database_url, pool_max_size=4),
    )


@dataclass
class LiveApp:
    """The app served on 127.0.0.1:<port>."""

    base_url: str
    app: FastAPI
    server: uvicorn.Server
    thread: threading.Thread
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=30)

    @property
    def services(self) -> Services:
        """The composed services of the running app."""
        services: Services = self.app.state.services
        return services

    def stop(self) -> None:
        """Shut the server down (websockets are closed by uvicorn)."""
        self.http.close()
        self.server.should_exit = True
        self.thread.join(15)


def start(settings: AppSettings, port: int | None = None) -> LiveApp:
    """Serve ``create_app(settings)`` on a free (or the given) port."""
    app = create_app(settings)
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(400):
        if server.started:
            break
        if not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    assert server.started, "the test server did not start in 20 s"
    return LiveApp(f"http://127.0.0.1:{port}", app, server, thread)


@contextmanager
def serving(settings: AppSettings) -> Iterator[LiveApp]:
    """A started app, stopped afterwards."""
    live = start(settings)
    try:
        yield live
    finally:
        live.stop()


class Driver:
    """Seeds and moves the world through the API, as its clients would."""

    def __init__(self, live: LiveApp) -> None:
        self.live = live
        self.http = live.http
        self._headers: dict[str, dict[str, str]] = {}
        self._device: dict[str, dict[str, str]] = {}

    def user(self, username: str, role: Role, password: str = PASSWORD) -> None:
        """A staff user (created in the store, as ``rxdispatch user add`` does)."""
        self.live.services.auth.add_user(
            username=username, role=role, password=password
        )

    def login(self, username: str, password: str = PASSWORD) -> dict[str, str]:
        """Bearer header of a user (cached)."""
        if username not in self._headers:
            r = self.http.post(
                "/auth/token", json={"username": username, "password": password}
            )
            r.raise_for_status()
            self._headers[username] = {
                "Authorization": f"Bearer {r.json()['access_token']}"
            }
        return self._headers[username]

    def staff(self) -> None:
        """One admin, dispatcher and pharmacist: ``admin``, ``dora``, ``phil``."""
        self.user("admin", Role.admin)
        self.user("dora", Role.dispatcher)
        self.user("phil", Role.pharmacist)

    def _ok(self, r: httpx.Response) -> Any:
        assert r.status_code < 300, f"{r.request.method} {r.request.url}: {r.text}"
        return r.json()

    def catalogue(self, pharmacies: dict[str, str], units: int = 500) -> None:
        """Pharmacies ``{id: place}``, one product, ``units`` in stock at each."""
        ph = self.login("phil")
        for pharmacy_id, place in pharmacies.items():
            lat, lon = PLACES[place]
            self._ok(
                self.http.post(
                    "/pharmacies",
                    headers=ph,
                    json={
                        "id": pharmacy_id,
                        "name": f"{place} Pharmacy",
                        "location": {"lat": lat, "lon": lon},
                        "licence_number": f"LIC-{pharmacy_id}",
                    },
                )
            )
        self._ok(
            self.http.post(
                "/products", headers=ph, json={"sku": SKU, "name": "Insulin pen"}
            )
        )
        expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
        for pharmacy_id in pharmacies:
            csv_text = (
                "sku,lot_number,expiry_date,quantity\n"
                f"{SKU},LOT-{pharmacy_id},{expiry},{units}\n"
            )
            self._ok(
                self.http.post(
                    f"/pharmacies/{pharmacy_id}/stock/import",
                    headers={**ph, "Content-Type": "text/csv"},
                    content=csv_text,
                )
            )

    def rider(self, rider_id: str, name: str, place: str, hours: float = 8) -> None:
        """Register a rider, give them a device and start their shift at ``place``."""
        self._ok(
            self.http.post(
                "/riders",
                headers=self.login("dora"),
                json={"id": rider_id, "name": name, "vehicle_type": "scooter"},
            )
        )
        token = self.live.services.auth.issue_device_token(rider_id=rider_id)
        self._device[rider_id] = {"Authorization": f"Bearer {token}"}
        lat, lon = PLACES[place]
        ends = datetime.now(UTC) + timedelta(hours=hours)
        self._ok(
            self.http.post(
                "/riders/me/shift/start",
                headers=self._device[rider_id],
                json={
                    "ends_at": ends.isoformat(),
                    "position": {"lat": lat, "lon": lon},
                },
            )
        )
        self.position(rider_id, lat, lon)

    def patient_token(self, order_id: str) -> str:
        """The patient's own tracking token, as the fake SMS gateway "texted" it
        (the creator's ``tracking_token`` cannot read the delivery code)."""
        channel = self.live.services.patient_channel
        assert isinstance(channel, FakeSmsGateway)
        for sms in channel.sent(order_id):
            found = re.search(r"#(rxd_trk_[A-Za-z0-9_-]+)", sms.body)
            if found:
                return found.group(1)
        raise AssertionError(f"no patient link was texted for order {order_id}")

    def device(self, rider_id: str) -> dict[str, str]:
        """The rider's device-token header."""
        return self._device[rider_id]

    def pick_up(self, order: dict[str, Any], rider_id: str) -> dict[str, float]:
        """The rider collects ``order`` at its pharmacy, scanning the codes on its
        lots' labels (the pharmacist's pick list); the pharmacy's location."""
        phil = self.login("phil")
        lines = self.http.get(f"/orders/{order['id']}/pick-list", headers=phil).json()
        pharmacy = self.http.get(
            f"/pharmacies/{order['pharmacy_id']}", headers=phil
        ).json()
        self._ok(
            self.http.post(
                f"/orders/{order['id']}/pickup",
                headers=self.device(rider_id),
                json={
                    "scanned_lot_codes": [line["scan_code"] for line in lines],
                    "position": pharmacy["location"],
                },
            )
        )
        location: dict[str, float] = pharmacy["location"]
        return location

    def position(self, rider_id: str, lat: float, lon: float) -> None:
        """A GPS fix from the rider's phone (REST fallback of /ws/rider)."""
        self._ok(
            self.http.post(
                "/riders/me/position",
                headers=self._device[rider_id],
                json={"lat": lat, "lon": lon},
            )
        )

    def order(
        self,
        lat: float,
        lon: float,
        *,
        window_h: float = 3,
        start_h: float = 0,
        priority: str = "standard",
        quantity: int = 1,
    ) -> dict[str, Any]:
        """Place an order (the patient is fictional)."""
        start = datetime.now(UTC) + timedelta(hours=start_h)
        body = {
            "patient_ref": f"P-{uuid.uuid4().hex[:6]}",
            "patient": {
                "name": "Maria Camilleri",
                "phone": "+35699123456",
                "address": "12 Triq il-Kbira",
            },
            "delivery_location": {"lat": lat, "lon": lon},
            "lines": [{"sku": SKU, "quantity": quantity}],
            "window_start_at": start.isoformat(),
            "window_end_at": (start + timedelta(hours=window_h)).isoformat(),
            "priority": priority,
        }
        headers = {**self.login("dora"), "Idempotency-Key": uuid.uuid4().hex}
        order: dict[str, Any] = self._ok(
            self.http.post("/orders", headers=headers, json=body)
        )
        return order

    def get_order(self, order_id: str) -> dict[str, Any]:
        """The order as the API reads it now."""
        order: dict[str, Any] = self._ok(
            self.http.get(f"/orders/{order_id}", headers=self.login("dora"))
        )
        return order
