"""Holds: goods in doubt wait for a pharmacist to release or reject them."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.auth.access import PHARMACY
from api.auth.actor import actor_of
from api.deps import Pharmacist, PharmacyUser, ServicesDep
from api.errors import error_responses
from api.excursion_records import excursion_id_of, excursion_record
from api.schemas.audit import AuditEntryRead
from api.schemas.excursions import ExcursionRecord
from dispatch.audit import trail
from dispatch.holds import commands as holds
from dispatch.holds import queries as holds_queries
from dispatch.holds.queries import Hold
from dispatch.holds.reasons import NOTE_MAX_LENGTH, HoldReason
from dispatch.orders import queries as order_queries

router = APIRouter(tags=["holds"])


class HoldRead(BaseModel):
    """A hold and its decision, if any."""

    id: int
    reason: HoldReason
    reason_note: str = Field(description="Short context; never patient data.")
    box_id: str | None
    placed_by: str
    placed_at: datetime
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    order_ids: list[str]
    excursion_id: int | None = Field(
        default=None, description="The cold-chain excursion that placed the hold."
    )
    excursion_href: str | None = Field(
        default=None, description="``/excursions/{excursion_id}``: its record."
    )

    @classmethod
    def of(cls, h: Hold) -> HoldRead:
        """From the domain object."""
        excursion_id = excursion_id_of(h.excursion_ref)
        return cls(
            id=h.id,
            reason=h.reason,
            reason_note=h.reason_note,
            box_id=h.box_id,
            placed_by=h.placed_by,
            placed_at=h.placed_at,
            decision=h.decision,
            decided_by=h.decided_by,
            decided_at=h.decided_at,
            order_ids=list(h.order_ids),
            excursion_id=excursion_id,
            excursion_href=(
                f"/excursions/{excursion_id}" if excursion_id is not None else None
            ),
        )


class HoldDetail(HoldRead):
    """A hold with the record of the excursion that placed it (if any)."""

    excursion: ExcursionRecord | None


class HoldCreate(BaseModel):
    """Hold orders, or every order a box's rider carries, for a pharmacist."""

    model_config = ConfigDict(extra="forbid")

    reason: HoldReason
    note: str = Field(
        default="",
        max_length=NOTE_MAX_LENGTH,
        description="Short context for the pharmacist; never patient data.",
    )
    order_ids: list[str] = Field(default_factory=list, max_length=100)
    box_id: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _something_to_hold(self) -> HoldCreate:
        if not self.order_ids and self.box_id is None:
            raise ValueError("name the orders to hold, or a box")
        return self


class HoldDecision(BaseModel):
    """The pharmacist's note on the decision."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=500)


class HoldRejected(BaseModel):
    """The replacement orders created for the rejected goods."""

    hold: HoldRead
    replacement_order_ids: list[str]


@router.get(
    "/holds",
    response_model=list[HoldRead],
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403),
)
def list_open_holds(services: ServicesDep) -> list[HoldRead]:
    """Holds waiting for a decision."""
    with services.db.transaction() as tx:
        return [HoldRead.of(h) for h in holds_queries.list_open_holds(tx)]


@router.get(
    "/holds/{hold_id}",
    response_model=HoldDetail,
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404, 422),
)
def get_hold(hold_id: int, services: ServicesDep) -> HoldDetail:
    """One hold, open or decided; a hold placed for a cold-chain excursion
    carries the excursion's record (range, span, minutes out of range, peak,
    MKT, the orders held)."""
    with services.db.transaction() as tx:
        hold = HoldRead.of(holds_queries.get_hold(tx, hold_id))
        excursion = (
            excursion_record(tx, hold.excursion_id, now=services.clock.now())
            if hold.excursion_id is not None
            else None
        )
    return HoldDetail(**hold.model_dump(), excursion=excursion)


@router.get(
    "/holds/{hold_id}/audit",
    response_model=list[AuditEntryRead],
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404, 422),
)
def get_hold_audit(hold_id: int, services: ServicesDep) -> list[AuditEntryRead]:
    """The hold's audit trail, oldest first: placed, then released or rejected
    (with the replacement orders), each with who and when."""
    with services.db.transaction() as tx:
        holds_queries.get_hold(tx, hold_id)  # 404 for an unknown hold
        entries = trail.list_entries(tx, subject_id=str(hold_id), limit=100)
    return [AuditEntryRead.of(e) for e in reversed(entries) if e.subject_type == "hold"]


@router.post(
    "/holds",
    response_model=HoldRead,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 422),
)
def place_hold(body: HoldCreate, services: ServicesDep, who: PharmacyUser) -> HoldRead:
    """Hold goods in doubt (e.g. ``damaged``, ``pharmacist_request``) until a
    pharmacist releases or rejects them; an unknown reason code is a 422."""
    with services.db.transaction() as tx:
        hold = holds.place_hold(
            tx,
            reason=body.reason,
            note=body.note,
            actor=actor_of(who),
            order_ids=body.order_ids,
            box_id=body.box_id,
        )
        return HoldRead.of(hold)


@router.post(
    "/holds/{hold_id}/release",
    response_model=HoldRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def release_hold(
    hold_id: int, body: HoldDecision, services: ServicesDep, who: Pharmacist
) -> HoldRead:
    """The goods are fine: each order resumes where it was."""
    with services.db.transaction() as tx:
        holds.release_hold(tx, hold_id, actor=actor_of(who), note=body.note)
        return HoldRead.of(holds_queries.get_hold(tx, hold_id))


@router.post(
    "/holds/{hold_id}/reject",
    response_model=HoldRejected,
    responses=error_responses(401, 403, 404, 409, 422),
)
def reject_hold(
    hold_id: int, body: HoldDecision, services: ServicesDep, who: Pharmacist
) -> HoldRejected:
    """The goods are unfit: written off; replacement orders are sourced. Each
    patient's tracking link now follows the replacement order."""
    ttl_s = services.settings.api.tracking_link_ttl_s
    with services.db.transaction() as tx:
        replacements = holds.reject_hold(
            tx, hold_id, actor=actor_of(who), note=body.note
        )
        hold = holds_queries.get_hold(tx, hold_id)
        for replacement in replacements:
            original = order_queries.get_order(tx, replacement).replacement_of
            if original is not None:
                services.auth.move_tracking_links(
                    tx.conn,
                    from_order=original,
                    to_order=replacement,
                    min_expires_at=tx.now + timedelta(seconds=ttl_s),
                )
    return HoldRejected(hold=HoldRead.of(hold), replacement_order_ids=replacements)
