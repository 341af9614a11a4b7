"""Excursion ``detected_at`` comes from the business clock, not the database.

The writer passes ``detected_at`` explicitly (``dispatch.ports.Clock``), so a
server running on a warped clock measures detection delay in the same time as
the readings. Dropping the ``clock_timestamp()`` default makes an insert that
forgets it fail loudly instead of silently mixing wall and business time.

Revision ID: telemetry_0003
Revises: telemetry_0002
Create Date: 2026-11-21
"""

from alembic import op

revision = "telemetry_0003"
down_revision = "telemetry_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE telemetry.excursion ALTER COLUMN detected_at DROP DEFAULT")


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
