"""Unit of work over a psycopg 3 pool: one transaction per command.

The caller owns the unit of work::

    with database.transaction() as tx:
        order = intake.submit_order(tx, request, actor="api:alice")

Inside, services read and write through ``tx``'s repositories, record audit
entries with :meth:`Tx.audit` and emit events with :meth:`Tx.emit`. On success the
audit entries are chained under a row lock on the chain head (held only for the
final insert, so commands run concurrently until then), the transaction commits,
and only then are the events published. An error rolls everything back, except
errors marked ``keeps_changes`` (a counted OTP attempt), which commit first.

Commit-and-publish is one step for readers that need it: every transaction holds
the shared side of :class:`CommitGate` from just before its COMMIT until its
events are published, and :meth:`Database.consistent_read` takes the exclusive
side only while it fixes its snapshot and reads a mark (e.g. the live feed's
sequence number). So every commit the snapshot sees has published its events
before the mark was read, and none it misses has: a snapshot and a feed position
that agree exactly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg import sql
from psycopg.abc import Params
from psycopg.rows import RowFactory, class_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from dispatch.audit.chain import AuditEntry, chain_hash
from dispatch.context import DispatchContext
from dispatch.errors import DispatchError
from dispatch.events import DispatchEvent
from dispatch.ports import Clock, EventPublisher, SystemClock

log = logging.getLogger(__name__)

__all__ = ["CommitGate", "Database", "Tx"]

T = TypeVar("T")

R = TypeVar("R")
Query = LiteralString | bytes | sql.SQL | sql.Composed

LOCK_AUDIT_HEAD = "SELECT last_seq, last_hash FROM dispatch.audit_head FOR UPDATE"
INSERT_AUDIT = """
INSERT INTO dispatch.audit_entry
    (seq, recorded_at, actor, action, subject_type, subject_id, details,
     prev_hash, entry_hash)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
UPDATE_AUDIT_HEAD = "UPDATE dispatch.audit_head SET last_seq = %s, last_hash = %s"


@dataclass(frozen=True, slots=True)
class AuditHeadRow:
    """A row of ``dispatch.audit_head``: where the chain ends."""

    last_seq: int
    last_hash: str
    unkeyed_until: int = 0
    """Entries up to here predate the audit key (plain SHA-256)."""


@dataclass(frozen=True, slots=True)
class _PendingAudit:
    recorded_at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    details: Mapping[str, Any]


