"""cold_box: quarantine state (a box whose temperature is in doubt takes no cold goods).

Revision ID: dispatch_0003
Revises: dispatch_0002
Create Date: 2026-11-21
"""

from alembic import op

revision = "dispatch_0003"
down_revision = "dispatch_0002"
branch_labels = None
depends_on = None

SCHEMA = """
ALTER TABLE dispatch.cold_box
    ADD COLUMN quarantined_at timestamptz,
    ADD COLUMN quarantine_reason text,
    ADD COLUMN quarantine_ref text,
    ADD CONSTRAINT cold_box_quarantine_reason_ck
        CHECK (quarantined_at IS NULL OR quarantine_reason IS NOT NULL);

CREATE INDEX cold_box_quarantined_ix ON dispatch.cold_box (rider_id)
    WHERE quarantined_at IS NOT NULL;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
