"""Rider shifts, positions and catalogue commands against PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from dispatch.adapters.postgres import catalogue
from dispatch.adapters.postgres.audit import list_entries
from dispatch.domain import GeoPoint, Rider, RiderId, RiderStatus, VehicleType
from dispatch.errors import (
    DuplicateEntity,
    InvalidInput,
    InvalidQuantity,
    PharmacyNotFound,
    ProductNotFound,
    RiderNotFound,
)
from dispatch.events import RiderChanged
from dispatch.fleet import end_shift, register_rider, start_shift, update_position
from dispatch.stock.catalogue import receive_lot, register_pharmacy, register_product
from tests.integration.dispatch.conftest import AMOX, NOW, TODAY, VALLETTA

RIDER = Rider(RiderId("r-9"), "Nina", VehicleType.BIKE, cold_box_slots=2)


def test_shift_changes_bump_the_version_but_positions_do_not(db, publisher, clock):
    """Shift start/end change the rider's plan version; position updates only notify."""
    with db.transaction() as tx:
        register_rider(tx, RIDER, actor="admin")
        start_shift(tx, RIDER.id, ends_at=NOW + timedelta(hours=6), actor="rider")
        started = catalogue.get_rider(tx, RIDER.id)
        update_position(tx, RIDER.id, GeoPoint(35.9, 14.5))
        moved = catalogue.get_rider(tx, RIDER.id)
    clock.advance(3600)
    with db.transaction() as tx:
        end_shift(tx, RIDER.id, actor="rider")
        ended = catalogue.get_rider(tx, RIDER.id)
    assert started.status is RiderStatus.AVAILABLE
    assert started.shift_end_at == NOW + timedelta(hours=6)
    assert moved.version == started.version
    assert moved.position == GeoPoint(35.9, 14.5)
    assert ended.status is RiderStatus.OFF_SHIFT
    assert ended.version == started.version + 1
    assert ended.shift_end_at == clock.now()
    whats = [e.what for e in publisher.of_type(RiderChanged)]
    assert whats == ["registered", "shift_started", "position", "shift_ended"]


def test_bad_fleet_commands_are_typed_errors(db):
    """Unknown riders, past shift ends and duplicates are refused."""
    with pytest.raises(RiderNotFound), db.transaction() as tx:
        update_position(tx, "ghost", GeoPoint(35.9, 14.5))
    with db.transaction() as tx:
        register_rider(tx, RIDER, actor="admin")
    with pytest.raises(InvalidInput), db.transaction() as tx:
        start_shift(tx, RIDER.id, ends_at=NOW - timedelta(minutes=1), actor="r")
    with pytest.raises(DuplicateEntity), db.transaction() as tx:
        register_rider(tx, RIDER, actor="admin")


def test_receiving_stock_is_validated_and_audited(db):
    """Lots need a known pharmacy, SKU and positive quantity; receipt is audited."""
    with db.transaction() as tx:
        register_pharmacy(tx, VALLETTA, actor="admin")
        register_product(tx, AMOX, actor="admin")
        lot = receive_lot(
            tx,
            pharmacy_id=VALLETTA.id,
            sku=AMOX.sku,
            lot_number="A1",
            expiry_date=TODAY + timedelta(days=90),
            quantity=12,
            actor="pharmacist",
        )
    with db.transaction() as tx:  # audit entries are chained at commit
        entries = list_entries(tx, subject_id=str(lot.id))
    assert lot.available == 12
    assert [e.action for e in entries] == ["stock.received"]
    cases: list[tuple[dict[str, Any], type[Exception]]] = [
        ({"pharmacy_id": "nope"}, PharmacyNotFound),
        ({"sku": "NOPE"}, ProductNotFound),
        ({"quantity": 0}, InvalidQuantity),
        ({"quantity": -3}, InvalidQuantity),
    ]
    for kwargs, error in cases:
        args: dict[str, Any] = {
            "pharmacy_id": VALLETTA.id,
            "sku": AMOX.sku,
            "lot_number": "A2",
            "expiry_date": TODAY + timedelta(days=90),
            "quantity": 5,
        }
        args.update(kwargs)
        with pytest.raises(error), db.transaction() as tx:
            receive_lot(tx, actor="pharmacist", **args)
