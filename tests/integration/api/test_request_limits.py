"""Request bodies are bounded before authentication."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth.principals import Role
from tests.integration.api.conftest import Credentials, api_settings

pytestmark = pytest.mark.integration

LIMIT = 64 * 1024


@pytest.fixture
def small_client(fresh_db: str) -> Iterator[TestClient]:
    """An app whose body limit is 64 KiB."""
    with TestClient(create_app(api_settings(fresh_db, max_body_bytes=LIMIT))) as c:
        yield c


def test_an_oversized_anonymous_body_is_refused_unread(
    small_client: TestClient,
) -> None:
    """A login body past the limit gets 413 problem+json before any parsing or
    authentication, whether its length is declared or it streams in chunks."""
    big = b'{"username": "' + b"a" * (LIMIT + 1) + b'", "password": "x"}'
    declared = small_client.post(
        "/auth/token", content=big, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert declared.json()["code"] == "body_too_large"

    def chunks() -> Iterator[bytes]:
        for _ in range(LIMIT // 1024 + 8):
            yield b"a" * 1024

    streamed = small_client.post(
        "/auth/token", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert streamed.json()["code"] == "body_too_large"


def test_a_body_within_the_limit_is_handled_as_before(
    small_client: TestClient,
) -> None:
    """Under the limit, a wrong login is the usual 401."""
    r = small_client.post("/auth/token", json={"username": "nobody", "password": "x"})
    assert r.status_code == 401


def test_a_lot_id_beyond_64_bits_is_refused_not_a_500(
    client: TestClient, creds: Credentials
) -> None:
    """Scanned lot ids are bounded like the column they name (found by the fuzzer:
    a 35-digit id was a 500)."""
    for headers in ({}, {"Idempotency-Key": "k-fuzz-0001"}):
        r = client.post(
            "/orders/o-1/pickup",
            headers={**creds(Role.rider), **headers},
            json={"scanned_lot_ids": [264265, -18790866566797982731745696608681984]},
        )
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
