"""Re-issuing a locked or expired delivery code (issue 20, item 8): dispatchers
only, the new code reaches the patient's channel only, the old one stops working,
each re-issue is audited and the endpoint is rate limited per order."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from api.auth.principals import Role
from tests.integration.api.conftest import Credentials, patient_token, services_of
from tests.integration.api.test_order_flow import HOME
from tests.integration.api.test_tracking import _picked_up_order


def _codes(client: TestClient, order: dict[str, Any]) -> list[str]:
    # the patient's own (texted) link: the creator's link cannot read the code
    token = patient_token(client, order["id"])
    messages = client.get(f"/track/{token}/messages").json()
    found = [re.search(r"\d{4,8}", m["body"]) for m in messages]
    return [m.group(0) for m in found if m is not None]


def _deliver(client: TestClient, creds: Credentials, order_id: str, otp: str) -> Any:
    return client.post(
        f"/orders/{order_id}/delivery",
        headers=creds(Role.rider),
        json={"otp": otp, "position": HOME},
    )


def _wrong(code: str) -> str:
    return "".join(str((int(c) + 1) % 10) for c in code)


def test_a_locked_code_is_reissued_to_the_patient_only(
    client: TestClient, creds: Credentials
) -> None:
    order = _picked_up_order(client, creds)
    disp = creds(Role.dispatcher)
    url = f"/orders/{order['id']}/otp"
    r = client.post(url, headers=disp)
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "otp_still_valid"
    [old] = _codes(client, order)
    attempts = services_of(client).settings.dispatch.otp_max_attempts
    for _ in range(attempts):
        _deliver(client, creds, order["id"], _wrong(old))
    assert _deliver(client, creds, order["id"], old).json()["code"] == "otp_locked"

    for role in (Role.rider, Role.pharmacist):
        assert client.post(url, headers=creds(role)).status_code == 403
    assert client.post(url).status_code == 401
    r = client.post(url, headers=disp)
    assert r.status_code == 200, r.text
    assert list(r.json()) == ["expires_at"]  # the code itself only goes to the patient
    codes = _codes(client, order)
    assert len(codes) == 2
    new = codes[-1]
    assert new not in r.text
    if new != old:  # 1 in a million: the fresh code may equal the old one
        assert _deliver(client, creds, order["id"], old).json()["code"] == (
            "otp_mismatch"
        )
    assert _deliver(client, creds, order["id"], new).status_code == 200
    audit = client.get(
        "/audit", headers=creds(Role.admin), params={"subject_id": order["id"]}
    ).json()
    [entry] = [e for e in audit if e["action"] == "otp.reissued"]
    assert entry["actor"] == "dispatcher:dispatcher-1"
    assert entry["details"]["reason"] == "locked"
    assert set(entry["details"]) == {"reason", "attempts", "expires_at"}  # no code
    r = client.post(url, headers=disp)  # delivered: nothing to re-issue
    assert r.status_code == 409, r.text


def test_an_expired_code_is_reissued(client: TestClient, creds: Credentials) -> None:
    order = _picked_up_order(client, creds)
    with services_of(client).db.transaction() as tx:
        tx.conn.execute(
            "UPDATE dispatch.otp SET expires_at = now() - interval '1 minute'"
            " WHERE order_id = %s",
            (order["id"],),
        )
    [old] = _codes(client, order)
    assert _deliver(client, creds, order["id"], old).json()["code"] == "otp_expired"
    r = client.post(f"/orders/{order['id']}/otp", headers=creds(Role.dispatcher))
    assert r.status_code == 200, r.text
    audit = client.get(
        "/audit", headers=creds(Role.admin), params={"subject_id": order["id"]}
    ).json()
    assert [e["details"]["reason"] for e in audit if e["action"] == "otp.reissued"] == [
        "expired"
    ]
    assert (
        _deliver(client, creds, order["id"], _codes(client, order)[-1]).status_code
        == 200
    )


def test_reissues_are_rate_limited_per_order(
    client: TestClient, creds: Credentials
) -> None:
    order = _picked_up_order(client, creds)
    limit = services_of(client).settings.api.otp_reissues_per_hour
    url = f"/orders/{order['id']}/otp"
    codes = [
        client.post(url, headers=creds(Role.dispatcher)).status_code
        for _ in range(limit + 1)
    ]
    assert codes == [409] * limit + [429]
    assert len(_codes(client, order)) == 1  # the patient got no extra message
