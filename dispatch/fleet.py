"""Rider and cold-box commands: registration, shifts, status and live position.

Shift and status changes bump the rider's version (a plan computed before them is
stale for that rider); position updates do not, but still trigger a re-plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from dispatch.adapters.postgres import catalogue
from dispatch.adapters.postgres import holds as holds_repo
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import ColdBox, GeoPoint, Rider, RiderStatus, require_utc
from dispatch.errors import InvalidInput
from dispatch.events import RiderChanged
from dispatch.geo import ServiceArea

__all__ = [
    "FIX_MAX_AGE",
    "FIX_MAX_AHEAD",
    "check_fix",
    "clear_cold_box",
    "end_shift",
    "get_cold_box",
    "get_rider",
    "list_quarantined_boxes",
    "list_riders",
    "orders_in_box",
    "quarantine_cold_box",
    "register_cold_box",
    "register_rider",
    "riders_cold_boxes",
    "set_rider_status",
    "start_shift",
    "update_position",
]


FIX_MAX_AHEAD = timedelta(minutes=5)
"""A fix dated later than this after the server's clock is refused (device clock
skew is tolerated up to it; a fix "from 2999" is not)."""
FIX_MAX_AGE = timedelta(hours=24)
"""A fix older than this is refused: an offline queue replays a shift, not a week."""


def check_fix(
    area: ServiceArea | None,
    position: GeoPoint,
    at: datetime,
    *,
    now: datetime,
    field: str = "position",
) -> None:
    """Refuse a rider fix outside the service area (``OutsideServiceArea``) or
    dated outside ``[now - FIX_MAX_AGE, now + FIX_MAX_AHEAD]`` (``InvalidInput``
    naming ``at``). Pure: the websocket checks a fix before fanning it out."""
    require_utc(at, "at")
    if at > now + FIX_MAX_AHEAD:
        raise InvalidInput(
            "at is more than 5 minutes ahead of the server clock", field="at"
        )
    if at < now - FIX_MAX_AGE:
        raise InvalidInput("at is more than 24 hours old", field="at")
    if area is not None:
        area.require(position, field)


get_cold_box = catalogue.get_cold_box
get_rider = catalogue.get_rider
list_riders = catalogue.list_riders
list_quarantined_boxes = catalogue.list_quarantined_boxes
riders_cold_boxes = catalogue.riders_cold_boxes


def orders_in_box(tx: Tx, box_id: str) -> list[str]:
    """Ids of the picked-up orders travelling with the box's rider (for telemetry)."""
    box = catalogue.get_cold_box(tx, box_id)
    if box.rider_id is None:
        return []
    return holds_repo.orders_carried_by(tx, box.rider_id)


def register_rider(tx: Tx, rider: Rider, *, actor: str) -> None:
    """Add a rider (``DuplicateEntity`` if the id exists)."""
    catalogue.insert_rider(tx, rider)
    tx.audit(
        actor=actor,
        action="rider.registered",
        subject_type="rider",
        subject_id=rider.id,
        details={"vehicle": rider.vehicle_type.value},
    )
    tx.emit(RiderChanged(rider.id, "registered"))


def register_cold_box(tx: Tx, box: ColdBox, *, actor: str) -> None:
    """Add a cold box."""
    profiles = catalogue.list_temperature_profiles(tx)
    if box.profile_code not in profiles:
        raise InvalidInput(f"unknown temperature profile {box.profile_code!r}")
    if box.rider_id is not None:
        catalogue.get_rider(tx, box.rider_id)
    catalogue.insert_cold_box(tx, box)
    tx.audit(
        actor=actor,
        action="cold_box.registered",
        subject_type="cold_box",
        subject_id=box.id,
        details={"profile": box.profile_code},
    )


