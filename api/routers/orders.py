"""Orders: create (idempotent), read, list, cancel; the audited contact read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, status

from api.auth.access import DISPATCH
from api.auth.actor import actor_of
from api.auth.store import LinkScope
from api.deps import Dispatcher, PharmacyUser, ServicesDep
from api.errors import error_responses
from api.patient_channel import PatientSms, link_message
from api.schemas.common import ENTITY_ID, Page
from api.schemas.orders import (
    CancelRequest,
    ContactRead,
    OrderCreate,
    OrderCreated,
    OrderRead,
    OtpReissued,
)
from api.services import Services
from dispatch.delivery import handoff
from dispatch.orders import fulfilment, intake, queries
from dispatch.orders import patient_data as patients
from dispatch.orders.order import OrderStatus
from dispatch.orders.queries import OrderFilter

router = APIRouter(tags=["orders"])

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=128,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Client-chosen unique key; a retry with the same key and body "
        "returns the same order.",
    ),
]


@router.post(
    "/orders",
    response_model=OrderCreated,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
def create_order(
    body: OrderCreate, key: IdempotencyKey, services: ServicesDep, who: Dispatcher
) -> OrderCreated:
    """Accept an order: validated, sourced and its stock reserved in one
    transaction. Returns a status link for the creator (progress and ETA, never
    the delivery code); the patient's own link is texted to their phone."""
    request = body.to_request(key)
    with services.db.transaction() as tx:
        order = intake.submit_order(tx, request, actor=actor_of(who))
    api = services.settings.api
    now = services.clock.now()
    token = services.auth.ensure_tracking_link(
        order_id=order.id, ttl_s=api.tracking_link_ttl_s, now=now
    )
    _text_patient_link(services, order.id, body.patient.phone.get_secret_value())
    services.metrics.inc("orders_created_total")
    return OrderCreated(**OrderRead.of(order).model_dump(), tracking_token=token)


@router.get(
    "/orders",
    response_model=Page[OrderRead],
    dependencies=[Depends(DISPATCH)],
    responses=error_responses(401, 403, 422),
)
def list_orders(
    services: ServicesDep,
    status_: Annotated[list[OrderStatus] | None, Query(alias="status")] = None,
    rider_id: Annotated[str | None, Query(pattern=ENTITY_ID)] = None,
    pharmacy_id: Annotated[str | None, Query(pattern=ENTITY_ID)] = None,
    created_from: Annotated[
        datetime | None, Query(description="Inclusive; no offset means UTC.")
    ] = None,
    created_to: Annotated[
        datetime | None, Query(description="Exclusive; no offset means UTC.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[OrderRead]:
    """Orders, oldest first, filtered by status, rider, pharmacy and creation time
    (``created_from`` inclusive, ``created_to`` exclusive)."""
    criteria = OrderFilter(
        statuses=tuple(status_ or ()),
        rider_id=rider_id,
        pharmacy_id=pharmacy_id,
        created_from=_utc(created_from),
        created_to=_utc(created_to),
    )
    with services.db.transaction() as tx:
        page, total = queries.search_orders(tx, criteria, limit=limit, offset=offset)
    return Page[OrderRead](
        items=[OrderRead.of(o) for o in page],
        total=total,
        limit=limit,
        offset=offset,
    )


def _utc(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=UTC) if at is not None and at.tzinfo is None else at


@router.get(
    "/orders/{order_id}",
    response_model=OrderRead,
    responses=error_responses(401, 403, 404, 422),
)
def get_order(order_id: str, services: ServicesDep, _: PharmacyUser) -> OrderRead:
    """One order (staff view: lines, status, pharmacy, rider; no contact data)."""
    with services.db.transaction() as tx:
        return OrderRead.of(queries.get_order(tx, order_id))


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def cancel_order(
    order_id: str, body: CancelRequest, services: ServicesDep, who: Dispatcher
) -> OrderRead:
    """Cancel before pickup; reserved stock is released."""
    with services.db.transaction() as tx:
        fulfilment.cancel_order(tx, order_id, actor=actor_of(who), reason=body.reason)
        return OrderRead.of(queries.get_order(tx, order_id))


@router.post(
    "/orders/{order_id}/otp",
    response_model=OtpReissued,
    responses=error_responses(401, 403, 404, 409, 429),
)
def reissue_otp(order_id: str, services: ServicesDep, who: Dispatcher) -> OtpReissued:
    """Re-issue a picked-up order's delivery code when it is locked (too many
    wrong codes) or expired: the new code goes to the patient's channel only,
    the old one stops working, and the re-issue is audited. 409 while the code
    still works; at most ``API_OTP_REISSUES_PER_HOUR`` per order (429)."""
    services.otp_reissue_limiter.hit(f"order:{order_id}")
    with services.db.transaction() as tx:
        expires_at = handoff.reissue_otp(tx, order_id, actor=actor_of(who))
    services.metrics.inc("otp_reissued_total")
    return OtpReissued(expires_at=expires_at)


@router.get(
    "/orders/{order_id}/contact",
    response_model=ContactRead,
    responses=error_responses(401, 403, 404, 422),
)
def read_contact(
    order_id: str,
    services: ServicesDep,
    who: PharmacyUser,
    purpose: Annotated[str, Query(min_length=3, max_length=100)],
) -> ContactRead:
    """The patient's name, phone and address; every read is audited with its
    purpose."""
    with services.db.transaction() as tx:
        contact = patients.reveal_contact(
            tx, order_id, actor=actor_of(who), purpose=purpose
        )
    return ContactRead(name=contact.name, phone=contact.phone, address=contact.address)


def _text_patient_link(services: Services, order_id: str, phone: str) -> None:
    """Send the patient their own link (the one that reads the delivery code),
    once per order: a retried creation does not text them again."""
    api = services.settings.api
    token, created = services.auth.ensure_tracking_link_created(
        order_id=order_id,
        ttl_s=api.tracking_link_ttl_s,
        now=services.clock.now(),
        scope=LinkScope.patient,
    )
    if not created:
        return
    sms = PatientSms(
        order_id=order_id,
        to=phone,
        body=link_message(api.public_base_url, token),
        sent_at=services.clock.now(),
    )
    if not services.patient_channel.send(sms):
        services.metrics.inc("patient_channel_failed_total")
