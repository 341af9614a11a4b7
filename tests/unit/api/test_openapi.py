"""The OpenAPI document is complete and matches the checked-in contract.

Regenerate the snapshot after an intended API change with
``RXD_UPDATE_OPENAPI=1 pytest tests/unit/api/test_openapi.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from api.app import create_app
from api.errors import PROBLEM_MEDIA_TYPE
from api.services import AppSettings

SNAPSHOT = Path(__file__).resolve().parents[2] / "data" / "openapi.json"


def _schema() -> dict[str, Any]:
    return create_app(AppSettings()).openapi()


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
    ]


def test_every_operation_has_a_typed_success_response() -> None:
    """Each operation documents a 2xx JSON body with a schema."""
    missing = []
    for path, method, op in _operations(_schema()):
        ok = [r for s, r in op["responses"].items() if s.startswith("2")]
        has_schema = any(
            r.get("content", {}).get("application/json", {}).get("schema") for r in ok
        )
        if not has_schema:
            missing.append(f"{method.upper()} {path}")
    assert missing == []


def test_every_operation_documents_problem_json_errors() -> None:
    """Each operation lists its error statuses as problem+json Problems."""
    bad = []
    for path, method, op in _operations(_schema()):
        errors = {s: r for s, r in op["responses"].items() if s[0] in "45"}
        ok = errors and all(
            list(r.get("content", {})) == [PROBLEM_MEDIA_TYPE] for r in errors.values()
        )
        if not ok:
            bad.append(f"{method.upper()} {path}")
    assert bad == []


def test_every_operation_has_a_description() -> None:
    """Route docstrings become the operation descriptions."""
    undocumented = [
        f"{m} {p}" for p, m, op in _operations(_schema()) if not op.get("description")
    ]
    assert undocumented == []


def test_schema_matches_the_checked_in_snapshot() -> None:
    """tests/data/openapi.json is the published contract."""
    current = json.dumps(_schema(), indent=2, sort_keys=True) + "\n"
    if os.environ.get("RXD_UPDATE_OPENAPI") == "1":
        SNAPSHOT.write_text(current)
    assert SNAPSHOT.read_text() == current, (
        "API contract changed: review, then regenerate with RXD_UPDATE_OPENAPI=1"
    )
