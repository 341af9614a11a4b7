"""The ingest worker's sequence audit: gaps found in the write path, resend
requests and the ``seq_gap`` alert in its housekeeping.

In the write transaction (:meth:`SeqAuditor.process`) each box's new readings
move its cursor (cached here, loaded from ``telemetry.seq_cursor`` for boxes
this worker has not seen yet): skipped seqs open a gap, late readings recount
the box's open gaps (closed when nothing is missing). Every ``check_s``
(:meth:`SeqAuditor.check`) gaps older than ``grace_s`` get a resend request on
the downlink, again every ``retry_s``, at most ``max_requests`` times; a box
with a gap open longer than ``alert_after_s`` gets one ``seq_gap`` alert,
resolved when its gaps are closed. A logger's "not held" answer closes the
range as a confirmed loss (:meth:`SeqAuditor.not_held`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from telemetry import seq_gap_store
from telemetry.downlink import Downlink
from telemetry.excursions import SampleLike
from telemetry.model import BoxId
from telemetry.seq_audit import Cursor, Gap, advance
from telemetry.store import TelemetryStore

__all__ = ["SeqAuditMetrics", "SeqAuditParams", "SeqAuditor"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SeqAuditParams:
    """Timing of the audit (seconds of the business clock)."""

    grace_s: float = 30.0
    retry_s: float = 120.0
    max_requests: int = 5
    alert_after_s: float = 600.0
    check_s: float = 5.0

    def __post_init__(self) -> None:
        if min(self.grace_s, self.retry_s, self.alert_after_s) < 0:
            raise ValueError("sequence audit delays must not be negative")
        if self.max_requests < 0 or self.check_s <= 0:
            raise ValueError("max_requests >= 0 and check_s > 0")


@dataclass
class SeqAuditMetrics:
    """Counters of this worker's audit (the database holds the totals)."""

    gaps_opened: int = 0
    gaps_closed: int = 0
    resend_requests: int = 0
    resend_failures: int = 0
    not_held_answers: int = 0
    readings_lost: int = 0
    restarts: int = 0


class SeqAuditor:
    """Per-box sequence audit of one ingest worker."""

    def __init__(
        self,
        store: TelemetryStore,
        params: SeqAuditParams | None = None,
        downlink: Downlink | None = None,
    ) -> None:
        self.params = params or SeqAuditParams()
        self.metrics = SeqAuditMetrics()
        self._store = store
        self._downlink = downlink
        self._cursors: dict[BoxId, Cursor] = {}

    def forget(self) -> None:
        """Drop the cached cursors (after a failed write: the database is the truth)."""
        self._cursors.clear()

    def process(self, inserted: Sequence[tuple[BoxId, SampleLike]]) -> None:
        """Inside the write transaction (a savepoint of its own): move cursors,
        open and recount gaps."""
        with self._store.transaction() as conn:
            self._process(conn, inserted, now=self._store.clock.now())

    def _process(
        self,
        conn: seq_gap_store.Conn,
        inserted: Sequence[tuple[BoxId, SampleLike]],
        *,
        now: datetime,
    ) -> None:
        by_box: dict[BoxId, list[tuple[int, datetime]]] = defaultdict(list)
        for box, sample in inserted:
            by_box[box].append((sample.seq, sample.recorded_at))
        unknown = [b for b in by_box if b not in self._cursors]
        cursors = dict(self._cursors)
        if unknown:
            cursors.update(seq_gap_store.load_cursors(conn, unknown))
        moved: dict[BoxId, Cursor] = {}
        gaps: list[tuple[BoxId, Gap]] = []
        late: list[BoxId] = []
        restarts = 0
        for box, samples in by_box.items():
            result = advance(cursors.get(box), samples)
            if result.cursor is not None and result.cursor != cursors.get(box):
                moved[box] = result.cursor
            gaps += [(box, g) for g in result.gaps]
            if result.late:
                late.append(box)
            restarts += result.restarts
        seq_gap_store.save_cursors(conn, moved)
        opened = seq_gap_store.open_gaps(conn, gaps, now=now)
        closed = seq_gap_store.recount_open(conn, late, now=now)
        # only now that the writes went through (a failed commit calls forget())
        for box in by_box:
            if box in moved:
                self._cursors[box] = moved[box]
            elif box in cursors:
                self._cursors[box] = cursors[box]
        if len(self._cursors) > 200_000:  # bound the cache; reloaded on demand
            self._cursors.clear()
        m = self.metrics
        m.gaps_opened += opened
        m.gaps_closed += closed
        m.restarts += restarts
        if opened:
            log.info("sequence gaps opened: %d", opened)

    def not_held(
        self,
        answers: Sequence[tuple[BoxId, int, int]],
        *,
        now: datetime,
    ) -> int:
        """Record loggers' "not held" answers as confirmed losses; readings lost."""
        if not answers:
            return 0
        lost = 0
        with self._store.transaction() as conn:
            for box, from_seq, to_seq in answers:
                lost += seq_gap_store.close_not_held(
                    conn, box, from_seq, to_seq, now=now
                )
        self.metrics.not_held_answers += len(answers)
        self.metrics.readings_lost += lost
        if lost:
            log.warning("sequence audit: %d readings confirmed lost", lost)
        return lost

    def check(self) -> list[int]:
        """Send due resend requests and raise/resolve ``seq_gap`` alerts; ids of
        new alert episodes."""
        p = self.params
        now = self._store.clock.now()
        with self._store.transaction() as conn:
            due = (
                seq_gap_store.due_resends(
                    conn,
                    now=now,
                    grace_s=p.grace_s,
                    retry_s=p.retry_s,
                    max_requests=p.max_requests,
                )
                if self._downlink is not None
                else []
            )
            created = seq_gap_store.start_gap_alerts(
                conn, now=now, open_after_s=p.alert_after_s
            )
            seq_gap_store.resolve_gap_alerts(conn, now=now)
        for request in due:
            assert self._downlink is not None  # noqa: S101 - due is empty otherwise
            try:
                sent = self._downlink.request_resend(
                    request.box_id, request.from_seq, request.to_seq
                )
            except Exception:
                log.exception("resend request failed")
                sent = False
            if sent:
                self.metrics.resend_requests += 1
            else:
                self.metrics.resend_failures += 1
        return created
