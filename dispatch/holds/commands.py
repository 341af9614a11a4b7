"""Holds: goods whose fitness is in doubt wait for a pharmacist's decision.

Telemetry calls :func:`place_hold` when a cold box has an excursion (idempotent
per ``excursion_ref``), staff through the API; the reason is a :class:`HoldReason`
code with an optional short note (never patient data). A pharmacist then calls
:func:`release_hold` (the orders continue where they were) or :func:`reject_hold`
(the goods are written off, each order fails, and a replacement order linked to it
is sourced FEFO at the best stocked pharmacy; without stock it stays ``created``
and visible).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from dispatch.adapters.postgres import holds as holds_repo
from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.catalogue import get_cold_box, get_products
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.errors import (
    Conflict,
    HoldAlreadyDecided,
    IllegalTransition,
    InvalidInput,
)
from dispatch.events import HoldPlaced, HoldRejected, HoldReleased
from dispatch.holds.reasons import HoldReason, hold_note, hold_reason
from dispatch.orders.intake import create_order
from dispatch.orders.order import Order, OrderRequest, OrderStatus
from dispatch.orders.patient_data import copy_patient_data
from dispatch.orders.transitions import move
from dispatch.stock.write_offs import write_off_order_stock

__all__ = [
    "Hold",
    "HoldReason",
    "get_hold",
    "list_open_holds",
    "place_hold",
    "reject_hold",
    "release_hold",
]

Hold = holds_repo.Hold
get_hold = holds_repo.get_hold
list_open_holds = holds_repo.list_open_holds

HOLDABLE = frozenset({OrderStatus.SOURCED, OrderStatus.ASSIGNED, OrderStatus.PICKED_UP})


def place_hold(
    tx: Tx,
    *,
    reason: HoldReason | str,
    actor: str,
    order_ids: Sequence[str] = (),
    box_id: str | None = None,
    excursion_ref: str | None = None,
    note: str = "",
) -> Hold:
    """Hold ``order_ids``, or every order the box's rider carries; idempotent per
    ``excursion_ref`` (a second call returns the first hold unchanged).

    ``reason`` must be a :class:`HoldReason` code (:class:`InvalidInput` names the
    codes otherwise); ``note`` is short context for the pharmacist. Named orders
    that cannot be held (cancelled, delivered ...) are skipped; when none is left
    and no box is named, :class:`IllegalTransition` and nothing is written.
    """
    code = hold_reason(reason)
    note = hold_note(note)
    if excursion_ref is not None:
        existing = holds_repo.find_by_excursion(tx, excursion_ref)
        if existing is not None:
            return existing
    ids = list(order_ids)
    if box_id is not None:
        box = get_cold_box(tx, box_id)
        if not ids and box.rider_id is not None:
            ids = holds_repo.orders_carried_by(tx, box.rider_id)
    orders = [
        orders_repo.get_order(tx, oid, for_update=True) for oid in sorted(set(ids))
    ]
    holdable = [o for o in orders if o.status in HOLDABLE]
    if not holdable and box_id is None:
        # Nothing left to hold (e.g. every named order is cancelled or delivered):
        # an empty hold would only mislead the pharmacist.
        if orders:
            first = orders[0]
            raise IllegalTransition(
                first.id, first.status.value, OrderStatus.ON_HOLD.value
            )
        raise InvalidInput("a hold needs order_ids or a box_id", field="order_ids")
    hold_id = holds_repo.insert_hold(
        tx,
        reason=code,
        note=note,
        box_id=box_id,
        excursion_ref=excursion_ref,
        actor=actor,
    )
    if hold_id is None:  # a concurrent call for the same excursion won
        existing = holds_repo.find_by_excursion(tx, excursion_ref or "")
        if existing is None:  # pragma: no cover - ON CONFLICT implies it exists
            raise Conflict("hold could not be placed")
        return existing
    holds_repo.add_orders(tx, hold_id, [o.id for o in holdable])
    for order in holdable:
        move(tx, order, OrderStatus.ON_HOLD, actor=actor, reason=code.value)
    tx.audit(
        actor=actor,
        action="hold.placed",
        subject_type="hold",
        subject_id=str(hold_id),
        details={
            "orders": [o.id for o in holdable],
            "box_id": box_id,
            "reason": code.value,
            "note": note,
        },
    )
    tx.emit(HoldPlaced(hold_id, tuple(o.id for o in holdable), code.value, box_id))
    return holds_repo.get_hold(tx, hold_id)


def _open_hold(tx: Tx, hold_id: int) -> Hold:
    hold = holds_repo.get_hold(tx, hold_id, for_update=True)
    if hold.decision is not None:
        raise HoldAlreadyDecided(f"hold {hold_id} was already {hold.decision}")
    return hold


def _held_orders(tx: Tx, hold: Hold) -> list[Order]:
    orders = [orders_repo.get_order(tx, oid, for_update=True) for oid in hold.order_ids]
    return [o for o in orders if o.status is OrderStatus.ON_HOLD]


def release_hold(tx: Tx, hold_id: int, *, actor: str, note: str = "") -> None:
    """The pharmacist judged the goods fine: each order resumes where it was."""
    hold = _open_hold(tx, hold_id)
    for order in _held_orders(tx, hold):
        resume = order.held_from or OrderStatus.SOURCED
        move(tx, order, resume, actor=actor, reason="hold released")
    holds_repo.decide(tx, hold_id, "released", actor, note)
    tx.audit(
        actor=actor,
        action="hold.released",
        subject_type="hold",
        subject_id=str(hold_id),
        details={"note": note},
    )
    tx.emit(HoldReleased(hold_id, hold.order_ids))


def reject_hold(tx: Tx, hold_id: int, *, actor: str, note: str = "") -> list[str]:
    """The goods are unfit: write off, fail each order, create linked replacements.

    Returns the replacement order ids (in the hold's order).
    """
    hold = _open_hold(tx, hold_id)
    replacements: list[tuple[str, str]] = []
    for order in _held_orders(tx, hold):
        write_off_order_stock(tx, order, reason=f"hold {hold_id} rejected")
        move(
            tx,
            order,
            OrderStatus.FAILED,
            actor=actor,
            reason="goods rejected",
            rider_id=order.rider_id,
        )
        replacement = _replace(tx, order, hold_id=hold_id, actor=actor)
        holds_repo.link_replacement(tx, hold_id, order.id, replacement.id)
        replacements.append((order.id, replacement.id))
    holds_repo.decide(tx, hold_id, "rejected", actor, note)
    tx.audit(
        actor=actor,
        action="hold.rejected",
        subject_type="hold",
        subject_id=str(hold_id),
        details={"replacements": replacements, "note": note},
    )
    tx.emit(HoldRejected(hold_id, tuple(replacements)))
    return [new for _, new in replacements]


def _replace(tx: Tx, order: Order, *, hold_id: int, actor: str) -> Order:
    patient = copy_patient_data(
        tx, order.id, actor=actor, reason=f"replacement order (hold {hold_id} rejected)"
    )
    length = order.window_end_at - order.window_start_at
    start = max(order.window_start_at, tx.now)
    end = max(order.window_end_at, start + max(length, timedelta(hours=1)))
    request = OrderRequest(
        patient_ref=order.patient_ref,
        contact=patient.contact,
        delivery_location=order.delivery_location,
        lines=order.lines,
        window_start_at=start,
        window_end_at=end,
        idempotency_key=f"replacement:{order.id}:{hold_id}",
        priority=order.priority,
        proof_level=order.proof_level,
        access_notes=patient.access_notes,
    )
    products = get_products(tx, (ln.sku for ln in order.lines))
    return create_order(
        tx, request, products, actor=actor, require_stock=False, replacement_of=order.id
    )
