"""orders: encrypted access notes, greedy-dispatch mark, indexes for filters and
replacement lookups.

Revision ID: dispatch_0002
Revises: dispatch_0001
Create Date: 2026-11-21
"""

from alembic import op

revision = "dispatch_0002"
down_revision = "dispatch_0001"
branch_labels = None
depends_on = None

SCHEMA = """
ALTER TABLE dispatch.customer_order
    ADD COLUMN access_notes_enc bytea,
    ADD COLUMN dispatched_by text NOT NULL DEFAULT 'planner'
        CHECK (dispatched_by IN ('planner', 'greedy'));

CREATE INDEX customer_order_replacement_of_ix ON dispatch.customer_order (replacement_of)
    WHERE replacement_of IS NOT NULL;
CREATE INDEX customer_order_created_ix ON dispatch.customer_order (created_at, id);
CREATE INDEX customer_order_rider_ix ON dispatch.customer_order (rider_id, created_at)
    WHERE rider_id IS NOT NULL;
CREATE INDEX customer_order_pharmacy_ix ON dispatch.customer_order (pharmacy_id, created_at)
    WHERE pharmacy_id IS NOT NULL;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
