"""Order intake: validate, de-duplicate, source and reserve, all in one transaction.

Every rule is checked before the first write, and the caller's transaction makes
the whole command atomic: an order is stored sourced (with its stock reserved at
one pharmacy, see :mod:`dispatch.stock.reservations`) or not at all.
Resubmitting with the same idempotency key returns the original order without
writing anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from dispatch.adapters.postgres import orders as orders_repo
from dispatch.adapters.postgres.catalogue import get_products
from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.delivery.proof_rules import required_proof_level
from dispatch.domain import PharmacyId, Product, Sku
from dispatch.errors import IdempotencyKeyReused, NoPharmacyHasStock
from dispatch.events import OrderPlaced
from dispatch.orders.order import Order, OrderId, OrderRequest, OrderStatus
from dispatch.orders.transitions import move, record_creation
from dispatch.stock import catalogue as stock_reads
from dispatch.stock import reservations as sourcing
from dispatch.stock.fefo import earliest_usable_expiry

__all__ = ["create_order", "source_order", "submit_order"]


def submit_order(tx: Tx, request: OrderRequest, *, actor: str) -> Order:
    """Accept a new order: validated, idempotent, sourced FEFO and reserved.

    Raises ``InvalidQuantity``, ``InvalidTimeWindow``, ``InvalidInput``,
    ``OutsideServiceArea``, ``ProductNotFound`` (unknown SKU),
    ``NoPharmacyHasStock`` or ``IdempotencyKeyReused``; nothing is written then.
    """
    request.validate(now=tx.now)
    if tx.ctx.service_area is not None:
        tx.ctx.service_area.require(request.delivery_location, "delivery_location")
    existing = _find_duplicate(tx, request)
    if existing is not None:
        return existing
    products = get_products(tx, (line.sku for line in request.lines))
    return create_order(tx, request, products, actor=actor, require_stock=True)


def _fingerprint(request: OrderRequest) -> str:
    return repr(request.fingerprint())


def _find_duplicate(tx: Tx, request: OrderRequest) -> Order | None:
    found = orders_repo.find_by_idempotency_key(tx, request.idempotency_key)
    if found is None:
        return None
    order, fingerprint = found
    if fingerprint != _fingerprint(request):
        raise IdempotencyKeyReused(
            "this idempotency key was already used for a different order"
        )
    return order


def create_order(
    tx: Tx,
    request: OrderRequest,
    products: Mapping[Sku, Product],
    *,
    actor: str,
    require_stock: bool,
    replacement_of: str | None = None,
) -> Order:
    """Store a validated request and source it; without stock either raise
    ``NoPharmacyHasStock`` (``require_stock``) or leave it ``created`` and visible.
    """
    order = Order(
        id=OrderId(str(uuid.uuid4())),
        patient_ref=request.patient_ref,
        delivery_location=request.delivery_location,
        lines=request.lines,
        window_start_at=request.window_start_at,
        window_end_at=request.window_end_at,
        priority=request.priority,
        proof_level=required_proof_level(
            products.values(), tx.ctx.proof_policy, request.proof_level
        ),
        idempotency_key=request.idempotency_key,
        status=OrderStatus.CREATED,
        created_at=tx.now,
        replacement_of=OrderId(replacement_of) if replacement_of else None,
    )
    contact = tx.ctx.cipher.encrypt_contact(request.contact, owner=order.id)
    notes = request.access_notes.strip()
    inserted = orders_repo.insert_order(
        tx,
        order,
        contact_enc=contact,
        fingerprint=_fingerprint(request),
        access_notes_enc=(
            tx.ctx.cipher.encrypt(notes.encode(), owner=order.id) if notes else None
        ),
    )
    if not inserted:  # lost a race with an identical submission
        duplicate = _find_duplicate(tx, request)
        if duplicate is not None:
            return duplicate
    record_creation(tx, order, actor=actor)
    sourced = source_order(tx, order, products, actor=actor)
    if sourced is None and require_stock:
        raise NoPharmacyHasStock(_why_unsourced(tx, order, products))
    result = orders_repo.get_order(tx, order.id)
    tx.emit(OrderPlaced(result.id, result.status.value, result.pharmacy_id))
    return result


def _why_unsourced(tx: Tx, order: Order, products: Mapping[Sku, Product]) -> str:
    """Why no pharmacy could take the order: a SKU out of stock everywhere, its
    free stock expiring too soon, or no single pharmacy holding every line (read
    only on this failure path)."""
    delivery_date = order.window_end_at.date()
    short_lived = []
    for line in order.lines:
        lots = stock_reads.list_lots(tx, sku=line.sku)
        free = sum(lot.available for lot in lots)
        if free < line.quantity:
            return (
                f"out of stock: {free} free unit(s) of {line.sku} in all pharmacies,"
                f" {line.quantity} ordered"
            )
        cutoff = earliest_usable_expiry(products[line.sku], delivery_date)
        if sum(lot.available for lot in lots if lot.expiry_date >= cutoff) < (
            line.quantity
        ):
            short_lived.append(line.sku)
    if short_lived:
        return (
            f"too short a shelf life: the free stock of {', '.join(short_lived)}"
            " expires before the delivery plus the product's minimum shelf life"
        )
    return "no single pharmacy holds every line of the order"


def source_order(
    tx: Tx, order: Order, products: Mapping[Sku, Product], *, actor: str
) -> PharmacyId | None:
    """Reserve a ``created`` order's stock at its nearest candidate; None if none."""
    delivery_date = order.window_end_at.date()
    candidates = sourcing.find_candidates(tx, order.lines, products, delivery_date)
    ranked = sourcing.rank_by_distance(tx, candidates, order.delivery_location)
    chosen = sourcing.reserve_at_first(
        tx, order.id, ranked, order.lines, products, delivery_date
    )
    if chosen is None:
        return None
    keep = ranked[: tx.ctx.max_candidates] if tx.ctx.sourcing_policy == "joint" else []
    if chosen not in keep:
        keep = [chosen, *keep[: max(0, tx.ctx.max_candidates - 1)]]
    move(
        tx,
        order,
        OrderStatus.SOURCED,
        actor=actor,
        reason=f"reserved at {chosen}",
        pharmacy_id=chosen,
        candidate_pharmacy_ids=keep,
    )
    return chosen
