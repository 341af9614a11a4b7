"""Persistence of excursion episodes (``telemetry.excursion``) and their lifecycle.

Episodes are matched to stored rows by kind and overlapping span, so a
recomputation that moves an episode's start (late readings) updates the same row
and never raises a second alert; an episode a recomputation no longer finds is
retracted. Lifecycle: open -> acknowledged -> resolved (resolved automatically
when the condition clears).

Every stamp (``detected_at``, ``resolved_at``, ...) is the caller's ``now`` from
the business clock, never the database's: detection delay is measured in the
same (possibly warped) time as the readings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString, TypeVar

import psycopg
from psycopg.abc import Params
from psycopg.rows import RowFactory, dict_row, kwargs_row

from telemetry.errors import ExcursionNotFound, ExcursionTransitionInvalid
from telemetry.excursions import Episode, ExcursionKind, Rule
from telemetry.model import BoxId

__all__ = [
    "ExcursionDetail",
    "StoredExcursion",
    "acknowledge",
    "boxes_with_episodes",
    "get_detail",
    "list_for_box",
    "open_silences",
    "reconcile",
    "resolve",
    "resolve_silences",
    "start_silences",
]

Conn = psycopg.Connection[tuple[object, ...]]
R = TypeVar("R")

# read with kwargs_row(_stored)
_SELECT = """
SELECT id, box_id, kind, rule, status, started_at, alarmed_at, ended_at, peak_c,
       detected_at, profile_code
FROM telemetry.excursion
"""


@dataclass(frozen=True, slots=True)
class StoredExcursion:
    """A row of ``telemetry.excursion``."""

    id: int
    box_id: BoxId
    kind: ExcursionKind
    rule: Rule
    status: str
    started_at: datetime
    alarmed_at: datetime
    ended_at: datetime | None
    peak_c: float | None
    detected_at: datetime
    profile_code: str | None

    def as_episode(self) -> Episode:
        """The detector's view of this row."""
        return Episode(
            self.kind,
            self.rule,
            self.started_at,
            self.alarmed_at,
            self.ended_at,
            self.peak_c,
        )


def _stored(
    *,
    id: int,
    box_id: str,
    kind: str,
    rule: str,
    status: str,
    started_at: datetime,
    alarmed_at: datetime,
    ended_at: datetime | None,
    peak_c: float | None,
    detected_at: datetime,
    profile_code: str | None,
) -> StoredExcursion:
    """A :class:`StoredExcursion` from a row of ``_SELECT`` (``kwargs_row``)."""
    return StoredExcursion(
        id=id,
        box_id=BoxId(box_id),
        kind=ExcursionKind(kind),
        rule=Rule(rule),
        status=status,
        started_at=started_at,
        alarmed_at=alarmed_at,
        ended_at=ended_at,
        peak_c=peak_c,
        detected_at=detected_at,
        profile_code=profile_code,
    )


def _fetch_all(
    conn: Conn, rows: RowFactory[R], query: LiteralString, params: Params | None = None
) -> list[R]:
    """Every row of ``query``, made (read by column name) by ``rows``."""
    with conn.cursor(row_factory=rows) as cur:
        return cur.execute(query, params).fetchall()


def _fetch_one(
    conn: Conn, rows: RowFactory[R], query: LiteralString, params: Params | None = None
) -> R | None:
    """The first row of ``query``, made (read by column name) by ``rows``."""
    with conn.cursor(row_factory=rows) as cur:
        return cur.execute(query, params).fetchone()


_SELECT_DETAIL = """
SELECT id, box_id, kind, rule, status, started_at, alarmed_at, ended_at, peak_c,
       detected_at, profile_code, acknowledged_at, acknowledged_by, resolved_at,
       retracted_at
FROM telemetry.excursion
"""


@dataclass(frozen=True, slots=True)
class ExcursionDetail:
    """A stored excursion with its lifecycle stamps (who acknowledged, when it
    was resolved, and whether a recomputation retracted it)."""

    excursion: StoredExcursion
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    retracted_at: datetime | None


def _detail(
    *,
    acknowledged_at: datetime | None,
    acknowledged_by: str | None,
    resolved_at: datetime | None,
    retracted_at: datetime | None,
    **stored: Any,
) -> ExcursionDetail:
    """An :class:`ExcursionDetail` from a row of ``_SELECT_DETAIL`` (``kwargs_row``)."""
    return ExcursionDetail(
        _stored(**stored), acknowledged_at, acknowledged_by, resolved_at, retracted_at
    )


