"""The patient's tracking link: status, ETA, rider position while approaching,
and the messages meant for them (their delivery code)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import Patient, ServicesDep
from api.errors import Forbidden, error_responses
from api.live.patient_view import tracking_view
from api.schemas.orders import PatientMessageRead, TrackingView
from dispatch.orders import patient_data as patients

router = APIRouter(tags=["tracking"])


@router.get(
    "/track/{token}", response_model=TrackingView, responses=error_responses(404)
)
def track(services: ServicesDep, me: Patient) -> TrackingView:
    """Status and ETA of the order this link covers."""
    return tracking_view(services.db, services.live, me.order_id or "")


@router.get(
    "/track/{token}/messages",
    response_model=list[PatientMessageRead],
    responses=error_responses(403, 404),
)
def messages(services: ServicesDep, me: Patient) -> list[PatientMessageRead]:
    """Messages for the patient (e.g. the code to give the rider); reads are
    audited. Only the patient's own link (texted to their phone) reads them: the
    status link returned to the order's creator gets 403."""
    if not me.reads_messages:
        raise Forbidden(
            "This link shows the delivery's progress only; the delivery code is "
            "sent to the patient's phone."
        )
    with services.db.transaction() as tx:
        found = patients.read_patient_messages(
            tx, me.order_id or "", actor=f"patient:{me.subject_id}"
        )
    return [
        PatientMessageRead(kind=m.kind, body=m.body, expires_at=m.expires_at)
        for m in found
    ]
