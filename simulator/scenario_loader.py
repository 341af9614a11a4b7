"""Read and validate a scenario TOML file into a :class:`~simulator.scenario.Scenario`.

Every problem raises :class:`~simulator.errors.ScenarioError` naming the file and the
dotted field (``demand.cold_share: must be between 0 and 1, got 1.5``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from simulator.errors import ScenarioError
from simulator.scenario import (
    BoxFailure,
    BoxFailureMode,
    BoxOffline,
    CityParams,
    DemandParams,
    FailureParams,
    FleetGroup,
    RiderOffline,
    Scenario,
    StockParams,
    VehicleType,
)
from simulator.scenario_fields import (
    Fields,
    parse_cold_chain,
    parse_products,
    parse_thermal,
)

__all__ = ["BUNDLED_DIR", "bundled_scenarios", "load_scenario", "parse_scenario"]

#: The scenarios shipped inside the package (``short``: tests and ``make demo``;
#: ``standard``: the city-day benchmark).
BUNDLED_DIR = Path(__file__).resolve().parent / "scenarios"

_E = TypeVar("_E", BoxOffline, RiderOffline)


def bundled_scenarios() -> list[str]:
    """Names of the bundled scenarios (``short``, ``standard``)."""
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.toml"))


def _resolve(path: str | Path) -> Path:
    """``path`` if it is a file, else the bundled scenario of that name
    (``short``, ``short.toml`` or ``scenarios/short.toml`` all name it)."""
    given = Path(path)
    if given.is_file():
        return given
    name = given.name if given.suffix == ".toml" else f"{given.name}.toml"
    bundled = BUNDLED_DIR / name
    return bundled if bundled.is_file() else given


def load_scenario(path: str | Path) -> Scenario:
    """Read ``path`` (TOML; or the name of a bundled scenario) and return the
    validated scenario."""
    source = str(path)
    try:
        text = _resolve(path).read_text(encoding="utf-8")
    except OSError as exc:
        known = ", ".join(bundled_scenarios())
        raise ScenarioError(
            f"cannot read file ({exc.strerror}); bundled scenarios: {known}",
            source=source,
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML ({exc})", source=source) from exc
    return parse_scenario(data, source=source)


def parse_scenario(data: Mapping[str, Any], *, source: str = "") -> Scenario:
    """Validate an already-parsed TOML document."""
    root = Fields(data, "", source)
    root.reject_unknown(
        {"scenario", "city", "demand", "fleet", "products", "stock", "thermal"}
        | {"failures", "cold_chain"}
    )
    head = root.table("scenario")
    head.reject_unknown({"name", "seed", "date", "timezone", "open", "close", "speed"})
    timezone = head.string("timezone", default="Europe/Malta")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise head.error("timezone", f"unknown time zone {timezone!r}") from exc
    open_min = head.clock_minute("open")
    close_min = head.clock_minute("close")
    if close_min <= open_min:
        raise head.error("close", "must be later than scenario.open")
    fleet = _fleet(root.table("fleet"))
    scenario = Scenario(
        name=head.string("name"),
        seed=head.integer("seed", minimum=0),
        day=_day(head),
        timezone=timezone,
        open_min=open_min,
        close_min=close_min,
        speed=head.number("speed", default=30.0, minimum=0.01, maximum=10_000),
        city=_city(root.table("city", required=False)),
        demand=_demand(root.table("demand"), open_min, close_min),
        fleet=fleet,
        products=parse_products(root),
        stock=_stock(root.table("stock")),
        thermal=parse_thermal(root.table("thermal", required=False)),
        cold_chain=parse_cold_chain(root.table("cold_chain", required=False)),
        failures=_failures(root.table("failures", required=False), fleet),
    )
    _check_demand_mix(root, scenario)
    return scenario


def _day(head: Fields) -> date:
    raw = head.string("date")
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise head.error("date", f"must be YYYY-MM-DD, got {raw!r}") from exc


def _city(table: Fields) -> CityParams:
    table.reject_unknown({"bbox", "pharmacy_limit"})
    bbox: tuple[float, float, float, float] | None = None
    if table.has("bbox"):
        values = table.number_list("bbox", length=4)
        south, west, north, east = values
        if not (-90 <= south < north <= 90 and -180 <= west < east <= 180):
            raise table.error("bbox", "must be [south, west, north, east] degrees")
        bbox = (south, west, north, east)
    return CityParams(
        bbox=bbox, pharmacy_limit=table.integer("pharmacy_limit", default=0, minimum=0)
    )


def _demand(table: Fields, open_min: int, close_min: int) -> DemandParams:
    table.reject_unknown(
        {"orders", "hourly_weights", "cold_share", "urgent_share", "lines_per_order"}
        | {"promise_standard_min", "promise_urgent_min"}
    )
    weights = tuple(table.number_list("hourly_weights", length=24, minimum=0.0))
    open_hours = {hour for hour in range(24) if open_min < (hour + 1) * 60}
    open_hours &= {hour for hour in range(24) if hour * 60 < close_min}
    for hour, weight in enumerate(weights):
        if weight > 0 and hour not in open_hours:
            raise table.error(
                "hourly_weights",
                f"hour {hour} has demand but the pharmacies are closed",
            )
    if sum(weights) <= 0:
        raise table.error("hourly_weights", "at least one opening hour needs demand")
    standard = table.integer("promise_standard_min", default=120, minimum=5)
    urgent = table.integer("promise_urgent_min", default=60, minimum=5)
    if urgent > standard:
        raise table.error("promise_urgent_min", "must not exceed promise_standard_min")
    return DemandParams(
        orders=table.integer("orders", minimum=0),
        hourly_weights=weights,
        cold_share=table.share("cold_share"),
        urgent_share=table.share("urgent_share"),
        lines_per_order=table.int_range("lines_per_order", default=(1, 3), minimum=1),
        promise_standard_min=standard,
        promise_urgent_min=urgent,
    )


def _fleet(table: Fields) -> tuple[FleetGroup, ...]:
    table.reject_unknown({"groups"})
    groups = []
    for group in table.table_list("groups", min_items=1):
        group.reject_unknown(
            {"count", "vehicle", "cold_box_slots", "bag_slots", "shift_start"}
            | {"shift_end", "controlled"}
        )
        start = group.clock_minute("shift_start")
        end = group.clock_minute("shift_end")
        if end <= start:
            raise group.error("shift_end", "must be later than shift_start")
        groups.append(
            FleetGroup(
                count=group.integer("count", minimum=1),
                vehicle=group.choice("vehicle", VehicleType),
                cold_box_slots=group.integer("cold_box_slots", minimum=0, maximum=50),
                bag_slots=group.integer("bag_slots", default=6, minimum=1, maximum=50),
                shift_start_min=start,
                shift_end_min=end,
                controlled=group.boolean("controlled", default=False),
            )
        )
    return tuple(groups)


def _stock(table: Fields) -> StockParams:
    table.reject_unknown(
        {"carry_share", "controlled_carry_share", "lots_per_product", "units_per_lot"}
        | {"expiry_days"}
    )
    return StockParams(
        carry_share=table.share("carry_share"),
        controlled_carry_share=table.share("controlled_carry_share"),
        lots_per_product=table.int_range("lots_per_product", minimum=1),
        units_per_lot=table.int_range("units_per_lot", minimum=1),
        expiry_days=table.int_range("expiry_days", minimum=1),
    )


def _failures(table: Fields, fleet: tuple[FleetGroup, ...]) -> FailureParams:
    table.reject_unknown(
        {"patient_not_home_share", "box_failure", "box_offline", "rider_offline"}
        | {"random_box_failures", "random_boxes_offline", "random_riders_offline"}
        | {"offline_minutes"}
    )
    riders = sum(group.count for group in fleet)
    box_failures = []
    for item in table.table_list("box_failure"):
        item.reject_unknown({"rider", "at", "mode"})
        box_failures.append(
            BoxFailure(
                rider=item.integer("rider", minimum=0, maximum=riders - 1),
                at_min=item.clock_minute("at"),
                mode=item.choice("mode", BoxFailureMode),
            )
        )
    return FailureParams(
        patient_not_home_share=table.share("patient_not_home_share", default=0.0),
        box_failures=tuple(box_failures),
        boxes_offline=_outages(table, "box_offline", BoxOffline, riders),
        riders_offline=_outages(table, "rider_offline", RiderOffline, riders),
        random_box_failures=table.integer("random_box_failures", default=0, minimum=0),
        random_boxes_offline=table.integer(
            "random_boxes_offline", default=0, minimum=0
        ),
        random_riders_offline=table.integer(
            "random_riders_offline", default=0, minimum=0
        ),
        offline_minutes=table.int_range("offline_minutes", default=(5, 20), minimum=1),
    )


def _outages(table: Fields, key: str, kind: type[_E], riders: int) -> tuple[_E, ...]:
    found = []
    for item in table.table_list(key):
        item.reject_unknown({"rider", "at", "minutes"})
        found.append(
            kind(
                rider=item.integer("rider", minimum=0, maximum=riders - 1),
                at_min=item.clock_minute("at"),
                minutes=item.integer("minutes", minimum=1),
            )
        )
    return tuple(found)


def _check_demand_mix(root: Fields, scenario: Scenario) -> None:
    storages = {product.storage.value for product in scenario.products}
    if scenario.demand.cold_share > 0 and "refrigerated" not in storages:
        raise root.error("demand.cold_share", "> 0 but no refrigerated product")
    if scenario.demand.cold_share < 1 and not storages - {"refrigerated", "frozen"}:
        raise root.error("demand.cold_share", "< 1 but no room-temperature product")
    if scenario.demand.cold_share > 0 and not any(
        group.cold_box_slots > 0 for group in scenario.fleet
    ):
        raise root.error("fleet.groups", "cold orders but no rider has a cold box")
    if any(p.controlled for p in scenario.products) and not any(
        group.controlled for group in scenario.fleet
    ):
        raise root.error(
            "fleet.groups",
            "controlled products but no rider may carry them (controlled = true)",
        )
