"""Everything a run needs, drawn once from a scenario and the city (seeded).

Each concern has its own random stream (``"<seed>:stock"``, ``"<seed>:demand"``
...), so changing the fleet does not change the orders, and the same scenario
always yields the same world.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from simulator.city import CityData, Pharmacy
from simulator.demand import OrderRequest, generate_orders
from simulator.errors import ScenarioError
from simulator.scenario import BoxFailureMode, Scenario, VehicleType
from simulator.stock import StockLot, draw_stock

__all__ = ["FailurePlan", "Outage", "RiderSpec", "World", "build_world"]


@dataclass(frozen=True, slots=True)
class RiderSpec:
    """One simulated rider with their cold box and shift (UTC)."""

    index: int
    ref: str
    vehicle: VehicleType
    cold_box_slots: int
    bag_slots: int
    box_ref: str | None
    shift_start_at: datetime
    shift_end_at: datetime
    start_pharmacy: Pharmacy
    controlled: bool = False  # cleared to carry controlled drugs


@dataclass(frozen=True, slots=True)
class Outage:
    """Rider ``rider``'s box or app is offline over ``[start_at, end_at)``."""

    rider: int
    start_at: datetime
    end_at: datetime


@dataclass(frozen=True, slots=True)
class FailurePlan:
    """Ground truth of every injected failure, as absolute UTC times."""

    box_failures: tuple[tuple[int, datetime, BoxFailureMode], ...]
    boxes_offline: tuple[Outage, ...]
    riders_offline: tuple[Outage, ...]


@dataclass(frozen=True)
class World:
    """Pharmacies in play, their stock, the fleet, the day's orders and failures."""

    scenario: Scenario
    pharmacies: tuple[Pharmacy, ...]
    stock: tuple[StockLot, ...]
    riders: tuple[RiderSpec, ...]
    orders: tuple[OrderRequest, ...]
    failures: FailurePlan


def _stream(scenario: Scenario, name: str) -> random.Random:
    return random.Random(f"{scenario.seed}:{name}")


def build_world(scenario: Scenario, city: CityData) -> World:
    """Draw the world of ``scenario`` on ``city``; same inputs, same world."""
    pharmacies = _pharmacies(scenario, city)
    if not pharmacies:
        raise ScenarioError("no main-island pharmacy inside city.bbox", field="city")
    points = _delivery_points(scenario, city)
    stock = draw_stock(
        [p.osm_ref for p in pharmacies],
        scenario.products,
        scenario.stock,
        day=scenario.day,
        rng=_stream(scenario, "stock"),
    )
    riders = _riders(scenario, pharmacies, _stream(scenario, "fleet"))
    orders = generate_orders(scenario, points, rng=_stream(scenario, "demand"))
    failures = _failures(scenario, riders, _stream(scenario, "failures"))
    return World(scenario, pharmacies, tuple(stock), riders, tuple(orders), failures)


def _inside(scenario: Scenario, lat: float, lon: float) -> bool:
    if scenario.city.bbox is None:
        return True
    south, west, north, east = scenario.city.bbox
    return south <= lat <= north and west <= lon <= east


def _pharmacies(scenario: Scenario, city: CityData) -> tuple[Pharmacy, ...]:
    found = [p for p in city.pharmacies if _inside(scenario, p.lat, p.lon)]
    limit = scenario.city.pharmacy_limit
    if limit and len(found) > limit:
        found = _stream(scenario, "pharmacies").sample(found, limit)
    return tuple(sorted(found, key=lambda p: p.osm_ref))


def _delivery_points(
    scenario: Scenario, city: CityData
) -> list[tuple[int, float, float]]:
    points = []
    for node in city.delivery_nodes.tolist():
        lat, lon = float(city.node_lat[node]), float(city.node_lon[node])
        if _inside(scenario, lat, lon):
            points.append((int(node), lat, lon))
    return points


def _riders(
    scenario: Scenario, pharmacies: tuple[Pharmacy, ...], rng: random.Random
) -> tuple[RiderSpec, ...]:
    riders: list[RiderSpec] = []
    for group in scenario.fleet:
        for _ in range(group.count):
            index = len(riders)
            riders.append(
                RiderSpec(
                    index=index,
                    ref=f"{scenario.name}-rider-{index:03d}",
                    vehicle=group.vehicle,
                    cold_box_slots=group.cold_box_slots,
                    bag_slots=group.bag_slots,
                    box_ref=f"{scenario.name}-box-{index:03d}"
                    if group.cold_box_slots
                    else None,
                    shift_start_at=scenario.at(group.shift_start_min),
                    shift_end_at=scenario.at(group.shift_end_min),
                    start_pharmacy=rng.choice(pharmacies),
                    controlled=group.controlled,
                )
            )
    return tuple(riders)


def _failures(
    scenario: Scenario, riders: tuple[RiderSpec, ...], rng: random.Random
) -> FailurePlan:
    spec = scenario.failures
    box_failures = [(f.rider, scenario.at(f.at_min), f.mode) for f in spec.box_failures]
    boxes_offline = [
        Outage(o.rider, scenario.at(o.at_min), scenario.at(o.at_min + o.minutes))
        for o in spec.boxes_offline
    ]
    riders_offline = [
        Outage(o.rider, scenario.at(o.at_min), scenario.at(o.at_min + o.minutes))
        for o in spec.riders_offline
    ]
    with_box = [r for r in riders if r.box_ref is not None]
    modes = list(BoxFailureMode)
    for rider in _pick(rng, with_box, spec.random_box_failures):
        box_failures.append((rider.index, _during_shift(rng, rider), rng.choice(modes)))
    for kind, pool, count in (
        (boxes_offline, with_box, spec.random_boxes_offline),
        (riders_offline, list(riders), spec.random_riders_offline),
    ):
        for rider in _pick(rng, pool, count):
            start = _during_shift(rng, rider)
            minutes = rng.randint(*spec.offline_minutes)
            kind.append(Outage(rider.index, start, start + timedelta(minutes=minutes)))
    return FailurePlan(
        tuple(sorted(box_failures, key=lambda f: f[1])),
        tuple(sorted(boxes_offline, key=lambda o: o.start_at)),
        tuple(sorted(riders_offline, key=lambda o: o.start_at)),
    )


def _pick(rng: random.Random, pool: list[RiderSpec], count: int) -> list[RiderSpec]:
    return rng.sample(pool, min(count, len(pool)))


def _during_shift(rng: random.Random, rider: RiderSpec) -> datetime:
    """A moment in the middle 80 % of the rider's shift."""
    span = (rider.shift_end_at - rider.shift_start_at).total_seconds()
    offset_s = span * (0.1 + 0.8 * rng.random())
    return rider.shift_start_at + timedelta(seconds=round(offset_s))
