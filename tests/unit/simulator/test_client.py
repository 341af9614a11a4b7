"""The HTTP client shapes requests as the API documents and maps its errors.

The transport is httpx's MockTransport: these tests check the client's own
behaviour (headers, bodies, retries, error mapping); the API itself is exercised
in tests/integration/test_simulation.py.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest

from simulator.api_types import parse_route
from simulator.client import ApiClient
from simulator.errors import ApiError, ApiUnavailable

Handler = Callable[[httpx.Request], httpx.Response]


def _run(handler: Handler, call: Callable[[ApiClient], Any]) -> Any:
    async def go() -> Any:
        client = ApiClient("http://api.test/", transport=httpx.MockTransport(handler))
        try:
            return await call(client)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_problem_json_becomes_api_error_with_code() -> None:
    """An RFC 9457 body's status and code reach the caller."""
    problem = {
        "type": "about:blank",
        "title": "x",
        "status": 422,
        "code": "otp_mismatch",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(422, json=problem)

    with pytest.raises(ApiError) as caught:
        _run(
            handler, lambda c: c.confirm_delivery("dev", "o1", otp="1234", lat=1, lon=2)
        )
    assert caught.value.status == 422
    assert caught.value.problem_code == "otp_mismatch"


def test_rate_limit_is_retried_after_the_given_delay() -> None:
    """A 429 with Retry-After is retried; the second answer is returned."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if len(calls) == 1:
            return httpx.Response(429, headers={"Retry-After": "0"}, json={})
        return httpx.Response(200, json={"access_token": "t", "role": "admin"})

    assert _run(handler, lambda c: c.login("admin", "secret")) == "t"
    assert len(calls) == 2


def test_unreachable_server_is_api_unavailable() -> None:
    """A refused connection raises ApiUnavailable, not an httpx error."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ApiUnavailable):
        _run(handler, lambda c: c.my_route("dev"))


def test_order_creation_sends_the_idempotency_key_and_token() -> None:
    """POST /orders carries the bearer token, the key and the body as given."""
    seen: dict[str, Any] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers["Authorization"]
        seen["key"] = request.headers["Idempotency-Key"]
        seen["body"] = json.loads(request.content)
        return httpx.Response(
            201,
            json={"id": "o-1", "tracking_token": "trk", "status": "assigned"},
        )

    created = _run(
        handler,
        lambda c: c.create_order("staff", {"lines": []}, idempotency_key="short-00001"),
    )
    assert (created.order_id, created.tracking_token) == ("o-1", "trk")
    assert seen == {"auth": "Bearer staff", "key": "short-00001", "body": {"lines": []}}


def test_stock_import_is_csv() -> None:
    """Stock goes as a text/csv body with the documented header."""
    seen: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["type"] = request.headers["Content-Type"]
        seen["csv"] = request.content.decode()
        return httpx.Response(200, json={"imported": 1, "errors": []})

    rows = [("INS-1", "L00AB12", date(2026, 9, 1), 12)]
    assert _run(handler, lambda c: c.import_stock("staff", "ph-1", rows)) == 1
    assert seen["type"] == "text/csv"
    assert (
        seen["csv"]
        == "sku,lot_number,expiry_date,quantity\nINS-1,L00AB12,2026-09-01,12\n"
    )


def test_existing_resources_are_not_an_error() -> None:
    """Creating a pharmacy that exists (409) reports False instead of raising."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json={"code": "conflict", "status": 409})

    created = _run(
        handler,
        lambda c: c.create_pharmacy("t", pharmacy_id="p", name="P", lat=35.9, lon=14.5),
    )
    assert created is False


def test_route_parsing() -> None:
    """A RiderRouteRead body becomes stops in visiting order."""
    body = {
        "rider_id": "r1",
        "stops": [
            {
                "stop_id": "s1",
                "kind": "pickup",
                "order_id": "o1",
                "location": {"lat": 35.9, "lon": 14.5},
                "eta_at": "2026-06-15T08:10:00Z",
            }
        ],
    }
    (stop,) = parse_route(body)
    assert stop.kind == "pickup"
    assert stop.eta_at == datetime(2026, 6, 15, 8, 10, tzinfo=UTC)
    assert parse_route(None) == []


def test_box_quarantines_are_read_from_the_audit_trail() -> None:
    """Only the box's quarantine entries count, oldest first; the query names
    the box."""
    seen: list[httpx.Request] = []

    def entry(action: str, at: str, subject_type: str = "cold_box") -> dict[str, Any]:
        return {"action": action, "recorded_at": at, "subject_type": subject_type}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json=[
                entry("cold_box.quarantined", "2026-06-15T10:40:00+00:00"),
                entry("cold_box.released", "2026-06-15T10:30:00+00:00"),
                entry("cold_box.quarantined", "2026-06-15T09:05:00+00:00"),
                entry("cold_box.quarantined", "2026-06-15T08:00:00+00:00", "rider"),
            ],
        )

    stamps = _run(handler, lambda c: c.box_quarantines("staff", "box-7"))
    assert stamps == [
        datetime(2026, 6, 15, 9, 5, tzinfo=UTC),
        datetime(2026, 6, 15, 10, 40, tzinfo=UTC),
    ]
    (request,) = seen
    assert request.url.path == "/audit"
    assert request.url.params["subject_id"] == "box-7"
    assert request.headers["authorization"] == "Bearer staff"
