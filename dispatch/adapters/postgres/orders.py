"""Order repository: orders, lines, transitions, idempotency look-ups."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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

ORDER_COLUMNS = """
o.id::text, o.patient_ref, o.lat, o.lon, o.window_start_at, o.window_end_at,
o.priority, o.proof_level, o.idempotency_key, o.status, o.created_at, o.version,
o.replacement_of::text, o.held_from, o.pharmacy_id, o.rider_id,
o.candidate_pharmacy_ids, o.unassigned_reason, o.picked_up_at,
(SELECT coalesce(array_agg(l.sku || ':' || l.quantity ORDER BY l.sku), '{}')
   FROM dispatch.order_line l WHERE l.order_id = o.id),
o.dispatched_by,
(SELECT r.id::text FROM dispatch.customer_order r WHERE r.replacement_of = o.id
   ORDER BY r.created_at DESC, r.id LIMIT 1)
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
SELECT order_id::text, from_status, to_status, actor, at, lat, lon, reason
FROM dispatch.order_transition WHERE order_id = %s ORDER BY id
"""
UPDATABLE = frozenset(
    {
        "status",
        "held_from",
        "pharmacy_id",
        "rider_id",
        "candidate_pharmacy_ids",
        "unassigned_reason",
        "picked_up_at",
        "dispatched_by",
    }
)


def require_order_id(order_id: str) -> None:
    """Raise :class:`OrderNotFound` for anything that is not a UUID."""
    try:
        uuid.UUID(order_id)
    except (ValueError, TypeError, AttributeError) as exc:
        raise OrderNotFound(str(order_id)) from exc


def order_from_row(row: Any) -> Order:
    """An :class:`Order` from a row of ``ORDER_COLUMNS``."""
    lines = tuple(
        OrderLine(Sku(s.rsplit(":", 1)[0]), int(s.rsplit(":", 1)[1])) for s in row[19]
    )
    return Order(
        id=OrderId(row[0]),
        patient_ref=row[1],
        delivery_location=GeoPoint(row[2], row[3]),
        lines=lines,
        window_start_at=row[4],
        window_end_at=row[5],
        priority=Priority(row[6]),
        proof_level=ProofLevel(row[7]),
        idempotency_key=row[8],
        status=OrderStatus(row[9]),
        created_at=row[10],
        version=row[11],
        replacement_of=OrderId(row[12]) if row[12] else None,
        held_from=OrderStatus(row[13]) if row[13] else None,
        pharmacy_id=PharmacyId(row[14]) if row[14] else None,
        rider_id=RiderId(row[15]) if row[15] else None,
        candidate_pharmacy_ids=tuple(PharmacyId(p) for p in row[16]),
        unassigned_reason=row[17],
        picked_up_at=row[18],
        dispatched_by=row[20],
        replaced_by=OrderId(row[21]) if row[21] else None,
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
    row = tx.conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM dispatch.customer_order o WHERE o.id = %s{lock}",
        (order_id,),
    ).fetchone()
    if row is None:
        raise OrderNotFound(order_id)
    return order_from_row(row)


def find_by_idempotency_key(tx: Tx, key: str) -> tuple[Order, str] | None:
    """The order submitted with ``key`` and its fingerprint, if any."""
    row = tx.conn.execute(
        f"SELECT {ORDER_COLUMNS}, o.fingerprint FROM dispatch.customer_order o"
        " WHERE o.idempotency_key = %s",
        (key,),
    ).fetchone()
    if row is None:
        return None
    return order_from_row(row), str(row[22])


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
    rows = tx.conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM dispatch.customer_order o"
        " WHERE (%s::text[] IS NULL OR o.status = ANY(%s::text[]))"
        " AND (%s::uuid[] IS NULL OR o.id = ANY(%s::uuid[]))"
        f" ORDER BY o.created_at, o.id{lock}",
        (status_list, status_list, id_list, id_list),
    ).fetchall()
    return [order_from_row(r) for r in rows]


def list_rider_orders(
    tx: Tx, rider_id: str, statuses: Iterable[OrderStatus]
) -> list[Order]:
    """A rider's orders in one of ``statuses``, oldest first (rider index)."""
    rows = tx.conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM dispatch.customer_order o"
        " WHERE o.rider_id = %s AND o.status = ANY(%s::text[])"
        " ORDER BY o.created_at, o.id",
        (rider_id, [s.value for s in statuses]),
    ).fetchall()
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
    total_row = tx.conn.execute(
        "SELECT count(*) FROM dispatch.customer_order o" + _SEARCH_WHERE, params
    ).fetchone()
    rows = tx.conn.execute(
        f"SELECT {ORDER_COLUMNS} FROM dispatch.customer_order o"
        + _SEARCH_WHERE
        + " ORDER BY o.created_at, o.id LIMIT %(limit)s OFFSET %(offset)s",
        params,
    ).fetchall()
    return [order_from_row(r) for r in rows], int(total_row[0]) if total_row else 0


def get_access_notes_enc(tx: Tx, order_id: str) -> bytes | None:
    """The encrypted access notes of an order (None if it has none)."""
    row = tx.conn.execute(
        "SELECT access_notes_enc FROM dispatch.customer_order WHERE id = %s",
        (order_id,),
    ).fetchone()
    if row is None:
        raise OrderNotFound(order_id)
    return bytes(row[0]) if row[0] is not None else None


def update_order(tx: Tx, order_id: str, **fields: Any) -> None:
    """Set columns of an order and bump its version."""
    unknown = set(fields) - UPDATABLE
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    sets = ", ".join(f"{name} = %s" for name in fields)
    values = [getattr(v, "value", v) for v in fields.values()]
    tx.conn.execute(
        f"UPDATE dispatch.customer_order SET {sets}, version = version + 1"
        " WHERE id = %s",
        (*values, order_id),
    )


def get_contact_enc(tx: Tx, order_id: str) -> bytes:
    """The encrypted patient contact of an order."""
    require_order_id(order_id)
    row = tx.conn.execute(
        "SELECT contact_enc FROM dispatch.customer_order WHERE id = %s", (order_id,)
    ).fetchone()
    if row is None:
        raise OrderNotFound(order_id)
    return bytes(row[0])


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
    rows = tx.conn.execute(SELECT_TRANSITIONS, (order_id,)).fetchall()
    return [
        Transition(
            order_id=r[0],
            from_status=OrderStatus(r[1]) if r[1] else None,
            to_status=OrderStatus(r[2]),
            actor=r[3],
            at=r[4],
            position=GeoPoint(r[5], r[6]) if r[5] is not None else None,
            reason=r[7],
        )
        for r in rows
    ]
