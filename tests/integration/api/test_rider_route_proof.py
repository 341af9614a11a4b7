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
