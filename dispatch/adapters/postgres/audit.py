"""Reading the audit chain back (writing happens in :meth:`Tx.flush_audit`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg.rows import class_row

from dispatch.adapters.postgres.unit_of_work import AuditHeadRow, Tx
from dispatch.audit.chain import AuditEntry, AuditProblem, verify_chain

# the fields of AuditEntry: read with class_row(AuditEntry)
ENTRY_COLUMNS = (
    "seq, recorded_at, actor, action, subject_type, subject_id, details,"
    " prev_hash, entry_hash"
)
SELECT_ENTRIES = f"SELECT {ENTRY_COLUMNS} FROM dispatch.audit_entry ORDER BY seq"
SELECT_HEAD = "SELECT last_seq, last_hash FROM dispatch.audit_head"


def _iter_entries(conn: psycopg.Connection[Any]) -> Iterator[AuditEntry]:
    # server-side: constant memory
    with conn.cursor(name="audit_scan", row_factory=class_row(AuditEntry)) as cur:
        cur.execute(SELECT_ENTRIES)
        yield from cur


def verify_database(url: str) -> tuple[int, list[AuditProblem]]:
    """``(entries checked, problems)`` for the audit chain of the database at ``url``.

    Reads in one repeatable-read snapshot so concurrent appends cannot confuse it.
    """
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            with conn.cursor(row_factory=class_row(AuditHeadRow)) as cur:
                head_row = cur.execute(SELECT_HEAD).fetchone()
            head = (
                (int(head_row.last_seq), str(head_row.last_hash)) if head_row else None
            )
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
    return tx.fetch_all(
        class_row(AuditEntry),
        f"SELECT {ENTRY_COLUMNS} FROM dispatch.audit_entry"
        " WHERE (%s::text IS NULL OR subject_id = %s) ORDER BY seq DESC LIMIT %s",
        (subject_id, subject_id, limit),
    )
