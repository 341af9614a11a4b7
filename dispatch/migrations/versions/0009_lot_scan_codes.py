"""stock_lot.scan_code: an unguessable code for the lot's label (issue 20).

Riders confirmed pickups by scanning internal lot ids, small sequential numbers a
rider could type without seeing the lot. Each lot now has a random code (120 bits,
base32, ``dispatch.stock.scan_codes``) printed on its label and scanned instead;
existing lots get one here.

Revision ID: dispatch_0009
Revises: dispatch_0008
Create Date: 2026-12-07
"""

import base64
import secrets

import sqlalchemy as sa
from alembic import op

revision = "dispatch_0009"
down_revision = "dispatch_0008"
branch_labels = None
depends_on = None


def _code() -> str:
    return base64.b32encode(secrets.token_bytes(15)).decode("ascii")


def upgrade() -> None:
    op.execute("ALTER TABLE dispatch.stock_lot ADD COLUMN scan_code text")
    conn = op.get_bind()
    ids = [row[0] for row in conn.execute(sa.text("SELECT id FROM dispatch.stock_lot"))]
    if ids:
        conn.execute(
            sa.text("UPDATE dispatch.stock_lot SET scan_code = :code WHERE id = :id"),
            [{"id": lot_id, "code": _code()} for lot_id in ids],
        )
    op.execute("ALTER TABLE dispatch.stock_lot ALTER COLUMN scan_code SET NOT NULL")
    op.execute(
        "ALTER TABLE dispatch.stock_lot"
        " ADD CONSTRAINT stock_lot_scan_code_key UNIQUE (scan_code)"
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
