"""A live socket outlives its access token when the client renews it in band.

The socket warns ``auth.expiring`` before its token expires; an ``auth`` frame
with a fresh token of the same user moves the deadline (``auth.ok``); unrenewed,
the socket is closed with 4001 at the expiry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from api.app import create_app
from api.auth.credentials import issue_access_token
from api.auth.principals import Role
from api.live.envelope import CLOSE_POLICY_VIOLATION, CLOSE_TOKEN_EXPIRED
from dispatch.dev_secrets import reveal
from tests.integration.api.conftest import PASSWORD, api_settings, services_of


@pytest.fixture
def fast_client(fresh_db: str) -> Iterator[TestClient]:
    """Heartbeats every 0.3 s, expiry warnings 1 s ahead."""
    settings = api_settings(fresh_db, ws_heartbeat_s=0.3, ws_auth_warning_s=1.0)
    with TestClient(create_app(settings)) as c:
        yield c


def _token(client: TestClient, username: str, ttl_s: int) -> str:
    services = services_of(client)
    user = services.auth.user_by_name(username)
    if user is None:
        services.auth.add_user(username=username, password=PASSWORD, role=Role.admin)
        user = services.auth.user_by_name(username)
    assert user is not None
    token, _ = issue_access_token(
        secret=reveal(services.settings.api.jwt_secret, "API_JWT_SECRET"),
        user_id=user.user_id,
        username=user.username,
        role=user.role,
        ttl_s=ttl_s,
    )
    return token


#: Long enough for a host ten times slower than a quiet one to open the socket
#: before the token expires (2-3 s failed under load); the tests wait it out.
SHORT_TTL_S = 15


def _next(ws: WebSocketTestSession, type_: str) -> dict[str, Any]:
    """The next frame of ``type_``, skipping heartbeats and positions."""
    for _ in range(1000):
        frame: dict[str, Any] = ws.receive_json()
        if frame["type"] == type_:
            return frame
        assert frame["type"] in ("heartbeat", "positions", "hello", "auth.expiring")
    raise AssertionError(f"no {type_} frame")


def _open(client: TestClient, token: str) -> Any:
    return client.websocket_connect(
        "/ws/dispatch", headers={"Authorization": f"Bearer {token}"}
    )


def test_an_unrenewed_token_is_warned_then_closed_with_4001(
    fast_client: TestClient,
) -> None:
    """``auth.expiring`` comes before the expiry, then close 4001 with a reason."""
    token = _token(fast_client, "ann", ttl_s=SHORT_TTL_S)
    with _open(fast_client, token) as ws:
        assert ws.receive_json()["type"] == "hello"
        warning = _next(ws, "auth.expiring")
        assert warning["data"]["expires_in_s"] <= 1.0
        with pytest.raises(WebSocketDisconnect) as info:
            _next(ws, "never")
    assert info.value.code == CLOSE_TOKEN_EXPIRED
    assert info.value.reason == "access token expired"


def test_an_auth_frame_renews_the_socket_without_reconnecting(
    fast_client: TestClient,
) -> None:
    """A fresh token of the same user sent on the socket keeps it open past the
    first token's expiry."""
    short = _token(fast_client, "ann", ttl_s=SHORT_TTL_S)
    with _open(fast_client, short) as ws:
        assert ws.receive_json()["type"] == "hello"
        fresh = _token(fast_client, "ann", ttl_s=600)
        ws.send_json({"type": "auth", "data": {"access_token": fresh}})
        ok = _next(ws, "auth.ok")
        assert ok["data"]["expires_at"]
        time.sleep(SHORT_TTL_S + 1)  # past the first token's expiry
        ws.send_json({"type": "ping", "data": {"n": 1}})
        assert _next(ws, "pong")["data"] == {"n": 1}


def test_a_bad_auth_frame_is_an_error_and_keeps_the_old_deadline(
    fast_client: TestClient,
) -> None:
    """A garbage, tampered or expired token is answered ``auth_failed``; the
    socket stays open on its current token and still closes at its expiry."""
    token = _token(fast_client, "ann", ttl_s=SHORT_TTL_S)
    with _open(fast_client, token) as ws:
        assert ws.receive_json()["type"] == "hello"
        expired = _token(fast_client, "ann", ttl_s=-10)
        tampered = token[:-2] + "xx"
        for data in (
            {},
            {"access_token": 5},
            {"access_token": "nope"},
            {"access_token": expired},
            {"access_token": tampered},
        ):
            ws.send_json({"type": "auth", "data": data})
            assert _next(ws, "error")["data"] == {"code": "auth_failed"}
        with pytest.raises(WebSocketDisconnect) as info:
            _next(ws, "never")
    assert info.value.code == CLOSE_TOKEN_EXPIRED


def test_another_users_token_closes_the_socket(fast_client: TestClient) -> None:
    """The socket belongs to one user: another user's token closes it (1008)."""
    with _open(fast_client, _token(fast_client, "ann", ttl_s=600)) as ws:
        assert ws.receive_json()["type"] == "hello"
        other = _token(fast_client, "bob", ttl_s=600)
        ws.send_json({"type": "auth", "data": {"access_token": other}})
        with pytest.raises(WebSocketDisconnect) as info:
            _next(ws, "never")
    assert info.value.code == CLOSE_POLICY_VIOLATION


def test_an_expired_token_cannot_open_a_socket(fast_client: TestClient) -> None:
    """Opening with an already expired token is refused with 1008."""
    token = _token(fast_client, "ann", ttl_s=-5)
    with _open(fast_client, token) as ws, pytest.raises(WebSocketDisconnect) as info:
        ws.receive_json()
    assert info.value.code == CLOSE_POLICY_VIOLATION


def test_device_token_sockets_close_when_the_token_expires(
    fast_client: TestClient, fresh_db: str
) -> None:
    """A rider's device token expires too: its socket is warned, then closed
    with 4001 at the token's expiry (a new token renews it in band)."""
    rider = services_of(fast_client).auth.issue_device_token(rider_id="r-1")
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute(
            "UPDATE auth.device_token SET expires_at = now() + %s * interval '1 s'",
            (SHORT_TTL_S,),
        )
    with fast_client.websocket_connect(
        "/ws/rider", headers={"Authorization": f"Bearer {rider}"}
    ) as ws:
        assert ws.receive_json()["type"] == "hello"
        seen: list[str] = []
        with pytest.raises(WebSocketDisconnect) as info:
            _until_closed(ws, seen)
        assert "auth.expiring" in seen
        assert info.value.code == CLOSE_TOKEN_EXPIRED


def _until_closed(ws: WebSocketTestSession, seen: list[str]) -> None:
    """Receive frames (heartbeats, route updates, warnings) into ``seen`` until
    the server closes the socket."""
    for _ in range(100_000):
        seen.append(ws.receive_json()["type"])
