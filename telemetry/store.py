"""PostgreSQL adapter of the telemetry schema: idempotent bulk writes and queries.

One class, :class:`TelemetryStore`, hides whether ``telemetry.reading`` is a
native range-partitioned table (tested path) or a TimescaleDB hypertable: only the
bucketing function (``date_bin`` vs ``time_bucket``) and partition upkeep differ.
The writer owns one connection and is used from one thread; it raises
:class:`~telemetry.errors.StoreUnavailable` on connection failures so the caller
keeps its batch and retries.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, SupportsFloat, SupportsInt

import psycopg
from psycopg.rows import class_row, dict_row, kwargs_row, tuple_row

from dispatch.clock import SystemClock
from dispatch.ports import Clock
from telemetry.errors import StoreUnavailable
from telemetry.excursions import BoxRules, Sample, SampleLike, TemperatureProfile
from telemetry.model import BoxId, DeadLetter, Reading

__all__ = [
    "BoxBand",
    "Bucket",
    "LatestReading",
    "TelemetryStore",
    "WriteResult",
    "box_band",
    "has_timescale",
    "read_buckets",
    "read_readings",
    "read_samples",
]

log = logging.getLogger(__name__)

# the field order of telemetry.model.Reading: a reading is written as it is
_COLUMNS = (
    "box_id, seq, recorded_at, temp_c, battery_pct, door_open, lat, lon, received_at"
)
_TYPES = [
    "text", "int8", "timestamptz", "float8", "float8", "bool", "float8", "float8",
    "timestamptz",
]  # fmt: skip
_CREATE_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS reading_stage "
    "(LIKE telemetry.reading) ON COMMIT DELETE ROWS"
)
_COPY_STAGE = f"COPY pg_temp.reading_stage ({_COLUMNS}) FROM STDIN (FORMAT BINARY)"
_MERGE_STAGE = f"""
INSERT INTO telemetry.reading ({_COLUMNS})
SELECT {_COLUMNS} FROM pg_temp.reading_stage
ON CONFLICT DO NOTHING
"""
# only when the plain merge met duplicates (redelivery): which rows are new
# (read with class_row(_ReadingKey))
_MERGE_STAGE_RETURNING = _MERGE_STAGE + "RETURNING box_id, seq, recorded_at"
_KEEP_NEWER = ", ".join(
    f"{c} = CASE WHEN excluded.recorded_at >= b.recorded_at "
    f"THEN excluded.{c} ELSE b.{c} END"
    for c in ("seq", "temp_c", "battery_pct", "door_open", "lat", "lon", "recorded_at")
)
_UPSERT_LATEST = f"""
INSERT INTO telemetry.box_latest AS b
    (box_id, seq, recorded_at, temp_c, battery_pct, door_open, lat, lon,
     last_received_at)
SELECT DISTINCT ON (box_id) box_id, seq, recorded_at, temp_c, battery_pct,
       door_open, lat, lon, max(received_at) OVER (PARTITION BY box_id)
FROM pg_temp.reading_stage
ORDER BY box_id, recorded_at DESC, seq DESC
ON CONFLICT (box_id) DO UPDATE SET {_KEEP_NEWER},
    last_received_at = greatest(b.last_received_at, excluded.last_received_at)
"""
_INSERT_DEAD_LETTER = """
INSERT INTO telemetry.dead_letter
    (topic, payload, payload_bytes, reason, detail, received_at)
VALUES (%s, %s, %s, %s, %s, %s)
"""
_BOX_RULES = """
SELECT box_id, profile_code, low_c, high_c, hysteresis_c, single_event_delay_s,
       cumulative_budget_s, cumulative_window_s, low_battery_pct, door_open_max_s,
       report_interval_s, silent_after_intervals
