"""Riders: registration and listing (dispatch), shifts, status, position and
their own route (the rider's device)."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, Depends, status

from api.auth.access import DISPATCH
from api.auth.actor import actor_of
from api.deps import Dispatcher, RiderDevice, ServicesDep
from api.errors import error_responses
from api.live.hub import RiderPosition
from api.schemas.riders import (
    AckRead,
    ColdBoxCreate,
    PositionUpdate,
    RiderCreate,
    RiderRead,
    RiderRouteRead,
    ShiftStart,
    StatusUpdate,
)
from dispatch import fleet
from dispatch.domain import ColdBox, GeoPoint, Rider, RiderId

router = APIRouter(tags=["riders"])


@router.post(
    "/riders",
    response_model=RiderRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409, 422),
)
def create_rider(
    body: RiderCreate, services: ServicesDep, who: Dispatcher
) -> RiderRead:
    """Register a rider (then issue a device token for their phone)."""
    rider = Rider(
        id=RiderId(body.id),
        name=body.name,
        vehicle_type=body.vehicle_type,
        cold_box_slots=body.cold_box_slots,
        skills=frozenset(body.skills),
    )
    with services.db.transaction() as tx:
        fleet.register_rider(tx, rider, actor=actor_of(who))
        return RiderRead.of(fleet.get_rider(tx, rider.id))


@router.post(
    "/cold-boxes",
    response_model=AckRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 409, 422),
)
def create_cold_box(
    body: ColdBoxCreate, services: ServicesDep, who: Dispatcher
) -> AckRead:
    """Register a cold box (temperature profile code, e.g. ``refrigerated``) and
    optionally the rider carrying it; its sensor publishes as this box id."""
    box = ColdBox(
        id=body.id,
        profile_code=body.profile_code,
        rider_id=RiderId(body.rider_id) if body.rider_id else None,
    )
    with services.db.transaction() as tx:
        fleet.register_cold_box(tx, box, actor=actor_of(who))
    return AckRead()


@router.get(
    "/riders",
    response_model=list[RiderRead],
    dependencies=[Depends(DISPATCH)],
    responses=error_responses(401, 403),
)
def list_riders(services: ServicesDep) -> list[RiderRead]:
    """Every rider with their status and last position."""
    with services.db.transaction() as tx:
        return [RiderRead.of(r) for r in fleet.list_riders(tx)]


@router.get(
    "/riders/me",
    response_model=RiderRead,
    responses=error_responses(401, 403, 404),
)
def me(services: ServicesDep, me: RiderDevice) -> RiderRead:
    """The calling rider: their status and shift (the rider app's header)."""
    with services.db.transaction() as tx:
        return RiderRead.of(fleet.get_rider(tx, me.subject_id))


@router.post(
    "/riders/me/shift/start",
    response_model=AckRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def start_shift(body: ShiftStart, services: ServicesDep, me: RiderDevice) -> AckRead:
    """Start the calling rider's shift."""
    pos = GeoPoint(body.position.lat, body.position.lon) if body.position else None
    with services.db.transaction() as tx:
        fleet.start_shift(
            tx, me.subject_id, ends_at=body.ends_at, actor=actor_of(me), position=pos
        )
    return AckRead()


@router.post(
    "/riders/me/shift/end",
    response_model=AckRead,
    responses=error_responses(401, 403, 404, 409),
)
def end_shift(services: ServicesDep, me: RiderDevice) -> AckRead:
    """End the calling rider's shift."""
    with services.db.transaction() as tx:
        fleet.end_shift(tx, me.subject_id, actor=actor_of(me))
    services.hub.call_on_loop(services.live.clear_rider, me.subject_id)
    return AckRead()


@router.post(
    "/riders/me/status",
    response_model=AckRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def set_status(body: StatusUpdate, services: ServicesDep, me: RiderDevice) -> AckRead:
    """Available, on break or offline."""
    with services.db.transaction() as tx:
        fleet.set_rider_status(tx, me.subject_id, body.status, actor=actor_of(me))
    return AckRead()


@router.post(
    "/riders/me/position",
    response_model=AckRead,
    responses=error_responses(401, 403, 404, 422),
)
def post_position(
    body: PositionUpdate, services: ServicesDep, me: RiderDevice
) -> AckRead:
    """Record a position (REST fallback of the ``/ws/rider`` channel)."""
    at = body.at.astimezone(UTC) if body.at and body.at.tzinfo else services.clock.now()
    with services.db.transaction() as tx:
        fleet.update_position(tx, me.subject_id, GeoPoint(body.lat, body.lon), at=at)
    services.hub.call_on_loop(
        services.live.on_position,
        RiderPosition(me.subject_id, body.lat, body.lon, at),
        body.accuracy_m,
    )
    return AckRead()


@router.get(
    "/riders/me/route",
    response_model=RiderRouteRead,
    responses=error_responses(401, 403),
)
def my_route(services: ServicesDep, me: RiderDevice) -> RiderRouteRead:
    """The calling rider's remaining stops: location, access notes, first name."""
    return services.routes.view(me.subject_id)
