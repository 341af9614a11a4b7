"""Pure excursion rules in device time: runs, episodes, MKT, temperature records.

A *run* is a stretch in which a condition holds, opened by an entering sample and
closed (with hysteresis) by the first leaving sample. A run becomes an alarming
*episode* when it lasts the profile's single-event delay, or when it pushes the
cumulative time of its kind within the profile's window past the budget. Samples
of a box are fed in ``(recorded_at, seq)`` order; :func:`detect_episodes` is the
batch form used for recomputation, :class:`BoxTracker` the streaming form. Both run
the same code, so a recomputation reproduces what streaming saw.

No I/O here: callers load samples and persist episodes.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple, Protocol

__all__ = [
    "DELTA_H_OVER_R_K",
    "MKT_WINDOW_COLD_S",
    "MKT_WINDOW_ROOM_S",
    "BoxRules",
    "BoxTracker",
    "Episode",
    "ExcursionAssessment",
    "ExcursionKind",
    "Rule",
    "Sample",
    "SampleLike",
    "TemperatureProfile",
    "TemperatureRecord",
    "assess_excursion",
    "detect_episodes",
    "mean_kinetic_temperature_c",
    "mkt_window_s",
    "temperature_record",
]

#: ΔH / R for ΔH = 83.144 kJ/mol and R = 8.3144e-3 kJ/(mol·K) (USP <1160>): 10,000 K.
DELTA_H_OVER_R_K = 83.144 / 8.3144e-3
_KELVIN = 273.15


class ExcursionKind(StrEnum):
    TEMPERATURE_HIGH = "temperature_high"
    TEMPERATURE_LOW = "temperature_low"
    BOX_SILENT = "box_silent"
    SEQ_GAP = "seq_gap"  # a gap in the box's seq stayed open (telemetry.seq_auditor)
    LOW_BATTERY = "low_battery"
    DOOR_OPEN = "door_open"


class Rule(StrEnum):
    SINGLE_EVENT = "single_event"
    CUMULATIVE = "cumulative"
    THRESHOLD = "threshold"


@dataclass(frozen=True, slots=True)
class TemperatureProfile:
    """A product's labelled range and allowed excursion (stored as data)."""

    code: str
    low_c: float
    high_c: float
    hysteresis_c: float = 0.5
    single_event_delay_s: float = 1800.0
    cumulative_budget_s: float = 3600.0
    cumulative_window_s: float = 86400.0

    def __post_init__(self) -> None:
        if not self.low_c < self.high_c:
            raise ValueError("low_c must be below high_c")
        if not 0 <= 2 * self.hysteresis_c < self.high_c - self.low_c:
            raise ValueError("hysteresis_c must fit twice inside the range")
        if min(self.single_event_delay_s, self.cumulative_budget_s) < 0:
            raise ValueError("delays and budgets must be >= 0")
        if self.cumulative_window_s <= 0:
            raise ValueError("cumulative_window_s must be > 0")


@dataclass(frozen=True, slots=True)
class BoxRules:
    """Everything the detector needs for one box: its profile and device limits."""

    profile: TemperatureProfile
    low_battery_pct: float = 15.0
    battery_hysteresis_pct: float = 5.0
    door_open_max_s: float = 120.0
    report_interval_s: float = 60.0
    silent_after_intervals: int = 3

    @property
    def silent_after_s(self) -> float:
        """Seconds without a reading after which the box counts as silent."""
        return self.report_interval_s * self.silent_after_intervals


class SampleLike(Protocol):
    """What the detector reads of a sample: a :class:`Sample`, or a stored
    reading as it is (``telemetry.model.Reading`` has these fields)."""

    @property
    def recorded_at(self) -> datetime: ...
    @property
    def seq(self) -> int: ...
    @property
    def temp_c(self) -> float: ...
    @property
    def battery_pct(self) -> float | None: ...
    @property
    def door_open(self) -> bool | None: ...


class Sample(NamedTuple):
    """What the detector reads of a reading (a named tuple: one per reading)."""

    recorded_at: datetime
    seq: int
    temp_c: float
    battery_pct: float | None = None
    door_open: bool | None = None


