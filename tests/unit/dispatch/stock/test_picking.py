"""The pickup scan rule (pure)."""

from __future__ import annotations

import pytest

from dispatch.errors import LotMismatch
from dispatch.stock.picking import check_scan


def test_exact_scan_passes_in_any_order_and_with_repeats() -> None:
    """The same set of lots, scanned in any order (or twice), is accepted."""
    check_scan("o-1", [3, 7], [7, 3, 7])


@pytest.mark.parametrize(
    ("scanned", "missing", "unexpected"),
    [([], 2, 0), ([3], 1, 0), ([3, 7, 9], 0, 1), ([9], 2, 1)],
)
def test_any_difference_is_a_lot_mismatch(
    scanned: list[int], missing: int, unexpected: int
) -> None:
    """Missing or foreign lots are counted in the typed error."""
    with pytest.raises(LotMismatch) as raised:
        check_scan("o-1", [3, 7], scanned)
    assert (raised.value.missing, raised.value.unexpected) == (missing, unexpected)
    assert raised.value.code == "lot_mismatch"
