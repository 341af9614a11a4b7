"""Per-box sequence bookkeeping (pure): which seqs a batch skipped or filled.

A logger numbers its readings with a monotonic ``seq`` that restarts at boot
(wire contract: a reading is identified by ``(box_id, seq, ts)``). Per box the
cursor is the highest seq of the current boot epoch and its device time. Fed a
box's newly stored readings in device order, :func:`advance`

- opens a gap ``[high + 1, seq - 1]`` for a reading beyond ``high + 1``;
- treats a reading at or below ``high`` with a *later* device time than the
  cursor as a reboot: a new epoch starts there and no gap is opened;
- treats any reading older (device time) than the cursor as late, whatever
  its seq (it may be a previous epoch's, or fill an open gap: the caller
  recounts that box's open gaps). A logger whose clock jumps back within an
  epoch therefore looks late until its clock passes the cursor again.

The first reading ever seen of a box starts its cursor without a gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Advance", "Cursor", "Gap", "advance", "split_range"]


@dataclass(frozen=True, slots=True)
class Cursor:
    """Highest seq of a box's current boot epoch, and its device time."""

    high_seq: int
    high_at: datetime


@dataclass(frozen=True, slots=True)
class Gap:
    """Seqs ``from_seq..to_seq`` (both included) missing between two readings
    whose device times are ``after_at`` and ``before_at``."""

    from_seq: int
    to_seq: int
    after_at: datetime
    before_at: datetime

    @property
    def size(self) -> int:
        return self.to_seq - self.from_seq + 1


@dataclass(frozen=True, slots=True)
class Advance:
    """What a box's batch did to its sequence."""

    cursor: Cursor | None
    gaps: list[Gap]
    late: bool
    restarts: int


def advance(cursor: Cursor | None, samples: Iterable[tuple[int, datetime]]) -> Advance:
    """Feed ``(seq, device time)`` pairs (any order; sorted here by device time
    then seq) to ``cursor``."""
    gaps: list[Gap] = []
    late = False
    restarts = 0
    for seq, at in sorted(samples, key=lambda s: (s[1], s[0])):
        if cursor is None:
            cursor = Cursor(seq, at)
        elif (at, seq) <= (cursor.high_at, cursor.high_seq):
            late = True  # older than the cursor: this or a previous epoch's
        elif seq > cursor.high_seq:
            if seq > cursor.high_seq + 1:
                gaps.append(Gap(cursor.high_seq + 1, seq - 1, cursor.high_at, at))
            cursor = Cursor(seq, at)
        else:  # newer, but numbered from the start again
            restarts += 1
            cursor = Cursor(seq, at)
    return Advance(cursor, gaps, late, restarts)


def split_range(
    from_seq: int, to_seq: int, cut_from: int, cut_to: int
) -> tuple[tuple[int, int] | None, list[tuple[int, int]]]:
    """Cut ``cut_from..cut_to`` out of ``from_seq..to_seq``: the overlap (None
    when there is none) and the remaining ranges (0, 1 or 2 of them)."""
    lo, hi = max(from_seq, cut_from), min(to_seq, cut_to)
    if lo > hi:
        return None, [(from_seq, to_seq)]
    rest = []
    if from_seq < lo:
        rest.append((from_seq, lo - 1))
    if hi < to_seq:
        rest.append((hi + 1, to_seq))
    return (lo, hi), rest