def quarantine_cold_box(
    tx: Tx, box_id: str, *, reason: str, ref: str | None, actor: str
) -> bool:
    """Take the box out of cold service (its temperature is in doubt): its rider
    gets no cold-chain orders until :func:`clear_cold_box`. False if it already was.
    """
    if not reason.strip():
        raise InvalidInput("a quarantine needs a reason")
    box = catalogue.get_cold_box(tx, box_id, for_update=True)
    if not box.fit_for_cold:
        return False
    catalogue.set_cold_box_quarantine(tx, box_id, at=tx.now, reason=reason, ref=ref)
    _box_changed(tx, box, "cold_box.quarantined", actor, {"reason": reason, "ref": ref})
    return True


def clear_cold_box(tx: Tx, box_id: str, *, actor: str, note: str = "") -> bool:
    """Put a quarantined box back into cold service; False if it was not quarantined."""
    box = catalogue.get_cold_box(tx, box_id, for_update=True)
    if box.fit_for_cold:
        return False
    catalogue.set_cold_box_quarantine(tx, box_id, at=None, reason=None, ref=None)
    details = {"note": note, "ref": box.quarantine_ref}
    _box_changed(tx, box, "cold_box.cleared", actor, details)
    return True


def _box_changed(
    tx: Tx, box: ColdBox, action: str, actor: str, details: Mapping[str, object]
) -> None:
    tx.audit(
        actor=actor,
        action=action,
        subject_type="cold_box",
        subject_id=box.id,
        details=details,
    )
    if box.rider_id is not None:
        # a plan computed before the change relied on the old cold capacity
        catalogue.bump_rider_version(tx, box.rider_id)
        tx.emit(RiderChanged(box.rider_id, action))


def start_shift(
    tx: Tx,
    rider_id: str,
    *,
    ends_at: datetime,
    actor: str,
    position: GeoPoint | None = None,
) -> None:
    """The rider starts working now until ``ends_at``."""
    require_utc(ends_at, "ends_at")
    if ends_at <= tx.now:
        raise InvalidInput("a shift must end in the future")
    if position is not None:
        check_fix(tx.ctx.service_area, position, tx.now, now=tx.now)
    catalogue.get_rider(tx, rider_id, for_update=True)
    catalogue.update_rider_shift(tx, rider_id, RiderStatus.AVAILABLE, tx.now, ends_at)
    if position is not None:
        catalogue.update_rider_position(tx, rider_id, position, tx.now)
    tx.audit(
        actor=actor,
        action="rider.shift_started",
        subject_type="rider",
        subject_id=rider_id,
        details={"ends_at": ends_at.isoformat()},
    )
    tx.emit(RiderChanged(rider_id, "shift_started"))


def end_shift(tx: Tx, rider_id: str, *, actor: str) -> None:
    """The rider stops working; the next plan re-distributes their open orders."""
    rider = catalogue.get_rider(tx, rider_id, for_update=True)
    catalogue.update_rider_shift(
        tx, rider_id, RiderStatus.OFF_SHIFT, rider.shift_start_at, tx.now
    )
    tx.audit(
        actor=actor,
        action="rider.shift_ended",
        subject_type="rider",
        subject_id=rider_id,
    )
    tx.emit(RiderChanged(rider_id, "shift_ended"))


def set_rider_status(tx: Tx, rider_id: str, status: RiderStatus, *, actor: str) -> None:
    """Mark a rider available, on break or offline."""
    rider = catalogue.get_rider(tx, rider_id, for_update=True)
    if rider.status is status:
        return
    catalogue.update_rider_shift(
        tx, rider_id, status, rider.shift_start_at, rider.shift_end_at
    )
    tx.audit(
        actor=actor,
        action="rider.status_changed",
        subject_type="rider",
        subject_id=rider_id,
        details={"status": status.value},
    )
    tx.emit(RiderChanged(rider_id, f"status:{status.value}"))


def update_position(
    tx: Tx, rider_id: str, position: GeoPoint, *, at: datetime | None = None
) -> None:
    """Store the rider's live position (telemetry, not a decision: not audited);
    refused outside the service area or badly dated (:func:`check_fix`)."""
    when = at or tx.now
    check_fix(tx.ctx.service_area, position, when, now=tx.now, field="")
    catalogue.update_rider_position(tx, rider_id, position, when)
    tx.emit(RiderChanged(rider_id, "position"))
