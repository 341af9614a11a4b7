"""Chain of custody (issue 20, item 4): device tokens bound to a registered rider,
expiring, listable and revocable one by one; every privileged act (users, device
tokens, logins, failed logins, logout) in the audit trail with its actor, never
with a password or token; and the delivery code reaching only the patient's
channel, never the order's creator."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from psycopg.rows import dict_row
from typer.testing import CliRunner

from api.auth.principals import Role
from api.cli.main import app
from api.patient_channel import FakeSmsGateway
from tests.integration.api.conftest import (
    PASSWORD,
    Credentials,
    patient_token,
    services_of,
)
from tests.integration.api.test_order_flow import _order_body
from tests.integration.api.test_tracking import _picked_up_order


def _audit(url: str, *actions: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(
            "SELECT seq, actor, action, subject_type, subject_id, details"
            " FROM dispatch.audit_entry WHERE action = ANY(%s) ORDER BY seq",
            (list(actions),),
        ).fetchall()


def _whole_trail(url: str) -> str:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT * FROM dispatch.audit_entry").fetchall()
    return repr(rows)


def _register(client: TestClient, creds: Credentials, rider_id: str) -> None:
    r = client.post(
        "/riders",
        headers=creds(Role.dispatcher),
        json={"id": rider_id, "name": "Maria", "vehicle_type": "scooter"},
    )
    assert r.status_code == 201, r.text


def test_no_device_token_for_a_rider_that_does_not_exist(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """Minting a token for an unregistered rider id is a 404 problem; nothing is
    stored or audited."""
    r = client.post(
        "/riders/ghost-rider/device-tokens",
        headers=creds(Role.dispatcher),
        json={"label": "burner"},
    )
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    with psycopg.connect(fresh_db) as conn:
        row = conn.execute(
            "SELECT count(*) FROM auth.device_token WHERE rider_id = 'ghost-rider'"
        ).fetchone()
    assert row == (0,)
    assert _audit(fresh_db, "device_token.issued") == []


def test_issue_list_and_revoke_are_audited_with_the_dispatcher(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """Two phones: listed without their tokens, one revoked alone (the other
    keeps working), then all; each act names the dispatcher who did it."""
    _register(client, creds, "rider-9")
    disp = creds(Role.dispatcher)
    issued = []
    for label in ("pixel", "iphone"):
        r = client.post(
            "/riders/rider-9/device-tokens", headers=disp, json={"label": label}
        )
        assert r.status_code == 201, r.text
        issued.append(r.json())
    ttl = services_of(client).settings.api.device_token_ttl_s
    expires = datetime.fromisoformat(issued[0]["expires_at"])
    now = datetime.now(UTC)
    assert now < expires <= now + timedelta(seconds=ttl)

    listed = client.get("/riders/rider-9/device-tokens", headers=disp)
    assert listed.status_code == 200
    assert {t["label"] for t in listed.json()} == {"pixel", "iphone"}
    assert all(
        t["live"] and t["issued_by"] == "dispatcher:dispatcher-1" for t in listed.json()
    )
    for token in issued:
        assert token["device_token"] not in listed.text

    pixel, iphone = issued
    r = client.delete(
        f"/riders/rider-9/device-tokens/{pixel['token_id']}", headers=disp
    )
    assert r.json() == {"revoked": 1}
    bearer = {"Authorization": f"Bearer {pixel['device_token']}"}
    assert client.get("/riders/me/route", headers=bearer).status_code == 401
    bearer = {"Authorization": f"Bearer {iphone['device_token']}"}
    assert client.get("/riders/me/route", headers=bearer).status_code == 200
    again = client.delete(
        f"/riders/rider-9/device-tokens/{pixel['token_id']}", headers=disp
    )
    assert again.status_code == 404
    assert client.delete("/riders/rider-9/device-tokens", headers=disp).json() == {
        "revoked": 1
    }
    assert client.get("/riders/me/route", headers=bearer).status_code == 401
    states = {
        t["label"]: (t["live"], t["revoked_by"])
        for t in client.get("/riders/rider-9/device-tokens", headers=disp).json()
    }
    assert states == {
        "pixel": (False, "dispatcher:dispatcher-1"),
        "iphone": (False, "dispatcher:dispatcher-1"),
    }

    trail = _audit(fresh_db, "device_token.issued", "device_token.revoked")
    assert [(e["action"], e["actor"], e["subject_id"]) for e in trail] == [
        ("device_token.issued", "dispatcher:dispatcher-1", "rider-9"),
        ("device_token.issued", "dispatcher:dispatcher-1", "rider-9"),
        ("device_token.revoked", "dispatcher:dispatcher-1", "rider-9"),
        ("device_token.revoked", "dispatcher:dispatcher-1", "rider-9"),
    ]
    assert trail[2]["details"] == {"token_ids": [pixel["token_id"]], "all": False}
    assert trail[3]["details"] == {"token_ids": [iphone["token_id"]], "all": True}
    everything = _whole_trail(fresh_db)
    for token in issued:
        assert token["device_token"] not in everything


def test_an_expired_device_token_is_refused(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """Past its expiry a device token is 401, even though never revoked."""
    _register(client, creds, "rider-8")
    r = client.post(
        "/riders/rider-8/device-tokens", headers=creds(Role.dispatcher), json={}
    )
    token = r.json()["device_token"]
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE auth.device_token SET expires_at = now() - interval '1 second'"
            " WHERE token_id = %s",
            (r.json()["token_id"],),
        )
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/riders/me/route", headers=bearer).status_code == 401
    [listed] = client.get(
        "/riders/rider-8/device-tokens", headers=creds(Role.dispatcher)
    ).json()
    assert listed["live"] is False
    assert listed["revoked_at"] is None


def test_users_logins_failures_and_logout_are_audited(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """Creating a user names the admin and the role; logins, failed logins
    (wrong password, unknown user) and logout are recorded without secrets."""
    r = client.post(
        "/users",
        headers=creds(Role.admin),
        json={"username": "nadia", "password": PASSWORD, "role": "dispatcher"},
    )
    assert r.status_code == 201, r.text
    nadia = r.json()["user_id"]
    wrong = "not-the-password-123"
    for username, password in (("nadia", wrong), ("nobody", wrong)):
        r = client.post(
            "/auth/token", json={"username": username, "password": password}
        )
        assert r.status_code == 401
    r = client.post("/auth/token", json={"username": "nadia", "password": PASSWORD})
    assert r.status_code == 200
    tokens = r.json()
    r = client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert r.json() == {"ended": True}

    [created] = _audit(fresh_db, "user.created")
    assert (created["actor"], created["subject_id"]) == ("admin:admin-1", nadia)
    assert created["details"] == {"username": "nadia", "role": "dispatcher"}
    failed = _audit(fresh_db, "auth.login_failed")
    assert [(e["subject_id"], e["details"]["reason"]) for e in failed] == [
        (nadia, "wrong_password"),
        ("nobody", "unknown_user"),
    ]
    logins = [e for e in _audit(fresh_db, "auth.login") if e["subject_id"] == nadia]
    assert [e["actor"] for e in logins] == ["dispatcher:nadia"]
    [logout] = _audit(fresh_db, "auth.logout")
    assert (logout["actor"], logout["subject_id"]) == ("dispatcher:nadia", nadia)
    assert logout["details"]["session"] == logins[0]["details"]["session"]

    everything = _whole_trail(fresh_db)
    for secret in (
        PASSWORD,
        wrong,
        tokens["access_token"],
        tokens["refresh_token"],
    ):
        assert secret not in everything


def test_the_order_creator_cannot_read_the_delivery_code(
    client: TestClient, creds: Credentials
) -> None:
    """The creator's link shows progress but its messages (the OTP) are 403; the
    patient's own link went to the order's phone only, once (a retried creation
    does not text again), and reads the code."""
    order = _picked_up_order(client, creds)
    creator = order["tracking_token"]
    assert client.get(f"/track/{creator}").status_code == 200
    refused = client.get(f"/track/{creator}/messages")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")

    again = client.post(
        "/orders",
        headers={**creds(Role.dispatcher), "Idempotency-Key": "track-0001"},
        json=_order_body(),
    )
    assert again.json()["tracking_token"] == creator
    channel = services_of(client).patient_channel
    assert isinstance(channel, FakeSmsGateway)
    [sms] = channel.sent(order["id"])
    assert sms.to == _order_body()["patient"]["phone"]
    patient = patient_token(client, order["id"])
    assert patient != creator
    assert creator not in sms.body
    messages = client.get(f"/track/{patient}/messages").json()
    assert "otp" in {m["kind"] for m in messages}

    # the fake gateway's outbox: admins only, for the demo playing the patient
    url = f"/dev/patient-sms/{order['id']}"
    assert client.get(url, headers=creds(Role.dispatcher)).status_code == 403
    [shown] = client.get(url, headers=creds(Role.admin)).json()
    assert patient in shown["body"]


def test_a_user_added_from_the_command_line_is_audited(
    fresh_db: str, tmp_path: Path
) -> None:
    """``rxdispatch user add`` records who ran it and the role; a reset records
    the previous role too; the password is nowhere in the trail."""
    env = {"DATABASE_URL": fresh_db, "RXDISPATCH_DATA_DIR": str(tmp_path)}
    runner = CliRunner()
    for role, extra in (("pharmacist", []), ("admin", ["--reset"])):
        result = runner.invoke(
            app,
            ["user", "add", "omar", "--role", role, "--password-stdin", *extra],
            input=PASSWORD + "\n",
            env=env,
        )
        assert result.exit_code == 0, result.output
    created, reset = _audit(fresh_db, "user.created", "user.reset")
    actor = f"cli:{getpass.getuser()}"
    assert (created["actor"], created["details"]["role"]) == (actor, "pharmacist")
    assert (reset["actor"], reset["details"]) == (
        actor,
        {"username": "omar", "role": "admin", "previous_role": "pharmacist"},
    )
    assert PASSWORD not in _whole_trail(fresh_db)
