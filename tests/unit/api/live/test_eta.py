"""ETA recomputation from a rider's position."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.live.eta import StopAhead, StopEta, changed_materially, recompute_etas
from routing.matrix import HaversineProvider, VehicleProfile

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
# 1 m/s straight line: seconds == metres, easy to check
PROVIDER = HaversineProvider({"walk": VehicleProfile(speed_mps=1.0, detour_factor=1.0)})
M_LAT = 1 / 111_195  # degrees per metre on the haversine sphere


def test_etas_chain_legs_service_and_window_waits() -> None:
    """Each ETA adds the leg, the previous stop's service time and any wait."""
    stops = [
        StopAhead("a", 35.0 + 100 * M_LAT, 14.5, service_s=60),
        StopAhead(
            "b",
            35.0 + 300 * M_LAT,
            14.5,
            service_s=0,
            earliest_start_at=NOW + timedelta(seconds=1000),
        ),
        StopAhead("c", 35.0 + 400 * M_LAT, 14.5),
    ]
    etas = recompute_etas(
        lat=35.0, lon=14.5, now=NOW, stops=stops, provider=PROVIDER, profile="walk"
    )
    got = {e.stop_id: (e.eta_at - NOW).total_seconds() for e in etas}
    assert abs(got["a"] - 100) <= 1
    assert abs(got["b"] - 360) <= 2
    assert abs(got["c"] - 1100) <= 2  # waited for b's window, then 100 m


def test_arrival_pins_the_first_stop_to_the_arrival_time() -> None:
    """A rider at the first stop has that stop's ETA equal to the arrival."""
    arrived = NOW - timedelta(seconds=30)
    etas = recompute_etas(
        lat=35.0,
        lon=14.5,
        now=NOW,
        stops=[StopAhead("a", 35.0, 14.5, service_s=120)],
        provider=PROVIDER,
        profile="walk",
        arrived_at=arrived,
    )
    assert etas == [StopEta("a", arrived)]


def test_material_change_threshold() -> None:
    """Small ETA moves are not pushed; big moves and new stops are."""
    old = {"a": NOW}
    assert not changed_materially(old, [StopEta("a", NOW + timedelta(seconds=30))], 60)
    assert changed_materially(old, [StopEta("a", NOW + timedelta(seconds=90))], 60)
    assert changed_materially(old, [StopEta("b", NOW)], 60)
