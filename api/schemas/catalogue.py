"""Schemas of pharmacies, products and stock lots (staff audiences)."""

from __future__ import annotations

from datetime import date, time

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas.common import Point
from dispatch.domain import (
    GeoPoint,
    OpeningInterval,
    Pharmacy,
    PharmacyId,
    Product,
    Sku,
    StockLot,
    StorageClass,
    require_timezone,
)
from dispatch.errors import InvalidInput

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
TIMEZONE_DESCRIPTION = (
    "IANA time zone of the opening hours (e.g. Europe/Malta); an unknown zone is "
    "refused (422 naming this field)."
)


def _known_timezone(value: str) -> str:
    try:
        return require_timezone(value)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None


class OpeningIntervalSchema(BaseModel):
    """Open on ``weekday`` (0 = Monday) from ``opens`` to ``closes`` local time."""

    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6, strict=True)
    opens: time
    closes: time


class PharmacyCreate(BaseModel):
    """A pharmacy to register."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    location: Point
    licence_number: str = Field(pattern=_ID)
    opening_hours: list[OpeningIntervalSchema] = Field(
        default_factory=list, description="Empty: open around the clock."
    )
    timezone: str = Field(
        default="Europe/Malta", max_length=64, description=TIMEZONE_DESCRIPTION
    )

    _timezone = field_validator("timezone")(_known_timezone)

    def to_domain(self) -> Pharmacy:
        """The domain object (raises dispatch errors on bad data)."""
        return Pharmacy(
            id=PharmacyId(self.id),
            name=self.name,
            location=GeoPoint(self.location.lat, self.location.lon),
            licence_number=self.licence_number,
            opening_hours=tuple(
                OpeningInterval(h.weekday, h.opens, h.closes)
                for h in self.opening_hours
            ),
            timezone=self.timezone,
        )


class PharmacyUpdate(BaseModel):
    """Changes to a pharmacy: only the fields given change (``null`` = keep).

    ``active: false`` deactivates it: no new order is sourced there, orders
    already reserved there are unaffected; ``true`` reactivates it.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    location: Point | None = Field(
        default=None, description="Must lie within the service area."
    )
    opening_hours: list[OpeningIntervalSchema] | None = Field(
        default=None, description="Replaces every interval; empty: around the clock."
    )
    timezone: str | None = Field(
        default=None, max_length=64, description=TIMEZONE_DESCRIPTION
    )
    active: bool | None = Field(default=None, strict=True)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else _known_timezone(value)

    def intervals(self) -> tuple[OpeningInterval, ...] | None:
        """The domain intervals, if given (raises dispatch errors on bad data)."""
        if self.opening_hours is None:
            return None
        return tuple(
            OpeningInterval(h.weekday, h.opens, h.closes) for h in self.opening_hours
        )


class PharmacyRead(BaseModel):
    """A registered pharmacy."""

    id: str
    name: str
    location: Point
    licence_number: str
    opening_hours: list[OpeningIntervalSchema]
    timezone: str
    active: bool = Field(
        default=True, description="False: deactivated, no new orders sourced here."
    )

    @classmethod
    def of(cls, p: Pharmacy) -> PharmacyRead:
        """From the domain object."""
        return cls(
            id=p.id,
            name=p.name,
            location=Point(lat=p.location.lat, lon=p.location.lon),
            licence_number=p.licence_number,
            opening_hours=[
                OpeningIntervalSchema(weekday=h.weekday, opens=h.opens, closes=h.closes)
                for h in p.opening_hours
            ],
            timezone=p.timezone,
            active=p.active,
        )


class ProductCreate(BaseModel):
    """A catalogue product."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(pattern=_ID)
    name: str = Field(min_length=1, max_length=200)
    storage_class: StorageClass = StorageClass.AMBIENT
    prescription_only: bool = Field(default=False, strict=True)
    controlled_schedule: str | None = Field(
        default=None,
        max_length=16,
        description="Controlled-drug schedule, one of the jurisdiction's codes "
        "(DISPATCH_JURISDICTION): mt: I, II, III, IV (UN 1961/1971 schedules); us, "
        "us-nc: CI-CV; in: H, H1, X; default: any of these. Anything else is a 422 "
        "listing the allowed codes. Null: not controlled.",
    )
    min_shelf_life_days: int = Field(default=30, ge=0, le=3650, strict=True)

    def to_domain(self) -> Product:
        """The domain object."""
        return Product(
            sku=Sku(self.sku),
            name=self.name,
            storage_class=self.storage_class,
            prescription_only=self.prescription_only,
            controlled_schedule=self.controlled_schedule,
            min_shelf_life_days=self.min_shelf_life_days,
        )


class ProductRead(ProductCreate):
    """A catalogue product."""

    model_config = ConfigDict(extra="ignore")

    @classmethod
    def of(cls, p: Product) -> ProductRead:
        """From the domain object."""
        return cls(
            sku=p.sku,
            name=p.name,
            storage_class=p.storage_class,
            prescription_only=p.prescription_only,
            controlled_schedule=p.controlled_schedule,
            min_shelf_life_days=p.min_shelf_life_days,
        )


class LotCreate(BaseModel):
    """A received stock lot."""

    model_config = ConfigDict(extra="forbid")

    sku: str = Field(pattern=_ID)
    lot_number: str = Field(pattern=_ID)
    expiry_date: date
    quantity: int = Field(gt=0, le=1_000_000, strict=True)


class LotRead(BaseModel):
    """A stock lot and how much of it is free."""

    id: int
    pharmacy_id: str
    sku: str
    lot_number: str
    expiry_date: date
    quantity_on_hand: int
    quantity_reserved: int
    available: int
    scan_code: str = Field(
        description="Random code for the lot's label; riders scan it at pickup."
    )

    @classmethod
    def of(cls, lot: StockLot) -> LotRead:
        """From the domain object."""
        return cls(
            id=lot.id,
            pharmacy_id=lot.pharmacy_id,
            sku=lot.sku,
            lot_number=lot.lot_number,
            expiry_date=lot.expiry_date,
            quantity_on_hand=lot.quantity_on_hand,
            quantity_reserved=lot.quantity_reserved,
            available=lot.available,
            scan_code=lot.scan_code,
        )


class ImportRowError(BaseModel):
    """A CSV row that was not imported."""

    line: int = Field(description="1-based line number in the file (header = 1).")
    code: str
    detail: str


class StockImportRead(BaseModel):
    """Result of a CSV stock import (all-or-nothing)."""

    imported: int
    errors: list[ImportRowError]
