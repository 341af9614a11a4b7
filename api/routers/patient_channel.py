"""The fake patient channel's outbox (dev and test): what would have been texted
to a patient, for the simulator and demo playing the patient."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from api.auth.access import ADMIN
from api.deps import ServicesDep
from api.errors import ApiNotFound, error_responses
from api.patient_channel import FakeSmsGateway

router = APIRouter(tags=["dev"])


class PatientSmsRead(BaseModel):
    """A text the fake gateway kept instead of sending."""

    to: str
    body: str
    sent_at: datetime


@router.get(
    "/dev/patient-sms/{order_id}",
    response_model=list[PatientSmsRead],
    dependencies=[Depends(ADMIN)],
    responses=error_responses(401, 403, 404),
)
def patient_sms(order_id: str, services: ServicesDep) -> list[PatientSmsRead]:
    """Texts "sent" to the patient of an order by the fake gateway
    (``API_PATIENT_CHANNEL=fake``, refused in production); 404 with a real
    gateway: then only the patient's phone has them."""
    channel = services.patient_channel
    if not isinstance(channel, FakeSmsGateway):
        raise ApiNotFound("Patient texts go to a real SMS gateway here.")
    return [
        PatientSmsRead(to=m.to, body=m.body, sent_at=m.sent_at)
        for m in channel.sent(order_id)
    ]
