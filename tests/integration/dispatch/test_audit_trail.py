"""The audit trail: chained, append-only, every read of patient data recorded, and
``rxdispatch audit verify`` catching edits, deletions and reordering."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from api.cli.main import app
from dispatch.adapters.postgres.audit import list_entries, verify_database
from dispatch.orders.intake import submit_order
from dispatch.orders.patient_data import reveal_contact
from tests.integration.dispatch.conftest import (
    AMOX,
    TODAY,
    VALLETTA,
    add_lot,
    make_request,
    seed_catalogue,
)


@pytest.fixture
def audited(db, fresh_db):
    """A database with a few audited commands, including a patient-data read."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 50, TODAY + timedelta(days=365))
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(AMOX, 1)]), actor="api:alice")
    with db.transaction() as tx:
        reveal_contact(tx, order.id, actor="dispatcher:bob", purpose="call patient")
    return fresh_db, order


def _tamper(url: str, sql: str) -> None:
    """Run ``sql`` as a privileged attacker would: with the guard triggers bypassed."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(sql)


def _verify_cli(url: str):
    return CliRunner().invoke(app, ["audit", "verify", "--database-url", url])


def test_reading_patient_data_is_audited(db, audited):
    """Revealing the contact leaves an entry naming the reader and the purpose."""
    _, order = audited
    with db.transaction() as tx:
        entries = list_entries(tx, subject_id=order.id)
    read = [e for e in entries if e.action == "patient.contact_read"]
    assert len(read) == 1
    assert read[0].actor == "dispatcher:bob"
    assert read[0].details["purpose"] == "call patient"


def test_intact_chain_verifies(audited):
    """An untouched trail verifies, through the CLI too."""
    url, _ = audited
    count, problems = verify_database(url)
    assert problems == []
    assert count == 3
    result = _verify_cli(url)
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_updates_and_deletes_are_refused_by_the_database(audited):
    """The table is append-only: UPDATE, DELETE and TRUNCATE raise."""
    url, _ = audited
    for sql in (
        "UPDATE dispatch.audit_entry SET actor = 'x' WHERE seq = 1",
        "DELETE FROM dispatch.audit_entry WHERE seq = 1",
        "TRUNCATE dispatch.audit_entry",
    ):
        with (
            psycopg.connect(url) as conn,
            pytest.raises(psycopg.errors.InsufficientPrivilege),
        ):
            conn.execute(sql)


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        ("UPDATE dispatch.audit_entry SET actor = 'mallory' WHERE seq = 2", "edited"),
        (
            'UPDATE dispatch.audit_entry SET details = \'{"purpose": "x"}\''
            " WHERE action = 'patient.contact_read'",
            "edited",
        ),
        ("DELETE FROM dispatch.audit_entry WHERE seq = 2", "sequence_gap"),
        (
            "DELETE FROM dispatch.audit_entry WHERE seq = (SELECT max(seq)"
            " FROM dispatch.audit_entry)",
            "truncated",
        ),
        (
            "UPDATE dispatch.audit_entry SET seq = -2 WHERE seq = 2;"
            " UPDATE dispatch.audit_entry SET seq = 2 WHERE seq = 3;"
            " UPDATE dispatch.audit_entry SET seq = 3 WHERE seq = -2",
            "edited",
        ),
    ],
    ids=["edit_actor", "edit_details", "delete_middle", "delete_tail", "reorder"],
)
def test_tampering_is_detected(audited, sql, kind):
    """Edited, deleted and reordered entries each break verification."""
    url, _ = audited
    _tamper(url, sql)
    _, problems = verify_database(url)
    assert kind in {p.kind for p in problems}
    result = _verify_cli(url)
    assert result.exit_code == 1
