"""A box's readings over a time range, raw and downsampled (real PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.auth.principals import Role
from telemetry.model import BoxId, Reading
from telemetry.store import TelemetryStore
from tests.integration.api.conftest import Credentials

BOX = "box-r1"
PROBLEM = "application/problem+json"
# whole hours, so 10-minute buckets line up with the readings
T0 = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)


def _temp(i: int) -> float:
    return 4.0 + (i % 10) * 0.5  # 4.0 .. 8.5 over each 10 minutes


def _box(client: TestClient, creds: Credentials, fresh_db: str, n: int = 120) -> None:
    client.post(
        "/cold-boxes",
        headers=creds(Role.dispatcher),
        json={"id": BOX, "profile_code": "refrigerated"},
    ).raise_for_status()
    store = TelemetryStore(fresh_db)
    try:
        store.write_batch(
            [
                Reading(BoxId(BOX), i, T0 + timedelta(minutes=i), _temp(i), 80.0, False)
                for i in range(n)
            ]
        )
    finally:
        store.close()


def _get(
    client: TestClient,
    creds: Credentials,
    role: Role = Role.pharmacist,
    params: dict[str, str] | None = None,
) -> tuple[int, Any]:
    r = client.get(f"/cold-boxes/{BOX}/readings", headers=creds(role), params=params)
    return r.status_code, r.json()


def test_raw_readings_in_a_range_with_the_band(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """``[from, to)`` in device order, with the box's allowed band."""
    _box(client, creds, fresh_db)
    status, body = _get(
        client,
        creds,
        params={
            "from": (T0 + timedelta(minutes=10)).isoformat(),
            "to": (T0 + timedelta(minutes=40)).isoformat(),
        },
    )
    assert status == 200, body
    assert body["band"] == {"profile_code": "refrigerated", "low_c": 2.0, "high_c": 8.0}
    assert body["bucket_s"] is None
    assert body["buckets"] == []
    assert [r["seq"] for r in body["readings"]] == list(range(10, 40))
    first = body["readings"][0]
    assert first["temp_c"] == _temp(10)
    assert first["door_open"] is False
    assert datetime.fromisoformat(first["at"]) == T0 + timedelta(minutes=10)
    assert datetime.fromisoformat(body["from"]) == T0 + timedelta(minutes=10)


def test_downsampled_min_avg_max_per_bucket(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """``bucket=10m``: one slice per 10 minutes with min/avg/max; the dispatcher
    may read it too."""
    _box(client, creds, fresh_db)
    span = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=2)).isoformat()}
    status, body = _get(client, creds, Role.dispatcher, {**span, "bucket": "10m"})
    assert status == 200, body
    assert body["bucket_s"] == 600
    assert body["readings"] == []
    assert len(body["buckets"]) == 12
    for k, b in enumerate(body["buckets"]):
        assert datetime.fromisoformat(b["start"]) == T0 + timedelta(minutes=10 * k)
        assert b["readings"] == 10
        assert (b["min_c"], b["max_c"]) == (4.0, 8.5)
        assert b["avg_c"] == pytest.approx(6.25)
    same = _get(client, creds, params={**span, "bucket": "600"})[1]
    assert same["buckets"] == body["buckets"]


def test_defaults_and_naive_times(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """No ``from``/``to``: the last 24 h; a time without offset is UTC."""
    _box(client, creds, fresh_db)
    status, body = _get(client, creds)
    assert status == 200
    assert len(body["readings"]) == 120
    naive = (T0 + timedelta(minutes=100)).replace(tzinfo=None).isoformat()
    status, body = _get(client, creds, params={"from": naive})
    assert [r["seq"] for r in body["readings"]] == list(range(100, 120))


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (
            {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            "invalid_range",
        ),
        (
            {"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
            "invalid_range",
        ),
        (
            {"from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z"},
            "invalid_range",
        ),
        ({"to": "0001-01-01T00:00:00Z"}, "invalid_range"),
        ({"bucket": "abc"}, "rule_violation"),
        ({"bucket": "0s"}, "rule_violation"),
        ({"bucket": "-5"}, "rule_violation"),
        ({"bucket": "1s"}, "too_many_points"),
        ({"from": "yesterday"}, "validation_error"),
    ],
)
def test_bad_queries_get_problem_json(
    client: TestClient,
    creds: Credentials,
    fresh_db: str,
    params: dict[str, str],
    code: str,
) -> None:
    """Inverted, empty, too long or unrepresentable ranges, bad buckets and too
    many buckets are 422 problems with a stable code."""
    _box(client, creds, fresh_db, n=1)
    r = client.get(
        f"/cold-boxes/{BOX}/readings", headers=creds(Role.pharmacist), params=params
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == PROBLEM
    assert r.json()["code"] == code


def test_too_many_raw_readings_ask_for_a_bucket(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """More than 5,000 raw readings is a 422; the same range bucketed is fine."""
    client.post(
        "/cold-boxes",
        headers=creds(Role.dispatcher),
        json={"id": BOX, "profile_code": "refrigerated"},
    ).raise_for_status()
    store = TelemetryStore(fresh_db)
    try:
        store.write_batch(
            [
                Reading(BoxId(BOX), i, T0 + timedelta(seconds=i), 5.0)
                for i in range(5001)
            ]
        )
    finally:
        store.close()
    span = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=2)).isoformat()}
    status, body = _get(client, creds, params=span)
    assert status == 422
    assert body["code"] == "too_many_points"
    status, body = _get(client, creds, params={**span, "bucket": "1m"})
    assert status == 200
    assert sum(b["readings"] for b in body["buckets"]) == 5001


def test_unknown_box_is_404(client: TestClient, creds: Credentials) -> None:
    """A box neither dispatch nor telemetry knows."""
    r = client.get("/cold-boxes/nope/readings", headers=creds(Role.pharmacist))
    assert r.status_code == 404
    assert r.headers["content-type"] == PROBLEM
