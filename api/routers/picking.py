"""Pick lists: the lots a pharmacist hands over for each order (staff only).

A rider scans these lots at pickup (``POST /orders/{id}/pickup``); the rider's own
views never carry SKUs, lots or quantities.
"""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from api.auth.access import PHARMACY
from api.deps import ServicesDep
from api.errors import error_responses
from dispatch.orders.order import OrderStatus
from dispatch.stock import picking
from dispatch.stock.picking import PickLine

router = APIRouter(tags=["picking"])


class PickLineRead(BaseModel):
    """Units of one lot to hand over for one order."""

    order_id: str
    order_status: OrderStatus
    pharmacy_id: str
    sku: str
    lot_id: int
    lot_number: str
    scan_code: str = Field(
        description="The code printed on the lot's label, scanned by the rider."
    )
    expiry_date: date
    quantity: int

    @classmethod
    def of(cls, line: PickLine) -> PickLineRead:
        """From the domain object."""
        return cls(
            order_id=line.order_id,
            order_status=line.order_status,
            pharmacy_id=line.pharmacy_id,
            sku=line.sku,
            lot_id=line.lot_id,
            lot_number=line.lot_number,
            scan_code=line.scan_code,
            expiry_date=line.expiry_date,
            quantity=line.quantity,
        )


@router.get(
    "/orders/{order_id}/pick-list",
    response_model=list[PickLineRead],
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404, 422),
)
def order_pick_list(order_id: str, services: ServicesDep) -> list[PickLineRead]:
    """The lots held for one order, to hand over and be scanned at pickup (empty
    once picked up)."""
    with services.db.transaction() as tx:
        lines = picking.order_pick_list(tx, order_id)
    return [PickLineRead.of(line) for line in lines]


@router.get(
    "/pharmacies/{pharmacy_id}/pick-list",
    response_model=list[PickLineRead],
    dependencies=[Depends(PHARMACY)],
    responses=error_responses(401, 403, 404, 422),
)
def pharmacy_pick_list(pharmacy_id: str, services: ServicesDep) -> list[PickLineRead]:
    """Everything to prepare at one pharmacy: the held lots of its sourced and
    assigned orders, oldest order first."""
    with services.db.transaction() as tx:
        lines = picking.pharmacy_pick_list(tx, pharmacy_id)
    return [PickLineRead.of(line) for line in lines]
