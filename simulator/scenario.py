"""A simulated day as plain frozen data: hours, demand, fleet, stock, failures.

Scenarios are written in TOML (the bundled ones: ``simulator/scenarios/*.toml``)
and read by :func:`simulator.scenario_loader.load_scenario`, which validates every
field.
Times of day are minutes after local midnight in ``timezone`` (Malta: Europe/Malta);
:meth:`Scenario.at` turns them into tz-aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = [
    "BoxFailure",
    "BoxFailureMode",
    "BoxOffline",
    "CityParams",
    "ColdChainRule",
    "DemandParams",
    "FailureParams",
    "FleetGroup",
    "Product",
    "RiderOffline",
    "Scenario",
    "StockParams",
    "StorageClass",
    "ThermalParams",
    "VehicleType",
]


class StorageClass(StrEnum):
    """How a product must be kept (the profile the engine checks)."""

    REFRIGERATED = "refrigerated"  # 2-8 °C
    ROOM = "room"  # 15-25 °C
    FROZEN = "frozen"


class VehicleType(StrEnum):
    """What a rider rides; sets road speed in the simulator's own map."""

    BIKE = "bike"
    SCOOTER = "scooter"
    CAR = "car"


class BoxFailureMode(StrEnum):
    """Ways a cold box fails (ground truth recorded by the simulator)."""

    SEAL = "seal"  # lid seal torn: insulation conductance multiplied
    PCM_EXHAUSTED = "pcm_exhausted"  # packs not conditioned: no latent heat left
    LID_LEFT_OPEN = "lid_left_open"  # door stays open from the failure on


@dataclass(frozen=True, slots=True)
class Product:
    """A SKU in the catalogue; ``weight`` is its relative share of order lines."""

    sku: str
    name: str
    category: str
    storage: StorageClass
    controlled: bool
    weight: float
    max_qty: int
    schedule: str | None = None  # controlled-drug schedule, e.g. "II"


@dataclass(frozen=True, slots=True)
class StockParams:
    """How each pharmacy's stock is drawn (seeded): lots, units, expiries."""

    carry_share: float
    controlled_carry_share: float
    lots_per_product: tuple[int, int]
    units_per_lot: tuple[int, int]
    expiry_days: tuple[int, int]


@dataclass(frozen=True, slots=True)
class DemandParams:
    """Orders over the day: total, hourly curve (24 weights), order mix, promises."""

    orders: int
    hourly_weights: tuple[float, ...]
    cold_share: float
    urgent_share: float
    lines_per_order: tuple[int, int]
    promise_standard_min: int
    promise_urgent_min: int


@dataclass(frozen=True, slots=True)
class FleetGroup:
    """``count`` riders alike: vehicle, cold-box and bag slots, shift (local min),
    and whether they are cleared to carry controlled drugs."""

    count: int
    vehicle: VehicleType
    cold_box_slots: int
    bag_slots: int
    shift_start_min: int
    shift_end_min: int
    controlled: bool = False


@dataclass(frozen=True, slots=True)
class ThermalParams:
    """Cold-box physics shared by every box and the ambient day curve (Malta)."""

    ua_w_per_k: float
    heat_capacity_j_per_k: float
    pcm_latent_kj: float
    pcm_melt_c: float
    pcm_coupling_w_per_k: float
    door_ua_w_per_k: float
    initial_c: float
    ambient_mean_c: float
    ambient_amplitude_c: float
    ambient_peak_hour: float
    seal_failure_factor: float


@dataclass(frozen=True, slots=True)
class ColdChainRule:
    """When a cold box's true temperature counts as an excursion (ground truth).

    Out of ``[low_c, high_c]`` continuously for ``single_event_delay_s``, or for
    ``cumulative_budget_s`` in total over the run; an exit ends once the
    temperature is ``hysteresis_c`` back inside the range. Mirrors the engine's
    refrigerated profile, stated independently so the two can be compared.
    """

    low_c: float
    high_c: float
    single_event_delay_s: float
    cumulative_budget_s: float
    hysteresis_c: float = 0.5


@dataclass(frozen=True, slots=True)
class BoxFailure:
    """The box of rider ``rider`` fails at local minute ``at_min``."""

    rider: int
    at_min: int
    mode: BoxFailureMode


@dataclass(frozen=True, slots=True)
class BoxOffline:
    """The box of rider ``rider`` loses its uplink for ``minutes`` (buffers)."""

    rider: int
    at_min: int
    minutes: int


@dataclass(frozen=True, slots=True)
class RiderOffline:
    """Rider ``rider``'s app loses its connection for ``minutes``."""

    rider: int
    at_min: int
    minutes: int


@dataclass(frozen=True, slots=True)
class FailureParams:
    """Failure injection: explicit events plus seeded random ones."""

    patient_not_home_share: float
    box_failures: tuple[BoxFailure, ...]
    boxes_offline: tuple[BoxOffline, ...]
    riders_offline: tuple[RiderOffline, ...]
    random_box_failures: int
    random_boxes_offline: int
    random_riders_offline: int
    offline_minutes: tuple[int, int]


@dataclass(frozen=True, slots=True)
class CityParams:
    """Which part of the city is used: a bounding box and a pharmacy limit."""

    bbox: tuple[float, float, float, float] | None  # south, west, north, east
    pharmacy_limit: int  # 0: every main-island pharmacy in the bbox


@dataclass(frozen=True, slots=True)
class Scenario:
    """A whole simulated day, seeded; see ``simulator/scenarios/standard.toml``."""

    name: str
    seed: int
    day: date
    timezone: str
    open_min: int
    close_min: int
    speed: float
    city: CityParams
    demand: DemandParams
    fleet: tuple[FleetGroup, ...]
    products: tuple[Product, ...]
    stock: StockParams
    thermal: ThermalParams
    cold_chain: ColdChainRule
    failures: FailureParams

    @property
    def rider_count(self) -> int:
        """Riders over all fleet groups."""
        return sum(group.count for group in self.fleet)

    @property
    def start_at(self) -> datetime:
        """Opening time (UTC)."""
        return self.at(self.open_min)

    @property
    def end_at(self) -> datetime:
        """Closing time (UTC)."""
        return self.at(self.close_min)

    def at(self, minute_of_day: float) -> datetime:
        """Local minute of the scenario's day as a tz-aware UTC datetime."""
        midnight = datetime.combine(self.day, time(0), tzinfo=ZoneInfo(self.timezone))
        return (midnight + timedelta(minutes=minute_of_day)).astimezone(ZoneInfo("UTC"))

    def local_hour(self, moment_at: datetime) -> float:
        """Local hour of day (0-24, fractional) of a UTC datetime."""
        local = moment_at.astimezone(ZoneInfo(self.timezone))
        return local.hour + local.minute / 60 + local.second / 3600
