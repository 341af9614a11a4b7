"""Gap bookkeeping of the sequence audit (pure): gaps, late readings, reboots,
cutting a "not held" range out of a gap, and the logger's "not held" answer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from telemetry.codec import decode_not_held
from telemetry.errors import PayloadRejected, RejectReason
from telemetry.seq_audit import Cursor, Gap, advance, split_range

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def at(seq: int) -> datetime:
    return T0 + timedelta(seconds=30 * seq)


def test_contiguous_readings_open_no_gap_and_move_the_cursor() -> None:
    result = advance(None, [(s, at(s)) for s in (1, 2, 3)])
    assert result.gaps == []
    assert not result.late
    assert result.restarts == 0
    assert result.cursor == Cursor(3, at(3))


def test_skipped_seqs_open_one_gap_between_the_readings_around_it() -> None:
    result = advance(Cursor(3, at(3)), [(7, at(7)), (8, at(8)), (11, at(11))])
    assert result.gaps == [Gap(4, 6, at(3), at(7)), Gap(9, 10, at(8), at(11))]
    assert result.cursor == Cursor(11, at(11))
    assert [g.size for g in result.gaps] == [3, 2]


def test_a_batch_out_of_order_is_sorted_by_device_time_first() -> None:
    result = advance(Cursor(1, at(1)), [(4, at(4)), (2, at(2)), (3, at(3))])
    assert result.gaps == []
    assert not result.late
    assert result.cursor == Cursor(4, at(4))


def test_a_late_reading_is_flagged_and_does_not_move_the_cursor() -> None:
    result = advance(Cursor(10, at(10)), [(5, at(5))])
    assert result.late
    assert result.gaps == []
    assert result.restarts == 0
    assert result.cursor == Cursor(10, at(10))


def test_a_reboot_starts_a_new_epoch_without_a_bogus_gap() -> None:
    later = at(500)
    result = advance(
        Cursor(400, at(400)), [(1, later), (2, later + timedelta(seconds=30))]
    )
    assert result.gaps == []
    assert result.restarts == 1
    assert not result.late
    assert result.cursor == Cursor(2, later + timedelta(seconds=30))
    # the new epoch is audited like the old one
    assert advance(result.cursor, [(5, later + timedelta(days=1))]).gaps == [
        Gap(3, 4, later + timedelta(seconds=30), later + timedelta(days=1))
    ]


def test_a_late_reading_of_the_previous_epoch_is_late_not_a_new_gap() -> None:
    rebooted = Cursor(2, at(500))
    result = advance(rebooted, [(7, at(7))])
    assert (result.gaps, result.late, result.cursor) == ([], True, rebooted)


def test_the_first_reading_of_a_box_starts_its_cursor_without_a_gap() -> None:
    result = advance(None, [(1234, at(1))])
    assert result.gaps == []
    assert result.cursor == Cursor(1234, at(1))


@pytest.mark.parametrize(
    ("cut", "overlap", "rest"),
    [
        ((1, 2), None, [(5, 9)]),
        ((5, 9), (5, 9), []),
        ((0, 100), (5, 9), []),
        ((3, 6), (5, 6), [(7, 9)]),
        ((8, 12), (8, 9), [(5, 7)]),
        ((6, 7), (6, 7), [(5, 5), (8, 9)]),
    ],
)
def test_split_range_cuts_the_overlap_out(
    cut: tuple[int, int],
    overlap: tuple[int, int] | None,
    rest: list[tuple[int, int]],
) -> None:
    assert split_range(5, 9, *cut) == (overlap, rest)


def test_a_not_held_answer_decodes_to_its_range() -> None:
    assert decode_not_held(b'{"not_held": {"from_seq": 3, "to_seq": 7}}') == (3, 7)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"not_held": 3}', RejectReason.NOT_AN_OBJECT),
        (b'{"not_held": {"from_seq": 3}}', RejectReason.MISSING_FIELD),
        (b'{"not_held": {"from_seq": "3", "to_seq": 4}}', RejectReason.WRONG_TYPE),
        (b'{"not_held": {"from_seq": 1.5, "to_seq": 4}}', RejectReason.WRONG_TYPE),
        (b'{"not_held": {"from_seq": 5, "to_seq": 4}}', RejectReason.IMPLAUSIBLE_VALUE),
        (
            b'{"not_held": {"from_seq": -1, "to_seq": 4}}',
            RejectReason.IMPLAUSIBLE_VALUE,
        ),
        (b'{"not_held": ', RejectReason.MALFORMED_JSON),
    ],
)
def test_a_bad_not_held_answer_is_rejected_with_a_reason(
    payload: bytes, reason: RejectReason
) -> None:
    with pytest.raises(PayloadRejected) as caught:
        decode_not_held(payload)
    assert caught.value.reason is reason
