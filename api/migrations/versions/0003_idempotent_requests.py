"""api: idempotent rider commands (Idempotency-Key replays).

One row per (scope, key): whose key it is (``rider:<id>``), an HMAC of the
request (route, path, body: never the OTP in the clear), and the first answer
(status, media type, exact body bytes) replayed to retries until ``expires_at``.
In PostgreSQL so every API process sees the same keys.

Revision ID: api_0003
Revises: api_0002
Create Date: 2026-12-08
"""

from alembic import op

revision = "api_0003"
down_revision = "api_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE SCHEMA IF NOT EXISTS api;

        CREATE TABLE api.idempotent_request (
            scope text NOT NULL,
            key text NOT NULL,
            fingerprint bytea NOT NULL,
            endpoint text NOT NULL,
            -- the first answer; null only inside the transaction that acts
            status_code integer,
            media_type text,
            body bytea,
            retry_after_s integer,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL,
            PRIMARY KEY (scope, key),
            CONSTRAINT idempotent_request_key_check CHECK (length(key) BETWEEN 1 AND 128)
        );
        CREATE INDEX idempotent_request_expires_idx
            ON api.idempotent_request (expires_at);
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE api.idempotent_request;")
