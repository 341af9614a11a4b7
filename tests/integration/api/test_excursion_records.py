"""Excursion records reachable from holds and boxes (real PostgreSQL).

Readings are stored as ingest would; the episode comes from the detector and is
persisted like ingest does; the hold is placed through dispatch like the
notifier does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth.principals import Role
from dispatch.holds.commands import place_hold
from dispatch.holds.reasons import HoldReason
from telemetry import excursion_store
from telemetry.excursions import detect_episodes, mean_kinetic_temperature_c
from telemetry.model import BoxId, Reading
from telemetry.store import TelemetryStore
from tests.integration.api.conftest import Credentials, services_of
from tests.integration.api.test_order_flow import _order_body, _seed_catalogue

BOX = "box-x1"
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=4)
PROBLEM = "application/problem+json"


def _temp(minute: int, hot_until: int) -> float:
    return 12.0 if 60 <= minute < hot_until else 5.0


def _excursion(
    client: TestClient,
    creds: Credentials,
    fresh_db: str,
    *,
    minutes: int,
    hot_until: int,
) -> tuple[int, int, str]:
    """Box, readings (5 °C, 12 °C from minute 60 to ``hot_until``), the detected
    episode stored, an order held for it: (excursion id, hold id, order id)."""
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    r = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "exc-00001"}, json=_order_body()
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    client.post(
        "/cold-boxes", headers=disp, json={"id": BOX, "profile_code": "refrigerated"}
    ).raise_for_status()
    readings = [
        Reading(BoxId(BOX), m, T0 + timedelta(minutes=m), _temp(m, hot_until))
        for m in range(minutes)
    ]
    store = TelemetryStore(fresh_db)
    try:
        store.write_batch(readings)
        [episode] = detect_episodes(readings, store.box_rules()[BoxId(BOX)])
        with store.transaction() as conn:
            [excursion_id] = excursion_store.reconcile(
                conn,
                BoxId(BOX),
                [episode],
                profile_code="refrigerated",
                retract_from=None,
                now=datetime.now(UTC),
            )
    finally:
        store.close()
    services = services_of(client)
    with services.db.transaction() as tx:
        hold = place_hold(
            tx,
            reason=HoldReason.TEMPERATURE_EXCURSION,
            actor="telemetry",
            order_ids=[order_id],
            box_id=BOX,
            excursion_ref=f"telemetry.excursion:{excursion_id}",
        )
    return excursion_id, hold.id, order_id


def _json(client: TestClient, url: str, creds: Credentials) -> Any:
    r = client.get(url, headers=creds(Role.pharmacist))
    assert r.status_code == 200, r.text
    return r.json()


def test_a_closed_excursion_record_from_its_hold_and_its_box(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """40 minutes at 12 °C in a 2-8 °C box: range, span, minutes out of range,
    peak, MKT over the span and the 24 h window, the held order; the hold and
    the box both lead to it."""
    excursion_id, hold_id, order_id = _excursion(
        client, creds, fresh_db, minutes=180, hot_until=100
    )
    record = _json(client, f"/excursions/{excursion_id}", creds)
    assert record["range"] == {
        "profile_code": "refrigerated",
        "low_c": 2.0,
        "high_c": 8.0,
    }
    assert (record["kind"], record["open"], record["box_id"]) == (
        "temperature_high",
        False,
        BOX,
    )
    assert datetime.fromisoformat(record["started_at"]) == T0 + timedelta(minutes=60)
    assert datetime.fromisoformat(record["ended_at"]) == T0 + timedelta(minutes=100)
    assert record["duration_minutes"] == pytest.approx(40.0)
    assert record["minutes_out_of_range"] == pytest.approx(40.0)
    assert record["peak_c"] == 12.0
    assert (record["min_c"], record["max_c"]) == (5.0, 12.0)
    assert record["readings"] == 41
    assert record["mkt_c"] == pytest.approx(
        mean_kinetic_temperature_c([12.0] * 40 + [5.0])
    )
    window = record["mkt_window"]
    assert window["hours"] == 24
    assert window["readings"] == 101  # minutes 0..100
    assert window["mkt_c"] == pytest.approx(
        mean_kinetic_temperature_c([5.0] * 60 + [12.0] * 40 + [5.0])
    )
    assert record["mkt_delta_h_kj_per_mol"] == 83.144
    assert record["order_ids"] == [order_id]
    assert record["hold"] == {
        "hold_id": hold_id,
        "href": f"/holds/{hold_id}",
        "decision": None,
        "order_ids": [order_id],
    }
    assert record["ref"] == f"telemetry.excursion:{excursion_id}"

    hold = _json(client, f"/holds/{hold_id}", creds)
    assert hold["excursion_id"] == excursion_id
    assert hold["excursion_href"] == f"/excursions/{excursion_id}"
    assert hold["excursion"] == record | {"until": hold["excursion"]["until"]}
    [listed] = _json(client, "/holds", creds)
    assert listed["excursion_href"] == f"/excursions/{excursion_id}"

    [summary] = _json(client, f"/cold-boxes/{BOX}/excursions", creds)
    assert summary["id"] == excursion_id
    assert summary["hold_id"] == hold_id
    assert summary["href"] == f"/excursions/{excursion_id}"
    assert _json(client, f"/cold-boxes/{BOX}/excursions?limit=1", creds) == [summary]


def test_an_open_excursion_is_measured_up_to_now(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """Still out of range: no end, ``open``, the span runs to now."""
    excursion_id, _, _ = _excursion(
        client, creds, fresh_db, minutes=120, hot_until=10_000
    )
    record = _json(client, f"/excursions/{excursion_id}", creds)
    assert record["ended_at"] is None
    assert record["open"] is True
    assert record["status"] == "open"
    until = datetime.fromisoformat(record["until"])
    assert abs((until - datetime.now(UTC)).total_seconds()) < 120
    assert record["readings"] == 60
    assert record["minutes_out_of_range"] == pytest.approx(60.0)
    assert record["mkt_window"]["to"] == record["until"]


def test_a_manual_hold_has_no_excursion(client: TestClient, creds: Credentials) -> None:
    """``GET /holds/{id}`` of a hold a person placed: no excursion."""
    _seed_catalogue(client, creds)
    disp = creds(Role.dispatcher)
    order = client.post(
        "/orders", headers={**disp, "Idempotency-Key": "exc-00002"}, json=_order_body()
    ).json()
    hold = client.post(
        "/holds", headers=disp, json={"reason": "damaged", "order_ids": [order["id"]]}
    ).json()
    detail = _json(client, f"/holds/{hold['id']}", creds)
    assert detail["excursion"] is None
    assert detail["excursion_id"] is None
    assert detail["order_ids"] == [order["id"]]


def test_unknown_or_bad_ids_are_problems(
    client: TestClient, creds: Credentials
) -> None:
    """Unknown excursion, hold or box: 404; a malformed id: 422."""
    ph = creds(Role.pharmacist)
    for url, status in (
        ("/excursions/999999", 404),
        ("/excursions/0", 422),
        ("/excursions/abc", 422),
        ("/holds/999999", 404),
        ("/cold-boxes/nope/excursions", 404),
        (f"/cold-boxes/{BOX}/excursions?limit=0", 422),
    ):
        r = client.get(url, headers=ph)
        assert r.status_code == status, (url, r.text)
        assert r.headers["content-type"] == PROBLEM
