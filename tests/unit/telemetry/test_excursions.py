"""Excursion rules in device time, MKT and the delivery temperature record."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.excursions import (
    BoxRules,
    BoxTracker,
    ExcursionKind,
    Rule,
    Sample,
    TemperatureProfile,
    detect_episodes,
    mean_kinetic_temperature_c,
    temperature_record,
)

T0 = datetime(2026, 11, 21, 8, tzinfo=UTC)
FRIDGE = TemperatureProfile(
    "refrigerated",
    2.0,
    8.0,
    hysteresis_c=0.5,
    single_event_delay_s=1800,
    cumulative_budget_s=3600,
    cumulative_window_s=86400,
)
RULES = BoxRules(FRIDGE, low_battery_pct=15, door_open_max_s=120)
HIGH, LOW = ExcursionKind.TEMPERATURE_HIGH, ExcursionKind.TEMPERATURE_LOW


def series(temps: list[float], step_s: int = 60, **extra: list[object]) -> list[Sample]:
    """One sample per ``step_s`` from T0 with the given temperatures."""
    out = []
    for i, temp in enumerate(temps):
        fields = {k: v[i] for k, v in extra.items()}
        out.append(Sample(T0 + timedelta(seconds=i * step_s), i, temp, **fields))  # type: ignore[arg-type]
    return out


def test_mkt_of_two_temperatures_matches_hand_computation() -> None:
    """MKT of 5 °C and 25 °C for equal times, computed by hand from the formula."""
    # ΔH/R = 10000 K; e^(-10000/278.15) = e^-35.95182 = 2.4340e-16,
    # e^(-10000/298.15) = e^-33.54016 = 2.7145e-15, mean 1.47896e-15,
    # -ln(mean) = 34.14744 -> 10000/34.14744 = 292.8477 K = 19.70 °C
    assert mean_kinetic_temperature_c([5.0, 25.0]) == pytest.approx(19.6977, abs=1e-3)


@pytest.mark.parametrize(
    ("hours_at_5", "hours_hot", "hot_c", "expected_mkt_c"),
    [(24, 0, 5.0, 5.00), (23, 1, 12.0, 5.44), (18, 6, 14.0, 8.29), (22, 2, 25.0, 9.83)],
)
def test_mkt_worked_examples(
    hours_at_5: int, hours_hot: int, hot_c: float, expected_mkt_c: float
) -> None:
    """The 5-minute, 24 h worked examples of the cold-chain guide."""
    temps = [5.0] * (hours_at_5 * 12) + [hot_c] * (hours_hot * 12)
    assert mean_kinetic_temperature_c(temps) == pytest.approx(expected_mkt_c, abs=0.005)


def test_mkt_time_weights_count() -> None:
    """A sample weighted three times counts as three equal samples."""
    weighted = mean_kinetic_temperature_c([5.0, 25.0], [3.0, 1.0])
    assert weighted == pytest.approx(mean_kinetic_temperature_c([5, 5, 5, 25]))


def test_mkt_of_nothing_is_an_error() -> None:
    """An empty series has no MKT."""
    with pytest.raises(ValueError, match="at least one"):
        mean_kinetic_temperature_c([])


def test_short_spike_below_delay_is_not_an_episode() -> None:
    """Twenty minutes above 8 °C with a 30 min delay and a 60 min budget: no alarm."""
    temps = [5.0] * 10 + [9.0] * 20 + [5.0] * 10
    assert detect_episodes(series(temps), RULES) == []


def test_single_event_delay_opens_an_episode_and_hysteresis_closes_it() -> None:
    """40 min above 8 °C alarms at +30 min; 7.8 °C keeps it open, 7.4 °C ends it."""
    temps = [5.0] * 10 + [9.0] * 40 + [7.8] * 5 + [7.4] * 5
    (episode,) = detect_episodes(series(temps), RULES)
    assert episode.kind is HIGH
    assert episode.rule is Rule.SINGLE_EVENT
    assert episode.started_at == T0 + timedelta(minutes=10)
    assert episode.alarmed_at == T0 + timedelta(minutes=40)
    assert episode.ended_at == T0 + timedelta(minutes=55)
    assert episode.peak_c == 9.0


def test_cumulative_budget_opens_an_episode() -> None:
    """Three 25-minute runs: the third pushes the total past 60 min and alarms."""
    block = [5.0] * 10 + [8.6] * 25
    (episode,) = detect_episodes(series(block * 3 + [5.0]), RULES)
    assert episode.rule is Rule.CUMULATIVE
    third_start = T0 + timedelta(minutes=80)
    assert episode.started_at == third_start
    assert episode.alarmed_at == third_start + timedelta(minutes=10)


def test_low_side_and_ongoing_episode() -> None:
    """Below 2 °C for 31 min with no recovery: an open (unended) low episode."""
    (episode,) = detect_episodes(series([5.0] + [1.0] * 32), RULES)
    assert (episode.kind, episode.ended_at, episode.peak_c) == (LOW, None, 1.0)


def test_low_battery_and_door_left_open() -> None:
    """Battery under 15 % alarms at once; the door alarms after 120 s open."""
    samples = series(
        [5.0] * 6,
        battery_pct=[50, 14, 13, 18, 21, 21],
        door_open=[False, True, True, True, False, False],
    )
    kinds = {e.kind: e for e in detect_episodes(samples, RULES)}
    battery = kinds[ExcursionKind.LOW_BATTERY]
    assert (battery.started_at, battery.ended_at) == (
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=4),
    )
    door = kinds[ExcursionKind.DOOR_OPEN]
    assert door.alarmed_at == T0 + timedelta(minutes=3)
    assert door.ended_at == T0 + timedelta(minutes=4)


def test_tracker_refuses_out_of_order_samples() -> None:
    """The streaming tracker asks for a recomputation instead of guessing."""
    tracker = BoxTracker(RULES)
    samples = series([5.0, 5.0])
    tracker.feed(samples[1:])
    assert not tracker.accepts(samples[0])
    with pytest.raises(ValueError, match="out of order"):
        tracker.feed(samples[:1])


def test_temperature_record_of_a_delivery() -> None:
    """Min, max, MKT, minutes out of range and span of a 1-minute series."""
    samples = series([5.0] * 30 + [10.0] * 10 + [5.0] * 20)
    record = temperature_record(samples, FRIDGE)
    assert (record.readings, record.min_c, record.max_c) == (60, 5.0, 10.0)
    assert record.minutes_out_of_range == pytest.approx(10.0)
    assert (record.first_at, record.last_at) == (T0, T0 + timedelta(minutes=59))
    weights = [60.0] * 60
    assert record.mkt_c == pytest.approx(
        mean_kinetic_temperature_c([s.temp_c for s in samples], weights)
    )


def test_temperature_record_caps_gaps_and_handles_empty() -> None:
    """A logger silent for 2 h counts at most 15 min; no readings -> empty record."""
    samples = [Sample(T0, 0, 12.0), Sample(T0 + timedelta(hours=2), 1, 5.0)]
    assert temperature_record(samples, FRIDGE).minutes_out_of_range == 15.0
    empty = temperature_record([], FRIDGE)
    assert (empty.readings, empty.mkt_c) == (0, None)


def test_profile_validates_itself() -> None:
    """An inverted range or an oversized hysteresis is refused."""
    with pytest.raises(ValueError, match="below"):
        TemperatureProfile("x", 8, 2)
    with pytest.raises(ValueError, match="hysteresis"):
        TemperatureProfile("x", 2, 8, hysteresis_c=3.5)


temps_strategy = st.lists(
    st.sampled_from([0.5, 1.8, 2.2, 4.0, 5.0, 7.6, 7.9, 8.4, 12.0]),
    min_size=1,
    max_size=150,
)


@settings(max_examples=150, deadline=None)
@given(temps=temps_strategy, seed=st.integers(0, 2**32 - 1))
def test_shuffled_input_gives_the_same_episodes(temps: list[float], seed: int) -> None:
    """Any arrival order (and duplicates) yields the episodes of the sorted series."""
    samples = series(temps)
    shuffled = samples + samples[: len(samples) // 3]
    random.Random(seed).shuffle(shuffled)
    assert detect_episodes(shuffled, RULES) == detect_episodes(samples, RULES)


@settings(max_examples=100, deadline=None)
@given(temps=temps_strategy, cut=st.integers(0, 150), seed=st.integers(0, 2**32 - 1))
def test_streaming_then_late_backfill_matches_batch(
    temps: list[float], cut: int, seed: int
) -> None:
    """Live samples streamed, then a late buffered upload recomputed, equal batch."""
    samples = series(temps)
    rng = random.Random(seed)
    late = set(rng.sample(range(len(samples)), k=min(cut, len(samples)) // 3))
    live = [s for i, s in enumerate(samples) if i not in late]
    tracker = BoxTracker(RULES)
    seen: dict[tuple[ExcursionKind, datetime], object] = {}
    for episode in tracker.feed(live):
        seen[(episode.kind, episode.started_at)] = episode
    streamed = sorted(seen.values(), key=lambda e: (e.started_at, e.kind))  # type: ignore[attr-defined]
    assert streamed == detect_episodes(live, RULES)
    backfill = [samples[i] for i in late]
    assert detect_episodes(live + backfill, RULES) == detect_episodes(samples, RULES)
