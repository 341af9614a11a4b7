"""audit chain keyed with HMAC: the boundary of the entries hashed before the key.

From this revision on, every audit entry is hashed with HMAC-SHA256 under
``DISPATCH_AUDIT_KEY`` (kept outside the database). Entries already written were
hashed with plain SHA-256; ``audit_head.unkeyed_until`` records the last of them,
so ``rxdispatch audit verify`` checks them as before and says from which entry the
chain is keyed. The app's role may not change this column (see
``dispatch.adapters.postgres.roles``).

Revision ID: dispatch_0007
Revises: dispatch_0006
Create Date: 2026-12-07
"""

from alembic import op

revision = "dispatch_0007"
down_revision = "dispatch_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE dispatch.audit_head ADD COLUMN unkeyed_until bigint;
        UPDATE dispatch.audit_head SET unkeyed_until = last_seq;
        ALTER TABLE dispatch.audit_head ALTER COLUMN unkeyed_until SET NOT NULL;
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE dispatch.audit_head DROP COLUMN unkeyed_until")
