"""Hold reasons are codes (with an optional short note), checked by the domain and
by the database; the migration maps the old free-text reasons onto codes."""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest

from dispatch.adapters.memory import RecordingPublisher
from dispatch.adapters.postgres import holds as holds_repo
from dispatch.adapters.postgres.database import migrate
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.errors import InvalidInput
from dispatch.events import HoldPlaced
from dispatch.holds.commands import HoldReason, list_open_holds, place_hold
from dispatch.orders.intake import submit_order
from tests.integration.dispatch.conftest import (
    INSULIN,
    TODAY,
    VALLETTA,
    add_lot,
    make_request,
    seed_catalogue,
    upgrade_dispatch,
)


def _order(db: Database) -> str:
    seed_catalogue(db)
    add_lot(db, VALLETTA, INSULIN, 5, TODAY + timedelta(days=200))
    with db.transaction() as tx:
        return submit_order(tx, make_request([(INSULIN, 1)]), actor="a").id


def test_a_hold_stores_its_code_and_note_and_events_carry_only_the_code(
    db: Database, publisher: RecordingPublisher
) -> None:
    order_id = _order(db)
    with db.transaction() as tx:
        hold = place_hold(
            tx,
            reason="damaged",
            note="  seal broken at pickup ",
            actor="pharmacist:eve",
            order_ids=[order_id],
        )
    assert (hold.reason, hold.reason_note) == (
        HoldReason.DAMAGED,
        "seal broken at pickup",
    )
    [event] = [e for e in publisher.events if isinstance(e, HoldPlaced)]
    assert event.reason == "damaged"
    assert "seal" not in str(event.to_dict())


@pytest.mark.parametrize(
    ("reason", "note", "message"),
    [
        ("excursion 9.5C", "", "temperature_excursion, box_quarantined"),
        ("", "", "unknown hold reason"),
        (HoldReason.DAMAGED, "x" * 201, "at most 200"),
    ],
)
def test_unknown_codes_and_long_notes_are_refused(
    db: Database, reason: str, note: str, message: str
) -> None:
    order_id = _order(db)
    with pytest.raises(InvalidInput, match=message), db.transaction() as tx:
        place_hold(tx, reason=reason, note=note, actor="x", order_ids=[order_id])
    with db.transaction() as tx:
        assert list_open_holds(tx) == []


def test_the_database_accepts_exactly_the_codes(db: Database) -> None:
    with db.transaction() as tx:
        for code in HoldReason:
            holds_repo.insert_hold(
                tx, reason=code, note="", box_id=None, excursion_ref=None, actor="t"
            )
    with pytest.raises(psycopg.errors.CheckViolation), db.transaction() as tx:
        tx.conn.execute(
            "INSERT INTO dispatch.hold (reason, placed_by, placed_at)"
            " VALUES ('fridge alarm', 't', now())"
        )


def test_migration_maps_free_text_reasons_to_codes_and_keeps_the_text(
    blank_db: str,
) -> None:
    upgrade_dispatch(blank_db, "dispatch_0004")
    old = [
        "cold-chain excursion: temperature_high (mkt)",
        "cold box box-7 quarantined: cold-chain excursion: temperature_low (min)",
        "fridge alarm",
    ]
    with psycopg.connect(blank_db) as conn:
        for reason in old:
            conn.execute(
                "INSERT INTO dispatch.hold (reason, placed_by, placed_at)"
                " VALUES (%s, 'telemetry', now())",
                (reason,),
            )
    migrate(blank_db)
    with psycopg.connect(blank_db) as conn:
        rows = conn.execute(
            "SELECT reason, reason_note FROM dispatch.hold ORDER BY id"
        ).fetchall()
    assert rows == list(
        zip(
            ["temperature_excursion", "box_quarantined", "pharmacist_request"],
            old,
            strict=True,
        )
    )
