"""Where a rider is: driving along road paths between stops, in simulated time.

A :class:`RiderMotion` starts a drive to a road node (fastest path for the
rider's vehicle), answers the position at any moment of it, and logs each
finished drive as a :class:`~simulator.runlog.RiderLeg` for the report. GPS
fixes carry a few metres of noise, speed and heading, as a phone would send.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from simulator.roads import RoadGraph, RoadPath
from simulator.runlog import RiderLeg
from simulator.scenario import VehicleType

__all__ = ["Drive", "RiderMotion"]

_GPS_NOISE_M = 4.0
_M_PER_DEG_LAT = 111_320.0


@dataclass(frozen=True)
class Drive:
    """A drive in progress: a road path started at ``start_at``."""

    path: RoadPath
    start_at: datetime

    @property
    def arrive_at(self) -> datetime:
        """When the rider reaches the end of the path."""
        return self.start_at + timedelta(seconds=self.path.duration_s)

    def position_at(self, at: datetime) -> tuple[float, float, float]:
        """``(lat, lon, metres covered)`` at ``at``."""
        return self.path.position_at((at - self.start_at).total_seconds())


@dataclass
class RiderMotion:
    """A rider's position over time on the road graph."""

    rider: str
    vehicle: VehicleType
    roads: RoadGraph
    node: int
    drive: Drive | None = None
    legs: list[RiderLeg] = field(default_factory=list)

    def head_to(self, target: int, at: datetime) -> datetime:
        """Start driving to ``target`` at ``at`` (finishing any drive first)."""
        self.stop(at)
        path = self.roads.route(self.node, target, self.vehicle)
        self.drive = Drive(path, at)
        return self.drive.arrive_at

    def stop(self, at: datetime) -> None:
        """End the current drive at ``at`` (arrived, or stopped where it is)."""
        drive = self.drive
        if drive is None:
            return
        end_at = min(at, drive.arrive_at)
        _, _, covered_m = drive.position_at(end_at)
        if covered_m > 0:
            self.legs.append(RiderLeg(self.rider, drive.start_at, end_at, covered_m))
        if end_at >= drive.arrive_at:
            self.node = drive.path.nodes[-1]
        else:
            # Stopped between nodes: continue later from the nearest node behind.
            elapsed_s = (end_at - drive.start_at).total_seconds()
            index = max(
                i for i, t in enumerate(drive.path.cum_time_s) if t <= elapsed_s
            )
            self.node = drive.path.nodes[index]
        self.drive = None

    def position_at(self, at: datetime) -> tuple[float, float]:
        """The rider's true position."""
        if self.drive is not None:
            lat, lon, _ = self.drive.position_at(at)
            return lat, lon
        city = self.roads.city
        return float(city.node_lat[self.node]), float(city.node_lon[self.node])

    def gps_fix(self, at: datetime, rng: random.Random) -> dict[str, Any]:
        """A phone's GPS fix (the ``/ws/rider`` ``position`` message data)."""
        lat, lon = self.position_at(at)
        noise_lat = rng.gauss(0.0, _GPS_NOISE_M) / _M_PER_DEG_LAT
        noise_lon = rng.gauss(0.0, _GPS_NOISE_M) / (
            _M_PER_DEG_LAT * math.cos(math.radians(lat))
        )
        fix: dict[str, Any] = {
            "lat": round(lat + noise_lat, 7),
            "lon": round(lon + noise_lon, 7),
            "at": at.isoformat(),
            "accuracy_m": _GPS_NOISE_M,
        }
        moving = self.drive is not None and at < self.drive.arrive_at
        if moving and self.drive is not None:
            ahead_lat, ahead_lon, _ = self.drive.position_at(at + timedelta(seconds=5))
            metres = math.hypot(
                (ahead_lat - lat) * _M_PER_DEG_LAT,
                (ahead_lon - lon) * _M_PER_DEG_LAT * math.cos(math.radians(lat)),
            )
            fix["speed_mps"] = round(metres / 5, 2)
            if metres > 0:
                heading = math.degrees(
                    math.atan2(
                        (ahead_lon - lon) * math.cos(math.radians(lat)), ahead_lat - lat
                    )
                )
                fix["heading_deg"] = round(heading % 360, 1)
        else:
            fix["speed_mps"] = 0.0
        return fix
