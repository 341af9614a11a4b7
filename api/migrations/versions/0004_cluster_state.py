"""api: state shared by several API instances on one database.

- ``live.feed_head`` / ``live.feed_event``: the dispatchers' feed numbered by the
  database (one ``seq`` for every instance; the row lock on the head makes the
  numbers follow commit order, gap-free) and kept for a while, so an instance
  whose listener reconnects reads what it missed.
- ``api.rate_limit_hit``: attempts counted by the login/OTP limiters, so a
  limit counted on one instance holds on the others.
- one geofence event per (rider, fence, transition): however many instances
  see a rider's fixes, an arrival is recorded and announced once.

Revision ID: api_0004
Revises: api_0003
Create Date: 2026-12-08
"""

from alembic import op

revision = "api_0004"
down_revision = "api_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE live.feed_head (
            only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
            feed_id text NOT NULL,
            seq bigint NOT NULL DEFAULT 0
        );
        INSERT INTO live.feed_head (feed_id)
            VALUES (substr(md5(random()::text || clock_timestamp()::text), 1, 16));

        CREATE TABLE live.feed_event (
            seq bigint PRIMARY KEY,
            origin text NOT NULL,
            frame text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX feed_event_created_idx ON live.feed_event (created_at);

        CREATE TABLE api.rate_limit_hit (
            key text NOT NULL,
            at timestamptz NOT NULL DEFAULT clock_timestamp()
        );
        CREATE INDEX rate_limit_hit_key_idx ON api.rate_limit_hit (key, at);

        DELETE FROM live.geofence_event e USING live.geofence_event f
            WHERE e.rider_id = f.rider_id AND e.fence_id = f.fence_id
              AND e.transition = f.transition AND e.event_id > f.event_id;
        CREATE UNIQUE INDEX geofence_event_once_idx
            ON live.geofence_event (rider_id, fence_id, transition);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        DROP INDEX live.geofence_event_once_idx;
        DROP TABLE api.rate_limit_hit;
        DROP TABLE live.feed_event;
        DROP TABLE live.feed_head;
        """
    )
