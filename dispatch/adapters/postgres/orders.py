"""Order repository: orders, lines, transitions, idempotency look-ups."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Final

from psycopg.rows import class_row, dict_row, kwargs_row

from dispatch.adapters.postgres.unit_of_work import Tx
from dispatch.domain import GeoPoint, PharmacyId, RiderId, Sku
from dispatch.errors import OrderNotFound
from dispatch.orders.order import (
    Order,
    OrderId,
    OrderLine,
    OrderStatus,
    Priority,
    ProofLevel,
)
from dispatch.orders.state_machine import Transition

# read by name into OrderRow: each output column is named like its field
ORDER_COLUMNS = """
o.id::text AS id, o.patient_ref, o.lat, o.lon, o.window_start_at, o.window_end_at,
o.priority, o.proof_level, o.idempotency_key, o.status, o.created_at, o.version,
o.replacement_of::text AS replacement_of, o.held_from, o.pharmacy_id, o.rider_id,
o.candidate_pharmacy_ids, o.unassigned_reason, o.picked_up_at,
(SELECT coalesce(array_agg(l.sku || ':' || l.quantity ORDER BY l.sku), '{}')
   FROM dispatch.order_line l WHERE l.order_id = o.id) AS lines,
o.dispatched_by,
(SELECT r.id::text FROM dispatch.customer_order r WHERE r.replacement_of = o.id
   ORDER BY r.created_at DESC, r.id LIMIT 1) AS replaced_by
"""
INSERT_ORDER = """
INSERT INTO dispatch.customer_order (id, patient_ref, contact_enc, lat, lon,
    window_start_at, window_end_at, priority, proof_level, idempotency_key,
    fingerprint, replacement_of, status, created_at, access_notes_enc)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (idempotency_key) DO NOTHING
"""
INSERT_LINE = (
    "INSERT INTO dispatch.order_line (order_id, sku, quantity) VALUES (%s, %s, %s)"
)
INSERT_TRANSITION = """
INSERT INTO dispatch.order_transition
    (order_id, from_status, to_status, actor, at, lat, lon, reason)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""
SELECT_TRANSITIONS = """
SELECT order_id::text AS order_id, from_status, to_status, actor, at, lat, lon, reason
FROM dispatch.order_transition WHERE order_id = %s ORDER BY id
"""


class Unset(Enum):
    """Type of :data:`UNSET`."""

    UNSET = "unset"


#: an :func:`update_order` argument left out: the column keeps its value (None
#: is a value: it clears the column)
UNSET: Final = Unset.UNSET


@dataclass(frozen=True, slots=True)
class OrderRow:
    """A row of ``ORDER_COLUMNS`` as stored (see :func:`order_from_row`)."""

    id: str
    patient_ref: str
    lat: float
    lon: float
    window_start_at: datetime
    window_end_at: datetime
    priority: str
    proof_level: str
    idempotency_key: str
    status: str
    created_at: datetime
    version: int
    replacement_of: str | None
    held_from: str | None
    pharmacy_id: str | None
    rider_id: str | None
    candidate_pharmacy_ids: list[str]
    unassigned_reason: str | None
    picked_up_at: datetime | None
    lines: list[str]  # "sku:quantity", by SKU
    dispatched_by: str
    replaced_by: str | None


@dataclass(frozen=True, slots=True)
class OrderFingerprintRow(OrderRow):
    """A row of ``ORDER_COLUMNS`` and the order's request fingerprint."""

    fingerprint: str


