"""Reading the audit chain back (writing happens in :meth:`Tx.flush_audit`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg

from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.audit.chain import AuditEntry, AuditProblem, verify_chain

SELECT_ENTRIES = """
SELECT seq, recorded_at, actor, action, subject_type, subject_id, details,
    prev_hash, entry_hash
FROM dispatch.audit_entry ORDER BY seq
"""
SELECT_HEAD = "SELECT last_seq, last_hash FROM dispatch.audit_head"


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        seq=int(row[0]),
        recorded_at=row[1],
        actor=row[2],
        action=row[3],
        subject_type=row[4],
        subject_id=row[5],
        details=row[6],
        prev_hash=row[7],
        entry_hash=row[8],
    )


def _iter_entries(conn: psycopg.Connection[Any]) -> Iterator[AuditEntry]:
    with conn.cursor(name="audit_scan") as cur:  # server-side: constant memory
        cur.execute(SELECT_ENTRIES)
        for row in cur:
            yield _entry(row)


def verify_database(url: str) -> tuple[int, list[AuditProblem]]:
    """``(entries checked, problems)`` for the audit chain of the database at ``url``.

    Reads in one repeatable-read snapshot so concurrent appends cannot confuse it.
    """
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            head_row = conn.execute(SELECT_HEAD).fetchone()
            head = (int(head_row[0]), str(head_row[1])) if head_row else None
            count = 0

            def counted() -> Iterator[AuditEntry]:
                nonlocal count
                for entry in _iter_entries(conn):
                    count += 1
                    yield entry

            problems = verify_chain(counted(), head=head)
    return count, problems


def list_entries(
    tx: Tx, *, subject_id: str | None = None, limit: int = 200
) -> list[AuditEntry]:
    """Most recent entries (optionally of one subject), newest first."""
    rows = tx.conn.execute(
        "SELECT seq, recorded_at, actor, action, subject_type, subject_id, details,"
        " prev_hash, entry_hash FROM dispatch.audit_entry"
        " WHERE (%s::text IS NULL OR subject_id = %s) ORDER BY seq DESC LIMIT %s",
        (subject_id, subject_id, limit),
    ).fetchall()
    return [_entry(r) for r in rows]