@dataclass(frozen=True, slots=True)
class Episode:
    """An alarming run. ``ended_at`` is None while the condition still holds."""

    kind: ExcursionKind
    rule: Rule
    started_at: datetime
    alarmed_at: datetime
    ended_at: datetime | None
    peak_c: float | None

    def overlaps(self, started_at: datetime, ended_at: datetime | None) -> bool:
        """Whether this span meets ``[started_at, ended_at]`` (None: open)."""
        mine_end, other_end = self.ended_at, ended_at
        return (other_end is None or self.started_at <= other_end) and (
            mine_end is None or started_at <= mine_end
        )


Predicate = Callable[[SampleLike], bool | None]  # None: the sample says nothing


@dataclass(frozen=True, slots=True)
class _Condition:
    """What one condition watches (shared by every box with the same rules)."""

    kind: ExcursionKind
    enters: Predicate
    leaves: Predicate
    delay_s: float
    budget_s: float | None
    window_s: float
    peak: Callable[[SampleLike], float | None]
    prefer_max: bool = True


class _ConditionTracker:
    """Run state of one condition on one box."""

    __slots__ = ("_alarm", "_last_at", "_peak", "_prior", "_start", "spec")

    def __init__(self, spec: _Condition) -> None:
        self.spec = spec
        self._start: datetime | None = None
        self._last_at: datetime | None = None
        self._peak: float | None = None
        self._alarm: tuple[datetime, Rule] | None = None
        self._prior: deque[tuple[datetime, float]] = deque()

    def feed(self, sample: SampleLike) -> Episode | None:
        """Advance by one sample; the current or just-closed episode, if alarming."""
        if self._start is None:
            if self.spec.enters(sample):
                self._start, self._peak, self._alarm = sample.recorded_at, None, None
                self._extend(sample)
                return self._episode(None)
            return None
        if self.spec.leaves(sample):
            return self._close(sample.recorded_at)
        self._extend(sample)
        return self._episode(None)

    def _extend(self, sample: SampleLike) -> None:
        self._last_at = sample.recorded_at
        value = self.spec.peak(sample)
        if value is not None and (
            self._peak is None or (value > self._peak) == self.spec.prefer_max
        ):
            self._peak = value
        assert self._start is not None  # noqa: S101 - only called inside a run
        if self._alarm is None:
            self._alarm = self._alarm_time(self._start, self._last_at)

    def _alarm_time(
        self, start: datetime, now: datetime
    ) -> tuple[datetime, Rule] | None:
        spec = self.spec
        elapsed_s = (now - start).total_seconds()
        candidates: list[tuple[datetime, Rule]] = []
        if elapsed_s >= spec.delay_s:
            candidates.append(
                (start + timedelta(seconds=spec.delay_s), Rule.SINGLE_EVENT)
            )
        if spec.budget_s is not None:
            horizon = start - timedelta(seconds=spec.window_s)
            while self._prior and self._prior[0][0] < horizon:
                self._prior.popleft()
            left_s = max(0.0, spec.budget_s - sum(d for _, d in self._prior))
            if elapsed_s >= left_s:
                candidates.append((start + timedelta(seconds=left_s), Rule.CUMULATIVE))
        return min(
            candidates, key=lambda c: (c[0], c[1] != Rule.SINGLE_EVENT), default=None
        )

    def _close(self, at: datetime) -> Episode | None:
        assert self._start is not None  # noqa: S101
        self._alarm = self._alarm or self._alarm_time(self._start, at)
        episode = self._episode(at)
        self._prior.append((self._start, (at - self._start).total_seconds()))
        self._start = None
        return episode

    def _episode(self, ended_at: datetime | None) -> Episode | None:
        if self._alarm is None or self._start is None:
            return None
        return Episode(
            self.spec.kind,
            self._alarm[1],
            self._start,
            self._alarm[0],
            ended_at,
            self._peak,
        )


