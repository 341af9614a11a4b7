"""Sequence audit: per-box seq cursor, gaps and the ``seq_gap`` alert kind.

``telemetry.seq_cursor`` holds, per box, the highest seq of its current boot
epoch and that reading's device time; ``telemetry.seq_gap`` one row per missing
range with its life: opened, resend requested (``requests`` times), closed as
``filled`` (arrived before any request), ``resent`` (after one) or ``lost`` (the
logger answered that it no longer holds the range). ``after_at``/``before_at``
are the device times of the readings around the gap: a reading fills it when
its seq is in range and its time between them (seqs restart after a reboot).

Revision ID: telemetry_0004
Revises: telemetry_0003
Create Date: 2026-12-08
"""

from alembic import op

revision = "telemetry_0004"
down_revision = "telemetry_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE telemetry.seq_cursor (
            box_id text PRIMARY KEY,
            high_seq bigint NOT NULL CHECK (high_seq >= 0),
            high_at timestamptz NOT NULL
        );
        CREATE TABLE telemetry.seq_gap (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            box_id text NOT NULL,
            from_seq bigint NOT NULL CHECK (from_seq >= 0),
            to_seq bigint NOT NULL,
            after_at timestamptz NOT NULL,
            before_at timestamptz NOT NULL,
            opened_at timestamptz NOT NULL,
            requested_at timestamptz,
            requests integer NOT NULL DEFAULT 0 CHECK (requests >= 0),
            closed_at timestamptz,
            outcome text CHECK (outcome IN ('filled', 'resent', 'lost')),
            missing integer NOT NULL CHECK (missing >= 0),
            CONSTRAINT seq_gap_range_ck CHECK (to_seq >= from_seq),
            CONSTRAINT seq_gap_closed_ck CHECK ((closed_at IS NULL) = (outcome IS NULL))
        );
        CREATE INDEX seq_gap_open_idx ON telemetry.seq_gap (box_id, from_seq)
            WHERE closed_at IS NULL;
        ALTER TABLE telemetry.excursion DROP CONSTRAINT excursion_kind_check;
        ALTER TABLE telemetry.excursion ADD CONSTRAINT excursion_kind_check
            CHECK (kind IN ('temperature_high', 'temperature_low', 'box_silent',
                            'low_battery', 'door_open', 'seq_gap'));
        """
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
