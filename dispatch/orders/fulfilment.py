"""Order commands after intake: assign, pick up, cancel, fail.

Stock follows the order: assignment keeps the reservation (moving it if the plan
collects elsewhere, see :mod:`dispatch.stock.reservations`); pickup turns held
units into carried ones (off the shelf); cancel before pickup releases them; a
failed delivery restocks intact ambient goods only when the pharmacist says so,
otherwise (and always for cold-chain goods) writes them off.
"""

from __future__ import annotations

from collections.abc import Collection

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres import stock
from dispatch.adapters.postgres.catalogue import (
    cold_box_of_rider as get_cold_box_of_rider,
)
from dispatch.adapters.postgres.catalogue import (
    get_products,
    get_rider,
    lot_scan_codes,
)
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.delivery.handoff import issue_otp
from dispatch.domain import GeoPoint
from dispatch.errors import IllegalTransition, InvalidInput
from dispatch.holds.commands import place_hold
from dispatch.holds.reasons import NOTE_MAX_LENGTH, HoldReason
from dispatch.orders.order import Order, OrderStatus
from dispatch.orders.transitions import move
from dispatch.stock.picking import check_scan
from dispatch.stock.scan_codes import normalize_scan_code
from dispatch.stock.write_offs import write_off_order_stock

__all__ = [
    "assign_order",
    "cancel_order",
    "fail_delivery",
    "mark_picked_up",
    "unassign_order",
    "write_off_order_stock",
]


def assign_order(tx: Tx, order_id: str, rider_id: str, *, actor: str) -> Order:
    """Give a sourced order to a rider (dispatcher override; plans do this too)."""
    order = orders_repo.get_order(tx, order_id, for_update=True)
    get_rider(tx, rider_id)
    move(tx, order, OrderStatus.ASSIGNED, actor=actor, rider_id=rider_id)
    return orders_repo.get_order(tx, order_id)


def unassign_order(tx: Tx, order_id: str, *, actor: str, reason: str = "") -> None:
    """Take an assigned order back from its rider (it stays sourced)."""
    order = orders_repo.get_order(tx, order_id, for_update=True)
    move(tx, order, OrderStatus.SOURCED, actor=actor, reason=reason, rider_id=None)


def mark_picked_up(
    tx: Tx,
    order_id: str,
    *,
    rider_id: str,
    position: GeoPoint | None,
    actor: str,
    scanned_lot_ids: Collection[int] | None = None,
    scanned_lot_codes: Collection[str] | None = None,
) -> Order:
    """The rider collected the order: units leave the shelf, the OTP is sent.

    ``scanned_lot_codes`` (the codes on the lots' labels, see
    :mod:`dispatch.stock.scan_codes`) must be exactly the lots held for the order
    (:class:`dispatch.errors.LotMismatch` otherwise); ``scanned_lot_ids`` is the
    older, guessable form. Riders' pickups always pass one; neither is a
    staff-side confirmation without a scan.
    """
    order = orders_repo.get_order(tx, order_id, for_update=True)
    if order.status is OrderStatus.ASSIGNED and order.rider_id != rider_id:
        raise InvalidInput(f"order {order.id!r} is assigned to another rider")
    if scanned_lot_codes is not None:
        held_ids = [r.lot_id for r in stock.reservations(tx, order.id, ["held"])]
        codes = lot_scan_codes(tx, held_ids)
        check_scan(
            order.id,
            codes.values(),
            (normalize_scan_code(c) for c in scanned_lot_codes),
        )
    elif scanned_lot_ids is not None:
        held = stock.reservations(tx, order.id, ["held"])
        check_scan(order.id, (r.lot_id for r in held), scanned_lot_ids)
    move(
        tx,
        order,
        OrderStatus.PICKED_UP,
        actor=actor,
        position=position,
        picked_up_at=tx.now,
    )
    stock.close_reservations(tx, order.id, "held", "picked")
    issue_otp(tx, order.id, actor=actor)
    _hold_if_box_quarantined(tx, order, rider_id, actor=actor)
    return orders_repo.get_order(tx, order_id)


def _hold_if_box_quarantined(
    tx: Tx, order: Order, rider_id: str, *, actor: str
) -> None:
    """Cold goods loaded into a box whose temperature is in doubt (a race with the
    quarantine) do not travel on: they wait for a pharmacist like the box's others."""
    box = get_cold_box_of_rider(tx, rider_id)
    if box is None or box.fit_for_cold:
        return
    products = get_products(tx, (ln.sku for ln in order.lines))
    if not any(p.storage_class.needs_cold_box for p in products.values()):
        return
    place_hold(
        tx,
        reason=HoldReason.BOX_QUARANTINED,
        note=f"quarantined: {box.quarantine_reason}"[:NOTE_MAX_LENGTH],
        actor=actor,
        order_ids=[order.id],
        box_id=box.id,
    )


def cancel_order(tx: Tx, order_id: str, *, actor: str, reason: str = "") -> None:
    """Cancel an order before pickup; its reserved units become free again."""
    order = orders_repo.get_order(tx, order_id, for_update=True)
    move(tx, order, OrderStatus.CANCELLED, actor=actor, reason=reason, rider_id=None)
    stock.close_reservations(tx, order.id, "held", "released")


def fail_delivery(
    tx: Tx,
    order_id: str,
    *,
    actor: str,
    reason: str,
    position: GeoPoint | None = None,
    goods_returned_intact: bool = False,
) -> None:
    """The hand-off failed. Intact ambient goods go back on the shelf (pharmacist's
    attestation ``goods_returned_intact``); anything else is written off.
    """
    if not reason.strip():
        raise InvalidInput("a failed delivery needs a reason")
    order = orders_repo.get_order(tx, order_id, for_update=True)
    if order.status is not OrderStatus.PICKED_UP:
        raise IllegalTransition(order.id, order.status, OrderStatus.FAILED)
    products = get_products(tx, (ln.sku for ln in order.lines))
    cold = any(p.storage_class.needs_cold_box for p in products.values())
    move(tx, order, OrderStatus.FAILED, actor=actor, position=position, reason=reason)
    if goods_returned_intact and not cold:
        stock.close_reservations(tx, order.id, "picked", "restocked")
    else:
        write_off_order_stock(tx, order, reason="failed_delivery")