def require_order_id(order_id: str) -> None:
    """Raise :class:`OrderNotFound` for anything that is not a UUID."""
    try:
        uuid.UUID(order_id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise OrderNotFound(str(order_id)) from exc


def order_from_row(row: OrderRow) -> Order:
    """An :class:`Order` from a row of ``ORDER_COLUMNS``."""
    lines = tuple(
        OrderLine(Sku(s.rsplit(":", 1)[0]), int(s.rsplit(":", 1)[1])) for s in row.lines
    )
    return Order(
        id=OrderId(row.id),
        patient_ref=row.patient_ref,
        delivery_location=GeoPoint(row.lat, row.lon),
        lines=lines,
        window_start_at=row.window_start_at,
        window_end_at=row.window_end_at,
        priority=Priority(row.priority),
        proof_level=ProofLevel(row.proof_level),
        idempotency_key=row.idempotency_key,
        status=OrderStatus(row.status),
        created_at=row.created_at,
        version=row.version,
        replacement_of=OrderId(row.replacement_of) if row.replacement_of else None,
        held_from=OrderStatus(row.held_from) if row.held_from else None,
        pharmacy_id=PharmacyId(row.pharmacy_id) if row.pharmacy_id else None,
        rider_id=RiderId(row.rider_id) if row.rider_id else None,
        candidate_pharmacy_ids=tuple(PharmacyId(p) for p in row.candidate_pharmacy_ids),
        unassigned_reason=row.unassigned_reason,
        picked_up_at=row.picked_up_at,
        dispatched_by=row.dispatched_by,
        replaced_by=OrderId(row.replaced_by) if row.replaced_by else None,
    )


def _transition(
    *,
    order_id: str,
    from_status: str | None,
    to_status: str,
    actor: str,
    at: datetime,
    lat: float | None,
    lon: float | None,
    reason: str,
) -> Transition:
    """A :class:`Transition` from a row of ``SELECT_TRANSITIONS`` (``kwargs_row``)."""
    return Transition(
        order_id=order_id,
        from_status=OrderStatus(from_status) if from_status else None,
        to_status=OrderStatus(to_status),
        actor=actor,
        at=at,
        position=GeoPoint(lat, lon) if lat is not None and lon is not None else None,
        reason=reason,
    )


def insert_order(
    tx: Tx,
    order: Order,
    *,
    contact_enc: bytes,
    fingerprint: str,
    access_notes_enc: bytes | None = None,
) -> bool:
    """Store a new order and its lines; False if its idempotency key is taken."""
    o = order
    cur = tx.conn.execute(
        INSERT_ORDER,
        (
            o.id,
            o.patient_ref,
            contact_enc,
            o.delivery_location.lat,
            o.delivery_location.lon,
            o.window_start_at,
            o.window_end_at,
            o.priority.value,
            o.proof_level.value,
            o.idempotency_key,
            fingerprint,
            o.replacement_of,
            o.status.value,
            o.created_at,
            access_notes_enc,
        ),
    )
    if cur.rowcount == 0:
        return False
    with tx.conn.cursor() as lines_cur:
        lines_cur.executemany(
            INSERT_LINE, [(o.id, ln.sku, ln.quantity) for ln in o.lines]
        )
    return True


def get_order(tx: Tx, order_id: str, *, for_update: bool = False) -> Order:
    """One order or :class:`OrderNotFound` (row-locked if ``for_update``)."""
    require_order_id(order_id)
    lock = " FOR UPDATE OF o" if for_update else ""
    row = tx.fetch_one(
        class_row(OrderRow),
        f"SELECT {ORDER_COLUMNS} FROM dispatch.customer_order o WHERE o.id = %s{lock}",
        (order_id,),
    )
    if row is None:
        raise OrderNotFound(order_id)
    return order_from_row(row)


def find_by_idempotency_key(tx: Tx, key: str) -> tuple[Order, str] | None:
    """The order submitted with ``key`` and its fingerprint, if any."""
    row = tx.fetch_one(
        class_row(OrderFingerprintRow),
        f"SELECT {ORDER_COLUMNS}, o.fingerprint FROM dispatch.customer_order o"
        " WHERE o.idempotency_key = %s",
        (key,),
    )
    if row is None:
        return None
    return order_from_row(row), str(row.fingerprint)


def list_orders(
    tx: Tx,
    *,
    statuses: Iterable[OrderStatus] | None = None,
    ids: Iterable[str] | None = None,
    for_update: bool = False,
) -> list[Order]:
    """Orders filtered by status and/or id, oldest first."""
    status_list = [s.value for s in statuses] if statuses is not None else None
    id_list = list(ids) if ids is not None else None
    lock = " FOR UPDATE OF o" if for_update else ""
    rows = tx.fetch_all(
        class_row(OrderRow),
        f"SELECT {ORDER_COLUMNS} FROM dispatch.customer_order o"
        " WHERE (%s::text[] IS NULL OR o.status = ANY(%s::text[]))"
        " AND (%s::uuid[] IS NULL OR o.id = ANY(%s::uuid[]))"
        f" ORDER BY o.created_at, o.id{lock}",
        (status_list, status_list, id_list, id_list),
    )
    return [order_from_row(r) for r in rows]


def list_rider_orders(
    tx: Tx, rider_id: str, statuses: Iterable[OrderStatus]
) -> list[Order]:
    """A rider's orders in one of ``statuses``, oldest first (rider index)."""
    rows = tx.fetch_all(
        class_row(OrderRow),
        f"SELECT {ORDER_COLUMNS} FROM dispatch.customer_order o"
        " WHERE o.rider_id = %s AND o.status = ANY(%s::text[])"
        " ORDER BY o.created_at, o.id",
        (rider_id, [s.value for s in statuses]),
    )
    return [order_from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class OrderFilter:
    """Criteria of an order search (all optional; ``created_to`` exclusive)."""

    statuses: tuple[OrderStatus, ...] = ()
    rider_id: str | None = None
    pharmacy_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


_SEARCH_WHERE = """
WHERE (%(statuses)s::text[] IS NULL OR o.status = ANY(%(statuses)s::text[]))
  AND (%(rider)s::text IS NULL OR o.rider_id = %(rider)s::text)
  AND (%(pharmacy)s::text IS NULL OR o.pharmacy_id = %(pharmacy)s::text)
  AND (%(from)s::timestamptz IS NULL OR o.created_at >= %(from)s::timestamptz)
  AND (%(to)s::timestamptz IS NULL OR o.created_at < %(to)s::timestamptz)
"""


def search_orders(
    tx: Tx, criteria: OrderFilter, *, limit: int, offset: int
) -> tuple[list[Order], int]:
    """One page of matching orders (oldest first) and the total that match."""
    params = {
        "statuses": [s.value for s in criteria.statuses] or None,
        "rider": criteria.rider_id,
        "pharmacy": criteria.pharmacy_id,
        "from": criteria.created_from,
        "to": criteria.created_to,
        "limit": limit,
        "offset": offset,
    }
    total_row = tx.fetch_one(
        dict_row,
        "SELECT count(*) AS total FROM dispatch.customer_order o" + _SEARCH_WHERE,
        params,
    )
    rows = tx.fetch_all(
        class_row(OrderRow),
        f"SELECT {ORDER_COLUMNS} FROM dispatch.customer_order o"
        + _SEARCH_WHERE
        + " ORDER BY o.created_at, o.id LIMIT %(limit)s OFFSET %(offset)s",
        params,
    )
    total = int(total_row["total"]) if total_row else 0
    return [order_from_row(r) for r in rows], total


def get_access_notes_enc(tx: Tx, order_id: str) -> bytes | None:
    """The encrypted access notes of an order (None if it has none)."""
    row = tx.fetch_one(
        dict_row,
        "SELECT access_notes_enc FROM dispatch.customer_order WHERE id = %s",
        (order_id,),
    )
    if row is None:
        raise OrderNotFound(order_id)
    notes = row["access_notes_enc"]
    return bytes(notes) if notes is not None else None


def update_order(
    tx: Tx,
    order_id: str,
    *,
    status: OrderStatus | Unset = UNSET,
    held_from: OrderStatus | Unset | None = UNSET,
    pharmacy_id: str | Unset | None = UNSET,
    rider_id: str | Unset | None = UNSET,
    candidate_pharmacy_ids: Sequence[str] | Unset = UNSET,
    unassigned_reason: str | Unset | None = UNSET,
    picked_up_at: datetime | Unset | None = UNSET,
    dispatched_by: str | Unset = UNSET,
) -> None:
    """Set the given columns of an order (those left :data:`UNSET` keep their
    value; None clears one) and bump its version."""
    given: dict[str, object] = {
        "status": status,
        "held_from": held_from,
        "pharmacy_id": pharmacy_id,
        "rider_id": rider_id,
        "candidate_pharmacy_ids": candidate_pharmacy_ids,
        "unassigned_reason": unassigned_reason,
        "picked_up_at": picked_up_at,
        "dispatched_by": dispatched_by,
    }
    changes = {name: v for name, v in given.items() if v is not UNSET}
    if not changes:
        raise TypeError("update_order needs at least one column to set")
    sets = ", ".join(f"{name} = %s" for name in changes)
    tx.conn.execute(
        f"UPDATE dispatch.customer_order SET {sets}, version = version + 1"
        " WHERE id = %s",
        (*(_db_value(v) for v in changes.values()), order_id),
    )


def _db_value(value: object) -> object:
    """What psycopg stores for an :func:`update_order` argument."""
    if isinstance(value, OrderStatus):
        return value.value
    if isinstance(value, Sequence) and not isinstance(value, str):
        return list(value)  # a text[] (psycopg adapts lists, not tuples)
    return value


def get_contact_enc(tx: Tx, order_id: str) -> bytes:
    """The encrypted patient contact of an order."""
    require_order_id(order_id)
    row = tx.fetch_one(
        dict_row,
        "SELECT contact_enc FROM dispatch.customer_order WHERE id = %s",
        (order_id,),
    )
    if row is None:
        raise OrderNotFound(order_id)
    return bytes(row["contact_enc"])


def insert_transition(tx: Tx, t: Transition) -> None:
    """Record one lifecycle move."""
    pos = t.position
    tx.conn.execute(
        INSERT_TRANSITION,
        (
            t.order_id,
            t.from_status.value if t.from_status else None,
            t.to_status.value,
            t.actor,
            t.at,
            pos.lat if pos else None,
            pos.lon if pos else None,
            t.reason,
        ),
    )


def list_transitions(tx: Tx, order_id: str) -> list[Transition]:
    """The recorded moves of an order, oldest first."""
    return tx.fetch_all(kwargs_row(_transition), SELECT_TRANSITIONS, (order_id,))