FROM telemetry.box_rules
"""
# read with class_row(_HistoryRow)
_HISTORY = """
SELECT r.box_id, r.recorded_at, r.seq, r.temp_c, r.battery_pct, r.door_open
FROM unnest(%s::text[], %s::timestamptz[]) AS w(box_id, since)
JOIN telemetry.reading r ON r.box_id = w.box_id AND r.recorded_at >= w.since
ORDER BY r.box_id, r.recorded_at, r.seq
"""
_READINGS = """
SELECT box_id, seq, recorded_at, temp_c, battery_pct, door_open, lat, lon, received_at
FROM telemetry.reading
WHERE box_id = %s AND recorded_at >= %s AND recorded_at < %s
ORDER BY recorded_at, seq
"""
_SAMPLES = """
SELECT recorded_at, seq, temp_c, battery_pct, door_open
FROM telemetry.reading
WHERE box_id = %s AND recorded_at >= %s AND recorded_at <= %s
ORDER BY recorded_at, seq
"""
_BUCKET_FN = {
    True: "time_bucket(make_interval(secs => %s), recorded_at)",
    False: "date_bin(make_interval(secs => %s), recorded_at, "
    "TIMESTAMPTZ '2000-01-01 00:00:00+00')",
}
_BUCKETS = """
SELECT {bucket} AS bucket_at, count(*) AS readings, min(temp_c) AS min_c,
       max(temp_c) AS max_c, avg(temp_c) AS mean_c
FROM telemetry.reading
WHERE box_id = %s AND recorded_at >= %s AND recorded_at < %s
GROUP BY bucket_at ORDER BY bucket_at
"""
# The band of a profile code: dispatch's product profile wins over telemetry's own
# (as in the telemetry.box_rules view); without a code, the box's current rules.
_BAND = """
SELECT code, low_c, high_c FROM (
    SELECT 0 AS rank, c.code, coalesce(dp.min_c, tp.low_c) AS low_c,
           coalesce(dp.max_c, tp.high_c) AS high_c
    FROM (SELECT %(code)s::text AS code) c
    LEFT JOIN dispatch.temperature_profile dp ON dp.code = c.code
    LEFT JOIN telemetry.temperature_profile tp ON tp.code = c.code
    WHERE coalesce(dp.code, tp.code) IS NOT NULL
    UNION ALL
    SELECT 1, profile_code, low_c, high_c
    FROM telemetry.box_rules WHERE box_id = %(box)s
) band
ORDER BY rank LIMIT 1
"""


@dataclass(frozen=True, slots=True)
class BoxBand:
    """The allowed temperature range of a box's profile."""

    profile_code: str
    low_c: float
    high_c: float


def has_timescale(conn: psycopg.Connection[Any]) -> bool:
    """Whether TimescaleDB is installed in this database."""
    row = conn.execute(
        "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
    ).fetchone()
    return row is not None


def read_readings(
    conn: psycopg.Connection[Any],
    box_id: str,
    start: datetime,
    end: datetime,
    *,
    limit: int | None = None,
) -> list[Reading]:
    """Raw readings of a box, ``start <= recorded_at < end``, in device order
    (the first ``limit`` only, when given)."""
    query = _READINGS + (" LIMIT %s" if limit is not None else "")
    params: tuple[object, ...] = (box_id, start, end)
    with conn.cursor(row_factory=class_row(Reading)) as cur:
        args = (*params, limit) if limit is not None else params
        return cur.execute(query, args).fetchall()


def read_samples(
    conn: psycopg.Connection[Any], box_id: str, start: datetime, end: datetime
) -> list[Sample]:
    """Detector samples of a box over ``[start, end]`` (both included)."""
    with conn.cursor(row_factory=class_row(Sample)) as cur:
        return cur.execute(_SAMPLES, (box_id, start, end)).fetchall()


def read_buckets(
    conn: psycopg.Connection[Any],
    box_id: str,
    start: datetime,
    end: datetime,
    bucket_s: int,
    *,
    timescale: bool = False,
) -> list[Bucket]:
    """Min/max/mean per ``bucket_s`` slice over ``[start, end)``: ``date_bin``
    (origin 2000-01-01 UTC), or ``time_bucket`` where TimescaleDB is installed.
    Slices are aligned to the origin, so the first may begin before ``start``
    (it holds only readings from ``start`` on)."""
    if bucket_s <= 0:
        raise ValueError("bucket_s must be positive")
    query = _BUCKETS.format(bucket=_BUCKET_FN[timescale])
    with conn.cursor(row_factory=class_row(Bucket)) as cur:
        return cur.execute(query, (bucket_s, box_id, start, end)).fetchall()


