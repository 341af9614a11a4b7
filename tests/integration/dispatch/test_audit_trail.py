"""The audit trail: chained with a key outside the database, append-only, every
read of patient data recorded, ``rxdispatch audit verify`` catching edits,
deletions, reordering and re-hashing, and a signed checkpoint catching a
truncated tail whose head was moved."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import orjson
import psycopg
import pytest
from psycopg.rows import class_row
from typer.testing import CliRunner

from api.cli.main import app
from dispatch.adapters.postgres.audit import (
    SELECT_ENTRIES,
    list_entries,
    verify_database,
)
from dispatch.audit.chain import GENESIS_HASH, AuditEntry, chain_hash
from dispatch.orders.intake import submit_order
from dispatch.orders.patient_data import reveal_contact
from tests.integration.dispatch.conftest import (
    AMOX,
    AUDIT_KEY,
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


# where the CLI keeps the dev secrets it does not use here (not the repo's var/)
CLI_DATA_DIR = Path(tempfile.gettempdir()) / "rxd-audit-cli-test"


def _tamper(url: str, sql: str) -> None:
    """Run ``sql`` as a privileged attacker would: with the guard triggers bypassed."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(sql)


def _cli(url: str, command: str, *args: str):
    """``rxdispatch audit <command>`` with the key the test database was written
    with (as an operator's environment would hold it)."""
    return CliRunner().invoke(
        app,
        ["audit", command, "--database-url", url, *args],
        env={
            "DISPATCH_AUDIT_KEY": AUDIT_KEY.decode(),
            "RXDISPATCH_DATA_DIR": str(CLI_DATA_DIR),
        },
    )


def _verify_cli(url: str, *args: str):
    return _cli(url, "verify", *args)


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
    report = verify_database(url, key=AUDIT_KEY)
    assert report.problems == []
    assert report.count == 3
    assert report.unkeyed_until == 0
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
    problems = verify_database(url, key=AUDIT_KEY).problems
    assert kind in {p.kind for p in problems}
    result = _verify_cli(url)
    assert result.exit_code == 1


def _rehash_after(url: str, key: bytes | None, *, edit_seq: int) -> None:
    """The attack on an unkeyed chain: edit one entry, then recompute every link
    and hash after it and move the head (as the app's code would hash, given
    ``key``)."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(
            "UPDATE dispatch.audit_entry SET actor = 'mallory' WHERE seq = %s",
            (edit_seq,),
        )  # edit_seq 0: no edit, only the re-hash
        with conn.cursor(row_factory=class_row(AuditEntry)) as cur:
            entries = cur.execute(SELECT_ENTRIES).fetchall()
        prev = GENESIS_HASH
        for entry in entries:
            if entry.seq < edit_seq:
                prev = entry.entry_hash
                continue
            fixed = replace(entry, prev_hash=prev)
            prev = chain_hash(key, prev, fixed)
            conn.execute(
                "UPDATE dispatch.audit_entry SET prev_hash = %s, entry_hash = %s"
                " WHERE seq = %s",
                (fixed.prev_hash, prev, entry.seq),
            )
        conn.execute(
            "UPDATE dispatch.audit_head SET last_seq = %s, last_hash = %s",
            (entries[-1].seq, prev),
        )


@pytest.mark.parametrize("guess", [None, b"a-guessed-audit-key-0123456789"])
def test_edit_and_rehash_without_the_key_is_detected(audited, guess):
    """Whoever can write the table but lacks the audit key cannot rewrite an entry
    and re-hash the rest: the keyed hashes no longer match (issue 20, item 5)."""
    url, _ = audited
    _rehash_after(url, guess, edit_seq=2)
    problems = verify_database(url, key=AUDIT_KEY).problems
    assert "edited" in {p.kind for p in problems}
    assert min(p.seq for p in problems) == 2
    result = _verify_cli(url)
    assert result.exit_code == 1
    assert "BROKEN" in result.output


def _truncate_and_move_head(url: str, keep: int) -> None:
    """Delete every entry after ``keep`` and point the head at entry ``keep``:
    the remaining chain is internally consistent."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute("DELETE FROM dispatch.audit_entry WHERE seq > %s", (keep,))
        conn.execute(
            "UPDATE dispatch.audit_head SET last_seq = seq, last_hash = entry_hash"
            " FROM dispatch.audit_entry WHERE seq = %s",
            (keep,),
        )


def test_truncating_the_tail_and_moving_the_head_is_caught_by_a_checkpoint(
    audited, tmp_path
):
    """``audit checkpoint`` signs the head; after the tail is cut and the head
    moved the chain alone verifies, but ``verify --checkpoint`` fails."""
    url, _ = audited
    saved = tmp_path / "audit.checkpoint.json"
    made = _cli(url, "checkpoint", "--out", str(saved))
    assert made.exit_code == 0, made.output
    document = orjson.loads(saved.read_bytes())
    assert document["seq"] == 3
    assert "signature" in document
    assert _verify_cli(url, "--checkpoint", str(saved)).exit_code == 0

    _truncate_and_move_head(url, keep=1)

    assert verify_database(url, key=AUDIT_KEY).problems == []
    result = _verify_cli(url, "--checkpoint", str(saved))
    assert result.exit_code == 1
    assert "checkpoint_missing" in result.output


def test_a_checkpoint_detects_a_rewrite_and_refuses_an_edited_file(audited, tmp_path):
    """Replacing a checkpointed entry (even re-hashed with the key) is a
    mismatch; a checkpoint edited to match a truncated chain is refused."""
    url, _ = audited
    saved = tmp_path / "cp.json"
    assert _cli(url, "checkpoint", "--out", str(saved)).exit_code == 0
    _rehash_after(url, AUDIT_KEY, edit_seq=2)  # an attacker holding the key
    result = _verify_cli(url, "--checkpoint", str(saved))
    assert result.exit_code == 1
    assert "checkpoint_mismatch" in result.output

    moved = orjson.loads(saved.read_bytes())
    moved["seq"] = 1
    saved.write_bytes(orjson.dumps(moved))
    refused = _verify_cli(url, "--checkpoint", str(saved))
    assert refused.exit_code == 1
    assert "signature" in refused.output


def test_entries_written_before_the_key_still_verify(db, audited):
    """A database migrated from an unkeyed chain: old entries are SHA-256 up to
    ``unkeyed_until``, new ones keyed, and the report says where keying starts."""
    fresh_db, order = audited
    _rehash_after(fresh_db, None, edit_seq=0)  # the hashing before the key
    with psycopg.connect(fresh_db, autocommit=True) as conn:
        conn.execute("UPDATE dispatch.audit_head SET unkeyed_until = last_seq")
        row = conn.execute("SELECT last_seq FROM dispatch.audit_head").fetchone()
    assert row is not None
    legacy = int(row[0])
    with db.transaction() as tx:
        reveal_contact(tx, order.id, actor="dispatcher:bob", purpose="re-check")
    report = verify_database(fresh_db, key=AUDIT_KEY)
    assert report.problems == []
    assert report.unkeyed_until == legacy > 0
    assert report.count > legacy
    result = _verify_cli(fresh_db)
    assert result.exit_code == 0, result.output
    assert f"keyed from entry {legacy + 1}" in result.output
