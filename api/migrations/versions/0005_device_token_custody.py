"""auth.device_token: an id (list and revoke one), an expiry, who issued and revoked.

Device tokens never expired and named any rider id. Tokens still live get the
default lifetime (``API_DEVICE_TOKEN_TTL_S``, 16 h) from now, so phones in the
field finish their shift; live tokens of rider ids that do not exist are revoked.

Revision ID: api_0005
Revises: api_0004
Create Date: 2026-12-07
"""

from alembic import op

revision = "api_0005"
down_revision = "api_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        ALTER TABLE auth.device_token
            ADD COLUMN token_id uuid NOT NULL DEFAULT gen_random_uuid(),
            ADD COLUMN expires_at timestamptz,
            ADD COLUMN issued_by text NOT NULL DEFAULT '',
            ADD COLUMN revoked_by text;
        UPDATE auth.device_token SET expires_at = now() + interval '16 hours';
        ALTER TABLE auth.device_token ALTER COLUMN expires_at SET NOT NULL;
        CREATE UNIQUE INDEX device_token_token_id_key ON auth.device_token (token_id);
        UPDATE auth.device_token t
           SET revoked_at = now(), revoked_by = 'migration:unknown_rider'
         WHERE t.revoked_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM dispatch.rider r WHERE r.id = t.rider_id);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        ALTER TABLE auth.device_token
            DROP COLUMN token_id, DROP COLUMN expires_at,
            DROP COLUMN issued_by, DROP COLUMN revoked_by;
        """
    )
