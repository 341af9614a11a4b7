"""The sequence audit through the running app: a box's readings skip a seq, the
gap stays open, and the dispatcher sees one ``seq_gap`` alert in the dashboard
snapshot while ``/health/metrics`` counts the open gap."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principals import Role
from telemetry.settings import TelemetrySettings
from telemetry.store import TelemetryStore
from tests.integration.api.conftest import (
    PASSWORD,
    WAIT_S,
    api_settings,
    login,
    services_of,
)
from tests.integration.api.test_cold_chain_live import _publish, _wait_until_ingesting


def _until(probe: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_an_open_gap_alerts_the_dispatcher_and_is_counted(
    fresh_db: str, mqtt_url: str, unique_id: str
) -> None:
    store = TelemetryStore(fresh_db)
    store.register_box("box-gap")
    store.close()
    settings = api_settings(fresh_db, run_ingest=True)
    prefix = f"rxd-test/{unique_id}"
    settings.telemetry = TelemetrySettings(
        mqtt_url=mqtt_url,
        topic_prefix=prefix,
        client_id=f"api-{unique_id}",
        share_group=None,
        seq_resend_max_requests=0,  # nobody answers: the gap stays open
        seq_gap_alert_after_s=0.5,
        seq_check_s=0.2,
    )
    with TestClient(create_app(settings)) as client:
        _wait_until_ingesting(mqtt_url, prefix, fresh_db)
        services_of(client).auth.add_user(
            username="dispatcher-1", password=PASSWORD, role=Role.dispatcher
        )
        disp = login(client, "dispatcher-1")
        start = datetime.now(UTC) - timedelta(minutes=10)
        body = [
            {
                "seq": s,
                "ts": (start + timedelta(seconds=30 * s)).isoformat(),
                "temp_c": 5,
            }
            for s in (1, 2, 5)
        ]
        _publish(mqtt_url, f"{prefix}/boxes/box-gap/telemetry", orjson.dumps(body))

        def gap_alerts() -> list[dict[str, Any]]:
            snapshot = client.get("/dashboard/snapshot", headers=disp).json()
            return [a for a in snapshot["alerts"] if a.get("reason") == "seq_gap"]

        [alert] = _until(gap_alerts, "the seq_gap alert in the snapshot")
        assert alert["kind"] == "excursion.opened"
        assert alert["box_id"] == "box-gap"
        metrics = client.get("/health/metrics", headers=disp).json()["metrics"]
        assert metrics["telemetry_seq_gaps_open"] == 1
        assert metrics["telemetry_seq_gaps_lost_total"] == 0
        # the logger answers that it no longer holds 3..4: a confirmed loss
        _publish(
            mqtt_url,
            f"{prefix}/boxes/box-gap/telemetry",
            b'{"not_held": {"from_seq": 3, "to_seq": 4}}',
        )

        def lost() -> dict[str, float] | None:
            m = client.get("/health/metrics", headers=disp).json()["metrics"]
            return m if m["telemetry_seq_gaps_lost_total"] == 1 else None

        metrics = _until(lost, "the loss counted")
        assert metrics["telemetry_seq_readings_lost_total"] == 2
        assert metrics["telemetry_seq_gaps_open"] == 0
        _until(lambda: not gap_alerts(), "the alert resolved with its gap")
