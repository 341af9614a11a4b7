"""Cold boxes in and out of cold service by hand (dispatchers and pharmacists).

A quarantined box takes no cold-chain orders (the planner and greedy assignment
skip its rider's cold capacity) until it is cleared. Telemetry quarantines boxes
on its own for temperature excursions and clears only those; a quarantine set
here is cleared here. Both are audited and, when the box has a rider, announced
on the dispatch channel (``rider.changed``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.actor import actor_of
from api.auth.access import PHARMACY
from api.deps import PharmacyUser, ServicesDep
from api.errors import ApiConflict, error_responses
from api.schemas.cold_boxes import ColdBoxRead, QuarantineClear, QuarantineCreate
from dispatch import fleet

router = APIRouter(tags=["cold boxes"])


@router.get(
    "/cold-boxes/{box_id}",
    response_model=ColdBoxRead,
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404),
)
def get_cold_box(box_id: str, services: ServicesDep) -> ColdBoxRead:
    """A cold box and its quarantine state."""
    with services.db.transaction() as tx:
        return ColdBoxRead.of(fleet.get_cold_box(tx, box_id))


@router.post(
    "/cold-boxes/{box_id}/quarantine",
    response_model=ColdBoxRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def quarantine_cold_box(
    box_id: str, body: QuarantineCreate, services: ServicesDep, who: PharmacyUser
) -> ColdBoxRead:
    """Take the box out of cold service (its temperature is in doubt); 409 if it
    already is."""
    with services.db.transaction() as tx:
        if not fleet.quarantine_cold_box(
            tx, box_id, reason=body.reason.strip(), ref=None, actor=actor_of(who)
        ):
            raise ApiConflict(f"cold box {box_id} is already quarantined")
        return ColdBoxRead.of(fleet.get_cold_box(tx, box_id))


@router.post(
    "/cold-boxes/{box_id}/clear",
    response_model=ColdBoxRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def clear_cold_box(
    box_id: str, body: QuarantineClear, services: ServicesDep, who: PharmacyUser
) -> ColdBoxRead:
    """Put a quarantined box back into cold service; 409 if it is not quarantined."""
    with services.db.transaction() as tx:
        if not fleet.clear_cold_box(tx, box_id, actor=actor_of(who), note=body.note):
            raise ApiConflict(f"cold box {box_id} is not quarantined")
        return ColdBoxRead.of(fleet.get_cold_box(tx, box_id))
