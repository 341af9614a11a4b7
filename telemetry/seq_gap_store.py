"""PostgreSQL side of the sequence audit: cursors, gaps, resend bookkeeping and
the ``seq_gap`` alert (see ``telemetry.seq_audit`` for the pure part)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from telemetry.model import BoxId
from telemetry.seq_audit import Cursor, Gap, split_range

__all__ = [
    "GapCounts",
    "ResendDue",
    "close_not_held",
    "counts",
    "due_resends",
    "load_cursors",
    "open_gaps",
    "recount_open",
    "resolve_gap_alerts",
    "save_cursors",
    "start_gap_alerts",
]

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class ResendDue:
    """An open gap whose resend request is due now."""

    gap_id: int
    box_id: BoxId
    from_seq: int
    to_seq: int


@dataclass(frozen=True, slots=True)
class GapCounts:
    """Open gaps, closed gaps by outcome, and readings confirmed lost."""

    open: int
    closed_by_outcome: dict[str, int]
    lost_readings: int


def load_cursors(conn: Conn, boxes: Sequence[str]) -> dict[BoxId, Cursor]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT box_id, high_seq, high_at FROM telemetry.seq_cursor"
            " WHERE box_id = ANY(%s)",
            (list(boxes),),
        ).fetchall()
    return {
        BoxId(str(r["box_id"])): Cursor(int(r["high_seq"]), r["high_at"]) for r in rows
    }


def save_cursors(conn: Conn, cursors: dict[BoxId, Cursor]) -> None:
    if not cursors:
        return
    boxes = list(cursors)
    conn.execute(
        """
        INSERT INTO telemetry.seq_cursor (box_id, high_seq, high_at)
        SELECT * FROM unnest(%s::text[], %s::int8[], %s::timestamptz[])
        ON CONFLICT (box_id) DO UPDATE
            SET high_seq = excluded.high_seq, high_at = excluded.high_at
        """,
        (
            boxes,
            [cursors[b].high_seq for b in boxes],
            [cursors[b].high_at for b in boxes],
        ),
    )


def open_gaps(conn: Conn, gaps: Sequence[tuple[BoxId, Gap]], *, now: datetime) -> int:
    """Insert newly detected gaps (all of their seqs missing)."""
    if not gaps:
        return 0
    with conn.cursor() as cur:
        cur.executemany(
            """
            INSERT INTO telemetry.seq_gap
                (box_id, from_seq, to_seq, after_at, before_at, opened_at, missing)
            VALUES (%s, %s, %s, %s, %s, %s, %s)
            """,
            [
                (box, g.from_seq, g.to_seq, g.after_at, g.before_at, now, g.size)
                for box, g in gaps
            ],
        )
    return len(gaps)


_RECOUNT = """
WITH counted AS (
    SELECT g.id, g.to_seq - g.from_seq + 1 - (
        SELECT count(DISTINCT r.seq) FROM telemetry.reading r
        WHERE r.box_id = g.box_id AND r.seq BETWEEN g.from_seq AND g.to_seq
          AND r.recorded_at > g.after_at AND r.recorded_at < g.before_at
    ) AS missing
    FROM telemetry.seq_gap g
    WHERE g.box_id = ANY(%(boxes)s) AND g.closed_at IS NULL
)
UPDATE telemetry.seq_gap g SET missing = c.missing,
    closed_at = CASE WHEN c.missing = 0 THEN %(now)s END,
    outcome = CASE WHEN c.missing > 0 THEN NULL
                   WHEN g.requests > 0 THEN 'resent' ELSE 'filled' END
