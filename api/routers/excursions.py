"""Cold-chain excursions as records: one excursion, and a box's excursions.

Telemetry detects excursions (:mod:`telemetry.excursions`) and holds the orders
in the box (:mod:`telemetry.notify`); these routes show what happened in a form
a pharmacist can decide on. A hold links to its excursion (``GET /holds/{id}``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.auth.access import PHARMACY
from api.auth.actor import actor_of
from api.deps import PharmacyUser, ServicesDep
from api.errors import ApiNotFound, error_responses
from api.excursion_records import box_excursions, excursion_record
from api.live.hub import DISPATCH_TOPIC
from api.schemas.common import ENTITY_ID
from api.schemas.excursions import ExcursionRecord, ExcursionSummary
from telemetry import excursion_store
from telemetry import store as telemetry_store

router = APIRouter(tags=["cold boxes"])

#: ids are bigint identities
_MAX_ID = 2**63 - 1


@router.get(
    "/excursions/{excursion_id}",
    response_model=ExcursionRecord,
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404, 422),
)
def get_excursion(
    excursion_id: Annotated[int, Path(ge=1, le=_MAX_ID)], services: ServicesDep
) -> ExcursionRecord:
    """An excursion's record: allowed range, start and end (null while open),
    minutes out of range, peak, MKT over the excursion and over its USP
    evaluation window (24 h cold, 30 days room temperature), the box and the
    orders held for it. Retracted excursions stay readable (``retracted_at``)."""
    with services.db.transaction() as tx:
        return excursion_record(tx, excursion_id, now=services.clock.now())


@router.post(
    "/excursions/{excursion_id}/acknowledge",
    response_model=ExcursionRecord,
    responses=error_responses(401, 403, 404, 409, 422),
)
def acknowledge_excursion(
    excursion_id: Annotated[int, Path(ge=1, le=_MAX_ID)],
    services: ServicesDep,
    who: PharmacyUser,
) -> ExcursionRecord:
    """Someone is on it: open -> acknowledged, with who and when (audited); 409
    if it already was, or is resolved. The dispatchers' feed carries
    ``excursion.acknowledged`` with the alert's ``alert_id``, and the snapshot's
    alert says ``acknowledged``, so every dispatcher's banner stays quiet."""
    actor = actor_of(who)
    with services.db.transaction() as tx:
        excursion_store.acknowledge(
            tx.conn, excursion_id, by=actor, now=services.clock.now()
        )
        tx.audit(
            actor=actor,
            action="excursion.acknowledged",
            subject_type="excursion",
            subject_id=str(excursion_id),
        )
    with services.db.transaction() as tx:
        record = excursion_record(tx, excursion_id, now=services.clock.now())
    services.hub.publish(
        DISPATCH_TOPIC,
        "excursion.acknowledged",
        {
            "excursion_id": excursion_id,
            "alert_id": f"excursion.opened:{excursion_id}",
            "box_id": record.box_id,
            "by": actor,
        },
    )
    return record


@router.get(
    "/cold-boxes/{box_id}/excursions",
    response_model=list[ExcursionSummary],
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404, 422),
)
def list_box_excursions(
    box_id: Annotated[str, Path(pattern=ENTITY_ID)],
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    include_retracted: bool = False,
) -> list[ExcursionSummary]:
    """A cold box's excursions, newest first, each linking to its record and
    its hold."""
    with services.db.transaction() as tx:
        if telemetry_store.box_band(tx.conn, box_id) is None:
            raise ApiNotFound(f"cold box {box_id} is not known to telemetry")
        return box_excursions(
            tx, box_id, limit=limit, include_retracted=include_retracted
        )
