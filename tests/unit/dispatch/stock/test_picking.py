"""The pickup scan rule (pure)."""

from __future__ import annotations

import pytest

from dispatch.errors import LotMismatch
from dispatch.stock.picking import check_scan


def test_exact_scan_passes_in_any_order_and_with_repeats() -> None:
    """The same set of lots, scanned in any order (or twice), is accepted."""
    check_scan("o-1", [3, 7], [7, 3, 7])


@pytest.mark.parametrize("scanned", [[], [3], [3, 7, 9], [9]])
def test_any_difference_is_a_lot_mismatch_that_reveals_no_counts(
    scanned: list[int],
) -> None:
    """Missing or foreign lots raise the typed error; its message says nothing
    about how many (issue 20: "1 missing, 0 unexpected" guided guessing)."""
    with pytest.raises(LotMismatch) as raised:
        check_scan("o-1", [3, 7], scanned)
    assert raised.value.code == "lot_mismatch"
    assert str(raised.value) == "scanned lots of order 'o-1' do not match its pick list"


def test_scan_codes_are_random_base32_and_typed_forms_normalise() -> None:
    """120 random bits as 24 base32 characters; a label's grouping is ignored."""
    from dispatch.stock.scan_codes import new_scan_code, normalize_scan_code

    codes = {new_scan_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(
        len(c) == 24 and set(c) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        for c in codes
    )
    code = next(iter(codes))
    typed = "-".join(code[i : i + 4] for i in range(0, 24, 4)).lower()
    assert normalize_scan_code(typed) == code
    check_scan("o-1", [code], [normalize_scan_code(typed)])