class Tx:
    """One open transaction: the connection, "now", pending audit entries and events."""

    def __init__(
        self, conn: psycopg.Connection[Any], ctx: DispatchContext, now: datetime
    ):
        self.conn = conn
        self.ctx = ctx
        self.now = now
        self._audit: list[_PendingAudit] = []
        self.events: list[DispatchEvent] = []

    def audit(
        self,
        *,
        actor: str,
        action: str,
        subject_type: str,
        subject_id: str,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        """Record an audit entry, chained when the transaction commits."""
        self._audit.append(
            _PendingAudit(
                self.now, actor, action, subject_type, subject_id, details or {}
            )
        )

    def emit(self, event: DispatchEvent) -> None:
        """Publish ``event`` once the transaction has committed."""
        self.events.append(event)

    def fetch_one(
        self, rows: RowFactory[R], query: Query, params: Params | None = None
    ) -> R | None:
        """The first row of ``query``, made by the row factory ``rows``, or None.

        Rows are read by column name (``class_row``, ``kwargs_row``, ``dict_row``),
        so a column added or moved in the SQL cannot shift values silently.
        """
        with self.conn.cursor(row_factory=rows) as cur:
            return cur.execute(query, params).fetchone()

    def fetch_all(
        self, rows: RowFactory[R], query: Query, params: Params | None = None
    ) -> list[R]:
        """Every row of ``query``, made by the row factory ``rows``."""
        with self.conn.cursor(row_factory=rows) as cur:
            return cur.execute(query, params).fetchall()

    def savepoint(self) -> AbstractContextManager[Any]:
        """A nested transaction: rolled back alone if its block raises."""
        return self.conn.transaction()

    def flush_audit(self) -> None:
        """Chain and insert the pending audit entries (takes the chain-head lock);
        each is hashed with HMAC under the context's audit key."""
        if not self._audit:
            return
        key = self.ctx.audit_key
        if not key:
            raise RuntimeError("no audit key: DispatchContext.audit_key is unset")
        head = self.fetch_one(class_row(AuditHeadRow), LOCK_AUDIT_HEAD)
        if head is None:
            raise RuntimeError("dispatch.audit_head is missing its row")
        seq, prev = int(head.last_seq), str(head.last_hash)
        with self.conn.cursor() as cur:
            rows = []
            for pending in self._audit:
                seq += 1
                entry = AuditEntry(
                    seq=seq,
                    recorded_at=pending.recorded_at,
                    actor=pending.actor,
                    action=pending.action,
                    subject_type=pending.subject_type,
                    subject_id=pending.subject_id,
                    details=pending.details,
                    prev_hash=prev,
                )
                prev = chain_hash(key, prev, entry)
                rows.append(
                    (
                        seq,
                        entry.recorded_at,
                        entry.actor,
                        entry.action,
                        entry.subject_type,
                        entry.subject_id,
                        Jsonb(dict(entry.details)),
                        entry.prev_hash,
                        prev,
                    )
                )
            cur.executemany(INSERT_AUDIT, rows)
            cur.execute(UPDATE_AUDIT_HEAD, (seq, prev))
        self._audit.clear()


class CommitGate:
    """A readers-writer lock: many commits at once, or one snapshot alone.

    Commits take the shared side for microseconds (COMMIT, then handing events to
    the publisher, which never blocks); a waiting snapshot is served before new
    commits, so it cannot starve. A thread already inside the shared side (a
    publisher that commits) re-enters it without waiting.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._committing = 0
        self._exclusive = False
        self._waiting = 0
        self._depth = threading.local()

    @contextmanager
    def committing(self) -> Iterator[None]:
        """The shared side: one transaction's COMMIT and publish."""
        depth: int = getattr(self._depth, "n", 0)
        if not depth:
            with self._cond:
                while self._exclusive or self._waiting:
                    self._cond.wait()
                self._committing += 1
        self._depth.n = depth + 1
        try:
            yield
        finally:
            self._depth.n = depth
            if not depth:
                with self._cond:
                    self._committing -= 1
                    if not self._committing:
                        self._cond.notify_all()

    @contextmanager
    def quiet(self) -> Iterator[None]:
        """The exclusive side: no commit is between COMMIT and publish."""
        with self._cond:
            self._waiting += 1
            while self._exclusive or self._committing:
                self._cond.wait()
            self._waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class Database:
    """A pool plus what every command needs; hands out :class:`Tx` units of work."""

    def __init__(
        self,
        pool: ConnectionPool[Any],
        ctx: DispatchContext,
        *,
        publisher: EventPublisher | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.pool = pool
        self.ctx = ctx
        self.publisher = publisher
        self.clock: Clock = clock or SystemClock()
        self.gate = CommitGate()
        self.journal: Callable[[Tx], None] | None = None
        """Writes a transaction's events inside it, just before COMMIT (several
        API instances: the shared dispatch feed, so a change and its feed frame
        commit together); publishing after the commit goes on as before."""

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A committed-on-success unit of work (see module docstring)."""
        kept: DispatchError | None = None
        with ExitStack() as committing:
            with self.pool.connection() as conn:
                tx = Tx(conn, self.ctx, self.clock.now())
                with conn.transaction():
                    try:
                        yield tx
                    except DispatchError as exc:
                        if not exc.keeps_changes:
                            raise
                        kept = exc
                    tx.flush_audit()
                    if self.journal is not None and tx.events:
                        self.journal(tx)
                    committing.enter_context(self.gate.committing())
            self._publish(tx.events)
        if kept is not None:
            raise kept

    @contextmanager
    def consistent_read(self, mark: Callable[[], T]) -> Iterator[tuple[Tx, T]]:
        """A read-only transaction on one snapshot, and ``mark()`` read at the
        same instant: the snapshot holds exactly the commits whose events were
        published before ``mark()`` ran (see module docstring). Nothing is
        published or audited from it."""
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            with self.gate.quiet():
                conn.execute("SELECT pg_current_snapshot()")  # fixes the snapshot
                value = mark()
            yield Tx(conn, self.ctx, self.clock.now()), value

    def _publish(self, events: list[DispatchEvent]) -> None:
        if self.publisher is None:
            return
        for event in events:
            try:
                self.publisher.publish(event)
            except Exception:  # a broken subscriber must not undo a committed command
                log.exception("event publisher failed for %s", event.type)
