"""update_order against PostgreSQL: only the given columns change, None clears one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderStatus
from tests.integration.dispatch.conftest import (
    AMOX,
    NOW,
    SLIEMA,
    TODAY,
    VALLETTA,
    add_lot,
    add_rider,
    make_request,
    seed_catalogue,
)


def test_update_order_sets_only_the_given_columns(db):
    """Columns left out keep their value, None clears one, each update bumps the
    version; an update of nothing is refused before any SQL runs."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 10, TODAY + timedelta(days=365))
    rider = add_rider(db)
    with db.transaction() as tx:
        order = submit_order(tx, make_request([(AMOX, 2)]), actor="api:alice")
    assert order.status is OrderStatus.SOURCED
    assert order.pharmacy_id == VALLETTA.id

    with db.transaction() as tx:
        orders_repo.update_order(
            tx,
            order.id,
            rider_id=rider,
            candidate_pharmacy_ids=(VALLETTA.id, SLIEMA.id),
            unassigned_reason="no_rider",
            picked_up_at=NOW,
        )
        set_ = orders_repo.get_order(tx, order.id)
    assert set_.rider_id == rider
    assert set_.candidate_pharmacy_ids == (VALLETTA.id, SLIEMA.id)
    assert set_.unassigned_reason == "no_rider"
    assert set_.picked_up_at == NOW
    assert (set_.status, set_.pharmacy_id) == (order.status, order.pharmacy_id)
    assert set_.version == order.version + 1

    with db.transaction() as tx:
        orders_repo.update_order(
            tx,
            order.id,
            status=OrderStatus.ON_HOLD,
            held_from=OrderStatus.SOURCED,
            unassigned_reason=None,
            dispatched_by="greedy",
        )
        cleared = orders_repo.get_order(tx, order.id)
    assert cleared.status is OrderStatus.ON_HOLD
    assert cleared.held_from is OrderStatus.SOURCED
    assert cleared.unassigned_reason is None
    assert cleared.dispatched_by == "greedy"
    assert cleared.rider_id == rider  # left out: kept
    assert cleared.picked_up_at == NOW
    assert cleared.version == order.version + 2

    with db.transaction() as tx, pytest.raises(TypeError):
        orders_repo.update_order(tx, order.id)
