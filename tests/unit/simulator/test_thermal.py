"""The cold-box thermal model behaves like a real insulated box with cold packs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from simulator.scenario import BoxFailureMode, ColdChainRule, ThermalParams
from simulator.scenario_fields import Fields, parse_thermal
from simulator.thermal import ColdBoxThermal, ExcursionTruth, ambient_c

PARAMS = parse_thermal(Fields({}, "thermal", ""))


def _run(
    box: ColdBoxThermal, hours: float, ambient: float, step_s: float = 30
) -> float:
    """Minutes until the box first exceeds 8 °C (inf if never)."""
    first = float("inf")
    for i in range(round(hours * 3600 / step_s)):
        if box.step(step_s, ambient) > 8.0 and first == float("inf"):
            first = (i + 1) * step_s / 60
    return first


def test_packs_hold_the_box_in_range_for_hours() -> None:
    """At 30 °C outside, a healthy box stays within 2-8 °C for over four hours."""
    box = ColdBoxThermal(PARAMS)
    assert _run(box, 4.0, 30.0) == float("inf")
    assert 2.0 <= box.temp_c <= 8.0
    assert box.latent_left_j > 0


def test_box_warms_toward_ambient_once_packs_are_spent() -> None:
    """After the latent budget is gone the box relaxes to the ambient temperature."""
    box = ColdBoxThermal(PARAMS)
    first = _run(box, 24.0, 30.0)
    assert 4 * 60 < first < 8 * 60
    assert box.latent_left_j == 0
    assert box.temp_c == pytest.approx(30.0, abs=0.5)


def test_relaxation_follows_the_time_constant() -> None:
    """Without packs, after one time constant C/UA the gap shrinks by 1/e."""
    params = replace(PARAMS, pcm_latent_kj=0.0, initial_c=5.0)
    box = ColdBoxThermal(params)
    tau_s = params.heat_capacity_j_per_k / params.ua_w_per_k
    box.step(tau_s, 30.0)
    assert box.temp_c == pytest.approx(30.0 - 25.0 / 2.718281828, abs=0.01)


def test_step_length_does_not_change_the_result() -> None:
    """The exact solution gives the same state for one long step or many short ones."""
    coarse, fine = ColdBoxThermal(PARAMS), ColdBoxThermal(PARAMS)
    coarse.step(3600, 30.0)
    for _ in range(360):
        fine.step(10, 30.0)
    assert coarse.temp_c == pytest.approx(fine.temp_c, abs=0.01)
    assert coarse.latent_left_j == pytest.approx(fine.latent_left_j, rel=1e-3)


def test_energy_balance_of_the_packs() -> None:
    """Latent heat used equals heat leaked in, minus the air's own warming."""
    box = ColdBoxThermal(PARAMS)
    start_c, start_j = box.temp_c, box.latent_left_j
    leaked_j = 0.0
    for _ in range(120):
        before = box.temp_c
        box.step(30, 30.0)
        leaked_j += PARAMS.ua_w_per_k * (30.0 - (before + box.temp_c) / 2) * 30
    sensible_j = PARAMS.heat_capacity_j_per_k * (box.temp_c - start_c)
    used_j = start_j - box.latent_left_j
    assert used_j == pytest.approx(leaked_j - sensible_j, rel=0.02)


def test_lid_openings_add_heat() -> None:
    """A box opened at stops ends warmer and with less latent heat than a closed one."""
    closed, opened = ColdBoxThermal(PARAMS), ColdBoxThermal(PARAMS)
    for minute in range(60):
        closed.step(60, 30.0)
        opened.step(60, 30.0, door_open=minute % 10 == 0)
    assert opened.latent_left_j < closed.latent_left_j
    spike = ColdBoxThermal(PARAMS)
    spike.step(600, 30.0)
    settled = spike.temp_c
    assert spike.step(45, 30.0, door_open=True) > settled + 0.5


@pytest.mark.parametrize("mode", list(BoxFailureMode))
def test_every_failure_mode_leaves_the_range(mode: BoxFailureMode) -> None:
    """Seal failure, spent packs and a lid left open each drive the box above 8 °C."""
    box = ColdBoxThermal(PARAMS)
    box.fail(mode)
    assert _run(box, 1.0, 30.0) < 60


def test_fresh_packs_do_not_fix_a_failed_box() -> None:
    """Swapping packs restores a healthy box's budget but not an exhausted one's."""
    healthy, failed = ColdBoxThermal(PARAMS), ColdBoxThermal(PARAMS)
    failed.fail(BoxFailureMode.PCM_EXHAUSTED)
    healthy.step(3600, 30.0)
    healthy.swap_packs()
    failed.swap_packs()
    assert healthy.latent_left_j == PARAMS.pcm_latent_kj * 1000
    assert failed.latent_left_j == 0


def test_ambient_peaks_in_the_afternoon() -> None:
    """Malta's ambient curve is warmest at the peak hour and coolest 12 h later."""
    params: ThermalParams = PARAMS
    peak = ambient_c(params, params.ambient_peak_hour)
    assert peak == pytest.approx(params.ambient_mean_c + params.ambient_amplitude_c)
    assert (
        ambient_c(params, params.ambient_peak_hour - 12) < ambient_c(params, 9.0) < peak
    )


RULE = ColdChainRule(
    low_c=2.0, high_c=8.0, single_event_delay_s=300, cumulative_budget_s=600
)


def _observe(truth: ExcursionTruth, temps: list[float]) -> None:
    for minute, temp in enumerate(temps):
        truth.observe(T0 + timedelta(minutes=minute), temp)


T0 = datetime(2026, 6, 15, 8, tzinfo=UTC)


def test_short_exits_are_not_excursions() -> None:
    """Leaving 2-8 °C for less than the single-event delay is recorded, not tripped."""
    truth = ExcursionTruth(RULE)
    _observe(truth, [5.0, 8.4, 9.0, 7.5, 1.5, 3.0])
    assert truth.exits == [
        (T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)),
        (T0 + timedelta(minutes=4), T0 + timedelta(minutes=5)),
    ]
    assert truth.excursions == []
    assert truth.out_of_range_s == 180


def test_long_exit_trips_the_rule_until_back_in_range() -> None:
    """Five minutes above 8 °C trips an excursion that ends on return to range."""
    truth = ExcursionTruth(RULE)
    _observe(truth, [5.0, 9.0, 9.5, 10, 10, 10, 10, 10, 6.0])
    assert truth.excursions == [(T0 + timedelta(minutes=6), T0 + timedelta(minutes=8))]
    assert not truth.in_excursion


def test_cumulative_budget_trips_the_rule() -> None:
    """Short exits adding up to the budget trip an excursion on the last one."""
    truth = ExcursionTruth(RULE)
    _observe(truth, [9, 9, 9, 9, 5] * 3)
    ((start, _),) = truth.excursions
    assert truth.out_of_range_s >= 600
    assert start == T0 + timedelta(minutes=12)


def test_exit_ends_only_back_inside_by_the_hysteresis() -> None:
    """Like the engine's detector, 7.8 °C after 9 °C is still the same exit
    (0.5 °C hysteresis): the single-event delay keeps running through it."""
    truth = ExcursionTruth(RULE)
    _observe(truth, [5.0, 9.0, 7.8, 9.0, 9.0, 9.0, 9.0, 7.5, 9.0])
    assert truth.exits == [
        (T0 + timedelta(minutes=1), T0 + timedelta(minutes=7)),
        (T0 + timedelta(minutes=8), None),
    ]
    assert truth.excursions == [(T0 + timedelta(minutes=6), T0 + timedelta(minutes=7))]
