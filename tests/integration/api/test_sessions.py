"""Browser sessions: refresh-token rotation, reuse detection, expiry, logout.

Refresh tokens are single use: each refresh returns the next one and a fresh
access token; presenting a rotated token again revokes the whole session. Only
digests are stored, and no token reaches the logs.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.auth.principals import Role
from api.auth.store import RefreshDenied, RefreshGrant, RefreshRefusal
from api.logging import build_handler
from tests.integration.api.conftest import PASSWORD, services_of


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged (DEBUG and up) through the app's JSON handler."""
    stream = io.StringIO()
    handler = build_handler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _login(client: TestClient, username: str = "ann") -> dict[str, str]:
    services_of(client).auth.add_user(
        username=username, password=PASSWORD, role=Role.pharmacist
    )
    r = client.post("/auth/token", json={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    body: dict[str, str] = r.json()
    return body


def _refresh(client: TestClient, token: str) -> tuple[int, dict[str, str]]:
    r = client.post("/auth/refresh", json={"refresh_token": token})
    return r.status_code, r.json()


def test_login_starts_a_session_and_refresh_rotates_it(client: TestClient) -> None:
    """A refresh returns a working access token and a new refresh token; the
    presented one stops working."""
    first = _login(client)
    assert first["refresh_token"].startswith("rxd_rt_")
    assert first["refresh_expires_at"] > first["expires_at"]

    status, second = _refresh(client, first["refresh_token"])
    assert status == 200, second
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert second["role"] == "pharmacist"
    me = client.get(
        "/auth/me", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["display_name"] == "ann"

    status, third = _refresh(client, second["refresh_token"])
    assert status == 200, third


def test_reusing_a_rotated_refresh_token_revokes_the_session(
    client: TestClient, fresh_db: str
) -> None:
    """The old token presented again is refused as reuse, and the token the
    legitimate refresh produced dies with its session."""
    first = _login(client)
    _, second = _refresh(client, first["refresh_token"])

    status, body = _refresh(client, first["refresh_token"])
    assert status == 401
    assert body["code"] == "refresh_token_reused"
    status, body = _refresh(client, second["refresh_token"])
    assert status == 401
    assert body["code"] == "unauthenticated"
    with psycopg.connect(fresh_db) as conn:
        row = conn.execute("SELECT revoked_reason FROM auth.refresh_family").fetchone()
    assert row == ("reuse",)

    # another login is another session, untouched by the revoked one
    r = client.post("/auth/token", json={"username": "ann", "password": PASSWORD})
    assert _refresh(client, r.json()["refresh_token"])[0] == 200


def test_concurrent_refreshes_of_one_token_let_exactly_one_through(
    client: TestClient,
) -> None:
    """Two refreshes racing with the same token: one wins, the other is reuse."""
    first = _login(client)
    store = services_of(client).auth
    barrier = threading.Barrier(2)
    results: list[RefreshGrant | RefreshDenied] = []

    def refresh() -> None:
        barrier.wait()
        results.append(store.rotate_refresh_token(first["refresh_token"], ttl_s=600))

    threads = [threading.Thread(target=refresh) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    grants = [r for r in results if isinstance(r, RefreshGrant)]
    denials = [r for r in results if isinstance(r, RefreshDenied)]
    assert len(grants) == 1
    assert [d.reason for d in denials] == [RefreshRefusal.reuse]
    assert _refresh(client, grants[0].refresh_token)[0] == 401  # family revoked


def test_expired_refresh_tokens_and_sessions_are_refused(
    client: TestClient, fresh_db: str
) -> None:
    """A token past its own expiry, or past its session's absolute end, is 401."""
    first = _login(client)
    with psycopg.connect(fresh_db) as conn:
        conn.execute(
            "UPDATE auth.refresh_token SET expires_at = now() - interval '1 second'"
        )
    status, body = _refresh(client, first["refresh_token"])
    assert status == 401
    assert body["code"] == "unauthenticated"

    second = client.post(
        "/auth/token", json={"username": "ann", "password": PASSWORD}
    ).json()
    with psycopg.connect(fresh_db) as conn:
        conn.execute(
            "UPDATE auth.refresh_family SET expires_at = now() - interval '1 second'"
        )
    assert _refresh(client, second["refresh_token"])[0] == 401


def test_refresh_never_outlives_the_session(client: TestClient) -> None:
    """A rotated token's expiry is capped at the session's absolute end."""
    services = services_of(client)
    services.auth.add_user(username="bob", password=PASSWORD, role=Role.admin)
    user = services.auth.user_by_name("bob")
    assert user is not None
    grant = services.auth.start_session(user.user_id, ttl_s=3600, session_max_s=120)
    outcome = services.auth.rotate_refresh_token(grant.refresh_token, ttl_s=3600)
    assert isinstance(outcome, RefreshGrant)
    assert (outcome.expires_at - grant.expires_at).total_seconds() < 1


def test_logout_revokes_the_session(client: TestClient) -> None:
    """After logout neither the current nor any earlier token refreshes."""
    first = _login(client)
    _, second = _refresh(client, first["refresh_token"])
    r = client.post("/auth/logout", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 200
    assert r.json() == {"ended": True}
    status, body = _refresh(client, second["refresh_token"])
    assert status == 401
    assert body["code"] == "unauthenticated"
    again = client.post("/auth/logout", json={"refresh_token": second["refresh_token"]})
    assert again.json() == {"ended": False}
    unknown = client.post("/auth/logout", json={"refresh_token": "rxd_rt_nothing"})
    assert unknown.json() == {"ended": False}


def test_a_deactivated_user_cannot_refresh(client: TestClient, fresh_db: str) -> None:
    """Refresh re-reads the user: deactivated, the session is revoked."""
    first = _login(client)
    with psycopg.connect(fresh_db) as conn:
        conn.execute("UPDATE auth.user_account SET active = false")
    assert _refresh(client, first["refresh_token"])[0] == 401
    with psycopg.connect(fresh_db) as conn:
        conn.execute("UPDATE auth.user_account SET active = true")
    assert _refresh(client, first["refresh_token"])[0] == 401  # revoked for good


def test_bad_refresh_input_gets_problem_json(client: TestClient) -> None:
    """Missing, empty or garbage refresh tokens: 422 or 401, problem+json."""
    for body, status in (
        ({}, 422),
        ({"refresh_token": ""}, 422),
        ({"refresh_token": "x" * 300}, 422),
        ({"refresh_token": "not-a-token"}, 401),
        ({"refresh_token": "rxd_rt_" + "A" * 43}, 401),
    ):
        r = client.post("/auth/refresh", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"


def test_refresh_tokens_are_stored_hashed_and_never_logged(
    client: TestClient, fresh_db: str, captured_logs: io.StringIO
) -> None:
    """Only 32-byte digests are stored; login, refresh, reuse and logout log
    session ids, never a token."""
    first = _login(client)
    _, second = _refresh(client, first["refresh_token"])
    _refresh(client, first["refresh_token"])  # reuse
    third = _login(client, "bob")
    client.post("/auth/logout", json={"refresh_token": third["refresh_token"]})

    with psycopg.connect(fresh_db) as conn:
        rows = conn.execute("SELECT token_sha256 FROM auth.refresh_token").fetchall()
    assert len(rows) == 3
    tokens = [first, second, third]
    stored = b"".join(bytes(r[0]) for r in rows)
    assert all(len(bytes(r[0])) == 32 for r in rows)
    for t in tokens:
        assert t["refresh_token"].encode() not in stored

    logged = captured_logs.getvalue()
    assert "session" in logged
    assert "reuse" in logged
    for t in tokens:
        for secret in (t["refresh_token"], t["access_token"]):
            assert secret not in logged, "a token reached the logs"
            assert secret[7:27] not in logged
