"""rider_disclosure: which rider's route has shown which patient's first name and
access notes, so that disclosure is audited exactly once per (rider, order).

Revision ID: dispatch_0004
Revises: dispatch_0003
Create Date: 2026-11-22
"""

from alembic import op

revision = "dispatch_0004"
down_revision = "dispatch_0003"
branch_labels = None
depends_on = None

SCHEMA = """
CREATE TABLE dispatch.rider_disclosure (
    rider_id text NOT NULL REFERENCES dispatch.rider (id),
    order_id uuid NOT NULL REFERENCES dispatch.customer_order (id),
    disclosed_at timestamptz NOT NULL,
    PRIMARY KEY (rider_id, order_id)
);
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
