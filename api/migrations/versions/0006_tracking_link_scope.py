"""auth.tracking_link: a scope, so the order's creator gets a link that cannot read
the patient's delivery code.

``status`` links (returned to whoever creates the order) show status, ETA and the
approaching rider; only ``patient`` links (sent to the patient's own phone by the
patient channel) also read ``/track/{token}/messages``, where the OTP is. Links
issued before this revision stay ``patient`` so deliveries in flight can still be
completed; they expire within ``API_TRACKING_LINK_TTL_S`` (48 h).

Revision ID: api_0006
Revises: api_0005
Create Date: 2026-12-07
"""

from alembic import op

revision = "api_0006"
down_revision = "api_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE auth.tracking_link
            ADD COLUMN scope text NOT NULL DEFAULT 'patient',
            ADD CONSTRAINT tracking_link_scope_check
                CHECK (scope IN ('patient', 'status'));
        ALTER TABLE auth.tracking_link ALTER COLUMN scope DROP DEFAULT;
        """
    )


def downgrade() -> None:
    op.execute("ALTER TABLE auth.tracking_link DROP COLUMN scope")
