"""Domain types of the dispatch core: catalogue, stock, fleet (plain frozen data).

Orders live in :mod:`dispatch.orders.order`. Nothing here does I/O. Coordinates
are WGS84 degrees; datetimes are timezone-aware UTC (``_at``); dates end in ``_date``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from typing import NewType
from zoneinfo import ZoneInfo

from dispatch.errors import InvalidInput, InvalidQuantity

__all__ = [
    "DEFAULT_MIN_SHELF_LIFE_DAYS",
    "ColdBox",
    "GeoPoint",
    "OpeningInterval",
    "Pharmacy",
    "PharmacyId",
    "Product",
    "Rider",
    "RiderId",
    "RiderStatus",
    "Sku",
    "StockLot",
    "StorageClass",
    "TemperatureProfile",
    "VehicleType",
    "require_timezone",
    "require_utc",
]

PharmacyId = NewType("PharmacyId", str)
Sku = NewType("Sku", str)
RiderId = NewType("RiderId", str)

DEFAULT_MIN_SHELF_LIFE_DAYS = 30


def require_utc(value: datetime, name: str) -> datetime:
    """``value`` if it is timezone-aware, else :class:`InvalidInput`."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{name} must be timezone-aware")
    return value


def require_timezone(value: str, name: str = "timezone") -> str:
    """``value`` if it names an IANA time zone this host knows (``Europe/Malta``),
    else :class:`InvalidInput`; the message names the field, not the value."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > 64
        or value == "localtime"  # the host's own zone: not portable
    ):
        raise InvalidInput(f"{name} must be an IANA time zone such as Europe/Malta")
    try:
        ZoneInfo(value)
    except (ValueError, KeyError, OSError) as exc:  # ZoneInfoNotFoundError: KeyError
        raise InvalidInput(
            f"{name} is not a known IANA time zone (e.g. Europe/Malta)"
        ) from exc
    return value


_UNSAFE_FORMAT_CHARS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # bidi isolates
    "\u200e\u200f\u061c"  # direction marks
)


def require_plain_text(value: str, name: str, *, multiline: bool = False) -> str:
    """``value`` if it holds no control character (NUL included; line breaks and
    tabs only when ``multiline``) and no bidirectional override, isolate or mark:
    text a pharmacist or rider reads must show what was stored (no "Trojan
    Source" reordering, no string cut at a NUL). The message names the field."""
    allowed = "\n\r\t" if multiline else ""
    for char in value:
        if char in _UNSAFE_FORMAT_CHARS or (
            (char < " " or "\x7f" <= char <= "\x9f") and char not in allowed
        ):
            raise InvalidInput(
                f"{name} holds a control or bidirectional-override character",
                field=name,
            )
    return value


def require_id(value: str, name: str) -> str:
    """``value`` if it is a non-empty, reasonably short identifier."""
    if not isinstance(value, str) or not value.strip() or len(value) > 128:
        raise InvalidInput(f"{name} must be a non-empty string of at most 128 chars")
    return value


class StorageClass(StrEnum):
    """Storage class of a product; each names a row of ``temperature_profile``."""

    AMBIENT = "ambient"
    REFRIGERATED = "refrigerated"
    FROZEN = "frozen"

    @property
    def needs_cold_box(self) -> bool:
        """Whether the product travels in a cold-box slot."""
        return self is not StorageClass.AMBIENT


class VehicleType(StrEnum):
    """What a rider drives; also the travel-time profile key."""

    BIKE = "bike"
    SCOOTER = "scooter"
    CAR = "car"


class RiderStatus(StrEnum):
    """Whether a rider can be planned."""

    OFF_SHIFT = "off_shift"
    AVAILABLE = "available"
    ON_BREAK = "on_break"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A WGS84 position in degrees."""

    lat: float
    lon: float

    def __post_init__(self) -> None:
        for name, value, bound in (("lat", self.lat, 90.0), ("lon", self.lon, 180.0)):
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise InvalidInput(f"{name} must be a number")
            if not math.isfinite(value) or abs(value) > bound:
                raise InvalidInput(f"{name} must be within +-{bound:g} degrees")


@dataclass(frozen=True, slots=True)
class OpeningInterval:
    """Open on ``weekday`` (0 = Monday) from ``opens`` to ``closes`` local time."""

    weekday: int
    opens: time
    closes: time

    def __post_init__(self) -> None:
        if self.weekday not in range(7):
            raise InvalidInput("weekday must be 0 (Monday) .. 6 (Sunday)")
        if self.closes <= self.opens:
            raise InvalidInput("opening interval must close after it opens")


@dataclass(frozen=True, slots=True)
class Pharmacy:
    """A dispensing site riders collect from."""

    id: PharmacyId
    name: str
    location: GeoPoint
    licence_number: str
    opening_hours: tuple[OpeningInterval, ...] = ()
    """Empty: open around the clock."""
    timezone: str = "Europe/Malta"
    """IANA name of the zone ``opening_hours`` are in (checked: a zone the host
    does not know would make every plan that offers this pharmacy fail)."""
    active: bool = True
    """False: deactivated, no new order is sourced here (orders in flight keep it)."""

    def __post_init__(self) -> None:
        require_id(self.id, "pharmacy id")
        require_id(self.licence_number, "licence number")
        require_timezone(self.timezone)


@dataclass(frozen=True, slots=True)
class TemperatureProfile:
    """Allowed temperatures of a storage class and its excursion budget (data)."""

    code: str
    min_c: float
    max_c: float
    max_single_excursion_s: int
    cumulative_excursion_budget_s: int
    max_transit_s: int | None = None
    """Longest pickup-to-delivery time the cold box can hold (None: unlimited)."""


@dataclass(frozen=True, slots=True)
class Product:
    """A SKU of the catalogue with its handling rules."""

    sku: Sku
    name: str
    storage_class: StorageClass = StorageClass.AMBIENT
    prescription_only: bool = False
    controlled_schedule: str | None = None
    """E.g. "CII" or "H1"; None for non-controlled products."""
    min_shelf_life_days: int = DEFAULT_MIN_SHELF_LIFE_DAYS

    def __post_init__(self) -> None:
        require_id(self.sku, "sku")
        if self.min_shelf_life_days < 0:
            raise InvalidInput("min_shelf_life_days must be >= 0")

    @property
    def is_controlled(self) -> bool:
        """Whether the product is a scheduled controlled substance."""
        return bool(self.controlled_schedule)


@dataclass(frozen=True, slots=True)
class StockLot:
    """Units of one SKU from one lot at one pharmacy."""

    id: int
    pharmacy_id: PharmacyId
    sku: Sku
    lot_number: str
    expiry_date: date
    quantity_on_hand: int
    quantity_reserved: int = 0
    scan_code: str = ""
    """The random code on the lot's label the rider scans (not the id)."""

    def __post_init__(self) -> None:
        if self.quantity_on_hand < 0 or self.quantity_reserved < 0:
            raise InvalidQuantity("lot quantities must be >= 0")

    @property
    def available(self) -> int:
        """Units not yet promised to an order."""
        return self.quantity_on_hand - self.quantity_reserved


@dataclass(frozen=True, slots=True)
class Rider:
    """A courier, their vehicle, shift and last known state."""

    id: RiderId
    name: str
    vehicle_type: VehicleType
    cold_box_slots: int = 0
    skills: frozenset[str] = frozenset()
    shift_start_at: datetime | None = None
    shift_end_at: datetime | None = None
    position: GeoPoint | None = None
    position_at: datetime | None = None
    status: RiderStatus = RiderStatus.OFF_SHIFT
    version: int = 0

    def __post_init__(self) -> None:
        require_id(self.id, "rider id")
        if self.cold_box_slots < 0:
            raise InvalidQuantity("cold_box_slots must be >= 0")


@dataclass(frozen=True, slots=True)
class ColdBox:
    """An insulated box, carried by at most one rider, held to one profile.

    A quarantined box (its temperature is in doubt, e.g. an open excursion) takes
    no cold-chain goods until it is cleared.
    """

    id: str
    profile_code: str
    rider_id: RiderId | None = None
    quarantined_at: datetime | None = None
    quarantine_reason: str | None = None
    quarantine_ref: str | None = None

    @property
    def fit_for_cold(self) -> bool:
        """Whether cold-chain goods may be loaded into the box."""
        return self.quarantined_at is None
