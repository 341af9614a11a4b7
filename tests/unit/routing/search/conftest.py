"""Fixtures of the search tests: group searches that do not depend on host speed."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from routing.search import decomposition, elimination

LONG_SLICE_S = 60.0
"""A group's search time in the tests that re-plan groups: far more than a group
needs to reach its local optimum by greedy descent (under 0.5 s of CPU here), so a
host ten times slower still stops every group there, not at its time limit."""


@pytest.fixture
def group_deadline(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], float]:
    """Slices of ``LONG_SLICE_S`` for both group loops, and the deadline that lets
    groups start for the given number of seconds (a loop starts no group within
    half a slice of its deadline). With greedy descent, what each group returns is
    then the same on any host; only how many groups start depends on its speed,
    and the first always does."""
    monkeypatch.setattr(decomposition, "SLICE_S", LONG_SLICE_S)
    monkeypatch.setattr(elimination, "SLICE_S", LONG_SLICE_S)

    def deadline(seconds: float) -> float:
        return time.monotonic() + LONG_SLICE_S / 2 + seconds

    return deadline