def box_band(
    conn: psycopg.Connection[Any], box_id: str, profile_code: str | None = None
) -> BoxBand | None:
    """The band of ``profile_code`` (an excursion's), else of the box's current
    profile; None when neither is known."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(_BAND, {"code": profile_code, "box": box_id}).fetchone()
    if row is None:
        return None
    return BoxBand(str(row["code"]), float(row["low_c"]), float(row["high_c"]))


def latest_readings(
    conn: psycopg.Connection[Any], box_ids: list[str]
) -> dict[str, tuple[datetime, float]]:
    """Box id -> (device time, temperature) of its newest reading, for the boxes
    of ``box_ids`` that ever reported."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT box_id, recorded_at, temp_c FROM telemetry.box_latest"
            " WHERE box_id = ANY(%s)",
            (box_ids,),
        ).fetchall()
    return {str(r["box_id"]): (r["recorded_at"], float(r["temp_c"])) for r in rows}


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one committed batch did."""

    inserted: list[tuple[BoxId, SampleLike]]
    staged: int
    dead_letters: int

    @property
    def duplicates(self) -> int:
        """Readings that were already stored (broker redelivery)."""
        return self.staged - len(self.inserted)


@dataclass(frozen=True, slots=True)
class Bucket:
    """A downsampled slice of a box's series."""

    bucket_at: datetime
    readings: int
    min_c: float
    max_c: float
    mean_c: float


@dataclass(frozen=True, slots=True)
class LatestReading:
    """The newest reading (device time) of a box and when it was last heard from."""

    box_id: BoxId
    seq: int
    recorded_at: datetime
    temp_c: float
    battery_pct: float | None
    door_open: bool | None
    lat: float | None
    lon: float | None
    last_received_at: datetime


class _ReadingKey(NamedTuple):
    """What identifies a stored reading (equal to the plain tuple of its fields)."""

    box_id: BoxId
    seq: int
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class _HistoryRow:
    """A row of ``_HISTORY``: a box and one of its samples."""

    box_id: str
    recorded_at: datetime
    seq: int
    temp_c: float
    battery_pct: float | None
    door_open: bool | None


def _box_rules(
    *,
    box_id: str,
    profile_code: str,
    low_c: SupportsFloat,
    high_c: SupportsFloat,
    hysteresis_c: SupportsFloat,
    single_event_delay_s: SupportsFloat,
    cumulative_budget_s: SupportsFloat,
    cumulative_window_s: SupportsFloat,
    low_battery_pct: SupportsFloat,
    door_open_max_s: SupportsFloat,
    report_interval_s: SupportsFloat,
    silent_after_intervals: SupportsInt,
) -> tuple[BoxId, BoxRules]:
    """A box and its rules from a row of ``_BOX_RULES`` (``kwargs_row``)."""
    low, high = float(low_c), float(high_c)
    # dispatch's profiles carry no hysteresis: keep it inside the range
    hysteresis = min(float(hysteresis_c), (high - low) / 4)
    profile = TemperatureProfile(
        str(profile_code),
        low,
        high,
        hysteresis,
        float(single_event_delay_s),
        float(cumulative_budget_s),
        float(cumulative_window_s),
    )
    return BoxId(str(box_id)), BoxRules(
        profile,
        low_battery_pct=float(low_battery_pct),
        door_open_max_s=float(door_open_max_s),
        report_interval_s=float(report_interval_s),
        silent_after_intervals=int(silent_after_intervals),
    )


class _DuplicateRowsError(Exception):
    """The plain merge skipped rows: roll it back and merge with RETURNING."""


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()


