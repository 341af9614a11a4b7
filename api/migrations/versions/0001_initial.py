"""auth: users, rider device tokens, patient tracking links; live: geofence events.

Revision ID: api_0001
Revises:
Create Date: 2026-11-21
"""

from alembic import op

revision = "api_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE SCHEMA IF NOT EXISTS auth;

        CREATE TABLE auth.user_account (
            user_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            username text NOT NULL,
            password_hash text NOT NULL,
            role text NOT NULL,
            active boolean NOT NULL DEFAULT true,
            created_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT user_account_username_key UNIQUE (username),
            CONSTRAINT user_account_username_check
                CHECK (username ~ '^[a-z0-9][a-z0-9._@-]{2,63}$'),
            CONSTRAINT user_account_role_check
                CHECK (role IN ('admin', 'dispatcher', 'pharmacist'))
        );

        CREATE TABLE auth.device_token (
            token_sha256 bytea PRIMARY KEY,
            rider_id text NOT NULL,
            label text NOT NULL DEFAULT '',
            created_at timestamptz NOT NULL DEFAULT now(),
            revoked_at timestamptz
        );
        CREATE INDEX device_token_rider_id_idx ON auth.device_token (rider_id);

        CREATE TABLE auth.tracking_link (
            link_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            token_sha256 bytea NOT NULL,
            order_id text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            closed_at timestamptz,
            CONSTRAINT tracking_link_token_key UNIQUE (token_sha256)
        );
        CREATE INDEX tracking_link_order_id_idx ON auth.tracking_link (order_id);

        CREATE SCHEMA IF NOT EXISTS live;

        CREATE TABLE live.geofence_event (
            event_id bigserial PRIMARY KEY,
            rider_id text NOT NULL,
            fence_id text NOT NULL,
            fence_kind text NOT NULL,
            order_id text,
            transition text NOT NULL,
            occurred_at timestamptz NOT NULL,
            lat double precision NOT NULL,
            lon double precision NOT NULL,
            recorded_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT geofence_event_transition_check
                CHECK (transition IN ('arrived', 'departed')),
            CONSTRAINT geofence_event_kind_check
                CHECK (fence_kind IN ('pharmacy', 'delivery'))
        );
        CREATE INDEX geofence_event_rider_idx
            ON live.geofence_event (rider_id, occurred_at);
        """
    )


def downgrade() -> None:
    op.execute(
        "DROP SCHEMA IF EXISTS live CASCADE; DROP SCHEMA IF EXISTS auth CASCADE;"
    )
