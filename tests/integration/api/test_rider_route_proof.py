"""What a rider's route says a delivery needs: the proof level and how many
codes the rider may still try (real PostgreSQL)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.auth.principals import Role
from tests.integration.api.conftest import Credentials, services_of
from tests.integration.api.test_order_flow import HOME
from tests.integration.api.test_rider_idempotency import (
    _assigned_order,
    _picked_up,
    _post,
)


def _delivery_stop(client: TestClient, creds: Credentials) -> dict[str, Any]:
    r = client.get("/riders/me/route", headers=creds(Role.rider))
    assert r.status_code == 200, r.text
    [stop] = [s for s in r.json()["stops"] if s["kind"] == "delivery"]
    return dict(stop)


def test_attempts_left_count_down_with_each_wrong_code(
    client: TestClient, creds: Credentials
) -> None:
    """After pickup the stop names its proof level and the full allowance;
    each wrong code takes one; at zero the code is locked."""
    order_id, code = _picked_up(client, creds)
    most = services_of(client).settings.dispatch.otp_max_attempts
    stop = _delivery_stop(client, creds)
    assert stop["proof_level"] == "otp"
    assert stop["otp_attempts_left"] == most
    wrong = "1" * len(code) if code == "0" * len(code) else "0" * len(code)
    url = f"/orders/{order_id}/delivery"
    for k in range(1, most + 1):
        r = _post(
            client, creds, url, {"otp": wrong, "position": HOME}, f"wrong-code-{k:02d}"
        )
        assert r.json()["code"] in ("otp_mismatch", "otp_attempts_exceeded"), r.text
        assert _delivery_stop(client, creds)["otp_attempts_left"] == most - k, r.text
    locked = _post(client, creds, url, {"otp": code, "position": HOME}, "right-code-01")
    assert locked.json()["code"] == "otp_locked", locked.text
    assert _delivery_stop(client, creds)["otp_attempts_left"] == 0


def test_a_pickup_stop_carries_no_proof_fields(
    client: TestClient, creds: Credentials
) -> None:
    """Before pickup no code was sent: nothing to count."""
    _assigned_order(client, creds)
    r = client.get("/riders/me/route", headers=creds(Role.rider))
    stops = r.json()["stops"]
    pickup = next(s for s in stops if s["kind"] == "pickup")
    assert pickup["proof_level"] is None
    assert pickup["otp_attempts_left"] is None
    delivery = next(s for s in stops if s["kind"] == "delivery")
    assert delivery["proof_level"] == "otp"
    assert delivery["otp_attempts_left"] is None


def test_a_rider_reads_their_own_status_and_shift(
    client: TestClient, creds: Credentials
) -> None:
    """GET /riders/me follows the rider's own shift and status commands."""
    _assigned_order(client, creds)
    rider = creds(Role.rider)
    before = client.get("/riders/me", headers=rider)
    assert before.status_code == 200, before.text
    assert before.json()["id"] == creds.rider_id
    assert before.json()["shift_start_at"] is None
    ends = "2099-01-01T18:00:00+00:00"
    client.post(
        "/riders/me/shift/start", headers=rider, json={"ends_at": ends}
    ).raise_for_status()
    client.post(
        "/riders/me/status", headers=rider, json={"status": "on_break"}
    ).raise_for_status()
    after = client.get("/riders/me", headers=rider).json()
    assert after["shift_start_at"] is not None
    assert after["status"] == "on_break"
    staff = client.get("/riders/me", headers=creds(Role.dispatcher))
    assert staff.status_code == 403
