"""Property-based fuzzing of the OpenAPI document against a real server.

schemathesis generates requests from every operation's schema (valid and
invalid), sends them to uvicorn on a free port as an admin and as a rider, and
checks: no 5xx, responses match their documented schema, status codes and
content types are documented. Bounded: a few examples per operation;
``RXD_FUZZ_EXAMPLES=200`` runs more, and ``RXD_FUZZ_OPERATIONS`` (comma-separated
labels such as ``POST /orders``) limits it to those operations.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.auth.principals import Role

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MAX_EXAMPLES = int(os.environ.get("RXD_FUZZ_EXAMPLES", "6"))
OPERATIONS = [o.strip() for o in os.environ.get("RXD_FUZZ_OPERATIONS", "").split(",")]


def _fuzz(base_url: str, schema: Any, headers: dict[str, str]) -> list[str]:
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if any(OPERATIONS) and operation.label not in OPERATIONS:
            continue

        @given(case=operation.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(
                base_url=base_url, headers=headers, checks=CHECKS, timeout=20
            )

        try:
            run()
        except Exception as exc:  # collect every operation's failure, then report
            failures.append(f"{operation.label}: {type(exc).__name__}: {exc}"[:800])
    return failures


def test_fuzzed_requests_never_cause_server_errors(
    server: tuple[str, FastAPI],
) -> None:
    """Every operation, fuzzed as admin and as rider, stays within its contract."""
    host, app = server
    services = app.state.services
    services.auth.add_user(username="fuzz-admin", password="p" * 16, role=Role.admin)
    import httpx

    token = httpx.post(
        f"http://{host}/auth/token",
        json={"username": "fuzz-admin", "password": "p" * 16},
    ).json()
    admin = {"Authorization": f"Bearer {token['access_token']}"}
    rider = {
        "Authorization": "Bearer "
        + services.auth.issue_device_token(rider_id="fuzz-rider")
    }
    schema = schemathesis.openapi.from_dict(app.openapi())
    failures = []
    for headers in (admin, rider):
        failures += _fuzz(f"http://{host}", schema, headers)
    assert not failures, "\n".join(failures)
