"""Excursion detection on committed readings: streaming per box, recompute when late.

Each box has a :class:`~telemetry.excursions.BoxTracker` fed in device order. A
batch whose readings are older than what the tracker has seen (a logger uploading
its buffer), or a box this worker has not seen yet, is recomputed from the stored
history (two cumulative windows back) and reconciled with the stored episodes, so
late data gives the same episodes as in-order data and never a second alert.

A worker that just started knows no box: :meth:`ExcursionMonitor.prime` warms the
trackers of a batch's new boxes from their history *before* the batch's write
transaction opens (one read-only query per batch, nothing locked while it runs),
so in-order readings after a restart are fed to warm trackers inside the write
transaction instead of each box re-reading two cumulative windows there.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from telemetry import excursion_store
from telemetry.excursions import BoxRules, BoxTracker, Episode, SampleLike
from telemetry.model import BoxId
from telemetry.store import TelemetryStore

__all__ = ["ExcursionMonitor"]

log = logging.getLogger(__name__)

#: episodes to reconcile for a box, and the instant a full recomputation covers
_Touch = tuple[list[Episode], datetime | None]


def _device_order(sample: SampleLike) -> tuple[datetime, int]:
    return sample.recorded_at, sample.seq


class ExcursionMonitor:
    """Turns newly stored samples into persisted excursion episodes."""

    def __init__(
        self, store: TelemetryStore, rules_of: Callable[[BoxId], BoxRules | None]
    ) -> None:
        self._store = store
        self._rules_of = rules_of
        self._trackers: dict[BoxId, BoxTracker] = {}
        self._silent: set[BoxId] | None = None
        self.recomputations = 0
        self.primed = 0

    def process(self, inserted: Sequence[tuple[BoxId, SampleLike]]) -> list[int]:
        """Detect and persist; ids of newly created excursions (to notify)."""
        by_box: dict[BoxId, list[SampleLike]] = defaultdict(list)
        for box, sample in inserted:
            by_box[box].append(sample)
        touched: dict[BoxId, _Touch] = {}
        late: dict[BoxId, SampleLike] = {}
        rules_of, trackers = self._rules_of, self._trackers
        for box, samples in by_box.items():
            rules = rules_of(box)
            if rules is None:
                continue
            if len(samples) > 1:
                samples.sort(key=_device_order)
            tracker = trackers.get(box)
            if tracker is not None and tracker.rules is not rules:
                if tracker.rules == rules:  # the registry was re-read, unchanged
                    tracker.rules = rules
                else:
                    tracker = None
            if tracker is None or not tracker.accepts(samples[0]):
                late[box] = samples[0]
                continue
            episodes = tracker.feed(samples)
            if episodes:
                touched[box] = (episodes, None)
        if late:
            touched.update(self._recompute(late))
        try:
            return self._persist(touched, list(by_box))
        except Exception:
            for box in touched:  # the next batch recomputes them from history
                self._trackers.pop(box, None)
            raise

    def prime(self, first_at: dict[BoxId, datetime]) -> int:
        """Warm the trackers of boxes this worker has not seen yet from their
        stored history (two cumulative windows before each box's first new
        reading), outside any write transaction; how many were warmed. Their
        stored episodes are not reconciled again: only what the new readings
        change is. A box whose new readings turn out older than its history is
        still recomputed by :meth:`process`."""
        cold = {
            box: at
            for box, at in first_at.items()
            if box not in self._trackers and self._rules_of(box) is not None
        }
        if not cold:
            return 0
        since = {}
        for box, at in cold.items():
            rules = self._rules_of(box)
            assert rules is not None  # noqa: S101 - filtered above
            since[box] = at - 2 * timedelta(seconds=rules.profile.cumulative_window_s)
        history = self._store.history(since)
        for box, samples in history.items():
            rules = self._rules_of(box)
            assert rules is not None  # noqa: S101
            tracker = BoxTracker(rules)
            tracker.feed(samples)
            self._trackers[box] = tracker
        self.primed += len(history)
        return len(history)

    def _recompute(self, late: dict[BoxId, SampleLike]) -> dict[BoxId, _Touch]:
        windows = {}
        for box in late:
            rules = self._rules_of(box)
            assert rules is not None  # noqa: S101 - filtered by the caller
            windows[box] = timedelta(seconds=rules.profile.cumulative_window_s)
        history = self._store.history(
            {box: late[box].recorded_at - 2 * windows[box] for box in late}
        )
        out: dict[BoxId, _Touch] = {}
        for box, samples in history.items():
            rules = self._rules_of(box)
            assert rules is not None  # noqa: S101
            tracker = BoxTracker(rules)
            episodes = tracker.feed(samples)
            self._trackers[box] = tracker
            retract_from = late[box].recorded_at - windows[box]
            kept = [e for e in episodes if e.started_at >= retract_from]
            out[box] = (kept, retract_from)
            self.recomputations += 1
        return out

    def _persist(self, touched: dict[BoxId, _Touch], boxes: list[BoxId]) -> list[int]:
        created: list[int] = []
        silent_back = []
        now = self._store.clock.now()
        with self._store.transaction() as conn:
            if self._silent is None:
                self._silent = excursion_store.open_silences(conn)
            silent_back = [b for b in boxes if b in self._silent]
            if silent_back:
                excursion_store.resolve_silences(conn, silent_back, now=now)
            # a recomputation with no episodes matters only where rows exist
            quiet = {
                b: t[1] for b, t in touched.items() if not t[0] and t[1] is not None
            }
            stored = (
                excursion_store.boxes_with_episodes(
                    conn, list(quiet), min(quiet.values())
                )
                if quiet
                else set()
            )
            for box, (episodes, retract_from) in touched.items():
                if not episodes and (retract_from is None or box not in stored):
                    continue
                rules = self._rules_of(box)
                assert rules is not None  # noqa: S101
                created += excursion_store.reconcile(
                    conn,
                    box,
                    episodes,
                    profile_code=rules.profile.code,
                    retract_from=retract_from,
                    now=now,
                )
        self._silent.difference_update(silent_back)
        return created

    def check_silence(self) -> list[int]:
        """Open ``box_silent`` episodes for boxes quiet as of the business clock's
        now; ids of the new ones."""
        now = self._store.clock.now()
        with self._store.transaction() as conn:
            created = excursion_store.start_silences(conn, now=now)
            self._silent = excursion_store.open_silences(conn)
        return created