FROM counted c WHERE g.id = c.id
RETURNING g.id, g.closed_at
"""


def recount_open(conn: Conn, boxes: Sequence[str], *, now: datetime) -> int:
    """Recount the missing seqs of the open gaps of ``boxes`` (late readings
    arrived); how many gaps closed."""
    if not boxes:
        return 0
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_RECOUNT, {"boxes": list(boxes), "now": now}).fetchall()
    return sum(1 for r in rows if r["closed_at"] is not None)


def close_not_held(
    conn: Conn, box: BoxId, from_seq: int, to_seq: int, *, now: datetime
) -> int:
    """The logger answered it no longer holds ``from_seq..to_seq``: the part of
    each open gap in that range becomes a closed ``lost`` gap (its missing seqs
    are the confirmed loss), the rest stays open. Readings lost."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            SELECT id, from_seq, to_seq, after_at, before_at, opened_at,
                   requested_at, requests
            FROM telemetry.seq_gap
            WHERE box_id = %s AND closed_at IS NULL
              AND from_seq <= %s AND to_seq >= %s
            FOR UPDATE
            """,
            (box, to_seq, from_seq),
        ).fetchall()
        for row in rows:
            cut, rest = split_range(row["from_seq"], row["to_seq"], from_seq, to_seq)
            if cut is None:
                continue
            cur.execute("DELETE FROM telemetry.seq_gap WHERE id = %s", (row["id"],))
            for lo, hi in [cut, *rest]:
                cur.execute(
                    """
                    INSERT INTO telemetry.seq_gap
                        (box_id, from_seq, to_seq, after_at, before_at, opened_at,
                         requested_at, requests, missing)
                    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                    RETURNING id
                    """,
                    (
                        box, lo, hi, row["after_at"], row["before_at"],
                        row["opened_at"], row["requested_at"], row["requests"],
                        hi - lo + 1,
                    ),
                )  # fmt: skip
        recount_open(conn, [box], now=now)
        closed = cur.execute(
            """
            UPDATE telemetry.seq_gap SET closed_at = %s, outcome = 'lost'
            WHERE box_id = %s AND closed_at IS NULL
              AND from_seq >= %s AND to_seq <= %s
            RETURNING missing
            """,
            (now, box, from_seq, to_seq),
        ).fetchall()
    return sum(int(r["missing"]) for r in closed)


def due_resends(
    conn: Conn,
    *,
    now: datetime,
    grace_s: float,
    retry_s: float,
    max_requests: int,
    limit: int = 1000,
) -> list[ResendDue]:
    """Open gaps older than the grace whose (next) request is due; marks them
    requested as of ``now``."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            UPDATE telemetry.seq_gap SET requested_at = %(now)s,
                requests = requests + 1
            WHERE id IN (
                SELECT id FROM telemetry.seq_gap
                WHERE closed_at IS NULL AND requests < %(max)s
                  AND opened_at <= %(now)s::timestamptz
                      - make_interval(secs => %(grace)s)
                  AND (requested_at IS NULL OR requested_at <= %(now)s::timestamptz
                      - make_interval(secs => %(retry)s))
                ORDER BY opened_at LIMIT %(limit)s
                FOR UPDATE SKIP LOCKED)
            RETURNING id, box_id, from_seq, to_seq
            """,
            {
                "now": now,
                "max": max_requests,
                "grace": grace_s,
                "retry": retry_s,
                "limit": limit,
            },
        ).fetchall()
    return [
        ResendDue(
            int(r["id"]), BoxId(str(r["box_id"])), int(r["from_seq"]), int(r["to_seq"])
        )
        for r in rows
    ]


def start_gap_alerts(conn: Conn, *, now: datetime, open_after_s: float) -> list[int]:
    """One ``seq_gap`` episode per box with a gap open longer than
    ``open_after_s``; ids of the new episodes."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('telemetry.seq_gap'))")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            """
            INSERT INTO telemetry.excursion
                (box_id, kind, rule, profile_code, started_at, alarmed_at,
                 detected_at)
            SELECT g.box_id, 'seq_gap', 'threshold', max(r.profile_code),
                   min(g.opened_at), %(now)s, %(now)s
            FROM telemetry.seq_gap g
            LEFT JOIN telemetry.box_rules r USING (box_id)
            WHERE g.closed_at IS NULL
              AND g.opened_at <= %(now)s::timestamptz
                  - make_interval(secs => %(after)s)
              AND NOT EXISTS (
                  SELECT 1 FROM telemetry.excursion e
                  WHERE e.box_id = g.box_id AND e.kind = 'seq_gap'
                    AND e.status <> 'resolved' AND e.retracted_at IS NULL)
            GROUP BY g.box_id
            RETURNING id
            """,
            {"now": now, "after": open_after_s},
        ).fetchall()
    return [int(r["id"]) for r in rows]


def resolve_gap_alerts(conn: Conn, *, now: datetime) -> int:
    """Resolve the ``seq_gap`` episodes of boxes with no open gap left."""
    cur = conn.execute(
        """
        UPDATE telemetry.excursion e SET status = 'resolved',
            ended_at = %s, resolved_at = %s
        WHERE e.kind = 'seq_gap' AND e.status <> 'resolved'
          AND e.retracted_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM telemetry.seq_gap g
                          WHERE g.box_id = e.box_id AND g.closed_at IS NULL)
        """,
        (now, now),
    )
    return cur.rowcount


def counts(conn: Conn) -> GapCounts:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT coalesce(outcome, 'open') AS outcome, count(*) AS n,"
            " coalesce(sum(missing) FILTER (WHERE outcome = 'lost'), 0) AS lost"
            " FROM telemetry.seq_gap GROUP BY 1"
        ).fetchall()
    by = {str(r["outcome"]): int(r["n"]) for r in rows}
    lost = sum(int(r["lost"]) for r in rows)
    return GapCounts(by.pop("open", 0), by, lost)