def get_detail(conn: Conn, excursion_id: int) -> ExcursionDetail:
    """The excursion with that id, retracted or not, or :class:`ExcursionNotFound`."""
    found = _fetch_one(
        conn, kwargs_row(_detail), _SELECT_DETAIL + " WHERE id = %s", (excursion_id,)
    )
    if found is None:
        raise ExcursionNotFound(excursion_id)
    return found


def list_for_box(
    conn: Conn, box_id: str, *, limit: int = 50, include_retracted: bool = False
) -> list[ExcursionDetail]:
    """A box's excursions, newest start first (retracted ones only on request)."""
    where = " WHERE box_id = %s" + (
        "" if include_retracted else " AND retracted_at IS NULL"
    )
    query: LiteralString = (
        _SELECT_DETAIL + where + " ORDER BY started_at DESC, id DESC LIMIT %s"
    )
    return _fetch_all(conn, kwargs_row(_detail), query, (box_id, limit))


def _lock_boxes(conn: Conn, boxes: Sequence[str]) -> None:
    for box in sorted(set(boxes)):  # sorted: two workers lock in the same order
        conn.execute(
            "SELECT pg_advisory_xact_lock("
            "hashtext('telemetry.excursion'), hashtext(%s))",
            (box,),
        )


#: kinds raised by wall-clock checks, not recomputed from readings (never retracted)
_NOT_FROM_READINGS = frozenset({ExcursionKind.BOX_SILENT, ExcursionKind.SEQ_GAP})


def reconcile(
    conn: Conn,
    box_id: BoxId,
    episodes: Sequence[Episode],
    *,
    profile_code: str,
    retract_from: datetime | None,
    now: datetime,
) -> list[int]:
    """Bring stored episodes of ``box_id`` in line with ``episodes``.

    Episodes match stored rows of the same kind whose span overlaps; unmatched
    episodes are inserted (their ids are returned: these need notifying). With
    ``retract_from`` (a full recomputation from that instant), stored rows
    starting at or after it that match nothing are retracted.
    """
    _lock_boxes(conn, [box_id])
    lower = min(
        [e.started_at for e in episodes] + ([retract_from] if retract_from else [])
    )
    stored = _fetch_all(
        conn,
        kwargs_row(_stored),
        _SELECT + " WHERE box_id = %s AND retracted_at IS NULL"
        " AND (ended_at IS NULL OR ended_at >= %s) ORDER BY started_at",
        (box_id, lower),
    )
    matched: set[int] = set()
    created: list[int] = []
    for episode in sorted(episodes, key=lambda e: e.started_at):
        hit = next(
            (
                s
                for s in stored
                if s.id not in matched
                and s.kind is episode.kind
                and s.as_episode().overlaps(episode.started_at, episode.ended_at)
            ),
            None,
        )
        if hit is None:
            created.append(_insert(conn, box_id, episode, profile_code, now))
            continue
        matched.add(hit.id)
        if hit.as_episode() != episode:
            _update(conn, hit.id, episode, now)
    if retract_from is not None:
        stale = [
            s.id
            for s in stored
            if s.id not in matched
            and s.started_at >= retract_from
            and s.kind not in _NOT_FROM_READINGS
        ]
        if stale:
            conn.execute(
                "UPDATE telemetry.excursion SET retracted_at = %s WHERE id = ANY(%s)",
                (now, stale),
            )
    return created


def _insert(
    conn: Conn, box_id: BoxId, e: Episode, profile_code: str, now: datetime
) -> int:
    row = _fetch_one(
        conn,
        dict_row,
        """
        INSERT INTO telemetry.excursion (box_id, kind, rule, profile_code, status,
            started_at, alarmed_at, ended_at, peak_c, detected_at, resolved_at)
        VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
        RETURNING id
        """,
        (
            box_id,
            e.kind.value,
            e.rule.value,
            profile_code,
            "open" if e.ended_at is None else "resolved",
            e.started_at,
            e.alarmed_at,
            e.ended_at,
            e.peak_c,
            now,
            None if e.ended_at is None else now,
        ),
    )
    assert row is not None  # noqa: S101
    new_id: int = row["id"]
    return new_id


def _update(conn: Conn, excursion_id: int, e: Episode, now: datetime) -> None:
    conn.execute(
        """
        UPDATE telemetry.excursion SET rule = %s, started_at = %s, alarmed_at = %s,
            ended_at = %s, peak_c = %s,
            status = CASE WHEN %s::timestamptz IS NULL THEN status ELSE 'resolved' END,
            resolved_at = CASE WHEN %s::timestamptz IS NULL THEN resolved_at
                               ELSE coalesce(resolved_at, %s) END
        WHERE id = %s
        """,
        (
            e.rule.value,
            e.started_at,
            e.alarmed_at,
            e.ended_at,
            e.peak_c,
            e.ended_at,
            e.ended_at,
            now,
            excursion_id,
        ),
    )


