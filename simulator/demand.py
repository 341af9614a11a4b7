"""Seeded order arrivals over the day, delivered to points on residential streets.

Arrival hours follow the scenario's hourly weights (scaled by the open part of each
hour), times are uniform within that part; each order is cold-chain or not,
urgent or not, and draws its lines from the catalogue by product weight. All
randomness comes from the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from simulator.scenario import DemandParams, Product, Scenario, StorageClass

__all__ = ["OrderLine", "OrderRequest", "generate_orders"]

# Common Maltese first names: the only patient detail a rider ever sees.
_FIRST_NAMES = (
    "Maria", "Joseph", "Carmen", "John", "Rita", "Paul", "Doris", "Anthony",
    "Josephine", "Charles", "Mary", "George", "Carmel", "Francis", "Rose",
    "Michael", "Grace", "Mario", "Antoinette", "Raymond", "Jessica", "Luke",
    "Martina", "Matthew", "Nicole", "Daniel", "Claire", "Jake", "Emma", "Kurt",
)  # fmt: skip
_SURNAMES = (
    "Borg", "Camilleri", "Vella", "Farrugia", "Zammit", "Galea", "Micallef",
    "Grech", "Attard", "Spiteri", "Azzopardi", "Mifsud", "Agius", "Pace", "Caruana",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One SKU and quantity."""

    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """An order the simulated patient places; ``patient_home`` is ground truth."""

    ref: str
    created_at: datetime
    due_at: datetime
    node: int
    lat: float
    lon: float
    lines: tuple[OrderLine, ...]
    cold_chain: bool
    urgent: bool
    patient_first_name: str
    patient_surname: str
    patient_phone: str
    patient_home: bool


def generate_orders(
    scenario: Scenario,
    delivery_points: Sequence[tuple[int, float, float]],
    *,
    rng: random.Random,
) -> list[OrderRequest]:
    """The day's orders, sorted by creation time.

    ``delivery_points`` are ``(node, lat, lon)`` of candidate addresses.
    """
    if not delivery_points:
        return []
    demand = scenario.demand
    cold = [p for p in scenario.products if p.storage is StorageClass.REFRIGERATED]
    ambient = [p for p in scenario.products if p.storage is StorageClass.ROOM]
    windows = _open_windows(scenario)
    starts = rng.choices(
        [start for start, _ in windows],
        weights=[weight for _, weight in windows],
        k=demand.orders,
    )
    minutes = sorted(start + rng.random() * _span(scenario, start) for start in starts)
    orders = []
    for number, minute in enumerate(minutes, start=1):
        cold_chain = bool(cold) and rng.random() < demand.cold_share
        urgent = rng.random() < demand.urgent_share
        node, lat, lon = rng.choice(delivery_points)
        created_at = scenario.at(minute)
        promise = demand.promise_urgent_min if urgent else demand.promise_standard_min
        orders.append(
            OrderRequest(
                ref=f"{scenario.name}-{number:05d}",
                created_at=created_at,
                due_at=created_at + timedelta(minutes=promise),
                node=node,
                lat=lat,
                lon=lon,
                lines=_lines(rng, cold if cold_chain else ambient, ambient, demand),
                cold_chain=cold_chain,
                urgent=urgent,
                patient_first_name=rng.choice(_FIRST_NAMES),
                patient_surname=rng.choice(_SURNAMES),
                patient_phone=f"+356 79{rng.randrange(10**6):06d}",
                patient_home=rng.random() >= scenario.failures.patient_not_home_share,
            )
        )
    return orders


def _open_windows(scenario: Scenario) -> list[tuple[float, float]]:
    """``(start minute, weight)`` of the open part of each hour with demand."""
    windows = []
    for hour, weight in enumerate(scenario.demand.hourly_weights):
        start = max(hour * 60, scenario.open_min)
        end = min((hour + 1) * 60, scenario.close_min)
        if weight > 0 and end > start:
            windows.append((float(start), weight * (end - start) / 60))
    return windows


def _span(scenario: Scenario, start: float) -> float:
    hour_end = (int(start) // 60 + 1) * 60
    return min(hour_end, scenario.close_min) - start


def _lines(
    rng: random.Random,
    first_pool: list[Product],
    rest_pool: list[Product],
    demand: DemandParams,
) -> tuple[OrderLine, ...]:
    """The first line from ``first_pool`` (cold or ambient), the rest from either."""
    wanted = rng.randint(*demand.lines_per_order)
    chosen = [_pick(rng, first_pool)]
    pool = [p for p in dict.fromkeys(first_pool + rest_pool) if p not in chosen]
    while len(chosen) < wanted and pool:
        product = _pick(rng, pool)
        chosen.append(product)
        pool.remove(product)
    return tuple(OrderLine(p.sku, rng.randint(1, p.max_qty)) for p in chosen)


def _pick(rng: random.Random, pool: list[Product]) -> Product:
    return rng.choices(pool, weights=[p.weight + 1e-9 for p in pool], k=1)[0]
