"""The rider's hand-offs: pickup (lot scan), delivery (OTP, ID attestation),
failure. OTP submissions are rate limited per rider and per IP.

Each takes an optional ``Idempotency-Key`` (:mod:`api.idempotency`): a retry
with the same key replays the first answer and acts no second time (one proof,
one audit entry, one OTP attempt).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from starlette.responses import Response

from api.auth.actor import actor_of
from api.deps import ClientIp, RiderDevice, ServicesDep, Tx
from api.errors import error_responses
from api.idempotency import IdempotencyKey, run_idempotent
from api.schemas.common import Point
from api.schemas.riders import AckRead
from dispatch.delivery import handoff as proof
from dispatch.delivery.proof_rules import IdCheck
from dispatch.domain import GeoPoint
from dispatch.errors import OrderNotFound
from dispatch.orders import fulfilment
from dispatch.orders import queries as order_queries

router = APIRouter(tags=["delivery"])


#: A stock lot's id as stored (a positive PostgreSQL bigint): larger integers were
#: a 500 (found by the OpenAPI fuzzer), now a 422.
LotId = Annotated[int, Field(ge=1, le=2**63 - 1)]


#: A lot's label code as scanned or typed (24 base32 characters; case, spaces
#: and hyphens of a label's grouping are ignored).
ScanCode = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z2-7 -]+$")
]


class PickupConfirm(BaseModel):
    """The lots the rider scanned at the pharmacy: their label codes
    (``scanned_lot_codes``), or, from older clients, their internal ids
    (``scanned_lot_ids``, deprecated: guessable). Exactly one of the two."""

    model_config = ConfigDict(extra="forbid")

    scanned_lot_codes: list[ScanCode] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The codes on the lots' labels (``scan_code`` of the pick list).",
    )
    scanned_lot_ids: list[LotId] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Deprecated: internal lot ids; send scanned_lot_codes.",
        # OpenAPI only: pydantic's deprecated=True warns on every attribute read
        json_schema_extra={"deprecated": True},
    )
    position: Point | None = None

    @model_validator(mode="after")
    def _one_scan(self) -> PickupConfirm:
        if (self.scanned_lot_codes is None) == (self.scanned_lot_ids is None):
            raise ValueError("send exactly one of scanned_lot_codes, scanned_lot_ids")
        return self


class IdCheckIn(BaseModel):
    """Attestation of an ID check: document type and last digits, never an image."""

    model_config = ConfigDict(extra="forbid")

    document_type: str = Field(max_length=32)
    last_digits: str = Field(min_length=2, max_length=4)


class DeliveryConfirm(BaseModel):
    """The patient's one-time code and where the hand-off happened."""

    model_config = ConfigDict(extra="forbid")

    otp: SecretStr = Field(min_length=4, max_length=12)
    position: Point
    id_check: IdCheckIn | None = None
    signature: SecretStr | None = Field(
        default=None, max_length=200_000, description="Signature image/vector data."
    )


class DeliveryFailure(BaseModel):
    """Why the delivery could not be completed."""

    model_config = ConfigDict(extra="forbid")

    reason: Literal[
        "patient_absent",
        "address_not_found",
        "refused",
        "id_check_failed",
        "goods_damaged",
        "unsafe_location",
        "other",
    ]
    position: Point | None = None


def _own_order(tx: Tx, order_id: str, rider_id: str) -> None:
    order = order_queries.get_order(tx, order_id)
    if order.rider_id != rider_id:
        raise OrderNotFound(order_id)  # other riders' orders do not exist for them


def _geo(point: Point | None) -> GeoPoint | None:
    return GeoPoint(point.lat, point.lon) if point else None


@router.post(
    "/orders/{order_id}/pickup",
    response_model=AckRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def confirm_pickup(
    order_id: str,
    body: PickupConfirm,
    services: ServicesDep,
    me: RiderDevice,
    request: Request,
    key: IdempotencyKey = None,
) -> AckRead | Response:
    """Confirm collection: the scanned lots must be exactly the order's reserved
    lots. Sends the patient their delivery code."""

    def act(tx: Tx) -> AckRead:
        _own_order(tx, order_id, me.subject_id)
        fulfilment.mark_picked_up(
            tx,
            order_id,
            rider_id=me.subject_id,
            position=_geo(body.position),
            actor=actor_of(me),
            scanned_lot_ids=body.scanned_lot_ids,
            scanned_lot_codes=body.scanned_lot_codes,
        )
        return AckRead()

    return _run(request, services, me, key, "pickup", order_id, body, act)


@router.post(
    "/orders/{order_id}/delivery",
    response_model=AckRead,
    responses=error_responses(401, 403, 404, 409, 422, 429),
)
def confirm_delivery(
    order_id: str,
    body: DeliveryConfirm,
    services: ServicesDep,
    me: RiderDevice,
    ip: ClientIp,
    request: Request,
    key: IdempotencyKey = None,
) -> AckRead | Response:
    """Complete the hand-off with the patient's code (and ID attestation and
    signature when the products need them). A retry under the same
    ``Idempotency-Key`` replays the first answer, a wrong code's included,
    without counting another attempt."""
    id_check = (
        IdCheck(body.id_check.document_type, body.id_check.last_digits)
        if body.id_check
        else None
    )

    def act(tx: Tx) -> AckRead:
        _own_order(tx, order_id, me.subject_id)
        proof.complete_delivery(
            tx,
            order_id,
            otp=body.otp.get_secret_value(),
            rider_id=me.subject_id,
            position=GeoPoint(body.position.lat, body.position.lon),
            actor=actor_of(me),
            id_check=id_check,
            signature=body.signature.get_secret_value() if body.signature else None,
        )
        return AckRead()

    def limit() -> None:
        services.otp_limiter.hit(f"rider:{me.subject_id}", f"ip:{ip}")

    return _run(request, services, me, key, "delivery", order_id, body, act, limit)


@router.post(
    "/orders/{order_id}/failure",
    response_model=AckRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def report_failure(
    order_id: str,
    body: DeliveryFailure,
    services: ServicesDep,
    me: RiderDevice,
    request: Request,
    key: IdempotencyKey = None,
) -> AckRead | Response:
    """The delivery failed; stock is returned or written off."""

    def act(tx: Tx) -> AckRead:
        _own_order(tx, order_id, me.subject_id)
        fulfilment.fail_delivery(
            tx,
            order_id,
            actor=actor_of(me),
            reason=body.reason,
            position=_geo(body.position),
        )
        return AckRead()

    return _run(request, services, me, key, "failure", order_id, body, act)


def _run(
    request: Request,
    services: ServicesDep,
    me: RiderDevice,
    key: str | None,
    command: str,
    order_id: str,
    body: BaseModel,
    act: Callable[[Tx], AckRead],
    before: Callable[[], None] | None = None,
) -> AckRead | Response:
    """``act`` in one transaction, once per ``Idempotency-Key``."""
    result = run_idempotent(
        request,
        services.db,
        services.idempotency,
        principal=me,
        key=key,
        endpoint=f"POST /orders/{{order_id}}/{command}",
        fingerprint_of={"order_id": order_id, "body": body},
        action=act,
        before=before,
    )
    return result if isinstance(result, Response) else AckRead()
