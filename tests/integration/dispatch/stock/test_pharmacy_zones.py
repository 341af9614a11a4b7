"""Pharmacy rows with a time zone this host does not know (stored before zones
were checked, issue 20): the migration repairs them, and a read for planning or
sourcing leaves such a row out instead of failing."""

from __future__ import annotations

import psycopg
import pytest

from dispatch.adapters.postgres import catalogue
from dispatch.adapters.postgres.database import migrate
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.errors import InvalidInput
from dispatch.planning.apply import take_snapshot
from dispatch.stock.catalogue import register_pharmacy, update_pharmacy
from dispatch.stock.reservations import rank_by_distance
from tests.integration.dispatch.conftest import (
    NEAR_VALLETTA,
    SLIEMA,
    VALLETTA,
    upgrade_dispatch,
)


def test_migration_deactivates_rows_with_unknown_zones_and_makes_them_readable(
    blank_db: str,
) -> None:
    upgrade_dispatch(blank_db, "dispatch_0005")
    with psycopg.connect(blank_db) as conn:
        for pid, zone in (("ph-ok", "Europe/Rome"), ("ph-bad", "Mars/Olympus")):
            conn.execute(
                "INSERT INTO dispatch.pharmacy VALUES"
                " (%s, %s, 35.9, 14.5, %s, '[]', %s)",
                (pid, pid, f"L-{pid}", zone),
            )
    migrate(blank_db)
    with psycopg.connect(blank_db) as conn:
        rows = conn.execute(
            "SELECT id, timezone, active FROM dispatch.pharmacy ORDER BY id"
        ).fetchall()
    assert rows == [("ph-bad", "Europe/Malta", False), ("ph-ok", "Europe/Rome", True)]


def _corrupt(db: Database, pharmacy_id: str) -> None:
    with db.transaction() as tx:
        tx.conn.execute(
            "UPDATE dispatch.pharmacy SET timezone = 'Mars/Olympus' WHERE id = %s",
            (pharmacy_id,),
        )


def test_an_unreadable_row_is_left_out_of_snapshots_and_sourcing(db: Database) -> None:
    with db.transaction() as tx:
        for pharmacy in (VALLETTA, SLIEMA):
            register_pharmacy(tx, pharmacy, actor="t")
    _corrupt(db, SLIEMA.id)
    with db.transaction() as tx:
        with pytest.raises(InvalidInput, match="timezone"):
            catalogue.list_pharmacies(tx)  # strict by default
        snapshot = take_snapshot(tx)
        ranked = rank_by_distance(tx, [VALLETTA.id, SLIEMA.id], NEAR_VALLETTA)
    assert set(snapshot.pharmacies) == {VALLETTA.id}
    assert set(snapshot.invalid_pharmacies) == {SLIEMA.id}
    assert "timezone" in snapshot.invalid_pharmacies[SLIEMA.id]
    assert ranked == [VALLETTA.id]


def test_an_edit_can_repair_a_stored_zone_but_not_store_a_bad_one(
    db: Database,
) -> None:
    with db.transaction() as tx:
        register_pharmacy(tx, VALLETTA, actor="t")
    _corrupt(db, VALLETTA.id)
    with db.transaction() as tx, pytest.raises(InvalidInput, match="timezone"):
        update_pharmacy(tx, VALLETTA.id, actor="t", name="Still broken")
    with db.transaction() as tx:
        fixed = update_pharmacy(tx, VALLETTA.id, actor="t", timezone="Europe/Malta")
    assert fixed.timezone == "Europe/Malta"
    with db.transaction() as tx:
        assert catalogue.get_pharmacy(tx, VALLETTA.id) == fixed