@functools.lru_cache(maxsize=1024)
def _conditions(rules: BoxRules) -> tuple[_Condition, ...]:
    p, window = rules.profile, rules.profile.cumulative_window_s
    low_bat, bat_back = (
        rules.low_battery_pct,
        rules.low_battery_pct + rules.battery_hysteresis_pct,
    )

    def temp(s: SampleLike) -> float:
        return s.temp_c

    def battery(s: SampleLike) -> float | None:
        return s.battery_pct

    return (
        _Condition(
            ExcursionKind.TEMPERATURE_HIGH,
            lambda s: s.temp_c > p.high_c,
            lambda s: s.temp_c <= p.high_c - p.hysteresis_c,
            p.single_event_delay_s,
            p.cumulative_budget_s,
            window,
            temp,
        ),
        _Condition(
            ExcursionKind.TEMPERATURE_LOW,
            lambda s: s.temp_c < p.low_c,
            lambda s: s.temp_c >= p.low_c + p.hysteresis_c,
            p.single_event_delay_s,
            p.cumulative_budget_s,
            window,
            temp,
            prefer_max=False,
        ),
        _Condition(
            ExcursionKind.LOW_BATTERY,
            lambda s: s.battery_pct is not None and s.battery_pct < low_bat,
            lambda s: s.battery_pct is not None and s.battery_pct >= bat_back,
            0.0,
            None,
            window,
            battery,
            prefer_max=False,
        ),
        _Condition(
            ExcursionKind.DOOR_OPEN,
            lambda s: s.door_open is True,
            lambda s: s.door_open is False,
            rules.door_open_max_s,
            None,
            window,
            lambda s: None,
        ),
    )


class BoxTracker:
    """Streaming detector of one box; feed samples in ``(recorded_at, seq)`` order."""

    def __init__(self, rules: BoxRules) -> None:
        self.rules = rules
        self._conditions = [_ConditionTracker(c) for c in _conditions(rules)]
        self.last_key: tuple[datetime, int] | None = None

    def accepts(self, sample: SampleLike) -> bool:
        """Whether ``sample`` comes after everything fed so far (else: recompute)."""
        return self.last_key is None or (sample.recorded_at, sample.seq) > self.last_key

    def feed(self, samples: Iterable[SampleLike]) -> list[Episode]:
        """Feed in-order samples; the alarming episodes they created or changed."""
        touched: dict[tuple[ExcursionKind, datetime], Episode] = {}
        for sample in samples:
            if not self.accepts(sample):
                raise ValueError("sample out of order; recompute instead")
            self.last_key = (sample.recorded_at, sample.seq)
            for condition in self._conditions:
                episode = condition.feed(sample)
                if episode is not None:
                    touched[(episode.kind, episode.started_at)] = episode
        return list(touched.values())


def detect_episodes(samples: Iterable[SampleLike], rules: BoxRules) -> list[Episode]:
    """All alarming episodes of ``samples`` (any order; duplicates by seq ignored)."""
    unique = {(s.recorded_at, s.seq): s for s in samples}
    tracker = BoxTracker(rules)
    final: dict[tuple[ExcursionKind, datetime], Episode] = {}
    for episode in tracker.feed(unique[k] for k in sorted(unique)):
        final[(episode.kind, episode.started_at)] = episode
    return sorted(final.values(), key=lambda e: (e.started_at, e.kind))


def _weights_s(times: list[datetime], max_gap_s: float | None) -> list[float]:
    """Seconds each sample stands for: the interval to the next one (last: previous)."""
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    if not gaps:
        return [1.0] * len(times)
    weights = [*gaps, gaps[-1]]
    return [min(w, max_gap_s) if max_gap_s else w for w in weights]


def mean_kinetic_temperature_c(
    temps_c: list[float], weights_s: list[float] | None = None
) -> float:
    """Time-weighted MKT (Haynes; ΔH = 83.144 kJ/mol), in °C.

    ``T_MKT = (ΔH/R) / -ln(Σ t_i·exp(-ΔH/(R·T_i)) / Σ t_i)`` with T in kelvin.
    Equal weights when ``weights_s`` is None.
    """
    if not temps_c:
        raise ValueError("MKT needs at least one temperature")
    weights = weights_s or [1.0] * len(temps_c)
    # factor out the largest term so the sum neither underflows nor loses precision
    exponents = [-DELTA_H_OVER_R_K / (t + _KELVIN) for t in temps_c]
    top = max(exponents)
    total = math.fsum(
        w * math.exp(e - top) for w, e in zip(weights, exponents, strict=True)
    )
    mean_log = top + math.log(total / math.fsum(weights))
    return DELTA_H_OVER_R_K / -mean_log - _KELVIN


