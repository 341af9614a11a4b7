"""hold: the reason is a code from a fixed list, with an optional short note.

Free-text reasons of existing holds are kept as their note and mapped to the
code their writer meant (telemetry excursions, quarantined boxes; anything else
was a person's call).

Revision ID: dispatch_0005
Revises: dispatch_0004
Create Date: 2026-11-22
"""

from alembic import op

revision = "dispatch_0005"
down_revision = "dispatch_0004"
branch_labels = None
depends_on = None

CODES = (
    "temperature_excursion",
    "box_quarantined",
    "box_offline",
    "damaged",
    "pharmacist_request",
)
_LISTED = ", ".join(f"'{c}'" for c in CODES)

SCHEMA = f"""
ALTER TABLE dispatch.hold ADD COLUMN reason_note text NOT NULL DEFAULT '';
UPDATE dispatch.hold SET reason_note = reason,
    reason = CASE
        WHEN reason LIKE 'cold-chain excursion%' THEN 'temperature_excursion'
        WHEN reason LIKE 'cold box % quarantined%' THEN 'box_quarantined'
        ELSE 'pharmacist_request'
    END
WHERE reason NOT IN ({_LISTED});
ALTER TABLE dispatch.hold
    ADD CONSTRAINT hold_reason_code_ck CHECK (reason IN ({_LISTED}));
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
