"""Orders arrive on the daily curve, are seeded, and respect the order mix."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace

import pytest

from simulator.demand import OrderRequest, generate_orders
from simulator.scenario import Scenario, StorageClass

POINTS = [(i, 35.85 + i * 1e-4, 14.45 + i * 1e-4) for i in range(500)]


def _orders(scenario: Scenario, seed: int = 1) -> list[OrderRequest]:
    return generate_orders(scenario, POINTS, rng=random.Random(seed))


def test_same_seed_same_orders(standard_scenario: Scenario) -> None:
    """Two runs with the same seed produce identical orders."""
    assert _orders(standard_scenario) == _orders(standard_scenario)


def test_other_seed_other_orders(standard_scenario: Scenario) -> None:
    """A different seed changes the day."""
    assert _orders(standard_scenario, 1) != _orders(standard_scenario, 2)


def test_total_and_order(standard_scenario: Scenario) -> None:
    """Exactly the scenario's number of orders, sorted, all within opening hours."""
    orders = _orders(standard_scenario)
    assert len(orders) == 1500
    times = [o.created_at for o in orders]
    assert times == sorted(times)
    assert standard_scenario.start_at <= times[0]
    assert times[-1] < standard_scenario.end_at
    assert len({o.ref for o in orders}) == 1500


def test_arrivals_follow_the_hourly_curve(standard_scenario: Scenario) -> None:
    """Each hour's share of orders is close to its share of the weights."""
    orders = _orders(standard_scenario)
    per_hour = Counter(int(standard_scenario.local_hour(o.created_at)) for o in orders)
    weights = standard_scenario.demand.hourly_weights
    for hour, weight in enumerate(weights):
        expected = 1500 * weight / sum(weights)
        assert per_hour[hour] == pytest.approx(expected, abs=4 * expected**0.5 + 1)


def test_half_open_hours_get_proportional_demand(short_scenario: Scenario) -> None:
    """Open only 10:00-10:30, every order falls inside those 30 minutes."""
    many = replace(short_scenario, demand=replace(short_scenario.demand, orders=300))
    for order in _orders(many):
        assert 10.0 <= many.local_hour(order.created_at) < 10.5


def test_order_mix(standard_scenario: Scenario) -> None:
    """Cold and urgent shares match the scenario; cold orders carry a fridge item."""
    orders = _orders(standard_scenario)
    storage = {p.sku: p.storage for p in standard_scenario.products}
    cold = [o for o in orders if o.cold_chain]
    assert len(cold) / 1500 == pytest.approx(0.25, abs=0.04)
    assert sum(o.urgent for o in orders) / 1500 == pytest.approx(0.10, abs=0.03)
    for order in orders:
        kinds = {storage[line.sku] for line in order.lines}
        assert (StorageClass.REFRIGERATED in kinds) == order.cold_chain
        assert 1 <= len(order.lines) <= 3
        assert len({line.sku for line in order.lines}) == len(order.lines)


def test_promises_and_absent_patients(standard_scenario: Scenario) -> None:
    """Urgent orders are due sooner; some patients are not home (ground truth)."""
    orders = _orders(standard_scenario)
    for order in orders[:200]:
        minutes = (order.due_at - order.created_at).total_seconds() / 60
        assert minutes == (60 if order.urgent else 120)
    absent = sum(not o.patient_home for o in orders)
    assert 0.01 * 1500 < absent < 0.06 * 1500


def test_deliveries_go_to_given_points(short_scenario: Scenario) -> None:
    """Every order is addressed to one of the candidate residential points."""
    allowed = set(POINTS)
    assert all((o.node, o.lat, o.lon) in allowed for o in _orders(short_scenario))
    assert generate_orders(short_scenario, [], rng=random.Random(1)) == []
