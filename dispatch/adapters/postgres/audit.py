"""Reading the audit chain back (writing happens in :meth:`Tx.flush_audit`):
verification, signed checkpoints of its head, and the recent entries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from dispatch.adapters.postgres.unit_of_work import AuditHeadRow, Tx
from dispatch.audit.chain import AuditEntry, AuditProblem, verify_chain
from dispatch.audit.checkpoint import AuditCheckpoint, check_against

__all__ = [
    "AuditVerification",
    "list_entries",
    "take_checkpoint",
    "verify_database",
]

# the fields of AuditEntry: read with class_row(AuditEntry)
ENTRY_COLUMNS = (
    "seq, recorded_at, actor, action, subject_type, subject_id, details,"
    " prev_hash, entry_hash"
)
SELECT_ENTRIES = f"SELECT {ENTRY_COLUMNS} FROM dispatch.audit_entry ORDER BY seq"
SELECT_ENTRY = f"SELECT {ENTRY_COLUMNS} FROM dispatch.audit_entry WHERE seq = %s"
SELECT_HEAD = "SELECT last_seq, last_hash, unkeyed_until FROM dispatch.audit_head"


@dataclass(frozen=True, slots=True)
class AuditVerification:
    """What ``verify`` found: entries checked, problems, where keying starts."""

    count: int
    problems: list[AuditProblem]
    unkeyed_until: int
    """Entries ``1..unkeyed_until`` predate the audit key (plain SHA-256)."""


def _iter_entries(conn: psycopg.Connection[Any]) -> Iterator[AuditEntry]:
    # server-side: constant memory
    with conn.cursor(name="audit_scan", row_factory=class_row(AuditEntry)) as cur:
        cur.execute(SELECT_ENTRIES)
        yield from cur


def _head(conn: psycopg.Connection[Any]) -> AuditHeadRow:
    with conn.cursor(row_factory=class_row(AuditHeadRow)) as cur:
        row = cur.execute(SELECT_HEAD).fetchone()
    if row is None:
        raise RuntimeError("dispatch.audit_head is missing its row")
    return row


def verify_database(
    url: str, *, key: bytes, checkpoint: AuditCheckpoint | None = None
) -> AuditVerification:
    """Verify the audit chain of the database at ``url`` under ``key`` (and, given
    a checkpoint, that the chain still holds its entry unchanged).

    Reads in one repeatable-read snapshot so concurrent appends cannot confuse it.
    """
    with psycopg.connect(url) as conn:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            head = _head(conn)
            count = 0

            def counted() -> Iterator[AuditEntry]:
                nonlocal count
                for entry in _iter_entries(conn):
                    count += 1
                    yield entry

            problems = verify_chain(
                counted(),
                key=key,
                unkeyed_until=int(head.unkeyed_until),
                head=(int(head.last_seq), str(head.last_hash)),
            )
            if checkpoint is not None:
                with conn.cursor(row_factory=class_row(AuditEntry)) as cur:
                    entry = cur.execute(SELECT_ENTRY, (checkpoint.seq,)).fetchone()
                problems += check_against(
                    checkpoint, entry, unkeyed_until=int(head.unkeyed_until)
                )
    return AuditVerification(count, problems, int(head.unkeyed_until))


def take_checkpoint(url: str, *, now: datetime) -> AuditCheckpoint:
    """The current head of the chain at ``url`` (sign it before storing it)."""
    with psycopg.connect(url) as conn:
        head = _head(conn)
    return AuditCheckpoint(
        seq=int(head.last_seq),
        entry_hash=str(head.last_hash),
        taken_at=now,
        unkeyed_until=int(head.unkeyed_until),
    )


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
