"""A scenario on the real city yields the same world every time."""

from __future__ import annotations

from simulator.city import CityData
from simulator.scenario import Scenario
from simulator.world import build_world


def test_world_is_deterministic(city: CityData, standard_scenario: Scenario) -> None:
    """Same scenario and city: same pharmacies, stock, riders, orders and failures."""
    assert build_world(standard_scenario, city) == build_world(standard_scenario, city)


def test_standard_world(city: CityData, standard_scenario: Scenario) -> None:
    """All main-island pharmacies, every SKU stocked somewhere, failures drawn."""
    world = build_world(standard_scenario, city)
    assert len(world.pharmacies) == 81
    assert {lot.sku for lot in world.stock} == {
        p.sku for p in standard_scenario.products
    }
    assert all(lot.expires_on > standard_scenario.day for lot in world.stock)
    assert len(world.riders) == 60
    # scooters and cars are cleared for controlled drugs, bikes are not
    assert {(r.vehicle.value, r.controlled) for r in world.riders} == {
        ("scooter", True),
        ("car", True),
        ("bike", False),
    }
    assert len(world.failures.box_failures) == 3
    for rider, at, _ in world.failures.box_failures:
        spec = world.riders[rider]
        assert spec.box_ref is not None
        assert spec.shift_start_at < at < spec.shift_end_at


def test_short_world_stays_in_its_area(
    city: CityData, short_scenario: Scenario
) -> None:
    """The short scenario keeps to its bounding box and pharmacy limit."""
    world = build_world(short_scenario, city)
    south, west, north, east = short_scenario.city.bbox or (0, 0, 0, 0)
    assert len(world.pharmacies) == 4
    for order in world.orders:
        assert south <= order.lat <= north
        assert west <= order.lon <= east
    assert [f[0] for f in world.failures.box_failures] == [0]
    assert world.failures.boxes_offline[0].rider == 1
