"""Scenario files load into validated data, and broken ones say what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from simulator.errors import ScenarioError
from simulator.scenario import BoxFailureMode, Scenario, StorageClass, VehicleType
from simulator.scenario_loader import bundled_scenarios, load_scenario, parse_scenario


def test_standard_scenario_matches_the_issue(standard_scenario: Scenario) -> None:
    """The benchmark day: ~1,500 orders, 60 riders, every main-island pharmacy."""
    assert standard_scenario.demand.orders == 1500
    assert standard_scenario.rider_count == 60
    assert standard_scenario.city.pharmacy_limit == 0
    assert standard_scenario.city.bbox is None
    assert {g.vehicle for g in standard_scenario.fleet} == set(VehicleType)
    categories = {p.category for p in standard_scenario.products}
    assert {"insulin", "vaccine", "antibiotic", "chronic", "controlled"} <= categories
    assert any(p.controlled for p in standard_scenario.products)


def test_local_times_become_utc(short_scenario: Scenario) -> None:
    """10:00 in Malta in June (CEST, UTC+2) is 08:00 UTC."""
    assert short_scenario.start_at == datetime(2026, 6, 15, 8, 0, tzinfo=UTC)
    assert short_scenario.end_at == datetime(2026, 6, 15, 8, 30, tzinfo=UTC)
    assert short_scenario.local_hour(short_scenario.start_at) == pytest.approx(10.0)


def test_short_scenario_injects_each_kind_of_failure(short_scenario: Scenario) -> None:
    """The test scenario carries a box failure, a box outage and a rider outage."""
    failures = short_scenario.failures
    assert failures.box_failures[0].mode is BoxFailureMode.LID_LEFT_OPEN
    assert failures.box_failures[0].at_min == 10 * 60 + 3
    assert failures.boxes_offline[0].minutes == 4
    assert failures.riders_offline[0].rider == 2


def test_defaults_fill_optional_tables(short_data: dict[str, Any]) -> None:
    """Thermal and failure tables are optional and get physical defaults."""
    del short_data["thermal"]
    del short_data["failures"]
    scenario = parse_scenario(short_data)
    assert scenario.thermal.pcm_melt_c == 5.0
    assert scenario.failures.patient_not_home_share == 0.0
    assert scenario.products[0].storage is StorageClass.REFRIGERATED


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    node: Any = data
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value


_DELETE = object()

BROKEN = [
    ("scenario.seed", -1, "scenario.seed", ">= 0"),
    ("scenario.seed", "7", "scenario.seed", "integer"),
    ("scenario.date", "15/06/2026", "scenario.date", "YYYY-MM-DD"),
    ("scenario.timezone", "Mars/Olympus", "scenario.timezone", "unknown time zone"),
    ("scenario.open", "25:00", "scenario.open", "HH:MM"),
    ("scenario.close", "09:00", "scenario.close", "later than"),
    ("scenario.name", _DELETE, "scenario.name", "required"),
    ("scenario.colour", "blue", "scenario.colour", "unknown key"),
    ("demand.cold_share", 1.5, "demand.cold_share", "<= 1.0"),
    ("demand.cold_share", float("nan"), "demand.cold_share", "finite"),
    ("demand.hourly_weights", [1] * 23, "demand.hourly_weights", "24 numbers"),
    ("demand.lines_per_order", [3, 1], "demand.lines_per_order", "low <= high"),
    ("demand.promise_urgent_min", 500, "demand.promise_urgent_min", "exceed"),
    (
        "fleet.groups.0.vehicle",
        "horse",
        "fleet.groups[0].vehicle",
        "bike, scooter, car",
    ),
    ("fleet.groups.0.count", 0, "fleet.groups[0].count", ">= 1"),
    ("fleet.groups.0.shift_end", "09:00", "fleet.groups[0].shift_end", "later than"),
    ("fleet.groups", [], "fleet.groups", "at least 1"),
    ("products.1.sku", "INS-GLAR-100-PEN", "products[1].sku", "duplicate SKU"),
    ("products.0.storage", "warm", "products[0].storage", "refrigerated"),
    ("products.0.controlled", "yes", "products[0].controlled", "true or false"),
    ("stock.units_per_lot", [0, 5], "stock.units_per_lot", "1 <= low"),
    ("city.bbox", [36.0, 14.5, 35.0, 14.6], "city.bbox", "south, west"),
    ("thermal.ua_w_per_k", 0, "thermal.ua_w_per_k", ">= 0.01"),
    ("failures.box_failure.0.rider", 9, "failures.box_failure[0].rider", "<= 2"),
    ("failures.box_failure.0.mode", "melted", "failures.box_failure[0].mode", "seal"),
]


@pytest.mark.parametrize(("path", "value", "field", "message"), BROKEN)
def test_broken_value_names_field(
    short_data: dict[str, Any], path: str, value: Any, field: str, message: str
) -> None:
    """Each kind of bad value raises ScenarioError naming the field and the rule."""
    _set(short_data, path, value)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(short_data, source="short.toml")
    assert caught.value.field == field
    assert message in str(caught.value)
    assert str(caught.value).startswith("short.toml: ")


def test_demand_outside_opening_hours_is_refused(short_data: dict[str, Any]) -> None:
    """Orders cannot be wanted while every pharmacy is closed."""
    short_data["demand"]["hourly_weights"][14] = 3
    with pytest.raises(ScenarioError, match="hour 14 has demand"):
        parse_scenario(short_data)


def test_cold_orders_need_a_cold_box(short_data: dict[str, Any]) -> None:
    """A fleet without cold-box slots cannot serve a cold-chain share."""
    for group in short_data["fleet"]["groups"]:
        group["cold_box_slots"] = 0
    with pytest.raises(ScenarioError, match="no rider has a cold box"):
        parse_scenario(short_data)


def test_controlled_orders_need_a_cleared_rider(short_data: dict[str, Any]) -> None:
    """Controlled products with no rider cleared to carry them are refused, and
    the flag reaches the riders."""
    world_groups = short_data["fleet"]["groups"]
    assert [g.controlled for g in parse_scenario(short_data).fleet] == [
        bool(g.get("controlled")) for g in world_groups
    ]
    assert any(g.get("controlled") for g in world_groups)
    for group in world_groups:
        group.pop("controlled", None)
    with pytest.raises(ScenarioError, match="no rider may carry them"):
        parse_scenario(short_data)


def test_bundled_scenarios_load_by_name() -> None:
    """The scenarios ship in the package and load by name or legacy path."""
    assert bundled_scenarios() == ["short", "standard"]
    assert load_scenario("short").name == "short"
    assert load_scenario("scenarios/standard.toml").name == "standard"
    with pytest.raises(ScenarioError, match="bundled scenarios: short, standard"):
        load_scenario("nope")


def test_not_toml_is_a_clear_error(tmp_path: Path) -> None:
    """A file that is not TOML names the file and says so."""
    path = tmp_path / "broken.toml"
    path.write_text("[scenario\nname = 1\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid TOML") as caught:
        load_scenario(path)
    assert caught.value.source == str(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """A missing scenario file raises ScenarioError, not OSError."""
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_scenario(tmp_path / "nope.toml")


def test_cold_chain_rule(short_scenario: Scenario, short_data: dict[str, Any]) -> None:
    """The ground-truth rule is read, and an inverted range is refused."""
    assert short_scenario.cold_chain.single_event_delay_s == 900
    assert short_scenario.cold_chain.hysteresis_c == 0.5
    short_data["cold_chain"]["high_c"] = 1.0
    with pytest.raises(ScenarioError, match="above low_c"):
        parse_scenario(short_data)
