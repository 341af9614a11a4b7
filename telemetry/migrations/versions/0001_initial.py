"""Telemetry schema: box registry, profiles, readings (partitioned or hypertable),
dead letters, latest reading per box, excursions.

Revision ID: telemetry_0001
Revises:
Create Date: 2026-11-21
"""

from alembic import op

revision = "telemetry_0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS telemetry;

CREATE TABLE telemetry.temperature_profile (
    code text PRIMARY KEY,
    description text NOT NULL,
    low_c double precision NOT NULL,
    high_c double precision NOT NULL,
    hysteresis_c double precision NOT NULL,
    single_event_delay_s integer NOT NULL CHECK (single_event_delay_s >= 0),
    cumulative_budget_s integer NOT NULL CHECK (cumulative_budget_s >= 0),
    cumulative_window_s integer NOT NULL CHECK (cumulative_window_s > 0),
    CONSTRAINT temperature_profile_range_ck CHECK (low_c < high_c),
    CONSTRAINT temperature_profile_hysteresis_ck
        CHECK (hysteresis_c >= 0 AND 2 * hysteresis_c < high_c - low_c)
);

-- Defaults: labelled ranges (USP <1079>/EU practice); delays and budgets are lane
-- data to be replaced by the product's stability data.
INSERT INTO telemetry.temperature_profile VALUES
    ('refrigerated', 'Refrigerated 2-8 °C', 2, 8, 0.5, 1800, 3600, 86400),
    ('crt', 'Controlled room temperature 15-25 °C', 15, 25, 0.5, 3600, 14400, 2592000),
    ('frozen', 'Frozen -25 to -15 °C', -25, -15, 1.0, 1800, 3600, 86400);

CREATE TABLE telemetry.box (
    box_id text PRIMARY KEY,
    profile_code text NOT NULL DEFAULT 'refrigerated'
        REFERENCES telemetry.temperature_profile (code),
    report_interval_s integer NOT NULL DEFAULT 60 CHECK (report_interval_s > 0),
    silent_after_intervals integer NOT NULL DEFAULT 3
        CHECK (silent_after_intervals > 0),
    low_battery_pct double precision NOT NULL DEFAULT 15,
    door_open_max_s integer NOT NULL DEFAULT 120 CHECK (door_open_max_s >= 0),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE telemetry.dead_letter (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    topic text NOT NULL,
    payload bytea NOT NULL,
    payload_bytes integer NOT NULL,
    reason text NOT NULL,
    detail text NOT NULL DEFAULT '',
    received_at timestamptz NOT NULL
);
CREATE INDEX dead_letter_received_at_idx ON telemetry.dead_letter (received_at);
CREATE INDEX dead_letter_reason_idx ON telemetry.dead_letter (reason);

CREATE TABLE telemetry.box_latest (
    box_id text PRIMARY KEY,
    seq bigint NOT NULL,
    recorded_at timestamptz NOT NULL,
    temp_c double precision NOT NULL,
    battery_pct double precision,
    door_open boolean,
    lat double precision,
    lon double precision,
    last_received_at timestamptz NOT NULL
);

CREATE TABLE telemetry.excursion (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    box_id text NOT NULL,
    kind text NOT NULL CHECK (kind IN (
        'temperature_high', 'temperature_low', 'box_silent', 'low_battery', 'door_open'
    )),
    rule text NOT NULL CHECK (rule IN ('single_event', 'cumulative', 'threshold')),
    profile_code text,
    status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'acknowledged', 'resolved')),
    started_at timestamptz NOT NULL,
    alarmed_at timestamptz NOT NULL,
    ended_at timestamptz,
    peak_c double precision,
    detected_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    notified_at timestamptz,
    acknowledged_at timestamptz,
    acknowledged_by text,
    resolved_at timestamptz,
    -- set when a recomputation over late readings no longer finds the episode
    retracted_at timestamptz,
    CONSTRAINT excursion_span_ck CHECK (ended_at IS NULL OR ended_at >= started_at)
);
CREATE INDEX excursion_box_kind_started_idx
    ON telemetry.excursion (box_id, kind, started_at);
