"""Access notes: encrypted at rest, read back (audited), carried by replacements."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.errors import InvalidInput
from dispatch.orders.intake import submit_order
from dispatch.orders.patient_data import read_access_notes
from tests.integration.dispatch.conftest import (
    AMOX,
    TODAY,
    VALLETTA,
    add_lot,
    make_request,
    seed_catalogue,
)

NOTES = "Buzzer 3B, dog in the garden"


def test_notes_are_encrypted_at_rest_and_read_with_an_audit_entry(
    db: Database,
) -> None:
    """The column holds ciphertext; the read returns the text and is audited;
    an order without notes reads as empty without an audit entry."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 10, TODAY + timedelta(days=365))
    request = dataclasses.replace(make_request([(AMOX, 1)]), access_notes=NOTES)
    with db.transaction() as tx:
        order = submit_order(tx, request, actor="api")
        plain = submit_order(tx, make_request([(AMOX, 1)]), actor="api")
    with db.transaction() as tx:
        raw = tx.conn.execute(
            "SELECT access_notes_enc FROM dispatch.customer_order WHERE id = %s",
            (order.id,),
        ).fetchone()
        assert raw is not None
        assert b"Buzzer" not in bytes(raw[0])
        assert read_access_notes(tx, order.id, actor="rider:r1") == NOTES
        assert read_access_notes(tx, plain.id, actor="rider:r1") == ""
    with db.transaction() as tx:  # audit entries are written at commit
        audited = tx.conn.execute(
            "SELECT subject_id FROM dispatch.audit_entry"
            " WHERE action = 'patient.access_notes_read'"
        ).fetchall()
    assert [r[0] for r in audited] == [order.id]


def test_overlong_notes_are_refused(db: Database) -> None:
    """More than 500 characters: a typed error, nothing stored."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 10, TODAY + timedelta(days=365))
    request = dataclasses.replace(make_request([(AMOX, 1)]), access_notes="x" * 501)
    with pytest.raises(InvalidInput), db.transaction() as tx:
        submit_order(tx, request, actor="api")