def boxes_with_episodes(conn: Conn, boxes: Sequence[str], since: datetime) -> set[str]:
    """Which of ``boxes`` have stored (non-retracted) episodes reaching ``since``."""
    rows = _fetch_all(
        conn,
        dict_row,
        "SELECT DISTINCT box_id FROM telemetry.excursion WHERE box_id = ANY(%s)"
        " AND retracted_at IS NULL AND kind NOT IN ('box_silent', 'seq_gap')"
        " AND (ended_at IS NULL OR ended_at >= %s)",
        (list(boxes), since),
    )
    return {str(r["box_id"]) for r in rows}


def start_silences(conn: Conn, *, now: datetime) -> list[int]:
    """Open a ``box_silent`` episode for every box quiet for N report intervals
    as of ``now`` (business time, like ``last_received_at``)."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('telemetry.silence'))")
    rows = _fetch_all(
        conn,
        dict_row,
        """
        INSERT INTO telemetry.excursion
            (box_id, kind, rule, profile_code, started_at, alarmed_at, detected_at)
        SELECT l.box_id, 'box_silent', 'threshold', r.profile_code,
               l.last_received_at, %(now)s, %(now)s
        FROM telemetry.box_latest l JOIN telemetry.box_rules r USING (box_id)
        WHERE l.last_received_at < %(now)s::timestamptz
              - make_interval(secs => r.report_interval_s * r.silent_after_intervals)
          AND NOT EXISTS (
              SELECT 1 FROM telemetry.excursion e
              WHERE e.box_id = l.box_id AND e.kind = 'box_silent'
                AND e.status <> 'resolved' AND e.retracted_at IS NULL)
        RETURNING id
        """,
        {"now": now},
    )
    return [int(r["id"]) for r in rows]


def open_silences(conn: Conn) -> set[BoxId]:
    """Boxes with an unresolved ``box_silent`` episode."""
    rows = _fetch_all(
        conn,
        dict_row,
        "SELECT box_id FROM telemetry.excursion WHERE kind = 'box_silent'"
        " AND status <> 'resolved' AND retracted_at IS NULL",
    )
    return {BoxId(str(r["box_id"])) for r in rows}


def resolve_silences(conn: Conn, boxes: Sequence[str], *, now: datetime) -> int:
    """Close, as of ``now``, the silence of boxes that reported again."""
    cur = conn.execute(
        """
        UPDATE telemetry.excursion SET status = 'resolved',
            ended_at = %s, resolved_at = %s
        WHERE kind = 'box_silent' AND box_id = ANY(%s) AND status <> 'resolved'
          AND retracted_at IS NULL
        """,
        (now, now, list(boxes)),
    )
    return cur.rowcount


def get(conn: Conn, excursion_id: int) -> StoredExcursion:
    """The excursion with that id, or :class:`ExcursionNotFound`."""
    stored = _fetch_one(
        conn, kwargs_row(_stored), _SELECT + " WHERE id = %s", (excursion_id,)
    )
    if stored is None:
        raise ExcursionNotFound(excursion_id)
    return stored


def acknowledge(
    conn: Conn, excursion_id: int, *, by: str, now: datetime
) -> StoredExcursion:
    """open -> acknowledged at ``now``, recording who acknowledged."""
    current = get(conn, excursion_id)
    if current.status != "open":
        raise ExcursionTransitionInvalid(excursion_id, current.status, "acknowledged")
    conn.execute(
        "UPDATE telemetry.excursion SET status = 'acknowledged',"
        " acknowledged_at = %s, acknowledged_by = %s WHERE id = %s",
        (now, by, excursion_id),
    )
    return get(conn, excursion_id)


def resolve(conn: Conn, excursion_id: int, *, now: datetime) -> StoredExcursion:
    """open|acknowledged -> resolved at ``now`` (a person closes it)."""
    current = get(conn, excursion_id)
    if current.status == "resolved":
        raise ExcursionTransitionInvalid(excursion_id, current.status, "resolved")
    conn.execute(
        "UPDATE telemetry.excursion SET status = 'resolved',"
        " resolved_at = %s WHERE id = %s",
        (now, excursion_id),
    )
    return get(conn, excursion_id)


def unresolved(conn: Conn) -> list[StoredExcursion]:
    """Every open or acknowledged, non-retracted excursion."""
    return _fetch_all(
        conn,
        kwargs_row(_stored),
        _SELECT + " WHERE status <> 'resolved' AND retracted_at IS NULL ORDER BY id",
    )
