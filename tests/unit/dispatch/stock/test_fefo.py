"""FEFO lot choice and candidate pharmacies."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dispatch.domain import GeoPoint, Pharmacy, PharmacyId, Product, Sku, StockLot
from dispatch.orders.order import OrderLine
from dispatch.stock.fefo import (
    allocate_fefo,
    candidate_pharmacies,
    nearest_pharmacy,
    usable_lots,
)

DAY = date(2026, 11, 21)
A, B = PharmacyId("a"), PharmacyId("b")
X = Product(Sku("X"), "x")
Y = Product(Sku("Y"), "y", min_shelf_life_days=90)


def lot(i, pharmacy=A, sku="X", days=100, qty=10, reserved=0):
    return StockLot(
        i, pharmacy, Sku(sku), f"L{i}", DAY + timedelta(days=days), qty, reserved
    )


def test_lots_too_close_to_expiry_are_unusable():
    """Expiry before delivery + min shelf life excludes a lot; the boundary stays."""
    lots = [lot(1, days=29), lot(2, days=30), lot(3, days=31)]
    assert [x.id for x in usable_lots(lots, X, DAY)] == [2, 3]


def test_product_specific_shelf_life_applies():
    """A 90-day product rejects a lot that a 30-day product would accept."""
    assert usable_lots([lot(1, sku="Y", days=60)], Y, DAY) == []


def test_fefo_takes_earliest_expiry_first_and_skips_fully_reserved():
    """Units come from the soonest-expiring lots with free units."""
    lots = usable_lots(
        [lot(1, days=300), lot(2, days=100, qty=3), lot(3, days=50, qty=5, reserved=5)],
        X,
        DAY,
    )
    assert allocate_fefo(lots, 5) == [(2, 3), (1, 2)]


def test_fefo_returns_nothing_when_short():
    """If all usable lots together are short, nothing is allocated."""
    assert allocate_fefo(usable_lots([lot(1, qty=2)], X, DAY), 3) == []


@given(
    st.lists(st.tuples(st.integers(30, 400), st.integers(0, 20)), max_size=8),
    st.integers(1, 60),
)
def test_fefo_allocation_is_exact_and_never_exceeds_a_lot(specs, quantity):
    """Allocated units sum to the request and never exceed a lot's free units."""
    lots = usable_lots(
        [lot(i, days=d, qty=q) for i, (d, q) in enumerate(specs)], X, DAY
    )
    picks = allocate_fefo(lots, quantity)
    free = {x.id: x.available for x in lots}
    if sum(free.values()) >= quantity:
        assert sum(u for _, u in picks) == quantity
        assert all(0 < u <= free[i] for i, u in picks)
        used = [next(x for x in lots if x.id == i) for i, _ in picks]
        assert used == sorted(used, key=lambda x: (x.expiry_date, x.id))
    else:
        assert picks == []


def test_candidates_must_fill_every_line():
    """A pharmacy missing one line is not a candidate."""
    lots = [lot(1, A), lot(2, A, sku="Y", days=200), lot(3, B)]
    lines = [OrderLine(X.sku, 2), OrderLine(Y.sku, 1)]
    assert candidate_pharmacies(lines, {X.sku: X, Y.sku: Y}, lots, DAY) == [A]


def test_nearest_pharmacy_by_great_circle():
    """The closest candidate wins."""
    pharmacies = {
        A: Pharmacy(A, "a", GeoPoint(35.90, 14.51), "1"),
        B: Pharmacy(B, "b", GeoPoint(35.88, 14.40), "2"),
    }
    assert nearest_pharmacy([A, B], pharmacies, GeoPoint(35.89, 14.41)) == B
    assert nearest_pharmacy([], pharmacies, GeoPoint(35.89, 14.41)) is None
