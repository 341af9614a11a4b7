"""pharmacy: an ``active`` flag (deactivated: no new orders sourced there), and
rows whose time zone this host does not know are made usable.

Before time zones were checked (issue 20) any text was stored, and one such
pharmacy stopped every plan. Such a row gets the service's zone (Europe/Malta,
the column's default) so it can be read again, and is deactivated so no new
order is sourced there until someone checks its hours and zone
(``PATCH /pharmacies/{id}``); its ids are logged.

Revision ID: dispatch_0006
Revises: dispatch_0005
Create Date: 2026-12-07
"""

import logging
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "dispatch_0006"
down_revision = "dispatch_0005"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

FALLBACK_ZONE = "Europe/Malta"


def _loads(zone: str) -> bool:
    if not zone or zone == "localtime":
        return False
    try:
        ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        return False
    return True


def upgrade() -> None:
    op.execute(
        "ALTER TABLE dispatch.pharmacy ADD COLUMN active boolean NOT NULL DEFAULT true"
    )
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, timezone FROM dispatch.pharmacy"))
    bad = [str(pid) for pid, zone in rows if not _loads(str(zone))]
    if not bad:
        return
    conn.execute(
        sa.text(
            "UPDATE dispatch.pharmacy SET timezone = :zone, active = false"
            " WHERE id = ANY(:ids)"
        ),
        {"zone": FALLBACK_ZONE, "ids": bad},
    )
    log.warning(
        "pharmacies with an unknown time zone set to %s and deactivated: %s",
        FALLBACK_ZONE,
        ", ".join(sorted(bad)),
    )


def downgrade() -> None:
    raise NotImplementedError("forward-only migrations")
