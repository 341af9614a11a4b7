"""The whole role x endpoint matrix, generated from the app's routes.

A route without a role declaration fails here, so new routes cannot ship open
by accident.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from api.app import ROUTERS, create_app
from api.auth.access import Access, TrackingLink
from api.auth.principals import Role
from api.services import AppSettings
from tests.integration.api.conftest import Credentials

CALLERS: tuple[Role | None, ...] = (
    None,
    Role.admin,
    Role.dispatcher,
    Role.pharmacist,
    Role.rider,
)


def _access_of(dependant: Any) -> list[Access]:
    found = [d.call for d in dependant.dependencies if isinstance(d.call, Access)]
    for sub in dependant.dependencies:
        found += _access_of(sub)
    return found


def declared_access(route: Any) -> list[Access]:
    """Role declarations of an HTTP or websocket route."""
    if isinstance(route, APIWebSocketRoute):
        marker = getattr(route.endpoint, "__access__", None)
        return [marker] if isinstance(marker, Access) else []
    return list({id(a): a for a in _access_of(route.dependant)}.values())


def app_routes() -> list[Any]:
    """Every HTTP and websocket route mounted by ``create_app``."""
    return [
        r
        for router in ROUTERS
        for r in router.routes
        if isinstance(r, APIRoute | APIWebSocketRoute)
    ]


def test_every_route_declares_exactly_one_access_rule() -> None:
    """Each HTTP and websocket route depends on one Access object."""
    routes = app_routes()
    assert len(routes) > 5
    missing = [r.path for r in routes if len(declared_access(r)) != 1]
    assert missing == []


def test_the_walked_routes_are_all_the_documented_routes() -> None:
    """No path reaches the OpenAPI document without passing through ROUTERS."""
    documented = set(create_app(AppSettings()).openapi()["paths"])
    walked = {r.path for r in app_routes() if isinstance(r, APIRoute)}
    assert documented == walked


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def _headers(creds: Credentials, caller: Role | None) -> dict[str, str]:
    return {} if caller is None else creds(caller)


def test_http_role_matrix(client: TestClient, creds: Credentials) -> None:
    """Allowed roles pass the gate; others get 401 (anonymous) or 403."""
    failures = []
    checked = 0
    for route in app_routes():
        if not isinstance(route, APIRoute):
            continue
        [access] = declared_access(route)
        for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
            for caller in CALLERS:
                r = client.request(
                    method, _url(route.path), json={}, headers=_headers(creds, caller)
                )
                checked += 1
                if isinstance(access, TrackingLink):
                    expected_gate = {404}  # an unknown link is 404 for everybody
                    ok = r.status_code in expected_gate
                elif not access.roles or caller in access.roles:
                    ok = r.status_code not in (401, 403)
                else:
                    ok = r.status_code == (401 if caller is None else 403)
                if not ok:
                    failures.append((method, route.path, caller, r.status_code))
    assert failures == []
    assert checked > 0


@pytest.mark.parametrize("caller", CALLERS)
def test_websocket_role_matrix(
    client: TestClient, creds: Credentials, caller: Role | None
) -> None:
    """Allowed roles get ``hello``; others are closed with 1008."""
    checked = 0
    for route in app_routes():
        if not isinstance(route, APIWebSocketRoute):
            continue
        checked += 1
        [access] = declared_access(route)
        allowed = caller in access.roles and not isinstance(access, TrackingLink)
        with client.websocket_connect(
            _url(route.path), headers=_headers(creds, caller)
        ) as ws:
            if allowed:
                assert ws.receive_json()["type"] == "hello", route.path
            else:
                with pytest.raises(WebSocketDisconnect) as info:
                    ws.receive_json()
                assert info.value.code == 1008, route.path
    assert checked == 3  # /ws/rider, /ws/dispatch, /ws/track/{token}
