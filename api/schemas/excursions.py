"""Excursion records for pharmacists and dispatchers: what went out of range,
for how long, how far, its mean kinetic temperature, and the orders held."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.cold_boxes import TemperatureBand


class HeldOrders(BaseModel):
    """The hold placed for an excursion and the orders it covers."""

    hold_id: int
    href: str = Field(description="``/holds/{hold_id}``.")
    decision: str | None = Field(description="released/rejected; null while open.")
    order_ids: list[str]


class MktWindow(BaseModel):
    """The USP <1079.2> evaluation window ending at the excursion's end (or at
    now while it is open): 24 h for cold products (band top at or below 8 °C),
    30 days for room-temperature ones. It includes the excursion unless that
    lasted longer than the window."""

    from_: datetime = Field(serialization_alias="from")
    to: datetime
    hours: float
    readings: int
    mkt_c: float | None = Field(description="Null without readings.")
    minutes_out_of_range: float
    min_c: float | None
    max_c: float | None


class ExcursionSummary(BaseModel):
    """One excursion of a box, as listed."""

    id: int
    ref: str = Field(description="``telemetry.excursion:<id>``, as on its hold.")
    href: str = Field(description="``/excursions/{id}``: the full record.")
    box_id: str
    kind: str = Field(
        description="temperature_high, temperature_low, box_silent, low_battery, "
        "door_open or seq_gap (a gap in the box's readings stayed open)."
    )
    rule: str = Field(description="single_event, cumulative or threshold.")
    status: str = Field(description="open, acknowledged or resolved.")
    started_at: datetime = Field(
        description="First out-of-range reading (device time)."
    )
    alarmed_at: datetime = Field(description="When the rule's delay or budget ran out.")
    ended_at: datetime | None = Field(description="Back in range; null while open.")
    open: bool = Field(description="Whether the condition still holds.")
    peak_c: float | None = Field(description="Hottest (high) or coldest (low) reading.")
    retracted_at: datetime | None = Field(
        description="Set when late readings showed the excursion did not happen."
    )
    hold_id: int | None = Field(description="The hold placed for it, if any.")


class ExcursionRecord(ExcursionSummary):
    """An excursion's full record: allowed range, span, time out of range, peak,
    MKT (ΔH = 83.144 kJ/mol) over the excursion and over its USP window, and the
    orders it held. Minutes out of range weigh each reading by the time to the
    next one (at most 15 min). MKT never excuses a freeze: read ``min_c`` too."""

    range: TemperatureBand | None = Field(
        description="Allowed band of the excursion's profile; null if unknown."
    )
    detected_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    until: datetime = Field(
        description="End of the span measured: ``ended_at``, or now while open."
    )
    duration_minutes: float = Field(description="``until - started_at``.")
    readings: int = Field(description="Readings within the excursion's span.")
    minutes_out_of_range: float | None
    min_c: float | None
    max_c: float | None
    mkt_c: float | None = Field(description="MKT over the excursion's span.")
    mkt_window: MktWindow | None
    mkt_delta_h_kj_per_mol: float = 83.144
    hold: HeldOrders | None
    order_ids: list[str] = Field(description="Orders held for this excursion.")
