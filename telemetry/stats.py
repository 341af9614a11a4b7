"""Operational counters read from the database (``rxdispatch telemetry stats``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from telemetry import seq_gap_store
from telemetry.store import TelemetryStore

__all__ = ["BoxSeen", "TelemetryStats", "read_stats"]


@dataclass(frozen=True, slots=True)
class BoxSeen:
    """When a box was last heard from and its newest reading."""

    box_id: str
    last_received_at: datetime
    last_recorded_at: datetime
    temp_c: float


@dataclass(frozen=True, slots=True)
class TelemetryStats:
    """Stored readings, dead letters by reason, open excursions, sequence gaps
    (open, closed by outcome, readings confirmed lost), per-box last seen."""

    readings: int
    dead_letters_by_reason: dict[str, int]
    open_excursions_by_kind: dict[str, int]
    boxes: list[BoxSeen]
    seq_gaps_open: int = 0
    seq_gaps_closed_by_outcome: dict[str, int] = field(default_factory=dict)
    seq_readings_lost: int = 0

    def as_json(self) -> dict[str, Any]:
        """JSON-ready dict (datetimes as RFC 3339)."""
        data = asdict(self)
        for box in data["boxes"]:
            for key in ("last_received_at", "last_recorded_at"):
                box[key] = box[key].isoformat()
        return data


def read_stats(store: TelemetryStore) -> TelemetryStats:
    """Read the counters in one transaction."""
    with store.transaction() as conn, conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT count(*) AS n FROM telemetry.reading").fetchone()
        dead = cur.execute(
            "SELECT reason, count(*) AS n FROM telemetry.dead_letter GROUP BY reason"
            " ORDER BY reason"
        ).fetchall()
        open_ = cur.execute(
            "SELECT kind, count(*) AS n FROM telemetry.excursion"
            " WHERE status <> 'resolved' AND retracted_at IS NULL"
            " GROUP BY kind ORDER BY kind"
        ).fetchall()
        gaps = seq_gap_store.counts(conn)
    boxes = [
        BoxSeen(r.box_id, r.last_received_at, r.recorded_at, r.temp_c)
        for r in store.latest_per_box()
    ]
    return TelemetryStats(
        int(row["n"]) if row else 0,
        {str(r["reason"]): int(r["n"]) for r in dead},
        {str(r["kind"]): int(r["n"]) for r in open_},
        boxes,
        gaps.open,
        gaps.closed_by_outcome,
        gaps.lost_readings,
    )
