"""Pharmacies through the API: the time zone is checked at the door (issue 20)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.auth.principals import Role
from tests.integration.api.conftest import Credentials

VALLETTA = {"lat": 35.8975, "lon": 14.5120}


def _pharmacy(pid: str = "ph-1", **fields: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "name": "Valletta Pharmacy",
        "location": VALLETTA,
        "licence_number": f"LIC-{pid}",
        **fields,
    }


def test_an_unknown_time_zone_is_a_422_naming_the_field(
    client: TestClient, creds: Credentials
) -> None:
    r = client.post(
        "/pharmacies",
        headers=creds(Role.pharmacist),
        json=_pharmacy(timezone="Mars/Olympus"),
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["code"] == "validation_error"
    assert [e["loc"] for e in problem["errors"]] == [["body", "timezone"]]
    listed = client.get("/pharmacies", headers=creds(Role.pharmacist)).json()
    assert listed == []


def test_a_known_time_zone_is_stored(client: TestClient, creds: Credentials) -> None:
    r = client.post(
        "/pharmacies",
        headers=creds(Role.pharmacist),
        json=_pharmacy(timezone="Europe/Rome"),
    )
    assert r.status_code == 201, r.text
    got = client.get("/pharmacies/ph-1", headers=creds(Role.pharmacist)).json()
    assert got["timezone"] == "Europe/Rome"