class TelemetryStore:
    """psycopg 3 access to the ``telemetry`` schema (one connection, reconnecting).

    ``clock`` is the business clock (default: real time): every "now" telemetry
    stores or compares against comes from it, so a warped server agrees with the
    simulator that drives it.
    """

    def __init__(
        self, url: str, *, connect_timeout_s: int = 5, clock: Clock | None = None
    ) -> None:
        self.clock: Clock = clock if clock is not None else SystemClock()
        self._url = url
        self._timeout_s = connect_timeout_s
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._lock = threading.RLock()
        self._days_ready: set[date] = set()
        self.timescale: bool | None = None

    # -- connection ---------------------------------------------------------------
    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            conn = psycopg.connect(
                self._url, connect_timeout=self._timeout_s, row_factory=tuple_row
            )
            conn.execute(_CREATE_STAGE)
            ts = conn.execute(
                "SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
            conn.commit()
            self.timescale = ts is not None
            self._conn = conn
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """A transaction on the store's connection; connection errors become
        :class:`StoreUnavailable` and drop the connection."""
        with self._lock:
            try:
                conn = self._connection()
                with conn.transaction():
                    yield conn
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                self.close()
                raise StoreUnavailable(type(exc).__name__) from exc

    def close(self) -> None:
        """Close the connection (reopened on next use)."""
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    # -- partitions ---------------------------------------------------------------
    def ensure_partitions(self, first: date, last: date) -> int:
        """Create the daily partitions covering ``first..last``; how many were new."""
        with self.transaction() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                "SELECT telemetry.ensure_reading_partitions(%s, %s) AS created",
                (first, last),
            ).fetchone()
        day = first
        while day <= last:
            self._days_ready.add(day)
            day += timedelta(days=1)
        return int(row["created"]) if row else 0

    def ensure_partitions_around(self, now: datetime, back_days: int = 31) -> int:
        """Partitions for the codec's accepted window (back) and a week ahead."""
        today = _day(now)
        return self.ensure_partitions(
            today - timedelta(days=back_days), today + timedelta(days=7)
        )

    def drop_partitions_before(self, cutoff: date) -> int:
        """Retention on the plain path: drop whole days before ``cutoff``."""
        with self.transaction() as conn, conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                "SELECT telemetry.drop_reading_partitions_before(%s) AS dropped",
                (cutoff,),
            ).fetchone()
        return int(row["dropped"]) if row else 0

    # -- writes -------------------------------------------------------------------
    def write_batch(
        self,
        readings: Sequence[Reading],
        dead_letters: Sequence[DeadLetter] = (),
        *,
        after_insert: Callable[[list[tuple[BoxId, SampleLike]]], object] | None = None,
    ) -> WriteResult:
        """Store readings (duplicates ignored) and dead letters in one transaction.

        ``after_insert`` gets the newly inserted samples inside the same
        transaction, in a savepoint: what it writes commits with the readings,
        and its failure rolls back only its own work.
        """
        days = {_day(r.recorded_at) for r in readings} - self._days_ready
        if days:
            self.ensure_partitions(min(days), max(days))
        inserted: list[tuple[BoxId, SampleLike]] = []
        now = self.clock.now()
        with self.transaction() as conn:
            if readings:
                with conn.cursor() as cur:
                    with cur.copy(_COPY_STAGE) as copy:
                        copy.set_types(_TYPES)
                        write = copy.write_row
                        for reading in readings:
                            if reading.received_at is None:
                                reading = reading._replace(received_at=now)
                            write(reading)
                    inserted = self._merge(conn, cur, readings)
                    cur.execute(_UPSERT_LATEST)
            if dead_letters:
                with conn.cursor() as cur:
                    cur.executemany(
                        _INSERT_DEAD_LETTER,
                        [
                            (
                                d.topic,
                                d.payload,
                                d.payload_bytes,
                                d.reason,
                                d.detail,
                                d.received_at,
                            )
                            for d in dead_letters
                        ],
                    )
            if after_insert is not None and inserted:
                try:
                    with conn.transaction():  # savepoint
                        after_insert(inserted)
                except StoreUnavailable:
                    raise
                except psycopg.OperationalError:
                    raise
                except Exception:  # the hook's own work is rolled back, not ours
                    log.exception("after-insert hook failed")
        return WriteResult(inserted, len(readings), len(dead_letters))

    @staticmethod
    def _merge(
        conn: psycopg.Connection[tuple[object, ...]],
        cur: psycopg.Cursor[tuple[object, ...]],
        readings: Sequence[Reading],
    ) -> list[tuple[BoxId, SampleLike]]:
        """Staging -> table; the new rows as detector samples.

        Almost every batch is all new: a plain merge (no rows sent back) whose
        row count says so. A redelivered batch is merged again with RETURNING
        inside the savepoint's place, so only the new rows reach the detector.
        """
        try:
            with conn.transaction():  # savepoint
                cur.execute(_MERGE_STAGE)
                if cur.rowcount != len(readings):
                    raise _DuplicateRowsError
            return [(r.box_id, r) for r in readings]  # readings are samples
        except _DuplicateRowsError:
            pass
        with conn.cursor(row_factory=class_row(_ReadingKey)) as keys:
            new = set(keys.execute(_MERGE_STAGE_RETURNING).fetchall())
        out: list[tuple[BoxId, SampleLike]] = []
        for r in readings:
            key = _ReadingKey(r.box_id, r.seq, r.recorded_at)
            if key in new:
                new.discard(key)  # a reading twice in one batch counts once
                out.append((r.box_id, r))
        return out

    # -- registry -----------------------------------------------------------------
    def register_box(
        self,
        box_id: str,
        *,
        profile_code: str = "refrigerated",
        report_interval_s: int = 60,
        silent_after_intervals: int = 3,
        door_open_max_s: int = 120,
        low_battery_pct: float = 15.0,
    ) -> None:
        """Add or update a box in the registry."""
        with self.transaction() as conn:
            conn.execute(
                """
                INSERT INTO telemetry.box (box_id, profile_code, report_interval_s,
                    silent_after_intervals, door_open_max_s, low_battery_pct)
                VALUES (%s, %s, %s, %s, %s, %s)
                ON CONFLICT (box_id) DO UPDATE SET profile_code = excluded.profile_code,
                    report_interval_s = excluded.report_interval_s,
                    silent_after_intervals = excluded.silent_after_intervals,
                    door_open_max_s = excluded.door_open_max_s,
                    low_battery_pct = excluded.low_battery_pct, active = true
                """,
                (
                    box_id,
                    profile_code,
                    report_interval_s,
                    silent_after_intervals,
                    door_open_max_s,
                    low_battery_pct,
                ),
            )

    def box_rules(self) -> dict[BoxId, BoxRules]:
        """Detection rules of every active box, keyed by box id."""
        with (
            self.transaction() as conn,
            conn.cursor(row_factory=kwargs_row(_box_rules)) as cur,
        ):
            return dict(cur.execute(_BOX_RULES).fetchall())

    # -- queries ------------------------------------------------------------------
    def history(self, since: dict[BoxId, datetime]) -> dict[BoxId, list[Sample]]:
        """Samples of each box from its ``since`` on, in device order (one query)."""
        out: dict[BoxId, list[Sample]] = {box: [] for box in since}
        if not since:
            return out
        boxes = list(since)
        with (
            self.transaction() as conn,
            conn.cursor(row_factory=class_row(_HistoryRow)) as cur,
        ):
            rows = cur.execute(_HISTORY, (boxes, [since[b] for b in boxes])).fetchall()
        for r in rows:
            out[BoxId(str(r.box_id))].append(
                Sample(r.recorded_at, r.seq, r.temp_c, r.battery_pct, r.door_open)
            )
        return out

    def readings(self, box_id: str, start: datetime, end: datetime) -> list[Reading]:
        """Raw readings of a box, ``start <= recorded_at < end``, in device order."""
        with self.transaction() as conn:
            return read_readings(conn, box_id, start, end)

    def downsampled(
        self, box_id: str, start: datetime, end: datetime, bucket_s: int
    ) -> list[Bucket]:
        """Min/max/mean per ``bucket_s`` slice (``date_bin`` or ``time_bucket``)."""
        if bucket_s <= 0:
            raise ValueError("bucket_s must be positive")
        self._connection_ready()
        with self.transaction() as conn:
            return read_buckets(
                conn, box_id, start, end, bucket_s, timescale=bool(self.timescale)
            )

    def _connection_ready(self) -> None:
        with self.transaction():
            pass

    def latest_per_box(self) -> list[LatestReading]:
        """The newest reading of every box that ever reported."""
        with (
            self.transaction() as conn,
            conn.cursor(row_factory=class_row(LatestReading)) as cur,
        ):
            return cur.execute(
                """
                SELECT box_id, seq, recorded_at, temp_c, battery_pct, door_open, lat,
                       lon, last_received_at
                FROM telemetry.box_latest ORDER BY box_id
                """
            ).fetchall()

    def samples(self, box_id: str, start: datetime, end: datetime) -> list[Sample]:
        """Detector samples of a box over ``[start, end]`` (a delivery's span)."""
        with self.transaction() as conn:
            return read_samples(conn, box_id, start, end)
