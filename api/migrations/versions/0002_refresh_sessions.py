"""auth: refresh-token sessions (families of rotated, hashed refresh tokens).

A login starts a family; each refresh marks its token rotated and adds the next
one. Presenting a rotated token again (reuse) revokes the whole family, as does
logout. Only SHA-256 digests of the tokens are stored.

Revision ID: api_0002
Revises: api_0001
Create Date: 2026-12-08
"""

from alembic import op

revision = "api_0002"
down_revision = "api_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE auth.refresh_family (
            family_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id uuid NOT NULL REFERENCES auth.user_account (user_id)
                ON DELETE CASCADE,
            created_at timestamptz NOT NULL,
            -- the session's absolute end: no refresh reaches past it
            expires_at timestamptz NOT NULL,
            revoked_at timestamptz,
            revoked_reason text,
            CONSTRAINT refresh_family_reason_check CHECK (
                revoked_reason IN ('logout', 'reuse', 'user_inactive')),
            CONSTRAINT refresh_family_revoked_check
                CHECK ((revoked_at IS NULL) = (revoked_reason IS NULL))
        );
        CREATE INDEX refresh_family_user_idx
            ON auth.refresh_family (user_id) WHERE revoked_at IS NULL;

        CREATE TABLE auth.refresh_token (
            token_sha256 bytea PRIMARY KEY,
            family_id uuid NOT NULL REFERENCES auth.refresh_family (family_id)
                ON DELETE CASCADE,
            issued_at timestamptz NOT NULL,
            expires_at timestamptz NOT NULL,
            -- set when the token was exchanged; presenting it again is reuse
            rotated_at timestamptz,
            CONSTRAINT refresh_token_digest_check CHECK (length(token_sha256) = 32)
        );
        CREATE INDEX refresh_token_family_idx ON auth.refresh_token (family_id);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE auth.refresh_token; DROP TABLE auth.refresh_family;")