CREATE INDEX excursion_unresolved_idx
    ON telemetry.excursion (box_id) WHERE status <> 'resolved' AND retracted_at IS NULL;
CREATE INDEX excursion_unnotified_idx
    ON telemetry.excursion (id) WHERE notified_at IS NULL;
"""

READING_COLUMNS = """
    box_id text NOT NULL,
    seq bigint NOT NULL,
    recorded_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    temp_c double precision NOT NULL,
    battery_pct double precision,
    door_open boolean,
    lat double precision,
    lon double precision,
    -- the partition key must be part of any unique key; a redelivered reading
    -- repeats (box_id, seq, recorded_at) exactly, so this is the idempotency key
    CONSTRAINT reading_box_seq_recorded_key UNIQUE (box_id, seq, recorded_at)
"""

PLAIN_PARTITIONED = f"""
CREATE TABLE telemetry.reading ({READING_COLUMNS}) PARTITION BY RANGE (recorded_at);
CREATE INDEX reading_box_recorded_idx ON telemetry.reading (box_id, recorded_at);

-- Daily partitions [day 00:00 UTC, next day). Called by the store before it
-- writes a day it has not seen and at startup (30 days back, 7 ahead).
CREATE FUNCTION telemetry.ensure_reading_partitions(first_day date, last_day date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    d date;
    created integer := 0;
    part text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('telemetry.reading.partitions'));
    FOR d IN SELECT generate_series(first_day, last_day, interval '1 day')::date LOOP
        part := 'reading_' || to_char(d, 'YYYYMMDD');
        IF to_regclass(format('telemetry.%I', part)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE telemetry.%I PARTITION OF telemetry.reading '
                'FOR VALUES FROM (%L) TO (%L)',
                part,
                (d::timestamp AT TIME ZONE 'UTC'),
                ((d + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;

-- Retention without TimescaleDB: drop whole days older than the cutoff.
CREATE FUNCTION telemetry.drop_reading_partitions_before(cutoff date)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'telemetry.reading'::regclass
          AND c.relname ~ '^reading_[0-9]{{8}}$'
          AND to_date(substr(c.relname, 9), 'YYYYMMDD') < cutoff
    LOOP
        EXECUTE format('DROP TABLE telemetry.%I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    RETURN dropped;
END
$$;
"""

# TimescaleDB (untested here: not installable on these machines). Compression
# starts after the codec's 30-day late-reading window so backfill rarely lands
# in compressed chunks; retention matches the plain path's default.
TIMESCALE = f"""
CREATE EXTENSION IF NOT EXISTS timescaledb;
CREATE TABLE telemetry.reading ({READING_COLUMNS});
CREATE INDEX reading_box_recorded_idx ON telemetry.reading (box_id, recorded_at);
SELECT create_hypertable('telemetry.reading', by_range('recorded_at', INTERVAL '1 day'));
ALTER TABLE telemetry.reading SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'box_id',
    timescaledb.compress_orderby = 'recorded_at, seq'
);
SELECT add_compression_policy('telemetry.reading', INTERVAL '31 days');
SELECT add_retention_policy('telemetry.reading', INTERVAL '400 days');
CREATE FUNCTION telemetry.ensure_reading_partitions(first_day date, last_day date)
RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;
CREATE FUNCTION telemetry.drop_reading_partitions_before(cutoff date)
RETURNS integer LANGUAGE sql AS $$ SELECT 0 $$;
"""


def upgrade() -> None:
    op.execute(SCHEMA)
    has_timescale = (
        op.get_bind()
        .exec_driver_sql(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        )
        .scalar()
    )
    op.execute(TIMESCALE if has_timescale else PLAIN_PARTITIONED)
    op.execute(
        "SELECT telemetry.ensure_reading_partitions("
        "current_date - 31, current_date + 7)"
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
