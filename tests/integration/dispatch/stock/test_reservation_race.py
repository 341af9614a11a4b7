"""Many clients racing for the last units never over-allocate."""

from __future__ import annotations

import threading
from datetime import timedelta

from dispatch.adapters.postgres import catalogue
from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.unit_of_work import Database
from dispatch.errors import NoPharmacyHasStock
from dispatch.orders.intake import submit_order
from dispatch.orders.order import OrderStatus
from tests.integration.dispatch.conftest import (
    AMOX,
    MDINA,
    TODAY,
    VALLETTA,
    add_lot,
    make_request,
    seed_catalogue,
)

CLIENTS = 24


def _race(db: Database, quantity: int) -> tuple[list[str], list[BaseException]]:
    barrier = threading.Barrier(CLIENTS)
    placed: list[str] = []
    refused: list[BaseException] = []
    lock = threading.Lock()

    def client() -> None:
        request = make_request([(AMOX, quantity)])
        barrier.wait()
        try:
            with db.transaction() as tx:  # each thread holds its own pool connection
                order = submit_order(tx, request, actor="race")
            with lock:
                placed.append(order.id)
        except BaseException as exc:  # collected and asserted on
            with lock:
                refused.append(exc)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return placed, refused


def test_concurrent_clients_never_over_allocate_the_last_units(db):
    """24 clients race for 10 units in two lots: exactly 10 win, none oversold."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 6, TODAY + timedelta(days=200))
    add_lot(db, VALLETTA, AMOX, 4, TODAY + timedelta(days=300))
    placed, refused = _race(db, quantity=1)
    assert len(placed) == 10
    assert len(refused) == CLIENTS - 10
    assert all(isinstance(exc, NoPharmacyHasStock) for exc in refused)
    with db.transaction() as tx:
        lots = catalogue.list_lots(tx)
        assert sum(lot.quantity_reserved for lot in lots) == 10
        assert all(lot.quantity_reserved <= lot.quantity_on_hand for lot in lots)
        orders = orders_repo.list_orders(tx)
    assert len(orders) == 10
    assert all(o.status is OrderStatus.SOURCED for o in orders)


def test_race_across_pharmacies_spills_over_without_double_selling(db):
    """When the nearest pharmacy sells out mid-race, winners spill to the next one."""
    seed_catalogue(db)
    add_lot(db, VALLETTA, AMOX, 7, TODAY + timedelta(days=200))
    add_lot(db, MDINA, AMOX, 5, TODAY + timedelta(days=200))
    placed, refused = _race(db, quantity=2)
    # 3 orders fit Valletta (6 of 7 units), 2 fit Mdina (4 of 5 units)
    assert len(placed) == 5
    assert all(isinstance(exc, NoPharmacyHasStock) for exc in refused)
    with db.transaction() as tx:
        by_pharmacy = {
            lot.pharmacy_id: lot.quantity_reserved for lot in catalogue.list_lots(tx)
        }
    assert by_pharmacy == {VALLETTA.id: 6, MDINA.id: 4}
