"""Issue 20 through the running app: one pharmacy's bad data no longer stops
dispatch for the city, and a re-planner round that fails is counted, alerted
once, shown by readiness, and does not end re-planning."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principals import Role
from api.logging import build_handler
from tests.integration.api.conftest import PASSWORD, api_settings, login, services_of

T = TypeVar("T")
HOME = {"lat": 35.8989, "lon": 14.5146}
SECRET = "Maria Camilleri-Borg"  # patient data an exception's text might quote


def wait_for(probe: Callable[[], T | None], what: str, limit_s: float = 90) -> T:
    """``probe()`` once it is truthy (polled; a generous limit, not a deadline)."""
    deadline = time.monotonic() + limit_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def app_client(fresh_db: str) -> Iterator[TestClient]:
    settings = api_settings(fresh_db, run_replanner=True, ws_heartbeat_s=0.3)
    settings.dispatch.replan_debounce_s = 0.2
    settings.dispatch.solver_time_limit_s = 1.0
    with TestClient(create_app(settings)) as c:
        yield c


class City:
    """Two pharmacies, one product each, a rider; headers per role."""

    def __init__(self, client: TestClient, fresh_db: str) -> None:
        self.client, self.url = client, fresh_db
        services = services_of(client)
        for role in (Role.dispatcher, Role.pharmacist):
            services.auth.add_user(
                username=f"{role.value}-1", password=PASSWORD, role=role
            )
        self.disp = login(client, "dispatcher-1")
        self.ph = login(client, "pharmacist-1")
        expiry = (datetime.now(UTC) + timedelta(days=400)).date().isoformat()
        for pid, sku, lat in (("ph-good", "SKU-G", 35.8975), ("ph-bad", "SKU-B", 35.9)):
            self.ok(
                client.post(
                    "/pharmacies",
                    headers=self.ph,
                    json={
                        "id": pid,
                        "name": pid,
                        "location": {"lat": lat, "lon": 14.512},
                        "licence_number": f"L-{pid}",
                    },
                )
            )
            self.ok(
                client.post(
                    "/products", headers=self.ph, json={"sku": sku, "name": sku}
                )
            )
            self.ok(
                client.post(
                    f"/pharmacies/{pid}/stock",
                    headers=self.ph,
                    json={
                        "sku": sku,
                        "lot_number": "LOT-1",
                        "expiry_date": expiry,
                        "quantity": 20,
                    },
                )
            )
        self.ok(
            client.post(
                "/riders",
                headers=self.disp,
                json={"id": "rider-1", "name": "Luca", "vehicle_type": "scooter"},
            )
        )
        token = services.auth.issue_device_token(rider_id="rider-1")
        self.rider = {"Authorization": f"Bearer {token}"}

    @staticmethod
    def ok(response: Any) -> Any:
        assert response.status_code < 300, response.text
        return response.json()

    def order(self, sku: str, key: str) -> str:
        now = datetime.now(UTC)
        body = {
            "patient_ref": "P-1",
            "patient": {"name": SECRET, "phone": "+35699123456", "address": "x"},
            "delivery_location": HOME,
            "lines": [{"sku": sku, "quantity": 1}],
            "window_start_at": now.isoformat(),
            "window_end_at": (now + timedelta(hours=3)).isoformat(),
        }
        headers = {**self.disp, "Idempotency-Key": key}
        return str(
            self.ok(self.client.post("/orders", headers=headers, json=body))["id"]
        )

    def start_shift(self) -> None:
        self.ok(
            self.client.post(
                "/riders/me/shift/start",
                headers=self.rider,
                json={
                    "ends_at": (datetime.now(UTC) + timedelta(hours=8)).isoformat(),
                    "position": HOME,
                },
            )
        )

    def nudge(self) -> None:
        """A rider position: an input change that triggers a re-plan."""
        self.ok(self.client.post("/riders/me/position", headers=self.rider, json=HOME))

    def get_order(self, order_id: str) -> dict[str, Any]:
        return dict(self.client.get(f"/orders/{order_id}", headers=self.disp).json())

    def ready(self) -> dict[str, Any]:
        r = self.client.get("/health/ready")
        assert r.status_code == 200
        return dict(r.json())

    def metrics(self) -> dict[str, float]:
        return dict(
            self.client.get("/health/metrics", headers=self.disp).json()["metrics"]
        )


def _frames_until(
    ws: Any, accept: Callable[[dict[str, Any]], bool], limit: int = 300
) -> list[dict[str, Any]]:
    """Frames up to the first ``accept``-ed one (heartbeats every 0.3 s bound the
    wait: about 90 s)."""
    frames = []
    for _ in range(limit):
        frame: dict[str, Any] = ws.receive_json()
        frames.append(frame)
        if accept(frame):
            return frames
    raise AssertionError("no matching frame")


def _at_least(items: list[int], n: int) -> bool:
    return len(items) >= n


def _alert(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda f: f["type"] == "alert" and f["data"]["kind"] == kind


def test_a_pharmacy_with_a_bad_zone_is_set_aside_and_the_city_is_planned(
    app_client: TestClient, fresh_db: str
) -> None:
    city = City(app_client, fresh_db)
    poisoned = city.order("SKU-B", "resil-0001")
    healthy = city.order("SKU-G", "resil-0002")
    # a zone written before zones were checked (or one the tz database dropped)
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE dispatch.pharmacy SET timezone = 'Mars/Olympus', opening_hours = "
            """'[{"weekday": 0, "opens": "00:00:00", "closes": "23:59:00"}]'"""
            " WHERE id = 'ph-bad'"
        )
    with app_client.websocket_connect("/ws/dispatch", headers=city.disp) as feed:
        city.start_shift()
        wait_for(
            lambda: city.get_order(healthy)["status"] == "assigned",
            "the good order to be planned",
        )
        frames = _frames_until(
            feed,
            lambda f: (
                _alert("order.unassignable")(f) and f["data"]["order_id"] == poisoned
            ),
        )
    aside = city.get_order(poisoned)
    assert aside["status"] == "sourced"
    assert aside["unassigned_reason"] == "pharmacy_unusable"
    assert "ph-bad" in frames[-1]["data"]["detail"]
    assert SECRET not in str(frames)
    assert city.ready()["workers"]["replanner"]["status"] == "ok"
    metrics = city.metrics()
    assert metrics["replan_set_aside_orders"] == 1
    assert metrics["replan_unusable_pharmacies"] == 1
    # new orders still flow
    later = city.order("SKU-G", "resil-0003")
    wait_for(
        lambda: city.get_order(later)["status"] == "assigned",
        "a later order to be planned",
    )


def test_a_failing_round_is_reported_and_replanning_goes_on(
    app_client: TestClient, fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dispatch.planning.replanner as replanner_module

    city = City(app_client, fresh_db)
    order_id = city.order("SKU-G", "resil-0101")
    real = replanner_module.build_problem  # type: ignore[attr-defined]
    calls: list[int] = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise LookupError(f"bug while reading {SECRET}")

    stream = io.StringIO()
    handler = build_handler(stream)
    logging.getLogger().addHandler(handler)
    monkeypatch.setattr(replanner_module, "build_problem", broken)
    try:
        with app_client.websocket_connect("/ws/dispatch", headers=city.disp) as feed:
            city.start_shift()
            first = _frames_until(feed, _alert("worker.failed"))[-1]["data"]
            for n in (2, 3):  # more failing rounds: counted, not alerted again
                city.nudge()
                wait_for(partial(_at_least, calls, n), f"failed round {n}")

            def three_failures() -> dict[str, Any] | None:
                r = city.ready()
                failures = r["workers"]["replanner"]["consecutive_failures"]
                return r if failures >= 3 else None

            ready = wait_for(three_failures, "readiness to show three failures")
            metrics = city.metrics()
            monkeypatch.setattr(replanner_module, "build_problem", real)
            city.nudge()
            frames = _frames_until(feed, _alert("worker.recovered"))
    finally:
        logging.getLogger().removeHandler(handler)
    assert (first["worker"], first["stage"], first["status"]) == (
        "replanner",
        "problem",
        "degraded",
    )
    assert first["error"].startswith("LookupError at test_replanner_resilience.py:")
    assert [f for f in frames if _alert("worker.failed")(f)] == []
    assert ready["status"] == "degraded"
    worker = ready["workers"]["replanner"]
    assert (worker["status"], worker["stage"]) == ("degraded", "problem")
    assert worker["error"] == first["error"]
    assert metrics["worker_replanner_degraded"] == 1
    assert metrics["worker_replanner_failures_total"] >= 3
    assert metrics["replan_failed_total"] >= 3
    wait_for(
        lambda: city.get_order(order_id)["status"] == "assigned",
        "the order to be planned",
    )
    wait_for(lambda: city.ready()["status"] == "ready", "readiness to recover")
    assert city.ready()["workers"]["replanner"]["status"] == "ok"
    logged = stream.getvalue()
    assert '"worker":"replanner"' in logged.replace(" ", "")
    assert "LookupError" in logged
    assert SECRET not in logged
