"""product.controlled_schedule: canonical codes (issue 20).

The schedule was free text, so a misspelling ("cii ", "C-II") silently dropped the
ID check. New products are checked against the jurisdiction's enumeration
(``dispatch.delivery.proof_rules``); the existing rows are put in canonical form
(trimmed, upper case, empty as NULL). A stored code the jurisdiction does not know
is left as it is and fails safe: it needs the ID check; its SKUs are logged so a
pharmacist can correct them.

Revision ID: dispatch_0008
Revises: dispatch_0007
Create Date: 2026-12-07
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "dispatch_0008"
down_revision = "dispatch_0007"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

KNOWN = ("I", "II", "III", "IV", "CI", "CII", "CIII", "CIV", "CV", "H", "H1", "X")


def upgrade() -> None:
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "UPDATE dispatch.product SET controlled_schedule ="
            " nullif(upper(btrim(controlled_schedule)), '')"
            " WHERE controlled_schedule IS DISTINCT FROM"
            " nullif(upper(btrim(controlled_schedule)), '')"
        )
    )
    rows = conn.execute(
        sa.text(
            "SELECT sku FROM dispatch.product WHERE controlled_schedule IS NOT NULL"
            " AND NOT controlled_schedule = ANY(:known) ORDER BY sku"
        ),
        {"known": list(KNOWN)},
    )
    unknown = [str(sku) for (sku,) in rows]
    if unknown:
        log.warning(
            "products with an unknown controlled schedule (ID check required until "
            "corrected): %s",
            ", ".join(unknown),
        )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
