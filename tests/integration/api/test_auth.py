"""Login, tokens, device tokens and rate limiting against real PostgreSQL."""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from api.auth.principals import Role
from tests.integration.api.conftest import PASSWORD, Credentials, services_of


def test_passwords_are_stored_as_argon2_hashes(
    client: TestClient, fresh_db: str
) -> None:
    """The stored credential is an argon2id hash, never the password."""
    services_of(client).auth.add_user(
        username="ann", password=PASSWORD, role=Role.dispatcher
    )
    with psycopg.connect(fresh_db) as conn:
        row = conn.execute("SELECT password_hash FROM auth.user_account").fetchone()
    assert row is not None
    assert row[0].startswith("$argon2id$")
    assert PASSWORD not in row[0]


def test_login_returns_a_short_lived_token_for_the_role(client: TestClient) -> None:
    """A correct password yields a bearer token carrying the user's role."""
    services_of(client).auth.add_user(
        username="ann", password=PASSWORD, role=Role.pharmacist
    )
    r = client.post("/auth/token", json={"username": "ann", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["role"] == "pharmacist"
    me = client.get(
        "/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["display_name"] == "ann"


def test_wrong_password_and_unknown_user_are_indistinguishable(
    client: TestClient,
) -> None:
    """Both failures give the same 401 problem document."""
    services_of(client).auth.add_user(
        username="ann", password=PASSWORD, role=Role.admin
    )
    wrong = client.post("/auth/token", json={"username": "ann", "password": "nope"})
    unknown = client.post("/auth/token", json={"username": "bob", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.json()["code"] == "unauthenticated"


def test_login_is_rate_limited_per_username(client: TestClient) -> None:
    """After the limit, further attempts get 429 with Retry-After, even if right."""
    services_of(client).auth.add_user(
        username="ann", password=PASSWORD, role=Role.admin
    )
    limit = services_of(client).settings.api.login_attempts_per_min
    for _ in range(limit):
        client.post("/auth/token", json={"username": "ann", "password": "bad"})
    r = client.post("/auth/token", json={"username": "ann", "password": PASSWORD})
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1


def test_a_guesser_elsewhere_cannot_lock_the_user_out(client: TestClient) -> None:
    """Failures from one address block that address for that user only: the
    user, from their own address, logs in with the right password."""
    services_of(client).auth.add_user(
        username="ann", password=PASSWORD, role=Role.admin
    )
    limit = services_of(client).settings.api.login_attempts_per_min
    attacker = TestClient(client.app, client=("203.0.113.9", 40000))
    for _ in range(limit + 3):
        attacker.post("/auth/token", json={"username": "ann", "password": "bad"})
    blocked = attacker.post("/auth/token", json={"username": "ann", "password": "x"})
    assert blocked.status_code == 429
    user = TestClient(client.app, client=("198.51.100.7", 40000))
    r = user.post("/auth/token", json={"username": "ann", "password": PASSWORD})
    assert r.status_code == 200, r.text
    other = attacker.post("/auth/token", json={"username": "bob", "password": "bad"})
    assert other.status_code == 401  # another username from that address: counted apart


def test_successful_logins_are_not_counted(client: TestClient) -> None:
    """A shared front desk logging in all shift long is never limited."""
    services_of(client).auth.add_user(
        username="ann", password=PASSWORD, role=Role.admin
    )
    limit = services_of(client).settings.api.login_attempts_per_min
    for _ in range(limit + 5):
        r = client.post("/auth/token", json={"username": "ann", "password": PASSWORD})
        assert r.status_code == 200, r.text
    for _ in range(limit - 1):  # a success clears earlier failures of the pair
        client.post("/auth/token", json={"username": "ann", "password": "bad"})
    ok = client.post("/auth/token", json={"username": "ann", "password": PASSWORD})
    assert ok.status_code == 200, ok.text
    for _ in range(limit - 1):
        r = client.post("/auth/token", json={"username": "ann", "password": "bad"})
        assert r.status_code == 401


def test_tampered_token_is_refused(client: TestClient, creds: Credentials) -> None:
    """A JWT with a changed signature is 401."""
    header = creds(Role.admin)["Authorization"]
    tampered = header[:-3] + ("AAA" if not header.endswith("AAA") else "BBB")
    r = client.get("/auth/me", headers={"Authorization": tampered})
    assert r.status_code == 401


def test_revoked_device_token_stops_working(
    client: TestClient, creds: Credentials
) -> None:
    """Revoking a rider's tokens makes the old token 401."""
    assert client.get("/health/metrics", headers=creds(Role.rider)).status_code == 403
    r = client.delete(
        f"/riders/{creds.rider_id}/device-tokens", headers=creds(Role.dispatcher)
    )
    assert r.json() == {"revoked": 1}
    assert client.get("/health/metrics", headers=creds(Role.rider)).status_code == 401


def test_device_tokens_are_stored_hashed(
    client: TestClient, creds: Credentials, fresh_db: str
) -> None:
    """Only a digest of a device token is stored."""
    token = creds(Role.rider)["Authorization"].removeprefix("Bearer ")
    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute("SELECT token_sha256 FROM auth.device_token").fetchall()
    assert all(token.encode() not in bytes(r[0]) for r in rows)
    assert len(rows) == 1
    assert len(bytes(rows[0][0])) == 32