@dataclass(frozen=True, slots=True)
class TemperatureRecord:
    """A delivery's temperature summary for its proof of delivery."""

    readings: int
    first_at: datetime | None
    last_at: datetime | None
    min_c: float | None
    max_c: float | None
    mkt_c: float | None
    minutes_out_of_range: float
    profile_code: str


def temperature_record(
    samples: Iterable[SampleLike], profile: TemperatureProfile, max_gap_s: float = 900.0
) -> TemperatureRecord:
    """Min, max, MKT and minutes outside the labelled range of ``samples``.

    Each sample stands for the time until the next one, capped at ``max_gap_s`` so
    a silent logger does not stretch one value over hours.
    """
    ordered = sorted({(s.recorded_at, s.seq): s for s in samples}.items())
    if not ordered:
        return TemperatureRecord(0, None, None, None, None, None, 0.0, profile.code)
    series = [s for _, s in ordered]
    temps = [s.temp_c for s in series]
    weights = _weights_s([s.recorded_at for s in series], max_gap_s)
    out_s = math.fsum(
        w
        for w, t in zip(weights, temps, strict=True)
        if not profile.low_c <= t <= profile.high_c
    )
    if len(series) == 1:
        out_s = 0.0 if profile.low_c <= temps[0] <= profile.high_c else out_s
    return TemperatureRecord(
        len(series),
        series[0].recorded_at,
        series[-1].recorded_at,
        min(temps),
        max(temps),
        mean_kinetic_temperature_c(temps, weights),
        out_s / 60.0,
        profile.code,
    )


#: USP <1079.2>: MKT evaluates an excursion over 24 consecutive hours for
#: controlled-cold products and 30 consecutive days for controlled room
#: temperature products, in both cases including the excursion.
MKT_WINDOW_COLD_S = 86_400.0
MKT_WINDOW_ROOM_S = 30 * 86_400.0
#: a band whose top is at or below this is a cold one (refrigerated, frozen)
_COLD_TOP_C = 8.0


def mkt_window_s(high_c: float) -> float:
    """Length of the MKT evaluation window of a band with top ``high_c``."""
    return MKT_WINDOW_COLD_S if high_c <= _COLD_TOP_C else MKT_WINDOW_ROOM_S


@dataclass(frozen=True, slots=True)
class ExcursionAssessment:
    """What a pharmacist weighs: the excursion itself and its MKT window.

    ``span`` covers the excursion, from its start to its end (or ``until`` while
    it is open); ``window`` is the USP evaluation window ending there
    (``window_start`` .. ``window_end``), which includes the excursion unless it
    lasted longer than the window. MKT must not average away a freeze: read
    ``span.min_c`` too.
    """

    span: TemperatureRecord
    window: TemperatureRecord
    window_start: datetime
    window_end: datetime


def assess_excursion(
    samples: Iterable[SampleLike],
    *,
    low_c: float,
    high_c: float,
    profile_code: str,
    started_at: datetime,
    until: datetime,
    max_gap_s: float = 900.0,
) -> ExcursionAssessment:
    """Span and window records of an excursion from the box's ``samples``
    (any that cover ``[min(started_at, window start), until]``; others are
    ignored). Minutes out of range count time outside ``[low_c, high_c]``, each
    sample standing for the time to the next one (at most ``max_gap_s``)."""
    profile = TemperatureProfile(profile_code, low_c, high_c, hysteresis_c=0.0)
    window_start = until - timedelta(seconds=mkt_window_s(high_c))
    ordered = list(samples)
    span = [s for s in ordered if started_at <= s.recorded_at <= until]
    window = [s for s in ordered if window_start <= s.recorded_at <= until]
    return ExcursionAssessment(
        temperature_record(span, profile, max_gap_s),
        temperature_record(window, profile, max_gap_s),
        window_start,
        until,
    )
