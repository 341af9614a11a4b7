"""The patient channel in production shape: the patient's own link is POSTed,
signed, to an SMS gateway's webhook (a real HTTP receiver here), never to the
order's creator; a gateway that refuses it loses no order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principals import Role
from telemetry.webhooks import verify
from tests.integration.api.conftest import Credentials, api_settings, services_of
from tests.integration.api.test_order_flow import (
    PATIENT,
    _order_body,
    _seed_catalogue,
)


class _Gateway(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    status: ClassVar[int] = 202

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((dict(self.headers), body))
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway_url() -> Iterator[str]:
    _Gateway.received, _Gateway.status = [], 202
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/sms"
    server.shutdown()
    server.server_close()


@pytest.fixture
def client(fresh_db: str, gateway_url: str) -> Iterator[TestClient]:
    """The app texting patients through the webhook gateway (used by ``creds``)."""
    settings = api_settings(
        fresh_db,
        patient_channel="webhook",
        patient_sms_webhook_url=gateway_url,
        public_base_url="https://track.example.org",
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _create(client: TestClient, creds: Credentials, key: str) -> dict[str, Any]:
    r = client.post(
        "/orders",
        headers={**creds(Role.dispatcher), "Idempotency-Key": key},
        json=_order_body(),
    )
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


def test_the_patient_link_goes_signed_to_the_gateway(
    client: TestClient, creds: Credentials
) -> None:
    """One signed POST per order, to the patient's phone, carrying a link that is
    not the creator's; the fake outbox endpoint is 404 with a real gateway."""
    _seed_catalogue(client, creds)
    order = _create(client, creds, "sms-order-01")
    _create(client, creds, "sms-order-01")  # a retry texts nobody again
    [(headers, body)] = _Gateway.received
    secret = services_of(client).settings.telemetry.webhook_secret
    assert secret is not None
    assert verify(
        secret.get_secret_value().encode(),
        headers["X-Rxdispatch-Timestamp"],
        body,
        headers["X-Rxdispatch-Signature"],
    )
    sms = orjson.loads(body)
    assert (sms["order_id"], sms["to"]) == (order["id"], PATIENT["phone"])
    assert "https://track.example.org/ui/track/#rxd_trk_" in sms["body"]
    assert order["tracking_token"] not in sms["body"]
    patient = sms["body"].rsplit("#", 1)[1]
    assert client.get(f"/track/{patient}/messages").status_code == 200
    assert client.get(f"/track/{order['tracking_token']}/messages").status_code == 403
    fake = client.get(f"/dev/patient-sms/{order['id']}", headers=creds(Role.admin))
    assert fake.status_code == 404


def test_a_refusing_gateway_loses_no_order(
    client: TestClient, creds: Credentials
) -> None:
    """The gateway answers 400: the order stands and the failure is counted."""
    _seed_catalogue(client, creds)
    _Gateway.status = 400
    order = _create(client, creds, "sms-order-02")
    assert len(_Gateway.received) == 1
    r = client.get(f"/orders/{order['id']}", headers=creds(Role.dispatcher))
    assert r.status_code == 200
    metrics = services_of(client).metrics.snapshot()
    assert metrics["patient_channel_failed_total"] == 1
